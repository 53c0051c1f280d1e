/**
 * Binary min-heap of slot numbers ordered by a key (the end of ban), with
 * positions so a slot can be removed or re-keyed in O(log n). Plain typed
 * arrays: no object per entry, so a million bans cost ~8 MB here.
 */
export class EndHeap {
  #heap: Int32Array;
  #pos: Int32Array; // slot → index in #heap, -1 when absent
  #size = 0;
  readonly #key: (slot: number) => number;

  constructor(key: (slot: number) => number, capacity = 1024) {
    this.#key = key;
    this.#heap = new Int32Array(capacity);
    this.#pos = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.#size;
  }

  /** Slot with the smallest key, or -1. */
  peek(): number {
    return this.#size ? this.#heap[0]! : -1;
  }

  has(slot: number): boolean {
    return slot < this.#pos.length && this.#pos[slot]! >= 0;
  }

  /** Makes room for slots below `capacity`. */
  grow(capacity: number): void {
    if (capacity <= this.#pos.length) return;
    const pos = new Int32Array(capacity).fill(-1);
    pos.set(this.#pos);
    this.#pos = pos;
    const heap = new Int32Array(capacity);
    heap.set(this.#heap);
    this.#heap = heap;
  }

  push(slot: number): void {
    this.grow(slot + 1);
    const i = this.#size++;
    this.#heap[i] = slot;
    this.#pos[slot] = i;
    this.#up(i);
  }

  /** Re-positions a slot whose key changed. */
  update(slot: number): void {
    const i = this.#pos[slot]!;
    if (i < 0) return;
    this.#up(i);
    this.#down(this.#pos[slot]!);
  }

  remove(slot: number): void {
    const i = slot < this.#pos.length ? this.#pos[slot]! : -1;
    if (i < 0) return;
    const last = --this.#size;
    this.#pos[slot] = -1;
    if (i === last) return;
    const moved = this.#heap[last]!;
    this.#heap[i] = moved;
    this.#pos[moved] = i;
    this.#up(i);
    this.#down(this.#pos[moved]!);
  }

  clear(): void {
    for (let i = 0; i < this.#size; i++) this.#pos[this.#heap[i]!] = -1;
    this.#size = 0;
  }

  #swap(a: number, b: number): void {
    const sa = this.#heap[a]!;
    const sb = this.#heap[b]!;
    this.#heap[a] = sb;
    this.#heap[b] = sa;
    this.#pos[sb] = a;
    this.#pos[sa] = b;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#key(this.#heap[parent]!) <= this.#key(this.#heap[i]!)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.#size) break;
      const r = l + 1;
      let m = l;
      if (r < this.#size && this.#key(this.#heap[r]!) < this.#key(this.#heap[l]!)) m = r;
      if (this.#key(this.#heap[i]!) <= this.#key(this.#heap[m]!)) break;
      this.#swap(i, m);
      i = m;
    }
  }
}
