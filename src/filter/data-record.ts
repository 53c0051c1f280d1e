/**
 * A failure's captured data while the filter works on it. Every key a filter can produce (its
 * group names and the keys the pipeline adds) gets a fixed slot, and a record is one flat array:
 * the values of the K slots, then K insertion stamps. Building, merging and copying a record thus
 * never reshapes an object, and the stamps give the key order a plain JS object would have (a
 * deleted and re-added key moves to the end), so `toObject()` yields exactly the object the
 * dictionary-style code built, key order included.
 */

/** values[0, K) then stamps[K, 2K); a value of undefined means the key is absent. */
export type DataRecord = unknown[];

export class DataSchema {
  readonly names: string[] = [];
  private readonly slots = new Map<string, number>();
  private template: DataRecord | null = null;
  private stamp = 0;

  /** The slot of `name`, added when new (only while the filter is being built). */
  slot(name: string): number {
    let s = this.slots.get(name);
    if (s === undefined) {
      if (this.template) throw new Error('internal: data schema extended after use');
      s = this.names.length;
      this.names.push(name);
      this.slots.set(name, s);
    }
    return s;
  }

  empty(): DataRecord {
    this.template ??= new Array<unknown>(2 * this.names.length).fill(undefined);
    return this.template.slice();
  }

  /** Makes `r` empty again (scratch records are reused from line to line). */
  reset(r: DataRecord): void {
    for (let i = 0; i < r.length; i++) r[i] = undefined;
  }

  /** Makes `into` a copy of `from`, like `from.slice()` without a new array. */
  copyInto(into: DataRecord, from: DataRecord): void {
    for (let i = 0; i < from.length; i++) into[i] = from[i];
  }

  /** Like `obj[key] = value` (value never undefined): an existing key keeps its place, a new one goes last. */
  set(r: DataRecord, slot: number, value: unknown): void {
    if (r[slot] === undefined) r[this.names.length + slot] = ++this.stamp;
    r[slot] = value;
  }

  /** Present slots in insertion order. */
  keys(r: DataRecord): number[] {
    const k = this.names.length;
    const out: number[] = [];
    for (let s = 0; s < k; s++) if (r[s] !== undefined) out.push(s);
    sortByStamp(out, r, k);
    return out;
  }

  /**
   * For each key of `from` with a value other than null, `into[key] = value`, in `from`'s key
   * order (which decides where keys new to `into` go).
   */
  assignNonNull(into: DataRecord, from: DataRecord): void {
    const k = this.names.length;
    let added: number[] | null = null;
    for (let s = 0; s < k; s++) {
      const v = from[s];
      if (v === null || v === undefined) continue;
      if (into[s] !== undefined) into[s] = v;
      else (added ??= []).push(s);
    }
    if (added === null) return;
    sortByStamp(added, from, k);
    for (const s of added) this.set(into, s, from[s]);
  }

  toObject(r: DataRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of this.keys(r)) out[this.names[s]!] = r[s];
    return out;
  }
}

/**
 * Orders slots by their insertion stamps (`r[k + slot]`). A record has a handful of keys: an
 * insertion sort in place, where Array.prototype.sort allocates a work array on every call (it was
 * the biggest allocation per failure).
 */
function sortByStamp(slots: number[], r: DataRecord, k: number): void {
  for (let i = 1; i < slots.length; i++) {
    const slot = slots[i]!;
    const stamp = r[k + slot] as number;
    let j = i - 1;
    while (j >= 0 && (r[k + slots[j]!] as number) > stamp) {
      slots[j + 1] = slots[j]!;
      j--;
    }
    slots[j + 1] = slot;
  }
}
