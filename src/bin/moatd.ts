#!/usr/bin/env node
/**
 * `moatd`: the daemon. Options follow fail2ban-server's: -c DIR, -s SOCKET, -p PIDFILE,
 * -f (foreground), -b (background), -x (remove a stale socket), --logtarget, --loglevel.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Daemon } from '../server/daemon.ts';
import { defaultConfigDir, MOAT_VERSION } from '../version.ts';

const USAGE = `Usage: moatd [OPTIONS]

moat's daemon: watches logs, bans through firewall actions, serves the control socket.

Options:
  -c, --conf DIR          configuration directory (default /etc/moat, else the bundled config/);
                          a fail2ban tree (/etc/fail2ban) works unchanged
  -s, --socket FILE       control socket (default from moat.conf: /run/moat/moat.sock)
  -p, --pidfile FILE      pid file (default from moat.conf: /run/moat/moatd.pid)
  -f, --foreground        stay in the foreground (default; what systemd runs)
  -b, --background        detach and run in the background
  -x, --force             remove a stale socket file before binding
      --logtarget TARGET  STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL or a file path
      --loglevel LEVEL    CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG...
      --syslogsocket P    syslog socket (auto = /dev/log)
      --dbfile FILE       database file (overrides moat.conf; :memory: or None allowed)
  -v, --verbose           more log output (repeatable)
  -q, --quiet             less log output
  -h, --help              this help
  -V, --version           print the version
`;

let args;
try {
  args = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: false,
    options: {
      conf: { type: 'string', short: 'c' },
      socket: { type: 'string', short: 's' },
      pidfile: { type: 'string', short: 'p' },
      foreground: { type: 'boolean', short: 'f' },
      background: { type: 'boolean', short: 'b' },
      force: { type: 'boolean', short: 'x' },
      logtarget: { type: 'string' },
      loglevel: { type: 'string' },
      syslogsocket: { type: 'string' },
      dbfile: { type: 'string' },
      verbose: { type: 'boolean', short: 'v', multiple: true },
      quiet: { type: 'boolean', short: 'q', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
} catch (e) {
  process.stderr.write(`moatd: ${(e as Error).message}\n`);
  process.exit(255);
}
const o = args.values;
if (o.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (o.version) {
  process.stdout.write(`moatd ${MOAT_VERSION}\n`);
  process.exit(0);
}

if (o.background && !o.foreground) {
  // re-exec ourselves detached in the foreground and return once it is up
  const argv = process.argv.slice(2).filter((a) => a !== '-b' && a !== '--background');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv, '-f'], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  process.exit(0);
}

let loglevel = o.loglevel;
const verbosity = (o.verbose?.length ?? 0) - (o.quiet?.length ?? 0);
if (!loglevel && verbosity > 0) loglevel = verbosity > 1 ? 'HEAVYDEBUG' : 'DEBUG';
if (!loglevel && verbosity < 0) loglevel = 'WARNING';

const daemon = new Daemon({
  configDir: o.conf ?? defaultConfigDir(),
  ...(o.socket ? { socket: o.socket } : {}),
  ...(o.pidfile ? { pidfile: o.pidfile } : {}),
  ...(loglevel ? { loglevel } : {}),
  ...(o.logtarget ? { logtarget: o.logtarget } : {}),
  ...(o.syslogsocket ? { syslogsocket: o.syslogsocket } : {}),
  ...(o.dbfile !== undefined ? { dbfile: o.dbfile.toLowerCase() === 'none' ? null : o.dbfile } : {}),
  force: !!o.force,
});

let exiting = false;
const stop = (code: number) => {
  if (exiting) return;
  exiting = true;
  daemon.stop().then(
    () => process.exit(code),
    (e) => {
      process.stderr.write(`moatd: error while stopping: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.on('SIGHUP', () => {
  daemon.reload(null, { restart: false, unban: false, ifExists: false }).catch(() => {
    /* logged by the daemon; the running configuration stays */
  });
});
process.on('SIGUSR1', () => daemon.logger?.reopen());
process.on('uncaughtException', (e) => {
  try {
    daemon.logger?.log(50, 'moat.server', `Unhandled error: ${e.stack ?? e.message}`);
    daemon.logger?.flush();
  } catch {
    /* nothing left to report to */
  }
  process.stderr.write(`moatd: ${e.stack ?? e.message}\n`);
  process.exit(1);
});

try {
  await daemon.start();
} catch (e) {
  process.stderr.write(`moatd: ${(e as Error).message.split('\n')[0]}\n`);
  try {
    await daemon.stop();
  } catch {
    /* partial start */
  }
  process.exit(255);
}
daemon.waitStopped().then(() => {
  if (!exiting) process.exit(0);
});
