/**
 * A small seeded PRNG (mulberry32): the same seed gives the same stream on every machine and Node
 * version, which Math.random cannot promise. Good enough for generating inputs, not for crypto.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Index in [0, n) skewed towards 0 (a few heavy hitters, a long tail), like real attack traffic. */
  skewedIndex(n: number): number {
    const r = this.next();
    return Math.floor(r * r * n);
  }
}
