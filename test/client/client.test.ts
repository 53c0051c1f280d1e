import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { runClient, type ClientIo } from '../../src/client/index.ts';
import { shellSplit } from '../../src/config/shlex.ts';
import { configStream, dumpStream } from '../../src/client/config-stream.ts';
import { parseClientArgs } from '../../src/client/options.ts';
import { ControlServer } from '../../src/server/control-socket.ts';
import { EventHub } from '../../src/server/events.ts';
import { time2str } from '../../src/bans/format.ts';
import { Transmitter } from '../../src/server/transmitter.ts';
import type { LoadedConfig } from '../../src/config/types.ts';
import { sampleDaemon, type FakeDaemon } from '../server/fake-daemon.ts';

const root = mkdtempSync(join(tmpdir(), 'moat-client-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

interface Captured {
  out: string;
  err: string;
  code: number;
}

async function run(argv: string[], extra: Partial<ClientIo> = {}): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await runClient(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), ...extra });
  return { out, err, code };
}

async function serve(events?: EventHub): Promise<{ socket: string; daemon: FakeDaemon; server: ControlServer }> {
  const socket = join(root, `s${++n}`, 'moat.sock');
  const daemon = sampleDaemon();
  const t = new Transmitter(daemon);
  const server = await ControlServer.listen({ socketPath: socket, handler: (cmd) => t.proceed(cmd), env: {}, ...(events ? { events } : {}) });
  return { socket, daemon, server };
}

test('option parsing stops at the first command word', () => {
  const o = parseClientArgs(['-vvx', '-s/tmp/x.sock', '--json', 'set', 'sshd', 'addfailregex', '-v']);
  assert.equal(o.verbose, 3);
  assert.equal(o.force, true);
  assert.equal(o.socket, '/tmp/x.sock');
  assert.equal(o.json, true);
  assert.deepEqual(o.command, ['set', 'sshd', 'addfailregex', '-v']);
  assert.throws(() => parseClientArgs(['--bogus']), /not recognized/);
  assert.throws(() => parseClientArgs(['-s']), /requires argument/);
});

test('a last word --json is the option; elsewhere in the command, and after echo, regex or console, it is an argument', () => {
  const trailing = parseClientArgs(['status', 'sshd', '--json']);
  assert.equal(trailing.json, true);
  assert.deepEqual(trailing.command, ['status', 'sshd']);
  const middle = parseClientArgs(['get', '--json', 'banned']);
  assert.equal(middle.json, false);
  assert.deepEqual(middle.command, ['get', '--json', 'banned']);
  const echo = parseClientArgs(['echo', '--json']);
  assert.equal(echo.json, false);
  assert.deepEqual(echo.command, ['echo', '--json']);
  // moat regex parses its own words: its --json must reach it
  assert.deepEqual(parseClientArgs(['regex', 'auth.log', 'sshd', '--json']).command, ['regex', 'auth.log', 'sshd', '--json']);
  // a bare `--json` with no command stays the option (and no command)
  assert.deepEqual(parseClientArgs(['--json']).command, []);
});

test('shell word splitting for interactive mode', () => {
  assert.deepEqual(shellSplit(`set sshd addfailregex '^a b <HOST>$' "x\\"y" c\\ d`), ['set', 'sshd', 'addfailregex', '^a b <HOST>$', 'x"y', 'c d']);
  assert.throws(() => shellSplit("echo 'open"), /No closing quotation/);
});

test('human output, --json and exit codes against a live server', async () => {
  const { socket, server } = await serve();
  try {
    assert.deepEqual(await run(['-s', socket, 'ping']), { out: 'Server replied: pong\n', err: '', code: 0 });
    assert.deepEqual(await run(['-s', socket, 'status']), { out: 'Status\n|- Number of jail:\t1\n`- Jail list:\tsshd\n', err: '', code: 0 });
    const st = await run(['-s', socket, 'status', 'sshd']);
    assert.equal(
      st.out,
      'Status for the jail: sshd\n|- Filter\n|  |- Currently failed:\t2\n|  |- Total failed:\t7\n|  `- File list:\t/tmp/f2btest/auth.log\n' +
        '`- Actions\n   |- Currently banned:\t1\n   |- Total banned:\t1\n   `- Banned IP list:\t192.0.2.10\n',
    );
    assert.equal((await run(['-s', socket, 'banned'])).out, "[{'sshd': ['192.0.2.10']}]\n");
    assert.equal((await run(['-s', socket, 'set', 'sshd', 'banip', '192.0.2.20'])).out, '1\n');
    assert.equal(
      (await run(['-s', socket, 'get', 'sshd', 'banip', '--with-time'])).out,
      `192.0.2.10 \t${time2str(1700000000)} + 600 = ${time2str(1700000600)}\n` +
        `192.0.2.20 \t${time2str(1700000001)} + 600 = ${time2str(1700000601)}\n`,
    );
    assert.equal((await run(['-s', socket, 'get', 'sshd', 'logpath'])).out, 'Current monitored log file(s):\n`- /tmp/f2btest/auth.log\n');
    assert.equal((await run(['-s', socket, 'echo', 'a', 'b'])).out, 'a b\n');

    const json = await run(['--json', '-s', socket, 'status', 'sshd']);
    assert.equal(json.code, 0);
    assert.deepEqual(JSON.parse(json.out)[1], ['Actions', [['Currently banned', 2], ['Total banned', 2], ['Banned IP list', ['192.0.2.10', '192.0.2.20']]]]);
    assert.deepEqual(JSON.parse((await run(['--json', '-s', socket, 'banned'])).out), [{ sshd: ['192.0.2.10', '192.0.2.20'] }]);

    const nok = await run(['-s', socket, 'status', 'nosuch']);
    assert.equal(nok.code, 255);
    assert.equal(nok.out, "Sorry but the jail 'nosuch' does not exist\n");
    assert.equal(nok.err.trim().split('\n').length, 1);
    assert.match(nok.err, /NOK: .*MOAT_ERR_UNKNOWN_JAIL/);
    const invalid = await run(['-s', socket, 'set', 'sshd', 'banip']);
    assert.equal(invalid.code, 255);
    assert.equal(invalid.out, 'Sorry but the command is invalid\n');
    const bogus = await run(['-s', socket, 'bogus']);
    assert.deepEqual([bogus.code, bogus.out], [255, 'Invalid command\n']);
    const jsonErr = await run(['--json', '-s', socket, 'status', 'nosuch']);
    assert.equal(jsonErr.code, 255);
    assert.equal(JSON.parse(jsonErr.out).error.code, 'MOAT_ERR_UNKNOWN_JAIL');
  } finally {
    await server.close();
  }
});

test('unreachable server, usage errors, no command → 255 with one stderr line', async () => {
  const missing = await run(['-s', join(root, 'nope', 'moat.sock'), 'ping']);
  assert.equal(missing.code, 255);
  assert.equal(missing.out, '');
  assert.equal(missing.err, `ERROR   Failed to access socket path: ${join(root, 'nope', 'moat.sock')}. Is moatd running?\n`);
  const usageErr = await run(['--bogus']);
  assert.equal(usageErr.code, 255);
  assert.match(usageErr.out, /^Usage: moat \[OPTIONS\] <COMMAND>/);
  assert.equal(usageErr.err, 'ERROR   option --bogus not recognized\n');
  const none = await run([]);
  assert.equal(none.code, 255);
  assert.match(none.out, /Usage: moat/);
});

test('no-server options: -h, -V, --version, --str2sec', async () => {
  const help = await run(['-h']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^ {4}JAIL INFORMATION$/m);
  assert.match((await run(['-V'])).out, /^\d+\.\d+\.\d+\n$/);
  assert.match((await run(['--version'])).out, /^moat v\d+\.\d+\.\d+ \(fail2ban 1\.0\.2 compatible\)\n$/);
  assert.deepEqual(await run(['--str2sec', '1d12h30m']), { out: '131400\n', err: '', code: 0 });
  assert.equal((await run(['--str2sec', 'nonsense!'])).code, 255);
});

test('reload and restart JAIL send fail2ban reload commands', async () => {
  const { socket, server, daemon } = await serve();
  try {
    assert.deepEqual(await run(['-s', socket, 'reload']), { out: 'OK\n', err: '', code: 0 });
    assert.deepEqual(await run(['-s', socket, 'reload', '--unban', 'sshd']), { out: 'OK\n', err: '', code: 0 });
    assert.deepEqual(await run(['-s', socket, 'restart', 'sshd']), { out: 'OK\n', err: '', code: 0 });
    assert.deepEqual(
      daemon.reloads.map((r) => [r.jail, r.opts.restart, r.opts.unban]),
      [[null, false, false], ['sshd', false, true], ['sshd', true, false]],
    );
    assert.equal((await run(['-s', socket, 'reload', 'nosuch'])).out, "Sorry but the jail 'nosuch' does not exist\n");
  } finally {
    await server.close();
  }
  assert.equal((await run(['-s', socket, 'reload'])).err, 'ERROR   Could not find server\n');
});

test('watch prints events as JSON lines until stopped', async () => {
  const events = new EventHub();
  const { socket, server } = await serve(events);
  try {
    let stop!: () => void;
    const stopSignal = new Promise<void>((r) => (stop = r));
    let out = '';
    const done = runClient(['--json', '-s', socket, 'watch', 'type=ban'], {
      stdout: (t) => {
        out += t;
        if (out.split('\n').length > 2) stop();
      },
      stderr: () => {},
      stopSignal,
    });
    while (server.connectionCount === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    events.publish({ type: 'unban', time: 1, jail: 'sshd', ip: '192.0.2.1', reason: 'manual' });
    events.publish({ type: 'ban', time: 2, jail: 'sshd', ip: '192.0.2.2', bantime: 600, banCount: 1 });
    events.publish({ type: 'ban', time: 3, jail: 'sshd', ip: '192.0.2.3', bantime: -1, banCount: 2 });
    assert.equal(await done, 0);
    assert.deepEqual(out.trim().split('\n').map((l) => JSON.parse(l).ip), ['192.0.2.2', '192.0.2.3']);
  } finally {
    await server.close();
  }
});

test('interactive mode: moat> prompt, commands, quit', async () => {
  const { socket, server } = await serve();
  try {
    const input = new PassThrough();
    const output = new PassThrough();
    let out = '';
    const done = runClient(['-s', socket, '-i'], { stdout: (t) => (out += t), stderr: () => {}, input, output });
    input.write('ping\n');
    input.write("echo 'a b' c\n");
    input.write('quit\n');
    assert.equal(await done, 0);
    assert.equal(out, 'Server replied: pong\na b c\n');
  } finally {
    await server.close();
  }
});

function smallConfig(): LoadedConfig {
  return {
    dir: '/etc/moat',
    daemon: {
      loglevel: 'INFO', logtarget: '/var/log/moat.log', syslogsocket: 'auto', socket: '/run/moat/moat.sock',
      pidfile: '/run/moat/moat.pid', dbfile: '/var/lib/moat/moat.sqlite3', dbpurgeage: 86400, dbmaxmatches: 10,
      allowipv6: 'auto', socketgroup: null, files: [],
    },
    jails: [
      {
        name: 'sshd', enabled: true, backend: 'polling', backendOptions: {},
        filter: {
          name: 'sshd', files: [], prefregex: '^<F-MLFID></F-MLFID><F-CONTENT>.+</F-CONTENT>$',
          failregex: ["^Failed password for .* from <HOST>( port \\d+)?$", "^User '<F-USER>.*</F-USER>' from <HOST>"],
          ignoreregex: [], maxlines: 1, datepattern: '{^LN-BEG}', journalmatch: [], usedns: null, options: {},
        },
        actions: [
          {
            name: 'dummy', file: 'dummy', files: [],
            commands: { actionstart: 'touch <tmpfile>', actionstop: '', actioncheck: '', actionban: 'echo <ip> >> <tmpfile>', actionunban: '',
              actionflush: '', actionreload: '', actionrepair: '', actionreban: '', actionprolong: '' },
            actionstartOnDemand: null, actionrepairOnUnban: false, norestored: false, timeout: 60,
            properties: { tmpfile: '/tmp/dummy', name: 'sshd', actname: 'dummy' },
          },
        ],
        logpaths: [{ glob: join(root, 'logs', '*.log'), start: 'head' }],
        logencoding: 'auto', logtimezone: null, maxretry: 5, maxmatches: 5, findtime: 600, bantime: 600,
        bantimeIncrement: { enabled: false, factor: '1', formula: 'ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor', multipliers: [], maxtime: null, rndtime: null, overalljails: false },
        ignoreip: ['127.0.0.1/8', '::1'], ignoreself: true, ignorecommand: '', ignorecache: null, usedns: 'warn',
        journalmatch: [], source: { file: '/etc/moat/jail.local', line: 1 },
      },
    ],
    errors: [],
    warnings: [],
  };
}

test('-d dumps the config stream as Python reprs in fail2ban order', async () => {
  mkdirSync(join(root, 'logs'), { recursive: true });
  writeFileSync(join(root, 'logs', 'b.log'), '');
  writeFileSync(join(root, 'logs', 'a.log'), '');
  writeFileSync(join(root, 'logs', 'skip.txt'), '');
  const r = await run(['-d'], { loadConfig: () => smallConfig() });
  assert.equal(r.code, 0);
  const expected = [
    "['set', 'syslogsocket', 'auto']",
    "['set', 'loglevel', 'INFO']",
    "['set', 'logtarget', '/var/log/moat.log']",
    "['set', 'allowipv6', 'auto']",
    "['set', 'dbfile', '/var/lib/moat/moat.sqlite3']",
    "['set', 'dbmaxmatches', 10]",
    "['set', 'dbpurgeage', 86400]",
    "['add', 'sshd', 'polling']",
    "['set', 'sshd', 'usedns', 'warn']",
    "['set', 'sshd', 'prefregex', '^<F-MLFID></F-MLFID><F-CONTENT>.+</F-CONTENT>$']",
    "['set', 'sshd', 'maxlines', 1]",
    `['multi-set', 'sshd', 'addfailregex', ['^Failed password for .* from <HOST>( port \\\\d+)?$', "^User '<F-USER>.*</F-USER>' from <HOST>"]]`,
    "['set', 'sshd', 'datepattern', '{^LN-BEG}']",
    "['set', 'sshd', 'maxretry', 5]",
    "['set', 'sshd', 'maxmatches', 5]",
    "['set', 'sshd', 'findtime', 600]",
    "['set', 'sshd', 'bantime', 600]",
    "['set', 'sshd', 'ignorecommand', '']",
    "['set', 'sshd', 'ignoreself', True]",
    "['set', 'sshd', 'addignoreip', '127.0.0.1/8', '::1']",
    "['set', 'sshd', 'logencoding', 'auto']",
    `['set', 'sshd', 'addlogpath', '${join(root, 'logs', 'a.log')}', 'head']`,
    `['set', 'sshd', 'addlogpath', '${join(root, 'logs', 'b.log')}', 'head']`,
    "['set', 'sshd', 'addaction', 'dummy']",
    "['multi-set', 'sshd', 'action', 'dummy', [['actionstart', 'touch <tmpfile>'], ['actionban', 'echo <ip> >> <tmpfile>'], ['tmpfile', '/tmp/dummy'], ['name', 'sshd'], ['actname', 'dummy']]]",
    "['start', 'sshd']",
  ];
  assert.equal(r.out, expected.join('\n') + '\n');
});

test('config stream: broken jails become config-error, missing logs warn', () => {
  const cfg = smallConfig();
  cfg.jails[0]!.logpaths = [{ glob: join(root, 'nothing-here', '*.log'), start: 'tail' }];
  const err = Object.assign(new Error('bad'), { section: 'web', code: 'MOAT_ERR_CONFIG_VALUE' });
  cfg.errors = [err as never];
  const s = configStream(cfg);
  assert.deepEqual(s.warnings, ['Have not found any log file for sshd jail']);
  const text = dumpStream(s.commands);
  assert.match(text, /\['config-error', "Jail 'web' skipped, because of wrong configuration: bad"\]\n\['start', 'sshd'\]\n$/);
});

test('-d and -t with the real config reader on a small config dir', async () => {
  const dir = join(root, 'etc');
  mkdirSync(join(dir, 'filter.d'), { recursive: true });
  mkdirSync(join(dir, 'action.d'), { recursive: true });
  mkdirSync(join(root, 'logs'), { recursive: true });
  writeFileSync(join(root, 'logs', 'auth.log'), '');
  writeFileSync(join(dir, 'moat.conf'), `[Definition]\nloglevel = INFO\nlogtarget = STDERR\nsocket = ${join(root, 'cfgsock', 'moat.sock')}\ndbfile = None\n`);
  writeFileSync(join(dir, 'filter.d', 'demo.conf'), '[Definition]\nfailregex = ^fail from <HOST>$\nignoreregex =\n');
  writeFileSync(join(dir, 'action.d', 'note.conf'), '[Definition]\nactionban = echo <ip>\nactionunban = echo unban <ip>\n');
  writeFileSync(
    join(dir, 'jail.local'),
    `[demo]\nenabled = true\nbackend = polling\nfilter = demo\naction = note\nlogpath = ${join(root, 'logs', 'auth.log')}\nmaxretry = 3\n`,
  );
  const d = await run(['-c', dir, '-d']);
  assert.equal(d.code, 0, d.err);
  const lines = d.out.trim().split('\n');
  assert.equal(lines[0], "['set', 'syslogsocket', 'auto']");
  assert.ok(lines.includes("['set', 'dbfile', 'None']"), d.out);
  assert.ok(lines.includes("['add', 'demo', 'polling']"), d.out);
  assert.ok(lines.includes("['set', 'demo', 'addfailregex', '^fail from <HOST>$']"), d.out);
  assert.ok(lines.includes("['set', 'demo', 'maxretry', 3]"), d.out);
  assert.ok(lines.includes(`['set', 'demo', 'addlogpath', '${join(root, 'logs', 'auth.log')}', 'head']`), d.out);
  assert.equal(lines.at(-1), "['start', 'demo']");
  const t = await run(['-c', dir, '-t']);
  assert.deepEqual([t.code, t.out], [0, 'OK: configuration test is successful\n']);
  // -c DIR without -s: the socket comes from moat.conf
  const p = await run(['-c', dir, 'ping']);
  assert.equal(p.code, 255);
  assert.match(p.err, new RegExp(`Failed to access socket path: ${join(root, 'cfgsock', 'moat.sock')}`));
});

test('start launches the daemon, waits for it, refuses a second start; stop shuts it down', { timeout: 60_000 }, async () => {
  const socket = join(root, 'started', 'moat.sock');
  const fake = join(import.meta.dirname, 'fixtures', 'fake-moatd.ts');
  const io = { loadConfig: () => smallConfig(), daemonCommand: [process.execPath, '--import', 'tsx', fake] };
  const started = await run(['-s', socket, '-c', root, '--timeout', '30', 'start'], io);
  assert.deepEqual([started.code, started.out], [0, 'Server ready\n'], started.err);
  const v = await run(['-s', socket, 'version']);
  assert.equal(v.out, `fake -c ${root} -s ${socket}\n`);
  const again = await run(['-s', socket, '-c', root, 'start'], io);
  assert.deepEqual([again.code, again.err], [255, 'ERROR   Server already running\n']);
  assert.deepEqual(await run(['-s', socket, 'stop']), { out: 'Shutdown successful\n', err: '', code: 0 });
  for (let i = 0; i < 100 && existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(existsSync(socket), false);
});

test('start reports a daemon that dies before answering', { timeout: 30_000 }, async () => {
  const socket = join(root, 'dies', 'moat.sock');
  const script = join(root, 'dies.mjs');
  writeFileSync(script, 'process.exit(3);\n');
  const io = { loadConfig: () => smallConfig(), daemonCommand: [process.execPath, script] };
  const r = await run(['-s', socket, 'start'], io);
  assert.equal(r.code, 255);
  assert.match(r.err, /Could not start moatd: moatd exited with code 3/);
});
