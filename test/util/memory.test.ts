import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectGarbageSoon } from '../../src/util/memory.ts';

test('collectGarbageSoon: one full collection gives dropped memory back', async () => {
  let garbage: number[][] | null = [];
  for (let i = 0; i < 200; i++) garbage.push(new Array<number>(100_000).fill(i)); // ~160 MB of doubles
  garbage = null; // nothing allocates from here on: no collection runs by itself
  const before = process.memoryUsage().heapUsed;
  assert.ok(before > 100 * 1024 * 1024, `garbage is on the heap: ${before}`);
  assert.equal(collectGarbageSoon(0), true);
  assert.equal(collectGarbageSoon(0), true, 'a second call shares the first');
  await sleep(50);
  const after = process.memoryUsage().heapUsed;
  assert.ok(after < before - 100 * 1024 * 1024, `heap ${Math.round(before / 2 ** 20)} MiB → ${Math.round(after / 2 ** 20)} MiB`);
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'the global scope does not get gc()');
});
