/**
 * Code-point range sets and Python's IGNORECASE folding.
 *
 * Ranges are kept as flat sorted arrays `[lo0, hi0, lo1, hi1, ...]` (inclusive, merged).
 */

export type Ranges = number[];

/** Python str.isspace() — what `\s` matches in a str pattern. */
export const UNICODE_SPACE: Ranges = [
  0x09, 0x0d, 0x1c, 0x20, 0x85, 0x85, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a,
  0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000,
];
export const ASCII_SPACE: Ranges = [0x09, 0x0d, 0x20, 0x20]; // (?a)\s
export const ASCII_DIGIT: Ranges = [0x30, 0x39];
export const ASCII_WORD: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
export const MAX_CP = 0x10ffff;

export function normalize(pairs: Ranges): Ranges {
  const list: [number, number][] = [];
  for (let i = 0; i < pairs.length; i += 2) list.push([pairs[i]!, pairs[i + 1]!]);
  list.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of list) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

export function complement(ranges: Ranges, max = MAX_CP): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i]! > next) out.push(next, ranges[i]! - 1);
    next = ranges[i + 1]! + 1;
  }
  if (next <= max) out.push(next, max);
  return out;
}

export function intersect(ranges: Ranges, lo: number, hi: number): Ranges {
  const out: Ranges = [];
  for (let i = 0; i < ranges.length; i += 2) {
    const a = Math.max(ranges[i]!, lo);
    const b = Math.min(ranges[i + 1]!, hi);
    if (a <= b) out.push(a, b);
  }
  return out;
}

export function equalRanges(a: Ranges, b: Ranges): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// Python's sre_compile._equivalences: lower-case letters that IGNORECASE treats as the same.
const EQUIVALENCES: number[][] = [
  [0x69, 0x131], [0x73, 0x17f], [0xb5, 0x3bc], [0x345, 0x3b9, 0x1fbe], [0x390, 0x1fd3],
  [0x3b0, 0x1fe3], [0x3b2, 0x3d0], [0x3b5, 0x3f5], [0x3b8, 0x3d1], [0x3ba, 0x3f0], [0x3c0, 0x3d6],
  [0x3c1, 0x3f1], [0x3c2, 0x3c3], [0x3c6, 0x3d5], [0x1e61, 0x1e9b], [0xfb05, 0xfb06],
];
const EQUIVALENT = new Map<number, number[]>();
for (const group of EQUIVALENCES) for (const cp of group) EQUIVALENT.set(cp, group);

// Characters whose simple lower case is `key` but which are not `key.toUpperCase()`.
const EXTRA_UPPER: Record<number, number[]> = {
  0x69: [0x130], 0x6b: [0x212a], 0xe5: [0x212b], 0x3c9: [0x2126], 0xdf: [0x1e9e], 0x3b8: [0x3f4],
  0x1c6: [0x1c5], 0x1c9: [0x1c8], 0x1cc: [0x1cb], 0x1f3: [0x1f2],
};

function single(s: string): number | undefined {
  const cp = s.codePointAt(0)!;
  return s.length === (cp > 0xffff ? 2 : 1) ? cp : undefined;
}

/** Python's simple lower-case mapping (JS only offers full mappings). */
export function simpleLower(cp: number): number {
  if (cp === 0x130) return 0x69;
  return single(String.fromCodePoint(cp).toLowerCase()) ?? cp;
}

const variantCache = new Map<number, number[]>();

/** All code points that match `cp` under Python IGNORECASE (including cp itself). */
export function caseVariants(cp: number, asciiOnly: boolean): number[] {
  if (asciiOnly) {
    if (cp >= 0x41 && cp <= 0x5a) return [cp, cp + 0x20];
    if (cp >= 0x61 && cp <= 0x7a) return [cp - 0x20, cp];
    return [cp];
  }
  if (cp < 0x41 || (cp > 0x5a && cp < 0x61) || (cp > 0x7a && cp < 0xb5)) return [cp];
  const cached = variantCache.get(cp);
  if (cached) return cached;
  const lower = simpleLower(cp);
  const out = new Set<number>([cp]);
  for (const l of EQUIVALENT.get(lower) ?? [lower]) {
    out.add(l);
    const upper = single(String.fromCodePoint(l).toUpperCase());
    if (upper !== undefined && simpleLower(upper) === l) out.add(upper);
    for (const extra of EXTRA_UPPER[l] ?? []) out.add(extra);
  }
  const list = [...out].sort((a, b) => a - b);
  variantCache.set(cp, list);
  return list;
}

/** Big ranges are left as they are: closing them would be slow and change almost nothing. */
const CLOSE_LIMIT = 0x30000;

/** Add every case variant of every member (Python's IGNORECASE set semantics). */
export function closeUnderCase(ranges: Ranges, asciiOnly: boolean): Ranges {
  const extra: Ranges = [];
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i]!;
    const hi = ranges[i + 1]!;
    if (hi - lo > CLOSE_LIMIT) continue;
    for (let cp = lo; cp <= hi; cp++) {
      for (const v of caseVariants(cp, asciiOnly)) if (v < lo || v > hi) extra.push(v, v);
    }
  }
  return extra.length ? normalize(ranges.concat(extra)) : ranges;
}
