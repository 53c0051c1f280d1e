import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandAction, type ActionLogLevel } from '../../src/actions/action.ts';
import { KeyedSerialQueue, runShell } from '../../src/actions/command.ts';
import { dummyActionDefinition } from '../../src/actions/dummy.ts';
import { ActionError } from '../../src/errors.ts';
import { definition, tempDir, ticket } from './helpers.ts';

const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '<missing>');

test('dummy action: same file protocol as fail2ban dummy', async (t) => {
  const dir = tempDir(t);
  const target = join(dir, 'dummy');
  const a = new CommandAction(dummyActionDefinition({ target }), { jail: 'j' });
  await a.start();
  assert.equal(read(target), '123\n');
  await a.ban(ticket('192.0.2.1'));
  await a.ban(ticket('2001:db8::1'));
  await a.unban(ticket('192.0.2.1'));
  assert.equal(read(target), '123\n+192.0.2.1\n+2001:db8::1\n-192.0.2.1\n');
  assert.equal(await a.flush(), true);
  assert.equal(read(target), '123\n+192.0.2.1\n+2001:db8::1\n-192.0.2.1\n-*\n');
  await a.stop();
  assert.equal(existsSync(target), false);
});

test('conditional ?family= properties select per family; start on demand per family', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'log');
  const def = definition(
    {
      actionstart: `echo "start <family> <tool>" >> ${log}`,
      actionstop: `echo "stop <family> <tool>" >> ${log}`,
      actionban: `echo "ban <tool> <ip> <blocktype>" >> ${log}`,
      actionunban: `echo "unban <tool> <ip>" >> ${log}`,
    },
    { tool: 'iptables <opt>', 'tool?family=inet6': 'ip6tables <opt>', opt: '-w', blocktype: 'R4', 'blocktype?family=inet6': 'R6' },
  );
  const a = new CommandAction(def, { jail: 'j' });
  assert.equal(a.startOnDemand, true);
  assert.deepEqual(a.families, ['inet4', 'inet6']);
  await a.start();
  assert.equal(read(log), '<missing>', 'no start before the first ban');
  await a.ban(ticket('192.0.2.1'));
  await a.ban(ticket('192.0.2.2'));
  await a.unban(ticket('2001:db8::5')); // never banned in inet6: skipped
  await a.ban(ticket('2001:db8::1'));
  assert.deepEqual(a.startedFamilies().sort(), ['inet4', 'inet6']);
  await a.stop();
  assert.equal(
    read(log),
    [
      'start inet4 iptables -w',
      'ban iptables -w 192.0.2.1 R4',
      'ban iptables -w 192.0.2.2 R4',
      'start inet6 ip6tables -w',
      'ban ip6tables -w 2001:db8::1 R6',
      'stop inet4 iptables -w',
      'stop inet6 ip6tables -w',
      '',
    ].join('\n'),
  );
});

test('without conditionals: start at jail start, identical commands run once', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'log');
  const a = new CommandAction(
    definition({ actionstart: `echo start >> ${log}`, actionstop: `echo stop >> ${log}`, actionban: `echo ban <ip> >> ${log}` }),
    { jail: 'j' },
  );
  assert.equal(a.startOnDemand, false);
  await a.start();
  await a.ban(ticket('192.0.2.1'));
  await a.stop();
  assert.equal(read(log), 'start\nban 192.0.2.1\nstop\n');
});

test('failed ban → actioncheck fails → actionrepair → check → retry; epoch increments', async (t) => {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const log = join(dir, 'log');
  const logs: [ActionLogLevel, string][] = [];
  const epoch = { value: 0 };
  const a = new CommandAction(
    definition({
      actionstart: `touch ${state}; echo start >> ${log}`,
      actioncheck: `echo check >> ${log}; test -f ${state}`,
      actionrepair: `echo repair >> ${log}; touch ${state}`,
      actionban: `echo "ban <ip>" >> ${log}; test -f ${state}`,
    }),
    { jail: 'j', epoch, logger: (l, m) => logs.push([l, m]) },
  );
  await a.start();
  await a.ban(ticket('192.0.2.1'));
  writeFileSync(log, '');
  const { rmSync } = await import('node:fs');
  rmSync(state);
  await a.ban(ticket('192.0.2.2'));
  assert.equal(read(log), 'ban 192.0.2.2\ncheck\nrepair\ncheck\nban 192.0.2.2\n');
  assert.equal(epoch.value, 1);
  assert.equal(a.banEpoch, 1);
  assert.ok(logs.some(([l, m]) => l === 'error' && m === 'Invariant check failed. Trying to restore a sane environment'));
});

test('failed check without actionrepair → stop + start of the family; persistent failure throws ActionError', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'log');
  const a = new CommandAction(
    definition({
      actionstart: `echo start >> ${log}`,
      actionstop: `echo stop >> ${log}`,
      actioncheck: `echo check >> ${log}; false`,
      actionban: `echo ban >> ${log}; false`,
    }),
    { jail: 'j' },
  );
  await a.start();
  await assert.rejects(a.ban(ticket('192.0.2.1')), (e: unknown) => e instanceof ActionError && /Error banning 192\.0\.2\.1/.test(e.message));
  assert.equal(read(log), 'start\nban\ncheck\nstop\nstart\ncheck\n');
});

test('unban failure does not repair unless actionrepair_on_unban', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'log');
  const logs: string[] = [];
  const a = new CommandAction(
    definition({
      actionban: `true`,
      actioncheck: `echo check >> ${log}; false`,
      actionrepair: `echo repair >> ${log}`,
      actionunban: `echo unban >> ${log}; false`,
    }),
    { jail: 'j', logger: (_l, m) => logs.push(m) },
  );
  await a.start();
  await a.ban(ticket('192.0.2.1'));
  await assert.rejects(a.unban(ticket('192.0.2.1')), ActionError);
  assert.equal(read(log), 'unban\ncheck\n');
  assert.ok(logs.includes('Invariant check failed. Unban is impossible.'));
});

test('timeout kills the whole process group', async (t) => {
  const dir = tempDir(t);
  const pidFile = join(dir, 'pid');
  const r = await runShell(`sleep 30 & echo $! > ${pidFile}; wait`, { timeout: 0.3 });
  assert.equal(r.timedOut, true);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((res) => setTimeout(res, 300));
  // gone, or a zombie waiting for a PID 1 that does not reap (containers)
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  assert.ok(stat === '' || / Z /.test(stat), `background child still running: ${stat}`);
});

test('output capture is bounded', async () => {
  const r = await runShell('head -c 100000 /dev/zero | tr "\\0" x', { maxOutput: 1000 });
  assert.equal(r.code, 0);
  assert.equal(r.stdout.length, 1000);
  assert.equal(r.truncated, true);
});

test('per-jail serialisation: one jail ordered, other jails not blocked', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'log');
  const queue = new KeyedSerialQueue();
  const slow = new CommandAction(definition({ actionban: `sleep 0.4; echo "slow <ip>" >> ${log}` }), { jail: 'a', queue });
  const slow2 = new CommandAction(definition({ actionban: `echo "after <ip>" >> ${log}` }, {}, { name: 'b' }), { jail: 'a', queue });
  const fast = new CommandAction(definition({ actionban: `echo "fast <ip>" >> ${log}` }), { jail: 'b', queue });
  await Promise.all([slow.start(), fast.start()]);
  await Promise.all([slow.ban(ticket('192.0.2.1')), slow2.ban(ticket('192.0.2.2')), fast.ban(ticket('192.0.2.3'))]);
  assert.equal(read(log), 'fast 192.0.2.3\nslow 192.0.2.1\nafter 192.0.2.2\n');
});

test('multi-line command is one script: shell state carries across lines', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const a = new CommandAction(definition({ actionban: `X=<ip>\ncd ${dir}\necho "$X" > out` }), { jail: 'j' });
  await a.ban(ticket('192.0.2.9'));
  assert.equal(read(out), '192.0.2.9\n');
});

test('the action timeout applies to each command', async () => {
  const a = new CommandAction(definition({ actionban: 'sleep 5' }, {}, { timeout: 0.3 }), { jail: 'j' });
  const t0 = Date.now();
  await assert.rejects(a.ban(ticket('192.0.2.1')), ActionError);
  // one try + one retry, each cut at 0.3 s
  assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
});

test('createJailAction: stock nftables actions go native, others run shell commands', async () => {
  const { createJailAction } = await import('../../src/actions/factory.ts');
  const { NftRunner } = await import('../../src/actions/nft/runner.ts');
  const { NftBatcher } = await import('../../src/actions/nft/batcher.ts');
  const { NftAction } = await import('../../src/actions/nft/action.ts');
  const runner = new NftRunner();
  const nft = { runner, batcher: new NftBatcher(runner) };
  const nftDef = definition({ actionban: 'nft add element <ip>' }, { name: 'sshd' }, { file: 'action.d/nftables-multiport.conf' });
  assert.ok(createJailAction(nftDef, { jail: 'sshd', nft }) instanceof NftAction);
  assert.ok(createJailAction(nftDef, { jail: 'sshd', nft: null }) instanceof CommandAction);
  assert.ok(createJailAction(dummyActionDefinition(), { jail: 'sshd', nft }) instanceof CommandAction);
});
