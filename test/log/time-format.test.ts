process.env.TZ = 'Europe/Zurich';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAsctime, formatTime } from '../../src/log/logger.ts';

/** The plain formatting, without the per-second cache. */
function reference(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

test('log time texts: cached per second, the same as formatting each time (DST change included)', () => {
  // 2026-03-29 01:59:58 CET .. 03:00:02 CEST, in steps of 0.3707 s: many per second, and the jump
  const start = Date.UTC(2026, 2, 29, 0, 59, 58);
  for (let ms = start; ms < start + 5000; ms += 370.7) {
    assert.equal(formatAsctime(ms), reference(ms), `asctime at ${ms}`);
    assert.equal(formatTime(ms / 1000), reference(ms).slice(0, 19), `time at ${ms}`);
  }
  assert.equal(formatTime(Date.UTC(2026, 2, 29, 1, 0, 0) / 1000), '2026-03-29 03:00:00');
  assert.equal(formatAsctime(Date.UTC(2026, 2, 29, 0, 59, 59, 999)), '2026-03-29 01:59:59,999');
  // back and forth between two seconds
  const a = Date.UTC(2026, 0, 1, 12, 0, 0, 5);
  for (const ms of [a, a + 1000, a, a + 1000]) assert.equal(formatAsctime(ms), reference(ms));
});
