/**
 * The shipped firewall actions (config/action.d), for real: each runs in the
 * real CommandAction inside a network namespace created here, with a client
 * namespace connecting over a veth pair. For each action and address family:
 * actionstart → ban → the rule/element exists and a TCP connect is blocked →
 * the hook rule is removed behind the action's back → consistency check fails
 * and actionrepair restores it (still blocking) → unban → gone and connect
 * works → actionstop → nothing of the action is left.
 *
 * Needs root, nft, iptables, ip6tables, ipset. Fails when namespaces cannot
 * be created, unless MOAT_SKIP_NETNS=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetnsPair, skipNetns, type NetnsPair as Netns } from '../helpers/netns.ts';
import { ActionDriver } from './harness.ts';

const opts = { skip: skipNetns ? 'MOAT_SKIP_NETNS=1' : false, timeout: 120_000 };

type Fam = 'inet4' | 'inet6';

interface FirewallCase {
  ref: string;
  families: Fam[];
  /** The ban of `ip` is visible in the firewall. */
  present(ns: Netns, ip: string, fam: Fam): boolean;
  /** Hook check/repair: whether the hook rule exists, and how to remove it. Absent = no repair step. */
  hook?: { exists(ns: Netns): boolean; remove(ns: Netns): void };
  /** Whatever the action left behind after stop (empty = nothing). */
  leftovers(ns: Netns): string[];
}

const clientOf = (ns: Netns, fam: Fam) => (fam === 'inet4' ? ns.client4 : ns.client6);
const serverOf = (ns: Netns, fam: Fam) => (fam === 'inet4' ? ns.fw4 : ns.fw6);

async function exercise(c: FirewallCase): Promise<void> {
  const ns = await createNetnsPair();
  const driver = new ActionDriver(ns.fw, c.ref);
  try {
    for (const fam of c.families) assert.equal(await ns.connect(serverOf(ns, fam)), 'ok', `${fam} reachable before`);
    await driver.must('start');

    // ban each family in turn; the other family stays reachable until banned
    for (const [i, fam] of c.families.entries()) {
      const ip = clientOf(ns, fam);
      assert.equal(c.present(ns, ip, fam), false, `${ip} not banned yet`);
      await driver.must('ban', { ip });
      assert.equal(c.present(ns, ip, fam), true, `${ip} banned in the firewall`);
      assert.notEqual(await ns.connect(serverOf(ns, fam)), 'ok', `${fam} connect blocked`);
      const next = c.families[i + 1];
      if (next) assert.equal(await ns.connect(serverOf(ns, next)), 'ok', `${next} still reachable`);
    }

    if (c.hook) {
      assert.equal(c.hook.exists(ns), true, 'hook rule in place');
      c.hook.remove(ns);
      assert.equal(c.hook.exists(ns), false, 'hook rule removed behind the action');
      assert.equal(await ns.connect(serverOf(ns, c.families[0]!)), 'ok', 'without its hook the ban is ineffective');
      const r = await driver.must('check');
      assert.equal(r.result, true, 'consistency check repaired the action');
      assert.ok(r.log.some((l) => l.includes('Invariant check failed')), `actioncheck failed first:\n${r.log.join('\n')}`);
      assert.equal(c.hook.exists(ns), true, 'actionrepair put the hook back');
      assert.equal(c.present(ns, clientOf(ns, c.families[0]!), c.families[0]!), true, 'ban survived the repair');
      assert.notEqual(await ns.connect(serverOf(ns, c.families[0]!)), 'ok', 'blocked again after repair');
      // the repair started a new ban epoch: the ban manager rebans its tickets (actionreban = actionban,
      // idempotent here), which is also what lets their later unban run
      await driver.must('reban', { ip: clientOf(ns, c.families[0]!) });
      assert.equal(c.present(ns, clientOf(ns, c.families[0]!), c.families[0]!), true, 'reban keeps one ban');
      const again = await driver.must('check');
      assert.equal(again.result, true);
      assert.ok(!again.log.some((l) => l.includes('Invariant check failed')), 'a sane action passes the check');
    }

    for (const fam of c.families) {
      const ip = clientOf(ns, fam);
      await driver.must('unban', { ip });
      assert.equal(c.present(ns, ip, fam), false, `${ip} unbanned`);
      assert.equal(await ns.connect(serverOf(ns, fam)), 'ok', `${fam} reachable after unban`);
    }

    await driver.must('stop');
    assert.deepEqual(c.leftovers(ns), [], 'actionstop leaves nothing behind');
  } finally {
    driver.close();
    ns.cleanup();
  }
}

// ---- nftables ------------------------------------------------------------------

function nftSetHas(ns: Netns, set: string, ip: string): boolean {
  const r = ns.execFw(['nft', '-j', 'list', 'set', 'inet', 'f2b-table', set]);
  if (r.code !== 0) return false;
  const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const elems = doc.nftables.find((x) => x.set)?.set?.elem ?? [];
  return elems.some((e) => (typeof e === 'string' ? e : (e as { elem: { val: string } }).elem.val) === ip);
}

function nftHookHandles(ns: Netns): string[] {
  const r = ns.execFw(['nft', '-a', 'list', 'chain', 'inet', 'f2b-table', 'f2b-chain-sshd']);
  return [...r.stdout.matchAll(/@addr-set-sshd .*# handle (\d+)$/gm)].map((m) => m[1]!);
}

function nftCase(ref: string): FirewallCase {
  return {
    ref,
    families: ['inet4', 'inet6'],
    present: (ns, ip, fam) => nftSetHas(ns, fam === 'inet4' ? 'addr-set-sshd' : 'addr6-set-sshd', ip),
    hook: {
      exists: (ns) => nftHookHandles(ns).length > 0,
      remove: (ns) => {
        for (const h of nftHookHandles(ns)) {
          assert.equal(ns.execFw(['nft', 'delete', 'rule', 'inet', 'f2b-table', 'f2b-chain-sshd', 'handle', h]).code, 0);
        }
      },
    },
    leftovers: (ns) => ns.execFw(['nft', 'list', 'ruleset']).stdout.split('\n').filter((l) => l.trim()),
  };
}

test('nftables-multiport: IPv4 + IPv6 bans in named sets, check/repair, clean stop', opts, () =>
  exercise(nftCase('nftables-multiport[port="8022,1000:1002", protocol="tcp"]')));

test('nftables (default multiport, one port, tcp+udp)', opts, () =>
  exercise(nftCase('nftables[port="8022", protocol="tcp,udp"]')));

test('nftables-allports', opts, () => exercise(nftCase('nftables-allports[protocol="tcp"]')));

test('nftables: a ban carries a kernel timeout of the remaining ban time', opts, async () => {
  const ns = await createNetnsPair();
  const driver = new ActionDriver(ns.fw, 'nftables[port="8022"]');
  try {
    await driver.must('ban', { ip: ns.client4, bantime: 3600 });
    const out = ns.execFw(['nft', 'list', 'set', 'inet', 'f2b-table', 'addr-set-sshd']).stdout;
    const m = new RegExp(`${ns.client4.replaceAll('.', '\\.')} timeout (\\S+)`).exec(out);
    assert.ok(m, out);
    assert.match(m[1]!, /^(1h|59m\d+s)$/);
    await driver.must('ban', { ip: ns.client6, bantime: -1 });
    const out6 = ns.execFw(['nft', 'list', 'set', 'inet', 'f2b-table', 'addr6-set-sshd']).stdout;
    assert.match(out6, new RegExp(`${ns.client6}(?! timeout)`), 'a permanent ban has no timeout');
    await driver.must('flush');
    assert.equal(nftSetHas(ns, 'addr-set-sshd', ns.client4), false);
    await driver.must('stop');
    assert.equal(ns.execFw(['nft', 'list', 'ruleset']).stdout.trim(), '');
  } finally {
    driver.close();
    ns.cleanup();
  }
});

// ---- iptables ------------------------------------------------------------------

const ipt = (fam: Fam) => (fam === 'inet4' ? 'iptables' : 'ip6tables');
const hostRoute = (ip: string, fam: Fam) => `${ip}/${fam === 'inet4' ? 32 : 128}`;

function iptLines(ns: Netns, fam: Fam, chain?: string): string[] {
  const r = ns.execFw([ipt(fam), '-w', '-S', ...(chain ? [chain] : [])]);
  return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

function iptHook(match: string): FirewallCase['hook'] {
  return {
    exists: (ns) => iptLines(ns, 'inet4', 'INPUT').some((l) => l.includes(match)),
    remove: (ns) => {
      for (const line of iptLines(ns, 'inet4', 'INPUT').filter((l) => l.includes(match))) {
        const r = ns.execFw(['iptables', '-w', '-D', ...line.split(' ').slice(1)]);
        assert.equal(r.code, 0, r.stderr);
      }
    },
  };
}

function iptLeftovers(ns: Netns): string[] {
  const out: string[] = [];
  for (const fam of ['inet4', 'inet6'] as const) {
    for (const l of iptLines(ns, fam)) if (!/^-P /.test(l)) out.push(`${ipt(fam)}: ${l}`);
  }
  return out;
}

function iptCase(ref: string): FirewallCase {
  return {
    ref,
    families: ['inet4', 'inet6'],
    present: (ns, ip, fam) => iptLines(ns, fam, 'f2b-sshd').some((l) => l.includes(`-s ${hostRoute(ip, fam)} `)),
    hook: iptHook('-j f2b-sshd'),
    leftovers: iptLeftovers,
  };
}

test('iptables (one port) IPv4 + IPv6', opts, () => exercise(iptCase('iptables[port="8022"]')));
test('iptables-multiport', opts, () => exercise(iptCase('iptables-multiport[port="8022,1000:1002", protocol="tcp"]')));
test('iptables-allports', opts, () => exercise(iptCase('iptables-allports[protocol="tcp,udp"]')));
test('iptables-new', opts, () => exercise(iptCase('iptables-new[port="8022"]')));

// ---- iptables + ipset -------------------------------------------------------------

function ipsetCase(ref: string, families: Fam[]): FirewallCase {
  return {
    ref,
    families,
    present: (ns, ip, fam) => ns.execFw(['ipset', 'test', fam === 'inet4' ? 'f2b-sshd' : 'f2b-sshd6', ip]).code === 0,
    hook: iptHook('--match-set f2b-sshd src'),
    leftovers: (ns) => [
      ...iptLeftovers(ns),
      ...ns.execFw(['ipset', 'list', '-n']).stdout.split('\n').filter(Boolean).map((s) => `ipset: ${s}`),
    ],
  };
}

test('iptables-ipset-proto6 (IPv4 + IPv6 sets)', opts, () =>
  exercise(ipsetCase('iptables-ipset-proto6[port="8022"]', ['inet4', 'inet6'])));
test('iptables-ipset-proto6-allports', opts, () =>
  exercise(ipsetCase('iptables-ipset-proto6-allports', ['inet4', 'inet6'])));
test('iptables-ipset-proto4 (IPv4 only)', opts, () => exercise(ipsetCase('iptables-ipset-proto4[port="8022"]', ['inet4'])));

test('iptables-ipset-proto4 refuses an IPv6 ban (fails loudly, bans nothing)', opts, async () => {
  const ns = await createNetnsPair();
  const driver = new ActionDriver(ns.fw, 'iptables-ipset-proto4[port="8022"]');
  try {
    const r = await driver.request('ban', { ip: ns.client6 });
    assert.equal(r.ok, false);
    assert.equal(await ns.connect(ns.fw6), 'ok');
    await driver.request('stop');
  } finally {
    driver.close();
    ns.cleanup();
  }
});

// ---- routes ---------------------------------------------------------------------

function routeCase(blocktype: string): FirewallCase {
  const routes = (ns: Netns, fam: Fam) =>
    ns.execFw(['ip', fam === 'inet4' ? '-4' : '-6', 'route', 'show', 'table', 'all']).stdout.split('\n');
  return {
    ref: `route[blocktype=${blocktype}]`,
    families: ['inet4', 'inet6'],
    present: (ns, ip, fam) => routes(ns, fam).some((l) => l.startsWith(`${blocktype} ${ip} `) || l.trim() === `${blocktype} ${ip}`),
    leftovers: (ns) =>
      (['inet4', 'inet6'] as const).flatMap((f) => routes(ns, f).filter((l) => /^(blackhole|unreachable|prohibit) /.test(l))),
  };
}

test('route blackhole, IPv4 + IPv6', opts, () => exercise(routeCase('blackhole')));
test('route unreachable, IPv4 + IPv6', opts, () => exercise(routeCase('unreachable')));
