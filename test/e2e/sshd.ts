/**
 * A real OpenSSH sshd inside a network namespace, logging through syslog into a file the way
 * rsyslog writes /var/log/auth.log ("Mon DD HH:MM:SS host sshd[PID]: message").
 *
 * Why syslog and not `sshd -E FILE` / `-e`: those write the bare message, without a time stamp
 * and without "sshd[PID]:". A filter needs the time stamp, and the sshd filter keys a connection
 * on the "host sshd[PID]:" prefix (<F-MLFID>); a made-up constant PID would merge all
 * connections into one. So sshd logs with syslog(3) as in production: it runs in a private
 * mount namespace whose /dev is a small tmpfs holding the device nodes sshd needs plus a
 * /dev/log symlink to a stream socket this module listens on (glibc falls back to SOCK_STREAM,
 * messages end with NUL). Each message gets the host name rsyslog would add and is appended to
 * the log file; the time stamp and the PID are glibc's and sshd's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { exited, must, run, waitFor } from './run.ts';

export interface Sshd {
  /** The auth log (rsyslog layout). */
  logfile: string;
  /** The user whose logins fail (a real local account; its password is not known). */
  user: string;
  log(): string;
  stop(): Promise<void>;
}

/** A local account sshd accepts as valid whose password nobody here knows (not locked with "!"). */
export function victimUser(): string {
  const shadow = readFileSync('/etc/shadow', 'utf8');
  for (const name of ['root', 'nobody']) {
    const hash = shadow.split('\n').find((l) => l.startsWith(`${name}:`))?.split(':')[1];
    // "!..." is a locked account: sshd (UsePAM no) then logs "not allowed because account is locked"
    if (hash !== undefined && !hash.startsWith('!')) return name;
  }
  throw new Error('no local account usable as the login target: root and nobody are locked ("!") in /etc/shadow');
}

/** Starts the syslog collector: a stream socket at `socketPath`, messages appended to `logfile`. */
function startCollector(socketPath: string, logfile: string, hostname: string): Promise<Server> {
  const server = createServer((conn) => {
    let pending = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      pending += chunk;
      let nul: number;
      while ((nul = pending.indexOf('\0')) >= 0) {
        const msg = pending.slice(0, nul);
        pending = pending.slice(nul + 1);
        // "<PRI>Mon DD HH:MM:SS tag[pid]: text" -> "Mon DD HH:MM:SS host tag[pid]: text"
        const m = /^<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) ([\s\S]*?)\n*$/.exec(msg);
        appendFileSync(logfile, m ? `${m[1]} ${hostname} ${m[2]}\n` : `# unparsed: ${JSON.stringify(msg)}\n`);
      }
    });
    conn.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}

/**
 * The command run as root inside the server namespace: a private mount namespace whose /dev
 * carries /dev/log -> the collector. Nothing of it is visible outside that process tree.
 */
function sshdLauncher(dir: string, config: string, syslogSocket: string): string[] {
  const script = [
    'set -eu',
    'mount --make-rprivate /',
    `hostdev="$1/hostdev"`,
    'mkdir -p "$hostdev"',
    'mount --rbind /dev "$hostdev"',
    'mount -t tmpfs -o mode=0755,size=1m moat-e2e-dev /dev',
    'for n in null zero full random urandom tty; do',
    '  [ -e "$hostdev/$n" ] || continue',
    '  : > "/dev/$n"; mount --bind "$hostdev/$n" "/dev/$n"',
    'done',
    'ln -s /proc/self/fd /dev/fd',
    'ln -s "$3" /dev/log',
    // the host /dev is no longer needed once the nodes are bound
    'umount -l "$hostdev"',
    'exec /usr/sbin/sshd -D -f "$2"',
  ].join('\n');
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sshd-launcher', dir, config, syslogSocket];
}

export async function startSshd(opts: { dir: string; nsExec: string[]; listen: string[] }): Promise<Sshd> {
  const { dir } = opts;
  mkdirSync(dir, { recursive: true });
  // privilege separation directory (Debian's unit creates it with RuntimeDirectory=sshd)
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'moat-e2e', '-f', hostKey]);
  const user = victimUser();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      ...opts.listen.map((a) => `ListenAddress ${a.includes(':') ? `[${a}]` : a}:22`),
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication no',
      'AuthorizedKeysFile none',
      // no PAM: pam_unix would add a 2 s delay to every failed password
      'UsePAM no',
      `PermitRootLogin ${user === 'root' ? 'yes' : 'no'}`,
      'UseDNS no',
      'SyslogFacility AUTH',
      'LogLevel INFO',
      'LoginGraceTime 20',
      'MaxStartups 100',
      'PrintMotd no',
      '',
    ].join('\n'),
  );
  const test = run([...opts.nsExec, '/usr/sbin/sshd', '-t', '-f', config]);
  if (test.code !== 0) throw new Error(`sshd -t rejected the test configuration: ${test.stderr}`);

  const logfile = join(dir, 'auth.log');
  writeFileSync(logfile, '');
  const syslogSocket = join(dir, 'log.sock');
  const collector = await startCollector(syslogSocket, logfile, 'moat-e2e');
  const argv = [...opts.nsExec, ...sshdLauncher(dir, config, syslogSocket)];
  // its own process group: stop() ends sshd and the per-connection children it forked
  const proc: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const log = () => readFileSync(logfile, 'utf8');
  const sshd: Sshd = {
    logfile,
    user,
    log,
    async stop() {
      if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(-proc.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        await exited(proc, 5000);
        try {
          process.kill(-proc.pid, 'SIGKILL');
        } catch {
          /* group empty */
        }
      }
      await new Promise<void>((r) => collector.close(() => r()));
    },
  };
  try {
    await waitFor(
      'sshd to log "Server listening" through syslog',
      () => {
        if (proc.exitCode !== null) throw new Error(`sshd exited (${proc.exitCode}): ${stderr}`);
        return opts.listen.every((a) => log().includes(`Server listening on ${a} port 22.`));
      },
      15_000,
      () => `sshd stderr: ${stderr}\nauth.log:\n${log()}`,
    );
  } catch (e) {
    await sshd.stop();
    throw e;
  }
  return sshd;
}

/** One password login with a wrong password from `ns`; returns ssh's exit code and stderr. */
export function failLogin(ns: string, user: string, host: string): { code: number | null; stderr: string } {
  const r = run(
    [
      'ip', 'netns', 'exec', ns, 'timeout', '20',
      'sshpass', '-p', 'not-the-password',
      'ssh', '-F', '/dev/null',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no',
      '-o', 'NumberOfPasswordPrompts=1', '-o', 'ConnectTimeout=5',
      `${user}@${host}`, 'true',
    ],
    30_000,
  );
  return { code: r.code, stderr: r.stderr };
}
