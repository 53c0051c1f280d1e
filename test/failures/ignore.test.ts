import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IgnoreList, buildIgnoreCommand, type IgnoreListOptions } from '../../src/failures/index.ts';
import { parseIgnoreCache } from '../../src/config/index.ts';

/** No real DNS in tests: names resolve from this table, after a tick. */
function fakeDns(table: Record<string, string[]>, calls: string[] = []) {
  return async (name: string) => {
    calls.push(name);
    await new Promise((r) => setImmediate(r));
    const a = table[name];
    if (!a) throw new Error(`ENOTFOUND ${name}`);
    return a;
  };
}

function list(opts: IgnoreListOptions): IgnoreList {
  return new IgnoreList({
    ignoreSelf: false,
    resolve: fakeDns({}),
    ownAddresses: () => ['127.0.0.1', '::1', '10.9.8.7', 'fe80::1%eth0'],
    ownNames: () => ['localhost', 'myhost'],
    ...opts,
  });
}

const tmp = () => mkdtempSync(join(tmpdir(), 'moat-ignore-'));

test('addresses, CIDR, dotted masks, IPv6 and brackets', () => {
  const l = list({ ignoreIp: ['192.0.2.1', '198.51.100.0/24', '203.0.113.0/255.255.255.128', '[2001:db8::1]', '2001:db8:1::/64'] });
  const q = (id: string) => l.isIgnoredSync(id);
  assert.deepEqual(q('192.0.2.1'), { ignored: true, source: 'ip', cached: false });
  assert.deepEqual(q('192.0.2.2'), { ignored: false, cached: false });
  assert.equal(q('198.51.100.200')!.ignored, true);
  assert.equal(q('203.0.113.127')!.ignored, true);
  assert.equal(q('203.0.113.128')!.ignored, false);
  assert.equal(q('2001:db8::1')!.ignored, true);
  assert.equal(q('2001:0db8:0:0::1')!.ignored, true);
  assert.equal(q('2001:db8:1::abcd')!.ignored, true);
  assert.equal(q('2001:db8:2::abcd')!.ignored, false);
  assert.equal(q('::ffff:192.0.2.1')!.ignored, true); // mapped IPv4 normalised
  assert.deepEqual(l.list().sort(), ['192.0.2.1', '198.51.100.0/24', '2001:db8:1::/64', '203.0.113.0/255.255.255.128', '[2001:db8::1]'].sort());
  assert.equal(l.add('192.0.2.1'), false); // duplicate
  assert.equal(l.remove('198.51.100.0/24'), true);
  assert.equal(q('198.51.100.200')!.ignored, false);
});

test('ignoreself: interface addresses and resolved own names', async () => {
  const l = new IgnoreList({
    ignoreSelf: true,
    resolve: fakeDns({ localhost: ['127.0.0.1', '::1'], myhost: ['127.0.1.1'] }),
    ownAddresses: () => ['10.9.8.7', 'fe80::1%eth0'],
    ownNames: () => ['localhost', 'myhost'],
  });
  assert.deepEqual(l.isIgnoredSync('10.9.8.7'), { ignored: true, source: 'ignoreself rule', cached: false });
  assert.equal(l.isIgnoredSync('fe80::1')!.ignored, true);
  // own names not resolved yet: undecided rather than wrongly counted
  assert.equal(l.isIgnoredSync('127.0.1.1'), undefined);
  assert.deepEqual(await l.isIgnored('127.0.1.1'), { ignored: true, source: 'ignoreself rule', cached: false });
  assert.deepEqual(l.isIgnoredSync('192.0.2.50'), { ignored: false, cached: false });
  l.ignoreSelf = false;
  assert.equal(l.isIgnoredSync('10.9.8.7')!.ignored, false);
});

test('DNS names resolve in the background, refresh after the TTL, failures keep old answers', async () => {
  let now = 1000;
  const table: Record<string, string[]> = { 'trusted.example': ['192.0.2.80', '2001:db8::80'] };
  const calls: string[] = [];
  const logs: string[] = [];
  const l = list({ ignoreIp: ['trusted.example', 'missing.example'], resolve: fakeDns(table, calls), now: () => now, dnsTtl: 300, log: (_l, m) => logs.push(m) });
  assert.equal(l.isIgnoredSync('192.0.2.80'), undefined); // first answer not there yet
  await l.ready();
  assert.deepEqual(l.isIgnoredSync('192.0.2.80'), { ignored: true, source: 'dns', cached: false });
  assert.equal(l.isIgnoredSync('2001:db8::80')!.ignored, true);
  assert.equal(l.isIgnoredSync('192.0.2.81')!.ignored, false);
  assert.ok(logs.some((m) => m.includes('missing.example')));
  // the name changes; until the TTL passes the cached answer is used without lookup
  table['trusted.example'] = ['192.0.2.81'];
  const before = calls.length;
  now += 100;
  l.isIgnoredSync('192.0.2.81');
  assert.equal(calls.length, before);
  now += 300;
  assert.equal(l.isIgnoredSync('192.0.2.80')!.ignored, true); // stale answer while refreshing
  await l.ready();
  assert.equal(l.isIgnoredSync('192.0.2.81')!.ignored, true);
  assert.equal(l.isIgnoredSync('192.0.2.80')!.ignored, false);
  // a failing refresh keeps the last good answer
  delete table['trusted.example'];
  now += 400;
  l.isIgnoredSync('192.0.2.81');
  await l.ready();
  assert.equal(l.isIgnoredSync('192.0.2.81')!.ignored, true);
});

test('file: entries are read with comments and reloaded when the mtime changes', (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'trusted.txt');
  writeFileSync(file, '# trusted\n192.0.2.10  # office\n198.51.100.0/24\n\n2001:db8::/32\nnot-an-ip\n');
  let now = 0;
  const logs: string[] = [];
  const l = list({ ignoreIp: [`file:${file}`], now: () => now, log: (_l, m) => logs.push(m) });
  assert.ok(logs.some((m) => m.includes(':6:') && m.includes('not-an-ip')));
  assert.deepEqual(l.isIgnoredSync('192.0.2.10'), { ignored: true, source: 'ip', cached: false });
  assert.equal(l.isIgnoredSync('198.51.100.7')!.ignored, true);
  assert.equal(l.isIgnoredSync('2001:db8:ffff::1')!.ignored, true);
  assert.equal(l.isIgnoredSync('192.0.2.11')!.ignored, false);
  writeFileSync(file, '192.0.2.11\n');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  now += 2;
  assert.equal(l.isIgnoredSync('192.0.2.11')!.ignored, true);
  assert.equal(l.isIgnoredSync('192.0.2.10')!.ignored, false);
  // a removed file empties the list (with a warning), it does not throw
  rmSync(file);
  now += 2;
  assert.equal(l.isIgnoredSync('192.0.2.11')!.ignored, false);
  assert.ok(logs.some((m) => m.includes('cannot be read')));
});

test('ignorecommand: exit 0 ignores, 1 does not, others log an error', async () => {
  const logs: string[] = [];
  const l = list({ ignoreCommand: 'case <ip> in 192.0.2.7) exit 0;; 192.0.2.9) exit 3;; esac; exit 1', log: (_l, m) => logs.push(m) });
  assert.equal(l.isIgnoredSync('192.0.2.7'), undefined);
  assert.deepEqual(await l.isIgnored('192.0.2.7'), { ignored: true, source: 'command', cached: false });
  assert.deepEqual(await l.isIgnored('192.0.2.8'), { ignored: false, cached: false });
  assert.deepEqual(await l.isIgnored('192.0.2.9'), { ignored: false, cached: false });
  assert.ok(logs.some((m) => m.includes('returned 3')));
});

test('hostile values never execute: $(...), backticks, ; in id, user and matches', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, 'pwned');
  const out = join(dir, 'out');
  const cmd = `printf '%s|%s|%s\\n' <fid> <F-USER> <matches> >> ${out}; exit 1`;
  const l = list({ ignoreCommand: cmd });
  const hostile = [`$(touch ${marker})`, `\`touch ${marker}\``, `x; touch ${marker}`, `'; touch ${marker}; '`, `" ; touch ${marker} #`];
  for (const h of hostile) {
    const v = await l.isIgnored({ id: h, data: { user: h }, matches: [h] });
    assert.equal(v.ignored, false);
  }
  assert.equal(existsSync(marker), false, 'a hostile value was executed');
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.deepEqual(lines, hostile.map((h) => `${h}|${h}|${h}`));
  // the script text holds only variable references
  const built = buildIgnoreCommand(cmd, { id: hostile[0]!, data: { user: 'u' } });
  assert.ok(!built.script.includes('touch'));
  assert.match(built.script, /"\$F2B_FID" "\$F2B_F_USER" "\$F2B_MATCHES"/);
  assert.equal(built.env.F2B_FID, hostile[0]);
});

test('ignorecache: key template, reuse, max-count and max-time', async () => {
  let now = 0;
  const dir = tmp();
  const counter = join(dir, 'n');
  try {
    const cache = parseIgnoreCache('key="<F-USER>@<ip>", max-count=2, max-time=5m');
    assert.deepEqual(cache, { key: '<F-USER>@<ip>', maxCount: 2, maxTime: 300 });
    const l = list({ ignoreCommand: `echo x >> ${counter}; [ <F-USER> = root ]`, ignoreCache: cache, now: () => now });
    const runs = () => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').length - 1 : 0);
    const s = (ip: string, user: string) => ({ id: ip, data: { user } });
    assert.equal((await l.isIgnored(s('192.0.2.1', 'root'))).ignored, true);
    assert.deepEqual(l.isIgnoredSync(s('192.0.2.1', 'root')), { ignored: true, source: 'command', cached: true });
    assert.equal(runs(), 1);
    assert.equal((await l.isIgnored(s('192.0.2.1', 'bob'))).ignored, false);
    assert.deepEqual(l.isIgnoredSync(s('192.0.2.1', 'bob')), { ignored: false, cached: true });
    // a third key evicts the oldest (max-count 2)
    await l.isIgnored(s('192.0.2.2', 'bob'));
    assert.equal(l.isIgnoredSync(s('192.0.2.1', 'root')), undefined);
    assert.equal(runs(), 3);
    // max-time expiry
    now += 301;
    assert.equal(l.isIgnoredSync(s('192.0.2.2', 'bob')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
