/**
 * The long-running `nft -i` session (src/actions/nft/session.ts) against a real
 * kernel, inside a namespace the test creates: transactions are atomic, errors
 * belong to the transaction that caused them, a killed process is replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { definition, ticket } from './helpers.ts';
import { createNetnsPair, skipNetns, type NetnsPair } from '../helpers/netns.ts';
import { NftAction } from '../../src/actions/nft/action.ts';
import { NftBatcher, nftElement, opsScript } from '../../src/actions/nft/batcher.ts';
import { rulesetFromDefinition } from '../../src/actions/nft/ruleset.ts';
import { NftRunner } from '../../src/actions/nft/runner.ts';
import { NftSession, sessionLine, SESSION_MAX_SCRIPT } from '../../src/actions/nft/session.ts';

const opts = { skip: skipNetns ? 'MOAT_SKIP_NETNS=1' : false };

async function withNetns(tag: string, fn: (ns: NetnsPair) => Promise<void>): Promise<void> {
  const ns = await createNetnsPair(tag);
  try {
    await fn(ns);
  } finally {
    ns.cleanup();
  }
}

function setElements(ns: NetnsPair, set: string): string[] {
  const r = ns.execFw(['nft', '-j', 'list', 'set', 'inet', 't', set]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const elem = doc.nftables.find((o) => o.set)?.set?.elem ?? [];
  return elem.map((e) => (typeof e === 'string' ? e : (e as { elem: { val: string } }).elem.val)).sort();
}

test('sessionLine: element scripts become one line; blocks, comments and big scripts do not', () => {
  const ops = [
    { kind: 'ban' as const, table: 'inet t', set: 's', element: nftElement('192.0.2.1'), timeout: 60 },
    { kind: 'unban' as const, table: 'inet t', set: 's', element: nftElement('192.0.2.2'), timeout: 0 },
  ];
  const line = sessionLine(opsScript(ops));
  assert.ok(line && !line.includes('\n'), String(line));
  assert.equal(line!.split('; ').length, opsScript(ops).trim().split('\n').length);
  assert.equal(sessionLine('table inet t {\n  set s { type ipv4_addr; }\n}\n'), null);
  assert.equal(sessionLine('add chain inet t c { type filter hook input priority 0; }\n'), null);
  assert.equal(sessionLine('add table inet t # comment\n'), null);
  assert.equal(sessionLine(`add element inet t s { ${'1.2.3.4, '.repeat(SESSION_MAX_SCRIPT / 8)}1.2.3.5 }\n`), null);
});

test('nft -i session: atomic transactions, errors per transaction, restart after a kill, recycling', opts, async () => {
  await withNetns('s', async (ns) => {
    const session = new NftSession({ command: ['ip', 'netns', 'exec', ns.fw, 'nft'], recycleAfterBytes: 4000 });
    try {
      const setup = ns.execFw(['nft', 'add table inet t; add set inet t s { type ipv4_addr; flags timeout; }']);
      assert.equal(setup.code, 0, setup.stderr);

      let r = await session.apply('add element inet t s { 192.0.2.1 timeout 60s }', 10);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(setElements(ns, 's'), ['192.0.2.1']);
      const firstPid = session.pid;
      assert.ok(firstPid);

      // the failing delete makes the whole line fail: 192.0.2.2 must not be added
      r = await session.apply('add element inet t s { 192.0.2.2 }; delete element inet t s { 198.51.100.9 }', 10);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /No such file or directory/);
      assert.doesNotMatch(r.stderr, /moat-ack/);
      assert.deepEqual(setElements(ns, 's'), ['192.0.2.1']);

      // the error stays with its transaction
      r = await session.apply('add element inet t s { 192.0.2.3 }', 10);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.deepEqual(setElements(ns, 's'), ['192.0.2.1', '192.0.2.3']);
      assert.equal(session.starts, 1, 'one process for all of it');

      // killed from outside: the next transaction runs in a new process
      process.kill(firstPid!, 'SIGKILL');
      await sleep(200);
      r = await session.apply('add element inet t s { 192.0.2.4 }', 10);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(session.starts, 2);
      assert.notEqual(session.pid, firstPid);

      // past recycleAfterBytes the process is replaced (its line history grows with every line)
      for (let i = 0; i < 120; i++) {
        r = await session.apply(`add element inet t s { 203.0.113.${i + 1} timeout 60s }`, 10);
        assert.equal(r.code, 0, r.stderr);
      }
      assert.ok(session.starts >= 3, `starts ${session.starts}`);
      assert.equal(setElements(ns, 's').length, 123);
    } finally {
      session.close();
    }

    // after recycleAfterTransactions the process is replaced at once, before the next transaction
    const counted = new NftSession({ command: ['ip', 'netns', 'exec', ns.fw, 'nft'], recycleAfterTransactions: 3 });
    try {
      const pids: (number | undefined)[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await counted.apply(`add element inet t s { 198.51.100.${i + 1} timeout 60s }`, 10);
        assert.equal(r.code, 0, r.stderr);
        pids.push(counted.pid);
      }
      // transactions 1–2 in the first process, 3rd settles and starts the second; 6th the third
      assert.equal(counted.starts, 3);
      assert.equal(new Set(pids).size, 3);
      assert.equal(pids[0], pids[1]);
      assert.notEqual(pids[1], pids[2]);
      assert.equal(pids[2], pids[4]);
      assert.notEqual(pids[4], pids[5]);
      assert.equal(setElements(ns, 's').filter((e) => e.startsWith('198.51.100.')).length, 7);
    } finally {
      counted.close();
    }
  });
});

test('nft -i session: a transaction sent to a session that cannot start fails, nothing hangs', async () => {
  const session = new NftSession({ command: ['/nonexistent/nft'] });
  const r = await session.apply('add table inet t', 5);
  assert.notEqual(r.code, 0);
  assert.ok(r.spawnError || /ended|could not start/.test(r.stderr), r.stderr);
  session.close();
});

test('native nftables action through the session: bans in one transaction, connect refused, unban; HOME history removed', opts, async () => {
  await withNetns('a', async (ns) => {
    const runner = new NftRunner({ command: ['ip', 'netns', 'exec', ns.fw, 'nft'], session: true });
    const batcher = new NftBatcher(runner);
    const def = definition({}, { name: 'sshd', port: '8022', protocol: 'tcp' }, { file: '/etc/fail2ban/action.d/nftables-multiport.conf', name: 'nftables-multiport' });
    const action = new NftAction('nftables-multiport', rulesetFromDefinition(def, 'sshd'), { jail: 'sshd', runner, batcher });
    let home: string | null = null;
    try {
      await action.start();
      const v4 = ticket(ns.client4, { time: Date.now() / 1000, bantime: 600 });
      const v6 = ticket(ns.client6, { time: Date.now() / 1000, bantime: -1 });
      await Promise.all([action.ban(v4), action.ban(v6)]);
      assert.ok(runner.session!.starts >= 1, 'the bans went through the session');
      home = runner.session!.home;
      assert.ok(home && existsSync(home));
      assert.equal(await ns.connect(ns.fw4), 'ECONNREFUSED');
      assert.equal(await ns.connect(ns.fw6), 'ECONNREFUSED');
      await Promise.all([action.unban(v4), action.unban(v6), action.unban(ticket('203.0.113.9'))]);
      assert.equal(await ns.connect(ns.fw4), 'ok');
      assert.equal(await ns.connect(ns.fw6), 'ok');
      await action.stop();
    } finally {
      runner.close();
    }
    await sleep(500);
    // nft -i writes its line history into HOME when it ends: a private one, removed afterwards
    assert.equal(existsSync(home!), false);
  });
});

test('opsScript: fresh bans become one `create element`; rebans and unbans keep the safe add/delete/add form', () => {
  const el = (ip: string) => nftElement(ip);
  const script = opsScript([
    { kind: 'ban', table: 'inet t', set: 's', element: el('192.0.2.1'), timeout: 60, fresh: true },
    { kind: 'ban', table: 'inet t', set: 's', element: el('192.0.2.2'), timeout: 0, fresh: true },
    { kind: 'ban', table: 'inet t', set: 's', element: el('192.0.2.3'), timeout: 60 },
    { kind: 'unban', table: 'inet t', set: 's', element: el('192.0.2.4'), timeout: 0, fresh: true },
  ]);
  assert.equal(
    script,
    [
      'create element inet t s { 192.0.2.1 timeout 60s, 192.0.2.2 }',
      'add element inet t s { 192.0.2.3, 192.0.2.4 }',
      'delete element inet t s { 192.0.2.3, 192.0.2.4 }',
      'add element inet t s { 192.0.2.3 timeout 60s }',
      '',
    ].join('\n'),
  );
});

test('a fresh ban of an element the kernel already has: EEXIST, then the safe form refreshes its timeout', opts, async () => {
  await withNetns('f', async (ns) => {
    const runner = new NftRunner({ command: ['ip', 'netns', 'exec', ns.fw, 'nft'], session: true });
    const batcher = new NftBatcher(runner);
    try {
      const setup = ns.execFw(['nft', 'add table inet t; add set inet t s { type ipv4_addr; flags timeout; }; add element inet t s { 192.0.2.9 timeout 30s }']);
      assert.equal(setup.code, 0, setup.stderr);
      const fresh = (ip: string, timeout: number) => ({ kind: 'ban' as const, table: 'inet t', set: 's', element: nftElement(ip), timeout, fresh: true });
      const before = batcher.transactions;
      await Promise.all([batcher.submit(fresh('192.0.2.9', 7200)), batcher.submit(fresh('192.0.2.10', 7200))]);
      assert.equal(batcher.transactions - before, 2, 'create failed once, the safe form went through');
      const doc = JSON.parse(ns.execFw(['nft', '-j', 'list', 'set', 'inet', 't', 's']).stdout) as { nftables: { set?: { elem?: { elem: { val: string; timeout: number } }[] } }[] };
      const elems = doc.nftables.find((o) => o.set)!.set!.elem!;
      assert.deepEqual(elems.map((e) => [e.elem.val, e.elem.timeout]).sort(), [['192.0.2.10', 7200], ['192.0.2.9', 7200]]);
      // the normal case: absent elements, one transaction
      const n = batcher.transactions;
      await batcher.submit(fresh('192.0.2.11', 60));
      assert.equal(batcher.transactions - n, 1);
      assert.deepEqual(setElements(ns, 's'), ['192.0.2.10', '192.0.2.11', '192.0.2.9']);
    } finally {
      runner.close();
    }
  });
});

test('consistency check: one terse listing; an intact ruleset is left alone, a missing set is re-created (new epoch)', opts, async () => {
  await withNetns('c', async (ns) => {
    const runner = new NftRunner({ command: ['ip', 'netns', 'exec', ns.fw, 'nft'], session: true });
    const epoch = { value: 0 };
    const def = definition({}, { name: 'sshd', port: '8022', protocol: 'tcp' }, { file: '/etc/fail2ban/action.d/nftables-multiport.conf', name: 'nftables-multiport' });
    const action = new NftAction('nftables-multiport', rulesetFromDefinition(def, 'sshd'), { jail: 'sshd', runner, epoch });
    try {
      await action.start();
      await action.ban(ticket(ns.client4, { time: Date.now() / 1000, bantime: 600 }));
      assert.equal(await action.consistencyCheck(), true);
      assert.equal(epoch.value, 0, 'intact: no repair');
      const table = () => ns.execFw(['nft', '-t', 'list', 'table', 'inet', 'f2b-table']).stdout;
      const chain = /chain (\S+) \{/.exec(table())?.[1];
      assert.ok(chain, table());
      // the chain goes (its rules with it); the sets stay: only the listing of names can tell
      const del = ns.execFw(['nft', `flush chain inet f2b-table ${chain}; delete chain inet f2b-table ${chain}`]);
      assert.equal(del.code, 0, del.stderr);
      assert.equal(await ns.connect(ns.fw4), 'ok');
      assert.equal(await action.consistencyCheck(), true);
      assert.equal(epoch.value, 1, 'repaired');
      assert.match(table(), new RegExp(`chain ${chain} \\{`));
      await action.stop();
    } finally {
      runner.close();
    }
  });
});
