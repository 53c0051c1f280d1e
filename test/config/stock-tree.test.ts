/**
 * The stock Debian /etc/fail2ban tree with every jail of jail.conf enabled:
 * each must resolve to a complete definition. When python3 is available, the
 * result is also compared with what fail2ban 1.0.2's own reader (shipped in
 * the same package) sends to its server, for every jail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { loadConfig, parseTimeValue, type LoadedConfig } from '../../src/config/index.ts';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';

const pkg = fail2banPackage();
const dir = mkdtempSync(join(tmpdir(), 'moat-stock-'));
after(() => rmSync(dir, { recursive: true, force: true }));
cpSync(pkg.etc, dir, { recursive: true });
const jailNames = [...readFileSync(join(dir, 'jail.conf'), 'utf8').matchAll(/^\[([^\]\n]+)\]/gm)]
  .map((m) => m[1]!)
  .filter((n) => n !== 'INCLUDES' && n !== 'DEFAULT');
writeFileSync(join(dir, 'jail.local'), jailNames.map((n) => `[${n}]\nenabled = true\n`).join('\n'));
const cfg: LoadedConfig = loadConfig(dir);
const jail = (name: string) => {
  const j = cfg.jails.find((x) => x.name === name);
  assert.ok(j, `jail ${name} loaded`);
  return j;
};

test('every jail section of jail.conf resolves to a complete definition', () => {
  assert.ok(jailNames.length >= 90, `jail.conf has ${jailNames.length} jails`);
  assert.deepEqual(cfg.errors.map((e) => e.message), []);
  assert.deepEqual(cfg.jails.map((j) => j.name).sort(), [...jailNames].sort());
  for (const j of cfg.jails) {
    assert.ok(j.filter.failregex.length > 0, `${j.name}: failregex`);
    for (const re of [...j.filter.failregex, j.filter.prefregex ?? '']) {
      assert.doesNotMatch(re, /%\(/, `${j.name}: no %(x)s left`);
      // (`(?P<__connid>` is a Python named group, not a tag)
      assert.doesNotMatch(re, /(?<!\?P)<(?:__|lt_|known\/|default\/)/, `${j.name}: no config tags left in ${re}`);
    }
    assert.ok(j.actions.length > 0, `${j.name}: actions`);
    for (const a of j.actions) {
      assert.ok(a.commands.actionban !== '' || a.name.startsWith('abuseipdb'), `${j.name}/${a.name}: actionban`);
      assert.equal(a.properties.name !== undefined, true);
      assert.equal(a.properties.actname, a.name);
    }
    if (j.backend.startsWith('systemd')) assert.ok(j.journalmatch.length > 0, `${j.name}: journalmatch`);
    else assert.ok(j.logpaths.length > 0, `${j.name}: logpaths`);
    assert.ok(j.bantime > 0 && j.findtime > 0 && j.maxretry > 0, `${j.name}: times`);
  }
});

test('sshd: filter, prefregex after substitution, iptables-multiport action', () => {
  const sshd = jail('sshd');
  assert.equal(sshd.backend, 'auto'); // %(sshd_backend)s → %(default_backend)s → %(default/backend)s
  assert.deepEqual(sshd.logpaths, [{ glob: '/var/log/auth.log', start: 'head' }]);
  assert.deepEqual(sshd.journalmatch, [['_SYSTEMD_UNIT=sshd.service', '+', '_COMM=sshd']]);
  const f = sshd.filter;
  assert.equal(f.name, 'sshd');
  assert.equal(f.options.mode, 'normal');
  assert.equal(f.options.logtype, 'file');
  assert.equal(f.maxlines, 1);
  assert.equal(f.datepattern, '{^LN-BEG}');
  assert.equal(f.failregex.length, 22);
  assert.equal(f.failregex[4], '^<F-USER>ROOT</F-USER> LOGIN REFUSED FROM <HOST>');
  assert.equal(f.failregex[9], '^refused connect from \\S+ \\(<HOST>\\)');
  assert.ok(f.failregex.every((r) => r.startsWith('^')));
  assert.ok(f.failregex.some((r) => r.includes('<F-NOFAIL>Connection from</F-NOFAIL> <HOST>')));
  // file logtype: common.conf's lt_file/__prefix_line with sshd's daemon name
  assert.match(f.prefregex!, /^\^<F-MLFID>.*sshd.*<\/F-MLFID>/);
  assert.ok(f.prefregex!.endsWith('<F-CONTENT>.+</F-CONTENT>$'));
  assert.equal(f.usedns, 'warn');

  assert.equal(sshd.actions.length, 1);
  const a = sshd.actions[0]!;
  assert.equal(a.name, 'iptables-multiport');
  assert.equal(a.file, 'iptables-multiport');
  assert.equal(a.commands.actionban, '<iptables> -I f2b-sshd 1 -s <ip> -j <blocktype>');
  assert.equal(a.commands.actionunban, '<iptables> -D f2b-sshd -s <ip> -j <blocktype>');
  assert.match(a.commands.actionstart, /-I INPUT -p \$proto -m multiport --dports ssh -j f2b-sshd/);
  assert.equal(a.properties['blocktype?family=inet6'], 'REJECT --reject-with icmp6-port-unreachable');
  assert.equal(a.properties.blocktype, 'REJECT --reject-with icmp-port-unreachable');
  assert.equal(a.properties['iptables?family=inet6'], 'ip6tables <lockingopt>');
  // fail2ban sends `<known/chain>` raw; moat resolves it to the action's [Init] default
  assert.equal(a.properties.chain, 'INPUT');
  assert.equal(a.properties.port, 'ssh');
  assert.equal(a.properties.protocol, 'tcp');
  assert.equal(a.properties.name, 'sshd');
  assert.equal(a.timeout, 60);
  assert.equal(a.actionstartOnDemand, null);
});

test('recidive, nsd (two actions via %(default/action_)s), pass2allow-ftp (arguments over two lines)', () => {
  const r = jail('recidive');
  assert.deepEqual(r.logpaths, [{ glob: '/var/log/fail2ban.log', start: 'head' }]);
  assert.equal(r.bantime, 604800);
  assert.equal(r.findtime, 86400);
  assert.deepEqual(r.actions.map((a) => a.name), ['iptables-allports']);
  assert.ok(r.filter.failregex[0]!.includes('(?!recidive\\])'));

  const nsd = jail('nsd');
  assert.deepEqual(nsd.actions.map((a) => a.name), ['iptables-multiport-tcp', 'iptables-multiport-udp']);
  assert.deepEqual(nsd.actions.map((a) => [a.properties.name, a.properties.protocol, a.properties.port]), [
    ['nsd-tcp', 'tcp', '53'],
    ['nsd-udp', 'udp', '53'],
  ]);
  assert.match(nsd.actions[1]!.commands.actionstart, /echo 'udp'/);

  const p = jail('pass2allow-ftp');
  const a = p.actions[0]!;
  assert.equal(a.actionstartOnDemand, false);
  assert.equal(a.actionrepairOnUnban, true);
  assert.equal(a.properties.blocktype, 'RETURN');
  assert.equal(a.properties.returntype, 'DROP');
  assert.equal(p.filter.options.knocking_url, '/knocking/');
  assert.equal(p.bantime, 3600);
});

test('daemon settings come from fail2ban.conf [DEFAULT] when there is no moat.conf', () => {
  assert.equal(cfg.daemon.logtarget, '/var/log/fail2ban.log');
  assert.equal(cfg.daemon.dbpurgeage, 86400);
  assert.equal(cfg.daemon.dbmaxmatches, 10);
  assert.equal(cfg.daemon.allowipv6, 'auto');
  assert.ok(cfg.daemon.files.some((f) => f.endsWith('fail2ban.conf')));
});

function python3Available(): boolean {
  try {
    execFileSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 9)'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// fail2ban's own reader as oracle: what its client would send to the server.
const ORACLE = `
import sys, json
from fail2ban.client.configurator import Configurator
c = Configurator(); c.setBaseDir(sys.argv[1]); c.readAll(); c.getOptions(None)
c.convertToProtocol(allow_no_files=True)
json.dump(c.getConfigStream(), sys.stdout, default=str)
`;

test('matches fail2ban 1.0.2\'s own reader for every jail', { skip: !python3Available() && 'python3 not available' }, () => {
  const out = execFileSync('python3', ['-c', ORACLE, dir], {
    env: { ...process.env, PYTHONPATH: join(pkg.root, 'usr/lib/python3/dist-packages') },
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const stream = JSON.parse(out.toString()) as unknown[][];
  type Oracle = { failregex: string[]; ignoreregex: string[]; journalmatch: string[][]; actions: Map<string, Record<string, unknown>>; opts: Record<string, unknown> };
  const oracle = new Map<string, Oracle>();
  const of = (n: string) => {
    let o = oracle.get(n);
    if (!o) oracle.set(n, (o = { failregex: [], ignoreregex: [], journalmatch: [], actions: new Map(), opts: {} }));
    return o;
  };
  for (const c of stream) {
    if ((c[0] !== 'set' && c[0] !== 'multi-set') || !jailNames.includes(c[1] as string)) continue;
    const o = of(c[1] as string);
    const key = c[2] as string;
    if (key === 'addfailregex' || key === 'addignoreregex') {
      const list = key === 'addfailregex' ? o.failregex : o.ignoreregex;
      if (c[0] === 'multi-set') list.push(...(c[3] as string[]));
      else list.push(c[3] as string);
    } else if (key === 'addjournalmatch') o.journalmatch.push(c.slice(3) as string[]);
    else if (key === 'addaction') o.actions.set(c[3] as string, {});
    else if (key === 'action') {
      const a = o.actions.get(c[3] as string)!;
      if (c[0] === 'multi-set') for (const [k, v] of c[4] as [string, unknown][]) a[k] = v;
      else a[c[4] as string] = c[5];
    } else o.opts[key] = c[3];
  }
  assert.equal(oracle.size, cfg.jails.length);
  for (const j of cfg.jails) {
    const o = oracle.get(j.name)!;
    const ctx = `jail ${j.name}`;
    assert.deepEqual(j.filter.failregex, o.failregex, ctx);
    assert.deepEqual(j.filter.ignoreregex, o.ignoreregex, ctx);
    assert.deepEqual(j.filter.journalmatch, o.journalmatch, ctx);
    assert.equal(j.filter.prefregex, o.opts.prefregex ?? null, ctx);
    assert.equal(j.filter.datepattern, o.opts.datepattern ?? null, ctx);
    assert.equal(j.filter.maxlines, o.opts.maxlines ?? null, ctx);
    assert.equal(j.maxretry, o.opts.maxretry, ctx);
    assert.equal(j.findtime, parseTimeValue(o.opts.findtime as string), ctx);
    assert.equal(j.bantime, Math.trunc(parseTimeValue(o.opts.bantime as string)), ctx);
    assert.deepEqual(j.actions.map((a) => a.name), [...o.actions.keys()], ctx);
    for (const a of j.actions) {
      const theirs = o.actions.get(a.name)!;
      const ours: Record<string, unknown> = { ...a.properties };
      for (const [k, v] of Object.entries(a.commands)) if (v !== '' || k in theirs) ours[k] = v;
      if ('actionstart_on_demand' in theirs) ours.actionstart_on_demand = a.actionstartOnDemand;
      if ('actionrepair_on_unban' in theirs) ours.actionrepair_on_unban = a.actionrepairOnUnban;
      if ('norestored' in theirs) ours.norestored = a.norestored;
      // moat resolves `<known/opt>` in properties at read time (the action's own [Init] default, which
      // fail2ban's server substitutes later): compare those with the resolved value instead
      for (const [k, v] of Object.entries(theirs)) {
        if (typeof v === 'string' && /<known\/[^<>]+>/.test(v) && typeof ours[k] === 'string' && !/<known\//.test(ours[k] as string)) {
          ours[k] = v;
        }
      }
      assert.deepEqual(ours, theirs, `${ctx} action ${a.name}`);
    }
  }
});
