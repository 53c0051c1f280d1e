/**
 * Cache of multi-line failure sessions keyed by mlfid (reference §2.3): at most `maxCount`
 * entries, each expiring `maxTime` seconds after it was stored. Oldest entries go first.
 */
export class MlfidCache {
  private readonly entries = new Map<string, { data: Record<string, unknown>; expires: number }>();

  constructor(
    private readonly maxCount: number,
    private readonly maxTime: number,
  ) {}

  get(key: string, now: number): Record<string, unknown> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e.data;
  }

  set(key: string, data: Record<string, unknown>, now: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxCount) {
      // drop expired entries first, then the oldest
      for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
      while (this.entries.size >= this.maxCount) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
      }
    }
    this.entries.set(key, { data, expires: now + this.maxTime });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
