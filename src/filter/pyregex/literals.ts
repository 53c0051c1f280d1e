/**
 * Literal substrings every match must contain — a cheap `includes()` prefilter
 * before running a regex. Conservative: case-insensitive text, alternations,
 * lookarounds and conditionals contribute nothing.
 */
import { FLAG_I, FLAG_M, type Node } from './ast.ts';

export function requiredLiterals(ast: Node): string[] {
  const out: string[] = [];
  collect(ast, out);
  return out.filter((s) => s.length > 0);
}

function collect(node: Node, out: string[]): void {
  switch (node.type) {
    case 'seq': {
      let run = '';
      for (const item of node.items) {
        if (item.type === 'char' && !(item.flags & FLAG_I)) {
          run += String.fromCodePoint(item.cp);
          continue;
        }
        if (isZeroWidth(item)) continue; // `a\bb` still contains "ab"
        out.push(run);
        run = '';
        collect(item, out);
      }
      out.push(run);
      return;
    }
    case 'char':
      if (!(node.flags & FLAG_I)) out.push(String.fromCodePoint(node.cp));
      return;
    case 'group':
    case 'atomic':
      collect(node.body, out);
      return;
    case 'repeat':
      if (node.min >= 1) collect(node.body, out);
      return;
    default:
      return;
  }
}

function isZeroWidth(node: Node): boolean {
  return node.type === 'assert' || node.type === 'look' || node.type === 'empty';
}

/**
 * What the subject must start with for a pattern that can only match at position 0 (it begins
 * with `^` without MULTILINE, or `\A`) and cannot match the empty string: a literal prefix and/or
 * the set of possible first code units. Lets a caller skip `exec` on subjects that cannot match
 * (the filter's RegexDispatch applies it).
 */
export class StartFilter {
  constructor(
    /** Literal text every match starts with ('' when none is known). */
    readonly prefix: string,
    /** UTF-16 code units the subject's first character may be; null = unknown (any). */
    readonly firstUnits: ReadonlySet<number> | null,
  ) {}
}

/** The start filter of a pattern AST, or null when the pattern gives no usable constraint. */
export function startFilter(ast: Node): StartFilter | null {
  if (!anchoredAtStart(ast)) return null;
  const first = firstUnits(ast);
  if (first.nullable) return null;
  const prefix = literalPrefix(ast).text;
  if (prefix === '' && first.units === null) return null;
  return new StartFilter(prefix, first.units);
}

/** Every match begins at position 0: the pattern starts with a non-MULTILINE `^` or with `\A`. */
function anchoredAtStart(node: Node): boolean {
  switch (node.type) {
    case 'assert':
      return node.kind === 'start' || (node.kind === 'bol' && !(node.flags & FLAG_M));
    case 'group':
    case 'atomic':
      return anchoredAtStart(node.body);
    case 'alt':
      return node.branches.length > 0 && node.branches.every(anchoredAtStart);
    case 'seq':
      for (const item of node.items) {
        if (anchoredAtStart(item)) return true;
        // a lookaround before the anchor consumes nothing; anything else ends the search
        if (item.type !== 'look') return false;
      }
      return false;
    default:
      return false;
  }
}

interface First {
  /** Possible first code units; null = any. */
  units: Set<number> | null;
  /** The node can match the empty string. */
  nullable: boolean;
}

const MAX_SET = 512;

function union(a: Set<number> | null, b: Set<number> | null): Set<number> | null {
  if (a === null || b === null) return null;
  if (b.size === 0) return a;
  const out = new Set(a);
  for (const u of b) out.add(u);
  return out.size > MAX_SET ? null : out;
}

function bmpUnit(cp: number): boolean {
  return cp <= 0xffff && (cp < 0xd800 || cp > 0xdfff);
}

function firstUnits(node: Node): First {
  switch (node.type) {
    case 'empty':
    case 'assert':
    case 'look':
      return { units: new Set(), nullable: true };
    case 'never':
      return { units: new Set(), nullable: false };
    case 'char':
      // IGNORECASE brings Unicode case variants (K ↔ U+212A ...): no constraint then
      if (node.flags & FLAG_I || !bmpUnit(node.cp)) return { units: null, nullable: false };
      return { units: new Set([node.cp]), nullable: false };
    case 'set': {
      if (node.negated || node.flags & FLAG_I) return { units: null, nullable: false };
      const units = new Set<number>();
      for (const item of node.items) {
        if (item.kind !== 'range' || !bmpUnit(item.lo) || !bmpUnit(item.hi) || (item.lo < 0xd800 && item.hi > 0xdfff)) {
          return { units: null, nullable: false };
        }
        if (item.hi - item.lo + units.size > MAX_SET) return { units: null, nullable: false };
        for (let c = item.lo; c <= item.hi; c++) units.add(c);
      }
      return { units, nullable: false };
    }
    case 'group':
    case 'atomic':
      return firstUnits(node.body);
    case 'repeat': {
      if (node.max === 0) return { units: new Set(), nullable: true };
      const body = firstUnits(node.body);
      return { units: body.units, nullable: body.nullable || node.min === 0 };
    }
    case 'alt': {
      let units: Set<number> | null = new Set();
      let nullable = false;
      for (const b of node.branches) {
        const f = firstUnits(b);
        units = union(units, f.units);
        nullable ||= f.nullable;
      }
      return { units, nullable };
    }
    case 'cond': {
      const yes = firstUnits(node.yes);
      const no = firstUnits(node.no);
      return { units: union(yes.units, no.units), nullable: yes.nullable || no.nullable };
    }
    case 'seq': {
      let units: Set<number> | null = new Set();
      for (const item of node.items) {
        const f = firstUnits(item);
        units = union(units, f.units);
        if (!f.nullable) return { units, nullable: false };
      }
      return { units, nullable: true };
    }
    default:
      // any, cat, backref
      return { units: null, nullable: node.type === 'backref' };
  }
}

interface Prefix {
  text: string;
  /** The node matches exactly `text` (so what follows it continues the prefix). */
  complete: boolean;
}

const MAX_PREFIX = 256;

function literalPrefix(node: Node): Prefix {
  switch (node.type) {
    case 'empty':
    case 'assert':
    case 'look':
      return { text: '', complete: true };
    case 'char':
      if (node.flags & FLAG_I) return { text: '', complete: false };
      return { text: String.fromCodePoint(node.cp), complete: true };
    case 'group':
    case 'atomic':
      return literalPrefix(node.body);
    case 'seq': {
      let text = '';
      for (const item of node.items) {
        const p = literalPrefix(item);
        text += p.text;
        if (!p.complete || text.length > MAX_PREFIX) return { text, complete: false };
      }
      return { text, complete: true };
    }
    case 'repeat': {
      if (node.min === 0) return { text: '', complete: false };
      const body = literalPrefix(node.body);
      if (!body.complete) return body;
      let text = '';
      for (let i = 0; i < node.min && text.length <= MAX_PREFIX; i++) text += body.text;
      return { text, complete: node.min === node.max && text.length <= MAX_PREFIX };
    }
    case 'alt': {
      if (node.branches.length === 0) return { text: '', complete: false };
      const texts = node.branches.map((b) => literalPrefix(b));
      let common = texts[0]!.text;
      for (const p of texts) {
        let n = 0;
        while (n < common.length && n < p.text.length && common.charCodeAt(n) === p.text.charCodeAt(n)) n++;
        common = common.slice(0, n);
      }
      // a cut between the two halves of a surrogate pair is still a valid code-unit prefix
      return { text: common, complete: false };
    }
    default:
      return { text: '', complete: false };
  }
}

/**
 * The named group that always ends where the whole match ends: the pattern is a sequence whose
 * last consuming item is that group (only zero-width items such as `$` may follow), e.g.
 * `^...(?P<content>.+)$`. Null when there is none.
 */
export function trailingGroup(ast: Node): string | null {
  let node = ast;
  for (;;) {
    if (node.type === 'group' && node.name === null) node = node.body;
    else if (node.type === 'seq') {
      let i = node.items.length - 1;
      while (i >= 0 && isZeroWidth(node.items[i]!)) i--;
      if (i < 0) return null;
      const last = node.items[i]!;
      if (last.type === 'group' && last.name !== null) return last.name;
      if (last.type === 'group' || last.type === 'seq') {
        node = last;
        continue;
      }
      return null;
    } else return null;
  }
}
