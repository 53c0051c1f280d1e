/**
 * Native nftables backend and the shell path with iptables, for real, inside
 * network namespaces created here. Needs root; fails (does not skip) when a
 * namespace cannot be created, unless MOAT_SKIP_NETNS=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandAction } from '../../src/actions/action.ts';
import { definition, ticket } from './helpers.ts';
import { createNetnsPair, skipNetns, type NetnsPair } from '../helpers/netns.ts';
import { NftAction } from '../../src/actions/nft/action.ts';
import { NftBatcher, nftElement, opsScript } from '../../src/actions/nft/batcher.ts';
import { isNftablesAction, rulesetFromDefinition, setupScript } from '../../src/actions/nft/ruleset.ts';
import { NftRunner } from '../../src/actions/nft/runner.ts';
import { InvalidArgumentError, ConfigValueError } from '../../src/errors.ts';
import type { BanTicket } from '../../src/bans/ticket.ts';

const opts = { skip: skipNetns ? 'MOAT_SKIP_NETNS=1' : false };

function nftDefinition(props: Record<string, string> = {}) {
  return definition({}, { name: 'sshd', port: '8022,1000:1002', protocol: 'tcp', ...props }, { file: '/etc/fail2ban/action.d/nftables-multiport.conf', name: 'nftables-multiport' });
}

test('element validation: only canonical addresses reach nft', () => {
  assert.deepEqual(nftElement('2001:DB8:0::1'), { family: 'inet6', text: '2001:db8::1', isNetwork: false });
  assert.deepEqual(nftElement('192.0.2.7/24'), { family: 'inet4', text: '192.0.2.0/24', isNetwork: true });
  for (const bad of ['1.2.3.4 }; flush ruleset', '1.2.3.4\nflush ruleset', 'host.example', '', '1.2.3.4;']) {
    assert.throws(() => nftElement(bad), InvalidArgumentError, bad);
  }
});

test('ruleset from a stock nftables definition; bad values are config errors', () => {
  const def = nftDefinition();
  assert.equal(isNftablesAction(def), true);
  const rs = rulesetFromDefinition(def, 'sshd');
  assert.equal(rs.chain, 'f2b-chain-sshd');
  assert.deepEqual(rs.ports, ['8022', '1000-1002']);
  assert.match(setupScript(rs), /add rule inet f2b-table f2b-chain-sshd tcp dport \{ 8022, 1000-1002 \} ip saddr @addr-set-sshd reject/);
  assert.throws(
    () => rulesetFromDefinition(nftDefinition({ blocktype: 'drop; flush ruleset' }), 'sshd'),
    (e: unknown) => e instanceof ConfigValueError && e.option === 'blocktype',
  );
  const all = rulesetFromDefinition({ ...nftDefinition({ protocol: 'tcp,udp' }), file: 'action.d/nftables-allports.conf' }, 'x');
  assert.match(setupScript(all), /meta l4proto \{ tcp, udp \} ip6 saddr @addr6-set-sshd reject/);
});

test('batch script: repeats of one element keep their order', () => {
  const e = nftElement('192.0.2.1');
  const s = opsScript([
    { kind: 'ban', table: 'inet t', set: 's', element: e, timeout: 5 },
    { kind: 'unban', table: 'inet t', set: 's', element: e, timeout: 0 },
  ]);
  assert.equal(
    s,
    'add element inet t s { 192.0.2.1 }\ndelete element inet t s { 192.0.2.1 }\nadd element inet t s { 192.0.2.1 timeout 5s }\n' +
      'add element inet t s { 192.0.2.1 }\ndelete element inet t s { 192.0.2.1 }\n',
  );
});

async function withNetns(tag: string, fn: (ns: NetnsPair) => Promise<void>): Promise<void> {
  const ns = await createNetnsPair(tag); // throws (test fails) when namespaces cannot be created
  try {
    await fn(ns);
  } finally {
    ns.cleanup();
  }
}

function tableExists(ns: NetnsPair): boolean {
  return ns.execFw(['nft', 'list', 'table', 'inet', 'f2b-table']).code === 0;
}

test('nftables native: start, ban v4+v6 (batched), connect rejected, unban, stop leaves no table', opts, async () => {
  await withNetns('n', async (ns) => {
    const runner = new NftRunner({ command: ['ip', 'netns', 'exec', ns.fw, 'nft'] });
    const batcher = new NftBatcher(runner);
    const action = new NftAction('nftables-multiport', rulesetFromDefinition(nftDefinition(), 'sshd'), {
      jail: 'sshd', runner, batcher,
    });
    assert.equal(await ns.connect(ns.fw4), 'ok');
    assert.equal(await ns.connect(ns.fw6), 'ok');
    await action.start();
    const v4 = ticket(ns.client4, { time: Date.now() / 1000, bantime: 600 });
    const v6 = ticket(ns.client6, { time: Date.now() / 1000, bantime: -1 });
    const others = Array.from({ length: 48 }, (_, i) => ticket(`198.51.100.${i + 1}`, { time: Date.now() / 1000 }));
    const before = batcher.transactions;
    await Promise.all([action.ban(v4), action.ban(v6), ...others.map((t) => action.ban(t))]);
    assert.equal(batcher.transactions - before, 1, '50 bans in one transaction');
    const els = await action.elements();
    assert.ok(els.includes(ns.client4) && els.includes(ns.client6), els.join(' '));
    assert.equal(els.length, 50);
    // per-element timeout on the v4 element, none on the permanent v6 one
    const v4set = JSON.parse(ns.execFw(['nft', '-j', 'list', 'set', 'inet', 'f2b-table', 'addr-set-sshd']).stdout);
    const elem = v4set.nftables[1].set.elem.find((e: { elem?: { val: string } }) => e.elem?.val === ns.client4);
    assert.ok(elem && elem.elem.timeout >= 599 && elem.elem.timeout <= 600, JSON.stringify(elem));
    assert.equal(await ns.connect(ns.fw4), 'ECONNREFUSED');
    assert.equal(await ns.connect(ns.fw6), 'ECONNREFUSED');
    // ban again (refresh) and unban an element that is not there: both must succeed
    await Promise.all([action.ban(v4), action.unban(ticket('203.0.113.9'))]);
    await Promise.all([action.unban(v4), action.unban(v6)]);
    assert.deepEqual((await action.elements()).filter((e) => e === ns.client4 || e === ns.client6), []);
    assert.equal(await ns.connect(ns.fw4), 'ok');
    assert.equal(await ns.connect(ns.fw6), 'ok');
    // a network ban goes to the interval set and blocks too
    await action.ban(ticket('10.231.0.0/24', { time: Date.now() / 1000 }));
    assert.equal(await ns.connect(ns.fw4), 'ECONNREFUSED');
    assert.equal(await action.flush(), true);
    assert.equal(await ns.connect(ns.fw4), 'ok');
    await action.stop();
    assert.equal(tableExists(ns), false, 'stop leaves no table');
  });
});

test('nftables native: a batch after the table vanished is repaired and retried (new epoch)', opts, async () => {
  await withNetns('r', async (ns) => {
    const runner = new NftRunner({ command: ['ip', 'netns', 'exec', ns.fw, 'nft'] });
    const epoch = { value: 0 };
    const action = new NftAction('nftables', rulesetFromDefinition(nftDefinition(), 'sshd'), {
      jail: 'sshd', runner, epoch,
    });
    await action.start();
    ns.execFw(['nft', 'delete', 'table', 'inet', 'f2b-table']);
    assert.equal(await action.consistencyCheck(), true);
    assert.equal(epoch.value, 1);
    ns.execFw(['nft', 'delete', 'table', 'inet', 'f2b-table']);
    await action.ban(ticket(ns.client4, { time: Date.now() / 1000 }));
    assert.equal(epoch.value, 2);
    assert.equal(await ns.connect(ns.fw4), 'ECONNREFUSED');
    await action.stop();
    assert.equal(tableExists(ns), false);
  });
});

test('nftables native: restore streams N bans into one transaction', opts, async () => {
  const n = Number(process.env.MOAT_NFT_RESTORE_N ?? 100_000);
  await withNetns('b', async (ns) => {
    const runner = new NftRunner({ command: ['ip', 'netns', 'exec', ns.fw, 'nft'] });
    const action = new NftAction('nftables', rulesetFromDefinition(nftDefinition(), 'sshd'), { jail: 'sshd', runner });
    await action.start();
    const now = Date.now() / 1000;
    const base = ticket('10.0.0.0', { time: now, bantime: 3600 });
    function* tickets(): Generator<BanTicket> {
      for (let k = 0; k < n; k++) {
        const ip = `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
        yield { ...base, id: ip, ip };
      }
      yield ticket('192.0.2.1', { time: now - 7200, bantime: 3600 }); // already over
      yield ticket('not-an-ip', { ip: null, family: null });
    }
    const t0 = process.hrtime.bigint();
    const r = await action.restore(tickets());
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`# restore of ${n} elements: ${ms.toFixed(0)} ms`);
    assert.deepEqual(r, { loaded: n, skipped: 2 });
    const count = ns.execFw(['sh', '-c', 'nft -j list set inet f2b-table addr-set-sshd | grep -o \'"val"\' | wc -l']);
    assert.equal(Number(count.stdout.trim()), n);
    await action.stop();
    assert.equal(tableExists(ns), false);
  });
});

test('shell path: stock-style iptables action against a real iptables in a namespace', opts, async () => {
  await withNetns('i', async (ns) => {
    // the command text of iptables.conf (oneport) after client-side substitution, as the config reader sends it
    const def = definition(
      {
        actionstart:
          '{ <iptables> -C f2b-<name> -j <returntype> >/dev/null 2>&1; } || { <iptables> -N f2b-<name> || true; <iptables> -A f2b-<name> -j <returntype>; }\n' +
          "for proto in $(echo '<protocol>' | sed 's/,/ /g'); do\n" +
          '{ <iptables> -C <chain> -p $proto --dport <port> -j f2b-<name> >/dev/null 2>&1; } || { <iptables> -I <chain> -p $proto --dport <port> -j f2b-<name>; }\ndone',
        actionstop:
          "for proto in $(echo '<protocol>' | sed 's/,/ /g'); do\n<iptables> -D <chain> -p $proto --dport <port> -j f2b-<name>\ndone\n" +
          '<iptables> -F f2b-<name>\n<iptables> -X f2b-<name>',
        actioncheck: "for proto in $(echo '<protocol>' | sed 's/,/ /g'); do\n<iptables> -C <chain> -p $proto --dport <port> -j f2b-<name>\ndone",
        actionban: '<iptables> -I f2b-<name> 1 -s <ip> -j <blocktype>',
        actionunban: '<iptables> -D f2b-<name> -s <ip> -j <blocktype>',
      },
      {
        name: 'sshd', chain: 'INPUT', port: String(ns.port), protocol: 'tcp', returntype: 'RETURN', lockingopt: '-w',
        iptables: `ip netns exec ${ns.fw} iptables <lockingopt>`,
        'iptables?family=inet6': `ip netns exec ${ns.fw} ip6tables <lockingopt>`,
        blocktype: 'REJECT --reject-with icmp-port-unreachable',
        'blocktype?family=inet6': 'REJECT --reject-with icmp6-port-unreachable',
      },
    );
    const action = new CommandAction(def, { jail: 'sshd' });
    await action.start(); // on demand: nothing yet
    assert.equal(ns.execFw(['iptables', '-S', 'f2b-sshd']).code, 1);
    await action.ban(ticket(ns.client4));
    await action.ban(ticket(ns.client6));
    assert.match(ns.execFw(['iptables', '-S', 'f2b-sshd']).stdout, new RegExp(`-A f2b-sshd -s ${ns.client4}/32 -j REJECT`));
    assert.equal(await ns.connect(ns.fw4), 'ECONNREFUSED');
    assert.equal(await ns.connect(ns.fw6), 'ECONNREFUSED');
    // someone removes the jump rule: the next ban's failure is not needed, the consistency check repairs
    ns.execFw(['iptables', '-D', 'INPUT', '-p', 'tcp', '--dport', String(ns.port), '-j', 'f2b-sshd']);
    assert.equal(await ns.connect(ns.fw4), 'ok');
    assert.equal(await action.consistencyCheck(), true);
    await action.ban(ticket(ns.client4)); // the family was restarted by the repair (stop + start)
    assert.equal(await ns.connect(ns.fw4), 'ECONNREFUSED');
    await action.unban(ticket(ns.client4));
    await action.unban(ticket(ns.client6));
    assert.equal(await ns.connect(ns.fw4), 'ok');
    assert.equal(await ns.connect(ns.fw6), 'ok');
    await action.stop();
    assert.equal(ns.execFw(['iptables', '-S', 'f2b-sshd']).code, 1);
    assert.equal(ns.execFw(['ip6tables', '-S', 'f2b-sshd']).code, 1);
  });
});
