/**
 * Which regexes of a list can match a subject at all, judged by its first character: most
 * failregexes are anchored (`^Failed `, `^Invalid user `...), so per line only the one or two
 * whose start fits are run. The answer keeps list order and only ever drops regexes that cannot
 * match (see StartFilter), so the results are the same as trying every regex.
 */
import type { StartFilter } from './pyregex/index.ts';

export class RegexDispatch {
  private readonly filters: (StartFilter | null)[];
  /** Candidates by first code unit below 128. */
  private readonly byAscii: Int32Array[] = [];
  /** Candidates for other first code units (and the empty subject), filled on demand. */
  private readonly byOther = new Map<number, Int32Array>();

  constructor(filters: (StartFilter | null)[]) {
    this.filters = filters;
    for (let c = 0; c < 128; c++) this.byAscii.push(this.build(c));
  }

  /** Indices (ascending) of the regexes that may match `subject` searched from 0. */
  candidates(subject: string): Int32Array {
    const c = subject.length ? subject.charCodeAt(0) : -1;
    if (c >= 0 && c < 128) return this.byAscii[c]!;
    let list = this.byOther.get(c);
    if (list === undefined) {
      list = this.build(c);
      if (this.byOther.size < 4096) this.byOther.set(c, list);
    }
    return list;
  }

  /** Whether candidate `index` still needs its full prefix checked (longer than one character). */
  admits(index: number, subject: string): boolean {
    const f = this.filters[index];
    return !f || f.prefix.length <= 1 || subject.startsWith(f.prefix);
  }

  private build(c: number): Int32Array {
    const out: number[] = [];
    for (let i = 0; i < this.filters.length; i++) {
      const f = this.filters[i];
      if (!f) out.push(i);
      else if (c < 0) continue;
      else if (f.prefix !== '' ? f.prefix.charCodeAt(0) === c : f.firstUnits === null || f.firstUnits.has(c)) out.push(i);
    }
    return Int32Array.from(out);
  }
}
