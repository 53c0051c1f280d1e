/**
 * MlfidCache (the multi-line session cache, reference §2.3) against a plain reference model:
 * random operation sequences (seeded) must give the same answers, sizes and key order.
 *
 * The model is the contract in its simplest form: a list in insertion order; storing a key again
 * moves it to the end; an entry expires `maxTime` seconds after it was stored (a lookup at or
 * after that time finds nothing and forgets it); storing into a full cache first drops every
 * expired entry, then the oldest ones until there is room.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MlfidCache } from '../../src/filter/mlfid-cache.ts';
import { Prng } from '../../bench/lib/prng.ts';

class ReferenceCache<T> {
  entries: { key: string; data: T; expires: number }[] = [];
  constructor(
    private readonly maxCount: number,
    private readonly maxTime: number,
  ) {}

  get(key: string, now: number): T | undefined {
    const i = this.entries.findIndex((e) => e.key === key);
    if (i < 0) return undefined;
    if (this.entries[i]!.expires <= now) {
      this.entries.splice(i, 1);
      return undefined;
    }
    return this.entries[i]!.data;
  }

  set(key: string, data: T, now: number): void {
    this.delete(key);
    if (this.entries.length >= this.maxCount) {
      this.entries = this.entries.filter((e) => e.expires > now);
      while (this.entries.length >= this.maxCount) this.entries.shift();
    }
    this.entries.push({ key, data, expires: now + this.maxTime });
  }

  delete(key: string): void {
    this.entries = this.entries.filter((e) => e.key !== key);
  }
}

test('MlfidCache behaves like the reference model on random operation sequences', () => {
  const prng = new Prng(0x5eed);
  const rnd = () => prng.next();
  const int = (n: number) => Math.floor(rnd() * n);
  let checks = 0;
  for (let trial = 0; trial < 200; trial++) {
    const maxCount = 1 + int(rnd() < 0.8 ? 20 : 200);
    const maxTime = int(rnd() < 0.8 ? 50 : 5000);
    // few keys: sessions come back often; many keys: the cache's index of ended keys grows
    const keyCount = 1 + int(rnd() < 0.5 ? 60 : 4000);
    // a clock that sometimes goes back makes expiry order differ from insertion order
    const clockGoesBack = rnd() < 0.3;
    // a few busy sessions among quiet ones: entries stay put while others come and go
    const hotKeys = rnd() < 0.4;
    const model = new ReferenceCache<number>(maxCount, maxTime);
    const cache = new MlfidCache<number>(maxCount, maxTime);
    const ctx = () => `trial ${trial} (max ${maxCount}, ttl ${maxTime}, keys ${keyCount}, back ${clockGoesBack}, hot ${hotKeys})`;
    let now = 1000;
    for (let i = 0; i < 4000; i++) {
      if (rnd() < 0.3) now += int(5);
      if (clockGoesBack && rnd() < 0.02) now -= int(30);
      // runs of one key, as the lines of one session arrive
      const key = hotKeys && rnd() < 0.9 ? `h${int(2)}` : `k${rnd() < 0.2 ? 0 : int(keyCount)}`;
      const op = rnd();
      if (op < 0.5) {
        assert.equal(cache.get(key, now), model.get(key, now), `${ctx()} op ${i}: get ${key} at ${now}`);
      } else if (op < 0.9) {
        cache.set(key, i, now);
        model.set(key, i, now);
      } else {
        cache.delete(key);
        model.delete(key);
      }
      assert.equal(cache.size, model.entries.length, `${ctx()} op ${i}: size`);
      if (i % 7 === 0) assert.deepEqual(cache.keys(), model.entries.map((e) => e.key), `${ctx()} op ${i}: keys in order`);
      checks++;
    }
    assert.deepEqual(cache.keys(), model.entries.map((e) => e.key), `${ctx()}: keys in order`);
    // every remaining entry answers like the model, expired ones included
    for (const { key } of [...model.entries]) assert.equal(cache.get(key, now), model.get(key, now), `${ctx()}: final get ${key}`);
  }
  assert.equal(checks, 200 * 4000);
});

test('MlfidCache: expiry and eviction order, by hand', () => {
  const cache = new MlfidCache<string>(2, 10);
  cache.set('a', 'A', 0);
  cache.set('b', 'B', 5);
  assert.equal(cache.get('a', 9), 'A');
  assert.equal(cache.get('a', 10), undefined, 'expires maxTime seconds after it was stored');
  assert.equal(cache.size, 1);
  cache.set('c', 'C', 6);
  cache.set('b', 'B2', 7); // stored again: now the newest
  cache.set('d', 'D', 8); // full: the oldest (c) goes
  assert.deepEqual(cache.keys(), ['b', 'd']);
  assert.equal(cache.get('c', 8), undefined);
  cache.set('e', 'E', 20); // full, both expired: both go, nothing else
  assert.deepEqual(cache.keys(), ['e']);
});
