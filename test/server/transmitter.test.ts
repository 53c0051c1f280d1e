import assert from 'node:assert/strict';
import { test } from 'node:test';
import { time2str } from '../../src/bans/format.ts';
import { Transmitter, isReadOnlyCommand } from '../../src/server/transmitter.ts';
import type { Command } from '../../src/server/protocol.ts';
import { FakeDaemon, sampleDaemon } from './fake-daemon.ts';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'no error';
}

test('status: fail2ban pair shapes, jails sorted', async () => {
  const d = sampleDaemon();
  d.add('apache');
  const t = new Transmitter(d);
  assert.deepEqual(await t.proceed(['status']), [
    ['Number of jail', 2],
    ['Jail list', 'apache, sshd'],
  ]);
  assert.deepEqual(await t.proceed(['status', 'sshd']), [
    ['Filter', [['Currently failed', 2], ['Total failed', 7], ['File list', ['/tmp/f2btest/auth.log']]]],
    ['Actions', [['Currently banned', 1], ['Total banned', 1], ['Banned IP list', ['192.0.2.10']]]],
  ]);
  const short = (await t.proceed(['status', 'sshd', 'short'])) as [string, [string, unknown][]][];
  assert.deepEqual(short[1]?.[1].map((p) => p[0]), ['Currently banned', 'Total banned']);
  const cymru = (await t.proceed(['status', 'sshd', 'cymru'])) as [string, [string, unknown][]][];
  assert.deepEqual(cymru[1]?.[1].slice(3), [['Banned ASN list', ['error']], ['Banned Country list', ['error']], ['Banned RIR list', ['error']]]);
});

test('status of a journal jail shows "Journal matches"', async () => {
  const d = new FakeDaemon();
  const t = new Transmitter(d);
  await t.proceed(['add', 'sd', 'systemd']);
  await t.proceed(['set', 'sd', 'addjournalmatch', '_SYSTEMD_UNIT=sshd.service', '+', '_COMM=sshd']);
  const st = (await t.proceed(['status', 'sd'])) as [string, [string, unknown][]][];
  assert.deepEqual(st[0]?.[1][2], ['Journal matches', ['_SYSTEMD_UNIT=sshd.service + _COMM=sshd']]);
});

test('basic commands and errors', async () => {
  const d = sampleDaemon();
  const t = new Transmitter(d);
  assert.equal(await t.proceed(['ping']), 'pong');
  assert.equal(await t.proceed(['version']), '0.1.0');
  assert.deepEqual(await t.proceed(['echo', 'a', 'b']), ['a', 'b']);
  assert.equal(await t.proceed(['server-status']), 'Server ready');
  assert.equal(await code(t.proceed(['bogus'])), 'MOAT_ERR_INVALID_COMMAND');
  assert.equal(await code(t.proceed(['status', 'nosuch'])), 'MOAT_ERR_UNKNOWN_JAIL');
  assert.equal(await code(t.proceed(['set', 'sshd'])), 'MOAT_ERR_MISSING_ARGUMENT');
  assert.equal(await code(t.proceed(['set', 'sshd', 'nosuchopt', 'x'])), 'MOAT_ERR_INVALID_COMMAND');
  assert.equal(await code(t.proceed(['get', 'sshd', 'nosuchopt'])), 'MOAT_ERR_INVALID_COMMAND');
  assert.equal(await code(t.proceed(['set', 'sshd', 'maxretry', 'abc'])), 'MOAT_ERR_INVALID_ARGUMENT');
  assert.equal(await code(t.proceed(['add', 'sshd'])), 'MOAT_ERR_DUPLICATE_JAIL');
  assert.equal(await code(t.proceed(['add', '--all'])), 'MOAT_ERR_INVALID_ARGUMENT');
  assert.equal(await code(t.proceed(['unban'])), 'MOAT_ERR_INVALID_COMMAND');
  assert.equal(await t.proceed(['add', 'new']), 'new');
  assert.equal(d.jails.get('new')?.backend, 'auto');
  assert.equal(await t.proceed(['start', 'new']), null);
  assert.equal(d.jails.get('new')?.started, true);
  assert.equal(await t.proceed(['stop', 'new']), null);
  assert.equal(d.jails.has('new'), false);
  assert.equal(await t.proceed(['stop']), null);
  assert.equal(d.shutdownRequested, true);
});

test('bans: banned, banip, unbanip, unban, get banip', async () => {
  const d = sampleDaemon();
  d.add('web');
  const t = new Transmitter(d);
  assert.equal(await t.proceed(['set', 'web', 'banip', '192.0.2.10', '192.0.2.11']), 2);
  assert.deepEqual(await t.proceed(['banned']), [{ sshd: ['192.0.2.10'] }, { web: ['192.0.2.10', '192.0.2.11'] }]);
  assert.deepEqual(await t.proceed(['banned', '192.0.2.10', '203.0.113.9']), [['sshd', 'web'], []]);
  assert.equal(await t.proceed(['get', 'web', 'banned', '192.0.2.11']), 1);
  assert.deepEqual(await t.proceed(['get', 'web', 'banned', '192.0.2.11', '203.0.113.9']), [1, 0]);
  assert.deepEqual(await t.proceed(['get', 'web', 'banip']), ['192.0.2.10', '192.0.2.11']);
  const withTime = (await t.proceed(['get', 'sshd', 'banip', '--with-time'])) as string[];
  assert.deepEqual(withTime, [`192.0.2.10 \t${time2str(1700000000)} + 600 = ${time2str(1700000600)}`]);
  assert.equal(await code(t.proceed(['set', 'web', 'unbanip', '--report-absent', '203.0.113.9'])), 'MOAT_ERR_INVALID_ARGUMENT');
  assert.equal(await t.proceed(['set', 'web', 'unbanip', '192.0.2.11', '203.0.113.9']), 1);
  assert.equal(await t.proceed(['unban', '192.0.2.10']), 2);
  await t.proceed(['set', 'web', 'banip', '198.51.100.1']);
  assert.equal(await t.proceed(['unban', '--all']), 1);
});

test('jail options: set returns the resulting value, ints converted, idle on/off', async () => {
  const d = sampleDaemon();
  const t = new Transmitter(d);
  assert.equal(await t.proceed(['set', 'sshd', 'maxretry', '3']), 3);
  assert.equal(d.jails.get('sshd')?.options.get('maxretry'), 3);
  assert.equal(await t.proceed(['set', 'sshd', 'maxlines', 4]), 4);
  assert.equal(await t.proceed(['set', 'sshd', 'idle', 'on']), true);
  assert.equal(await code(t.proceed(['set', 'sshd', 'idle', 'maybe'])), 'MOAT_ERR_INVALID_ARGUMENT');
  assert.equal(await t.proceed(['set', 'sshd', 'bantime', '3600']), 3600);
  assert.equal(await t.proceed(['get', 'sshd', 'bantime']), 3600);
  assert.equal(await t.proceed(['set', 'sshd', 'bantime.increment', 'true']), 'true');
  assert.deepEqual(await t.proceed(['set', 'sshd', 'addignoreip', '10.0.0.0/8', '192.0.2.1']), ['10.0.0.0/8', '192.0.2.1']);
  assert.deepEqual(await t.proceed(['set', 'sshd', 'delignoreip', '192.0.2.1']), ['10.0.0.0/8']);
  assert.deepEqual(await t.proceed(['set', 'sshd', 'addlogpath', '/var/log/x.log', 'tail']), ['/tmp/f2btest/auth.log', '/var/log/x.log']);
  assert.equal(await code(t.proceed(['set', 'sshd', 'addlogpath', '/a', 'middle'])), 'MOAT_ERR_INVALID_ARGUMENT');
  assert.equal(await code(t.proceed(['set', 'sshd', 'addlogpath', '/a', 'head', '/b'])), 'MOAT_ERR_INVALID_ARGUMENT');
  assert.deepEqual(await t.proceed(['set', 'sshd', 'addfailregex', '^fail from <HOST>$']), ['^fail from (?:(?P<ip4>[\\d.]+))$']);
  assert.equal(await t.proceed(['multi-set', 'sshd', 'addfailregex', ['a <HOST>', 'b <HOST>']]), true);
  assert.equal((await t.proceed(['get', 'sshd', 'failregex']) as string[]).length, 3);
  assert.equal((await t.proceed(['set', 'sshd', 'delfailregex', '0']) as string[]).length, 2);
  assert.equal(await t.proceed(['set', 'sshd', 'attempt', '192.0.2.99', 'line one']), 1);
});

test('server options: get/set, dbfile None', async () => {
  const d = new FakeDaemon();
  const t = new Transmitter(d);
  assert.equal(await t.proceed(['get', 'loglevel']), 'INFO');
  assert.equal(await t.proceed(['set', 'loglevel', 'debug']), 'DEBUG');
  assert.equal(await t.proceed(['set', 'dbmaxmatches', '20']), 20);
  assert.equal(await t.proceed(['set', 'dbfile', 'None']), null);
  assert.equal(await t.proceed(['get', 'dbfile']), null);
  assert.deepEqual(await t.proceed(['get', 'thread']), { stacksize: 0 });
});

test('actions: addaction, properties, methods, multi-set action', async () => {
  const d = sampleDaemon();
  const t = new Transmitter(d);
  assert.equal(await t.proceed(['set', 'sshd', 'addaction', 'dummy']), 'dummy');
  assert.deepEqual(await t.proceed(['get', 'sshd', 'actions']), ['dummy']);
  assert.equal(await t.proceed(['set', 'sshd', 'action', 'dummy', 'actionban', 'echo <ip>']), 'echo <ip>');
  assert.equal(await t.proceed(['get', 'sshd', 'action', 'dummy', 'actionban']), 'echo <ip>');
  assert.equal(await t.proceed(['multi-set', 'sshd', 'action', 'dummy', [['port', 'ssh'], ['reload', '{"x": 1}']]]), true);
  assert.equal(await t.proceed(['get', 'sshd', 'action', 'dummy', 'port']), 'ssh');
  assert.deepEqual(d.calls, ['sshd.dummy.reload({"x":1})']);
  assert.deepEqual(await t.proceed(['get', 'sshd', 'actionproperties', 'dummy']), ['actionban', 'port', 'timeout']);
  assert.equal(await t.proceed(['set', 'sshd', 'delaction', 'dummy']), null);
});

test('server-stream runs quietly; reload passes options and the stream', async () => {
  const d = new FakeDaemon();
  const t = new Transmitter(d);
  const stream: Command = [
    ['add', 'sshd', 'polling'],
    ['set', 'sshd', 'maxretry', 3],
    ['set', 'sshd', 'addignoreip', '127.0.0.1'],
    ['start', 'sshd'],
  ];
  assert.equal(await t.proceed(['server-stream', stream]), null);
  assert.equal(d.jails.get('sshd')?.options.get('maxretry'), 3);
  assert.equal(d.jails.get('sshd')?.started, true);
  assert.equal(await t.proceed(['reload', '--all', ['--unban'], [['set', 'sshd', 'maxretry', 9]]]), 'OK');
  assert.deepEqual(d.reloads.map((r) => [r.jail, r.opts.unban, r.opts.restart]), [[null, true, false]]);
  assert.equal(d.jails.get('sshd')?.options.get('maxretry'), 9);
  assert.equal(await code(t.proceed(['reload', 'nosuch', [], []])), 'MOAT_ERR_UNKNOWN_JAIL');
  assert.equal(await t.proceed(['reload', 'nosuch', ['--if-exists'], []]), 'OK');
  assert.equal(await code(t.proceed(['reload', '--all', ['--bogus'], []])), 'MOAT_ERR_INVALID_ARGUMENT');
  // quiet mode ended: set answers again
  assert.equal(await t.proceed(['set', 'sshd', 'maxretry', 4]), 4);
});

test('read-only classification', () => {
  assert.equal(isReadOnlyCommand(['status']), true);
  assert.equal(isReadOnlyCommand(['get', 'sshd', 'banip']), true);
  assert.equal(isReadOnlyCommand(['set', 'sshd', 'banip', '1.2.3.4']), false);
  assert.equal(isReadOnlyCommand(['stop']), false);
  assert.equal(isReadOnlyCommand(['unban', '--all']), false);
});

test('addaction: the reply is the name the daemon gave the action; a python file needs no kwargs', async () => {
  const seen: unknown[][] = [];
  class NamingDaemon extends FakeDaemon {
    override addAction(jail: string, action: string, pythonFile?: string, kwargs?: unknown): string {
      seen.push([jail, action, pythonFile, kwargs]);
      const name = action.replace(/\[.*$/s, '');
      super.addAction(jail, name);
      return name;
    }
  }
  const d = new NamingDaemon();
  const t = new Transmitter(d);
  await t.proceed(['add', 'sshd', 'polling']);
  assert.equal(await t.proceed(['set', 'sshd', 'addaction', 'dummy[target=/tmp/x]']), 'dummy');
  assert.deepEqual(await t.proceed(['get', 'sshd', 'actions']), ['dummy']);
  assert.equal(await t.proceed(['set', 'sshd', 'addaction', 'mine', '/etc/x/mine.py']), 'mine');
  assert.equal(await t.proceed(['set', 'sshd', 'addaction', 'other', '/etc/x/o.py', '{"a": 1}']), 'other');
  assert.deepEqual(seen, [
    ['sshd', 'dummy[target=/tmp/x]', undefined, undefined],
    ['sshd', 'mine', '/etc/x/mine.py', {}],
    ['sshd', 'other', '/etc/x/o.py', { a: 1 }],
  ]);
  // inside a stream the reply is suppressed
  assert.equal(await t.proceed(['server-stream', [['set', 'sshd', 'addaction', 'quiet']]]), null);
  assert.deepEqual(await t.proceed(['get', 'sshd', 'actions']), ['dummy', 'mine', 'other', 'quiet']);
});
