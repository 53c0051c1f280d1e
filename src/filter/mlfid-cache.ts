/**
 * Cache of multi-line failure sessions keyed by mlfid (reference §2.3): at most `maxCount`
 * entries, each expiring `maxTime` seconds after it was stored. Oldest entries go first.
 *
 * Entries sit in a queue in insertion order next to a key index; a removed entry is only marked
 * and skipped when the queue reaches it, so no operation walks or reallocates the whole cache.
 * The last looked-up entry is remembered: consecutive lines of one session find it without
 * hashing their key. Keys are not deleted from the index (a Map whose entries keep coming and
 * going replaces its table again and again, and the discarded tables kept recent sessions, and
 * the lines they reference, alive through young collections): an ended entry is just marked,
 * and the index is rebuilt from the live entries when too many ended ones pile up.
 */
interface Entry<T> {
  key: string;
  data: T | null;
  expires: number;
  live: boolean;
}

export class MlfidCache<T = Record<string, unknown>> {
  /** Key → its latest entry, live or ended. */
  private index = new Map<string, Entry<T>>();
  private count = 0;
  /** Entries in insertion order from `head` on (removed ones marked not live). */
  private queue: Entry<T>[] = [];
  private head = 0;
  private last: Entry<T> | null = null;
  /**
   * Every entry was stored with an expiry no earlier than the one stored before it (the clock did
   * not go back), so the expired entries are exactly the oldest ones: a purge can stop at the
   * first live entry that has not expired.
   */
  private ordered = true;
  private lastExpires = -Infinity;

  constructor(
    private readonly maxCount: number,
    private readonly maxTime: number,
  ) {}

  get(key: string, now: number): T | undefined {
    let e = this.last;
    if (e === null || !e.live || e.key !== key) {
      e = this.index.get(key) ?? null;
      if (e === null || !e.live) return undefined;
      this.last = e;
    }
    if (e.expires <= now) {
      this.remove(e);
      return undefined;
    }
    return e.data!;
  }

  set(key: string, data: T, now: number): void {
    const old = this.index.get(key);
    if (old?.live) this.remove(old);
    if (this.count >= this.maxCount) {
      // drop expired entries first, then the oldest
      if (this.ordered) {
        for (let e = this.oldest(); e !== null && e.expires <= now; e = this.oldest()) this.remove(e);
      } else {
        // (a copy: removing may compact the queue)
        for (const e of this.queue.slice(this.head)) if (e.live && e.expires <= now) this.remove(e);
      }
      while (this.count >= this.maxCount) this.remove(this.oldest()!);
    }
    const expires = now + this.maxTime;
    if (!(expires >= this.lastExpires)) this.ordered = false;
    this.lastExpires = expires;
    const e: Entry<T> = { key, data, expires, live: true };
    if (!old && this.index.size >= 4 * this.maxCount + 1024) this.rebuildIndex();
    this.index.set(key, e);
    this.count++;
    this.queue.push(e);
    this.last = e;
  }

  delete(key: string): void {
    const e = this.index.get(key);
    if (e?.live) this.remove(e);
  }

  get size(): number {
    return this.count;
  }

  /** The live keys, oldest first, expired ones included (for checks and debugging). */
  keys(): string[] {
    const out: string[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.live) out.push(e.key);
    }
    return out;
  }

  /** The oldest live entry, dropping removed ones from the front of the queue. */
  private oldest(): Entry<T> | null {
    const q = this.queue;
    while (this.head < q.length && !q[this.head]!.live) this.head++;
    if (this.head >= 64 && this.head * 2 >= q.length) {
      // compact: the consumed front is at least half the queue
      this.queue = q.slice(this.head);
      this.head = 0;
    }
    return this.head < this.queue.length ? this.queue[this.head]! : null;
  }

  private remove(e: Entry<T>): void {
    e.live = false;
    this.count--;
    // the entry may wait in the queue a while: it must not keep the session's data alive
    e.data = null;
    e.key = '';
    if (this.queue.length - this.head > 4 * this.maxCount + 64) this.compact();
  }

  /** A new index of the live entries only (many keys whose sessions ended). */
  private rebuildIndex(): void {
    const index = new Map<string, Entry<T>>();
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.live) index.set(e.key, e);
    }
    this.index = index;
  }

  /** Drops removed entries from the queue (many sessions ended out of order). */
  private compact(): void {
    this.queue = this.queue.slice(this.head).filter((e) => e.live);
    this.head = 0;
  }
}
