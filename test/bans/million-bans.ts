/**
 * Memory probe run in its own process by million-bans.test.ts: bans 1M
 * addresses in batches of 10k and prints heap/RSS figures as JSON.
 */
import { BanManager, type BanClock } from '../../src/bans/index.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const count = Number(process.argv[2] ?? 1_000_000);
let now = 1_800_000_000;
let timers = 0;
const clock: BanClock = { now: () => now, setTimer: () => ++timers, clearTimer: () => {} };
gc?.();
const base = process.memoryUsage();
let reported = 0;
const bm = new BanManager({ jail: 'sshd', bantime: 3600, clock, onBan: (t) => (reported += t.length) });
const started = performance.now();
const batch = [];
for (let i = 0; i < count; i++) {
  const id = `${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  batch.push({ id, family: 'inet4' as const, time: now + (i % 3600), failures: 3 });
  if (batch.length === 10_000) {
    bm.banMany(batch);
    batch.length = 0;
  }
}
if (batch.length) bm.banMany(batch);
const banMs = performance.now() - started;
// Several full collections: V8 gives pages of freed garbage (request and ticket objects) back lazily.
for (let i = 0; i < 3; i++) gc?.();
const mem = process.memoryUsage();
now += 3600 + 1800; // half of them due
const t1 = performance.now();
let unbanned = 0;
for (;;) {
  const n = bm.unbanExpired().length;
  if (!n) break;
  unbanned += n;
}
const unbanMs = performance.now() - t1;
console.log(
  JSON.stringify({
    bans: bm.size + unbanned,
    reported,
    heapUsedMB: +((mem.heapUsed - base.heapUsed) / 2 ** 20).toFixed(1),
    rssMB: +(mem.rss / 2 ** 20).toFixed(1),
    baseRssMB: +(base.rss / 2 ** 20).toFixed(1),
    arrayBuffersMB: +(mem.arrayBuffers / 2 ** 20).toFixed(1),
    heapTotalMB: +(mem.heapTotal / 2 ** 20).toFixed(1),
    banMs: Math.round(banMs),
    unbanned,
    unbanMs: Math.round(unbanMs),
  }),
);
