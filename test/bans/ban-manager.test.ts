import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BanManager, seconds2str, type BanClock, type BanTicket, type BanManagerOptions, type UnbanReason } from '../../src/bans/index.ts';
import { Store } from '../../src/store/index.ts';

/** Manual clock: timers run only when `advance` passes their due time. */
class FakeClock implements BanClock {
  t: number;
  timers = new Map<number, { due: number; fn: () => void }>();
  #next = 1;
  constructor(start: number) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.set(id, { due: this.t + ms / 1000, fn });
    return id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(seconds: number): void {
    const target = this.t + seconds;
    for (;;) {
      let first: [number, { due: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].due <= target && (!first || e[1].due < first[1].due)) first = e;
      if (!first) break;
      this.timers.delete(first[0]);
      this.t = Math.max(this.t, first[1].due);
      first[1].fn();
    }
    this.t = target;
  }
}

const T0 = 1_800_000_000;

function setup(opts: Partial<BanManagerOptions> = {}) {
  const clock = new FakeClock(T0);
  const bans: BanTicket[][] = [];
  const unbans: [string[], UnbanReason][] = [];
  const logs: string[] = [];
  const bm = new BanManager({
    jail: 'sshd',
    bantime: 600,
    clock,
    onBan: (t) => bans.push(t),
    onUnban: (t, r) => unbans.push([t.map((x) => x.id), r]),
    log: (l, m) => logs.push(`${l.toUpperCase()} ${m}`),
    ...opts,
  });
  return { bm, clock, bans, unbans, logs };
}

const req = (id: string, time: number, over = {}) => ({ id, ip: id, family: 'inet4' as const, time, failures: 3, matches: ['m'], data: { user: 'u' }, ...over });

test('ban, one timer on the earliest end, unban exactly when due', () => {
  const { bm, clock, bans, unbans, logs } = setup();
  const o = bm.ban(req('192.0.2.1', T0));
  assert.equal(o.kind, 'banned');
  assert.equal(bans.length, 1);
  assert.deepEqual(bans[0]![0], {
    jail: 'sshd', id: '192.0.2.1', ip: '192.0.2.1', family: 'inet4', time: T0, bantime: 600, banCount: 1,
    failures: 3, matches: ['m'], data: { user: 'u' }, restored: false,
  });
  bm.ban(req('192.0.2.2', T0 + 10));
  bm.ban(req('192.0.2.3', T0 - 100));
  assert.equal(clock.timers.size, 1, 'one timer per jail');
  assert.deepEqual([...clock.timers.values()].map((t) => t.due), [T0 + 500]);
  assert.deepEqual(bm.bannedIds(), ['192.0.2.3', '192.0.2.1', '192.0.2.2']);
  clock.advance(499.9);
  assert.equal(unbans.length, 0);
  clock.advance(0.1);
  assert.deepEqual(unbans, [[['192.0.2.3'], 'expired']]);
  clock.advance(100);
  assert.deepEqual(unbans.slice(1), [[['192.0.2.1'], 'expired']]);
  clock.advance(10);
  assert.equal(bm.size, 0);
  assert.equal(clock.timers.size, 0);
  assert.equal(bm.totalBanned, 3);
  assert.ok(logs.includes('NOTICE [sshd] Ban 192.0.2.1'));
  assert.ok(logs.includes('NOTICE [sshd] Unban 192.0.2.2'));
});

test('expired tickets are ignored; permanent bans never get a timer', () => {
  const { bm, clock, logs } = setup();
  assert.equal(bm.ban(req('192.0.2.1', T0 - 700)).kind, 'expired');
  assert.ok(logs.includes('INFO [sshd] Ignore 192.0.2.1, expired bantime'));
  bm.ban(req('192.0.2.2', T0, { bantime: -1 }));
  assert.equal(clock.timers.size, 0);
  assert.equal(bm.endOf('192.0.2.2'), Infinity);
  clock.advance(10 * 365 * 86400);
  assert.equal(bm.has('192.0.2.2'), true);
});

test('already banned: prolongation to the new end and log level by delay', () => {
  const { bm, clock, bans, logs } = setup();
  bm.ban(req('192.0.2.1', T0));
  const a1 = bm.ban(req('192.0.2.1', T0 + 1));
  assert.equal(a1.kind, 'already');
  assert.ok(a1.kind === 'already' && a1.prolonged && a1.sinceBan === 1);
  assert.equal(bm.endOf('192.0.2.1'), T0 + 601);
  assert.equal(bm.get('192.0.2.1')!.bantime, 601);
  bm.ban(req('192.0.2.1', T0 + 30));
  bm.ban(req('192.0.2.1', T0 + 90));
  // an older failure does not shorten the ban
  const a4 = bm.ban(req('192.0.2.1', T0 - 50));
  assert.ok(a4.kind === 'already' && !a4.prolonged);
  assert.equal(bm.endOf('192.0.2.1'), T0 + 690);
  assert.deepEqual(
    logs.filter((l) => l.includes('already banned')),
    ['DEBUG [sshd] 192.0.2.1 already banned', 'NOTICE [sshd] 192.0.2.1 already banned', 'WARNING [sshd] 192.0.2.1 already banned', 'DEBUG [sshd] 192.0.2.1 already banned'],
  );
  assert.equal(bans.length, 1, 'no new onBan for an already banned id');
  clock.advance(689);
  assert.equal(bm.has('192.0.2.1'), true);
  clock.advance(1);
  assert.equal(bm.has('192.0.2.1'), false);
});

test('manual banip/unbanip including subnets, unban all/flush', (t) => {
  const store = Store.open(':memory:');
  t.after(() => store.close());
  const { bm, unbans, logs } = setup({ store });
  assert.equal(bm.banManual(['192.0.2.1', '192.0.2.2', '198.51.100.7', '2001:db8::1', '192.0.2.1']), 4);
  assert.equal(bm.get('192.0.2.1')!.time, T0);
  assert.equal(bm.get('2001:db8::1')!.family, 'inet6');
  assert.equal(store.lastBan('192.0.2.1', 'sshd')?.banCount, 1);
  const r = bm.unban(['192.0.2.0/24', '203.0.113.5']);
  assert.deepEqual(r.unbanned.map((x) => x.id).sort(), ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual(r.absent, ['203.0.113.5']);
  assert.ok(logs.includes('INFO 203.0.113.5 is not banned'));
  assert.equal(store.lastBan('192.0.2.1', 'sshd'), null, 'rows of unbanned ids are deleted');
  assert.deepEqual(unbans[0]![1], 'manual');
  const stop = bm.unbanAll('stop');
  assert.equal(stop.length, 2);
  assert.ok(store.lastBan('198.51.100.7', 'sshd'), 'stop keeps store rows');
  bm.banManual(['198.51.100.8']);
  bm.unbanAll('flush');
  assert.equal(store.lastBan('198.51.100.7', 'sshd'), null, 'flush deletes the jail rows');
  assert.deepEqual(unbans.map((u) => u[1]), ['manual', 'stop', 'flush']);
  assert.equal(bm.size, 0);
});

/** A database file in a temp dir removed after the test. */
function tempDbFile(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-bans-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'db');
}

/** A store holding the bans `fill` made (kept by a jail stop), opened again as at the next start. */
function storeAfterStop(t: TestContext, fill: (bm: BanManager) => void): Store {
  const file = tempDbFile(t);
  const s1 = Store.open(file);
  const first = setup({ store: s1, bantime: -1 });
  fill(first.bm);
  first.bm.unbanAll('stop');
  s1.close();
  const s2 = Store.open(file);
  t.after(() => s2.close());
  return s2;
}

test('bans are committed to the store before onBan is called', (t) => {
  const file = tempDbFile(t);
  const store = Store.open(file);
  t.after(() => store.close());
  let seen: unknown = null;
  const { bm } = setup({
    store,
    onBan: () => {
      const other = Store.open(file);
      seen = other.lastBan('192.0.2.1', 'sshd');
      other.close();
    },
  });
  bm.ban(req('192.0.2.1', T0));
  assert.deepEqual(seen, { banCount: 1, timeOfBan: T0, banTime: 600 });
});

test('increment: 600 → 1200 → 2400 with the default formula, messages as fail2ban', (t) => {
  const store = Store.open(':memory:');
  t.after(() => store.close());
  const { bm, clock, logs } = setup({ store, increment: { enabled: true } });
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const o = bm.ban(req('192.0.2.1', clock.now()));
    assert.equal(o.kind, 'banned');
    if (o.kind === 'banned') times.push(o.ticket.bantime);
    assert.equal(bm.get('192.0.2.1')!.banCount, i + 1);
    clock.advance(o.kind === 'banned' ? o.ticket.bantime + 1 : 0);
  }
  assert.deepEqual(times, [600, 1200, 2400, 4800]);
  assert.deepEqual(store.lastBan('192.0.2.1', 'sshd'), { banCount: 4, timeOfBan: Math.round(T0 + 601 + 1201 + 2401), banTime: 4800 });
  assert.ok(logs.some((l) => /^INFO \[sshd\] IP 192\.0\.2\.1 is bad: 1 # last \d{4}-\d\d-\d\d \d\d:\d\d:\d\d - incr 10m to 20m$/.test(l)));
  assert.ok(logs.some((l) => /^NOTICE \[sshd\] Increase Ban 192\.0\.2\.1 \(2 # 20m -> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/.test(l)));
});

test('increment: multipliers, factor, maxtime, rndtime, formula', (t) => {
  const store = Store.open(':memory:');
  t.after(() => store.close());
  const mk = (increment: object, jail = 'sshd') => new BanManager({ jail, bantime: 100, store, clock: new FakeClock(T0), increment: { enabled: true, ...increment } });
  const bm = mk({ multipliers: '1 5 30', maxtime: 2000 });
  assert.deepEqual([0, 1, 2, 3, 4].map((c) => bm.calcBanTime(100, c)), [100, 500, 2000, 2000, 2000]);
  const f = mk({ factor: '2', formula: 'ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)' });
  assert.ok(Math.abs(f.calcBanTime(100, 1) - 100 * Math.exp(2)) < 1e-9);
  // the default formula with factor 3: max(Time, Time * 2^Count * 3)
  assert.equal(mk({ factor: '3' }).calcBanTime(100, 2), 1200);
  const rnd = new BanManager({ jail: 'x', bantime: 100, store, clock: new FakeClock(T0), random: () => 0.5, increment: { enabled: true, rndtime: 60 } });
  assert.equal(rnd.calcBanTime(100, 1), 230);
  // formula errors are configuration errors
  assert.throws(() => mk({ formula: '__import__("os")' }), /expression/);
});

test('increment: overalljails counts bans of other jails; preset and permanent are not incremented', (t) => {
  const store = Store.open(':memory:');
  t.after(() => store.close());
  const clock = new FakeClock(T0);
  const a = new BanManager({ jail: 'a', bantime: 600, store, clock, increment: { enabled: true } });
  const b = new BanManager({ jail: 'b', bantime: 600, store, clock, increment: { enabled: true, overalljails: true } });
  const c = new BanManager({ jail: 'c', bantime: 600, store, clock, increment: { enabled: true } });
  a.ban(req('192.0.2.1', T0));
  clock.advance(10);
  const ob = b.ban(req('192.0.2.1', clock.now()));
  assert.ok(ob.kind === 'banned' && ob.ticket.bantime === 1200 && ob.ticket.banCount === 2);
  const oc = c.ban(req('192.0.2.1', clock.now()));
  assert.ok(oc.kind === 'banned' && oc.ticket.bantime === 600, 'without overalljails other jails do not count');
  a.unbanAll('stop');
  const preset = a.ban(req('192.0.2.1', clock.now(), { bantime: 50 }));
  assert.ok(preset.kind === 'banned' && preset.ticket.bantime === 50);
  const noStore = setup({ increment: { enabled: true } });
  noStore.bm.ban(req('192.0.2.1', T0));
  assert.ok(noStore.logs.includes('WARNING ban time increment is not available as long jail database is not set'));
});

test('failure found hook: extra retries for known offenders', (t) => {
  const store = Store.open(':memory:');
  t.after(() => store.close());
  const { bm, clock, logs } = setup({ store, increment: { enabled: true } });
  assert.equal(bm.failureFound('192.0.2.1', T0, 5), 0, 'unknown ip');
  bm.ban(req('192.0.2.1', T0));
  assert.equal(bm.failureFound('192.0.2.1', T0, 5), 0, 'not after the last ban');
  clock.advance(700);
  assert.equal(bm.failureFound('192.0.2.1', T0 + 700, 5), 1); // 2^1/2+1 = 2 → +1
  assert.ok(logs.some((l) => /^INFO \[sshd\] Found 192\.0\.2\.1, bad - .* 1 # -> 2\.0$/.test(l)));
  store.addBan({
    jail: 'sshd', id: '192.0.2.1', ip: '192.0.2.1', family: 'inet4', time: T0 + 701, bantime: 600, banCount: 3,
    failures: 1, matches: [], data: {}, restored: false,
  });
  assert.equal(bm.failureFound('192.0.2.1', T0 + 800, 3), 2); // 2^3/2+1 = 5, capped at 3 → +2
  assert.ok(logs.some((l) => l.endsWith('3 # -> 3.0, Ban')));
});

test('restore: one batch, expired skipped, permanent kept, ignore filter, restored flag', (t) => {
  const s2 = storeAfterStop(t, (bm) => {
    bm.ban(req('192.0.2.1', T0 - 100, { bantime: 600 }));
    bm.ban(req('192.0.2.2', T0 - 1000, { bantime: 600 }));
    bm.ban(req('192.0.2.3', T0 - 5000)); // permanent
    bm.ban(req('192.0.2.4', T0 - 10, { bantime: 600 }));
  });
  const second = setup({ store: s2, bantime: -1 });
  const restored = second.bm.restore({ skip: (tk) => tk.id === '192.0.2.4' });
  assert.deepEqual(restored.map((r) => r.id), ['192.0.2.3', '192.0.2.1']);
  assert.ok(restored.every((r) => r.restored));
  assert.equal(second.bans.length, 1, 'one onBan batch');
  assert.equal(second.bm.endOf('192.0.2.1'), T0 + 500, 'original end kept');
  assert.ok(second.logs.includes('NOTICE [sshd] Restore Ban 192.0.2.3'));
  // restoring wrote no new history rows
  assert.equal(s2.banHistory('192.0.2.1', 'sshd').bans, 1);
  second.clock.advance(500);
  assert.deepEqual(second.unbans, [[['192.0.2.1'], 'expired']]);
});

test('seconds2str matches fail2ban examples', () => {
  assert.deepEqual(
    [86400 * 390, 86400 * 368, 86400 * 365.5, 86400 * 2 + 3600 * 7 + 60 * 15, 86400 * 2 + 3599, 3600 - 5, 3600 - 10, 59, 0, 600, 1200].map(seconds2str),
    ['1y 3w 4d', '1y 3d', '1y 1d' /* round(365.5) = 366 in Python; its docstring says 1y */, '2d 7h 15m', '2d 1h', '1h', '59m 50s', '59s', '0', '10m', '20m'],
  );
});

test('unbans due at the same time go out in one batch', () => {
  const { bm, clock, unbans } = setup();
  for (let i = 0; i < 50; i++) bm.ban(req(`10.0.0.${i}`, T0));
  clock.advance(600);
  assert.equal(unbans.length, 1);
  assert.equal(unbans[0]![0].length, 50);
});

test('restoreChunks: the same bans as restore, page by page, without onBan; timer armed at the end', (t) => {
  const s2 = storeAfterStop(t, (bm) => {
    for (let i = 1; i <= 7; i++) bm.ban(req(`192.0.2.${i}`, T0 - 100 * i, { bantime: 600 }));
    bm.ban(req('192.0.2.9', T0 - 5000, { bantime: 600 })); // over
    bm.ban(req('2001:db8::7', T0 - 5000)); // permanent
  });
  const expected = setup({ store: s2, bantime: -1 }).bm.restore({ skip: (tk) => tk.id === '192.0.2.4' }).map((r) => r.id).sort();
  const second = setup({ store: s2, bantime: -1 });
  second.bm.ban(req('192.0.2.2', T0)); // banned meanwhile: not restored twice
  const chunks = [...second.bm.restoreChunks({ pageSize: 3, skip: (tk) => tk.id === '192.0.2.4' })];
  assert.ok(chunks.length >= 2, `pages of 3 give several chunks: ${chunks.length}`);
  const ids = chunks.flat().map((tk) => tk.id);
  assert.deepEqual([...ids].sort(), expected.filter((id) => id !== '192.0.2.2'));
  assert.ok(chunks.flat().every((tk) => tk.restored));
  assert.equal(second.bans.length, 1, 'only the ban made meanwhile went through onBan');
  assert.equal(second.bm.endOf('192.0.2.1'), T0 + 500, 'original end kept');
  assert.ok(second.logs.includes('NOTICE [sshd] Restore Ban 2001:db8::7'));
  // the timer armed when the chunks ran out unbans them as they end (.6 and .7 had ended already)
  second.clock.advance(500);
  assert.deepEqual(second.unbans.flatMap(([u]) => u), ['192.0.2.5', '192.0.2.3', '192.0.2.1']);
});

test('restoreScan then restoreChunks(upTo, skipped): the lean pass lists exactly what the second pass restores', (t) => {
  const s2 = storeAfterStop(t, (bm) => {
    for (let i = 1; i <= 7; i++) bm.ban(req(`192.0.2.${i}`, T0 - 100 * i, { bantime: 600 }));
    bm.ban(req('192.0.2.9', T0 - 5000, { bantime: 600 })); // over
    bm.ban(req('2001:db8::7', T0 - 5000)); // permanent
  });
  const second = setup({ store: s2, bantime: -1 });
  second.bm.ban(req('192.0.2.2', T0)); // banned before the restore: in neither pass
  const scan = { skipped: new Set<string>(), upTo: 0, complete: false };
  const pages = [...second.bm.restoreScan({ pageSize: 3, skip: (id) => id === '192.0.2.4' }, scan)];
  assert.equal(scan.complete, true);
  assert.deepEqual([...scan.skipped], ['192.0.2.4']);
  const lean = new Map(pages.flatMap((p) => p.ids.map((id, i) => [id, p.ends[i]!] as const)));
  assert.equal(lean.get('192.0.2.1'), T0 + 500, 'end of ban');
  assert.equal(lean.get('2001:db8::7'), Infinity, 'permanent');
  assert.equal(second.bm.size, 1, 'the lean pass inserts nothing');
  assert.equal(second.logs.filter((l) => l.includes('Restore Ban')).length, 0, 'and logs nothing');
  // a ban stored after the scan is not read by the second pass (it is in the ban list already)
  second.bm.ban(req('192.0.2.200', T0));
  const chunks = [...second.bm.restoreChunks({ upTo: scan.upTo, skip: (tk) => scan.skipped.has(tk.id) })];
  const restored = chunks.flat();
  assert.deepEqual(restored.map((tk) => tk.id).sort(), [...lean.keys()].sort());
  for (const tk of restored) assert.equal(tk.bantime < 0 ? Infinity : tk.time + tk.bantime, lean.get(tk.id));
  assert.equal(second.bm.size, 1 + 1 + lean.size);
});
