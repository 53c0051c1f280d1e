/**
 * localToEpoch (src/filter/date/calendar.ts: local wall-clock time → epoch, in the process's
 * time zone) against a reference built another way: offsets read from Intl.DateTimeFormat (epoch →
 * wall clock, the other direction), solved for the wall time. Rules: a wall time that exists
 * once maps to it; one that exists twice (clocks set back) maps to the first occurrence; one that
 * does not exist (clocks set forward) moves forward by the gap (the offset before the change).
 *
 * Points: around zone transitions found between 1850 and 2060 (seeded choice), plus seeded random
 * times, in zones with odd rules (half-hour DST, negative DST, a skipped day, historical local
 * mean time with seconds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localToEpoch } from '../../src/filter/date/calendar.ts';
import { Prng } from '../../bench/lib/prng.ts';

const ZONES = [
  'Europe/Zurich',
  'America/New_York',
  'Australia/Lord_Howe',
  'Pacific/Apia',
  'America/St_Johns',
  'Europe/Dublin',
  'Africa/Casablanca',
  'America/Sao_Paulo',
  'Asia/Kathmandu',
  'UTC',
];

/** Days since 1970-01-01 of a proleptic Gregorian date (written out here, not taken from the module). */
function dayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/** Offsets (seconds east of UTC) of a zone at an epoch second, from Intl's wall clock. */
function offsetReader(zone: string): (epoch: number) => number {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    era: 'short',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const cache = new Map<number, number>();
  return (epoch) => {
    let off = cache.get(epoch);
    if (off !== undefined) return off;
    const f: Record<string, string> = {};
    for (const p of fmt.formatToParts(new Date(epoch * 1000))) f[p.type] = p.value;
    const year = f.era === 'BC' || f.era === 'B' ? 1 - Number(f.year) : Number(f.year);
    const wall = dayNumber(year, Number(f.month), Number(f.day)) * 86400 + Number(f.hour) * 3600 + Number(f.minute) * 60 + Number(f.second);
    off = wall - epoch;
    cache.set(epoch, off);
    return off;
  };
}

/** The reference answer for naive wall-clock seconds `naive` (wall time counted as if UTC). */
function referenceEpoch(naive: number, offsetAt: (epoch: number) => number): { epoch: number; kind: 'once' | 'twice' | 'gap' } {
  // every offset in force within a day and a half either side (offsets lie within ±15 h)
  const offsets = new Set<number>();
  for (let h = -36; h <= 36; h += 6) offsets.add(offsetAt(naive + h * 3600));
  const solutions = [...offsets].map((o) => naive - o).filter((t) => offsetAt(t) === naive - t);
  if (solutions.length) return { epoch: Math.min(...solutions), kind: solutions.length > 1 ? 'twice' : 'once' };
  // in a gap: the offset in force before the change (at the earliest candidate instant)
  const earliest = Math.min(...[...offsets].map((o) => naive - o));
  return { epoch: naive - offsetAt(earliest), kind: 'gap' };
}

/** Epoch seconds where the offset changes, between two instants (scan, then bisect). */
function transitions(from: number, to: number): number[] {
  const offset = (t: number) => new Date(t * 1000).getTimezoneOffset();
  const out: number[] = [];
  const step = 5 * 86400;
  let prev = offset(from);
  for (let t = from + step; t <= to; t += step) {
    const cur = offset(t);
    if (cur !== prev) {
      let lo = t - step;
      let hi = t;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offset(mid) === prev) lo = mid;
        else hi = mid;
      }
      out.push(hi);
      prev = cur;
    }
  }
  return out;
}

test('localToEpoch matches the reference around DST transitions and at random times', () => {
  const savedTz = process.env.TZ;
  const prng = new Prng(0x10ca1);
  const rnd = () => prng.next();
  const start = Date.UTC(1850, 0, 1) / 1000;
  const end = Date.UTC(2060, 0, 1) / 1000;
  const kinds = { once: 0, twice: 0, gap: 0 };
  try {
    for (const zone of ZONES) {
      process.env.TZ = zone;
      // the process must really be in the zone now, or the test checks nothing
      assert.equal(0 - new Date(Date.UTC(2021, 6, 1)).getTimezoneOffset() * 60, offsetReader(zone)(Date.UTC(2021, 6, 1) / 1000), zone);
      const offsetAt = offsetReader(zone);
      const naives: number[] = [];
      const found = transitions(start, end);
      // a seeded sample of transitions; around each, wall times before, inside and after the change
      for (let k = 0; k < 20 && found.length; k++) {
        const t = found[Math.floor(rnd() * found.length)]!;
        const before = offsetAt(t - 1);
        const after = offsetAt(t);
        const wallAtChange = t + before; // the wall clock reading the change leaves from
        const jump = after - before;
        for (const d of [-3601, -1, 0, 1, jump - 1, jump, jump + 1, -jump - 1, -jump, -jump + 1, 7200]) naives.push(wallAtChange + d);
        for (let j = 0; j < 6; j++) naives.push(wallAtChange + Math.floor((rnd() - 0.5) * 4 * 3600));
      }
      for (let j = 0; j < 60; j++) naives.push(start + Math.floor(rnd() * (end - start)));
      for (const naive of naives) {
        const expected = referenceEpoch(naive, offsetAt);
        kinds[expected.kind]++;
        assert.equal(localToEpoch(naive), expected.epoch, `${zone}: wall ${new Date(naive * 1000).toISOString().slice(0, 19)} (naive ${naive}, ${expected.kind})`);
      }
    }
  } finally {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  }
  // enough points, and wall times that exist twice or not at all, or those rules go unchecked
  assert.ok(kinds.once + kinds.twice + kinds.gap > 2000, JSON.stringify(kinds));
  assert.ok(kinds.twice > 50 && kinds.gap > 50, JSON.stringify(kinds));
});

test('years before 100 stay literal', () => {
  const savedTz = process.env.TZ;
  try {
    process.env.TZ = 'UTC';
    // 0050-03-01 12:00:00 as naive seconds
    const naive = dayNumber(50, 3, 1) * 86400 + 12 * 3600;
    assert.equal(localToEpoch(naive), naive);
    assert.equal(new Date(localToEpoch(naive) * 1000).getUTCFullYear(), 50);
  } finally {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  }
});
