/**
 * AST (without conditionals) → JavaScript RegExp source with Python semantics.
 *
 * Two dialects are emitted from one AST:
 *  - ascii:   no `u` flag, for subjects that are pure ASCII; `\w \d \b` stay
 *             native (fast), everything non-ASCII in the pattern is dropped
 *             from sets (it cannot match anyway).
 *  - unicode: `u` flag, Python's Unicode classes via property escapes.
 * The JS `m` flag is never used: Python's `^`/`$` only know `\n`, JS's also `\r`.
 * Every capturing group is emitted unnamed; `groupMap` maps a Python group
 * number to the JS group numbers of its copies (conditional expansion
 * duplicates groups, atomic groups add hidden ones).
 */
import {
  FLAG_A, FLAG_I, FLAG_M, FLAG_S,
  type Category, type Node,
} from './ast.ts';
import {
  ASCII_DIGIT, ASCII_SPACE, ASCII_WORD, UNICODE_SPACE,
  caseVariants, closeUnderCase, complement, equalRanges, intersect, normalize, type Ranges,
} from './charset.ts';
import { width } from './parser.ts';

export interface Emitted {
  source: string;
  /** `u` and/or `i` (callers add `g`, `y`, `d`). */
  flags: string;
  /** groupMap[pythonGroup] = JS group numbers of its copies. */
  groupMap: number[][];
}

export class EmitError extends Error {}

const ASCII_SPACE_PY: Ranges = [0x09, 0x0d, 0x1c, 0x20]; // str.isspace() restricted to ASCII
const U_WORD = '[\\p{L}\\p{N}_]';
const U_NONWORD = '[^\\p{L}\\p{N}_]';
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split('').map((c) => c.codePointAt(0)!));
const CLASS_SPECIAL = new Set('\\]^-['.split('').map((c) => c.codePointAt(0)!));

function hex(cp: number, unicode: boolean): string {
  if (cp <= 0xff) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp <= 0xffff) return '\\u' + cp.toString(16).padStart(4, '0');
  if (unicode) return `\\u{${cp.toString(16)}}`;
  const v = cp - 0x10000; // never reached in ASCII mode, kept for completeness
  return hex(0xd800 + (v >> 10), false) + hex(0xdc00 + (v & 0x3ff), false);
}

const printable = (cp: number): boolean => cp >= 0x20 && cp < 0x7f;

function literal(cp: number, unicode: boolean): string {
  if (SYNTAX.has(cp)) return '\\' + String.fromCharCode(cp);
  return printable(cp) ? String.fromCharCode(cp) : hex(cp, unicode);
}

function classChar(cp: number, unicode: boolean): string {
  if (CLASS_SPECIAL.has(cp)) return '\\' + String.fromCharCode(cp);
  return printable(cp) ? String.fromCharCode(cp) : hex(cp, unicode);
}

function classBody(ranges: Ranges, unicode: boolean): string {
  let s = '';
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i]!;
    const hi = ranges[i + 1]!;
    s += classChar(lo, unicode);
    if (hi > lo) s += (hi > lo + 1 ? '-' : '') + classChar(hi, unicode);
  }
  return s;
}

/** Whether a pattern-wide JS `i` flag is correct: every case-relevant node is IGNORECASE. */
export function canUseIgnoreCaseFlag(ast: Node): boolean {
  let insensitive = false;
  let sensitive = false;
  const visit = (n: Node): void => {
    switch (n.type) {
      case 'char':
        if (caseVariants(n.cp, !!(n.flags & FLAG_A)).length > 1) {
          if (n.flags & FLAG_I) insensitive = true;
          else sensitive = true;
        }
        return;
      case 'set': {
        const explicit = normalize(n.items.flatMap((it) => (it.kind === 'range' ? [it.lo, it.hi] : [])));
        if (!equalRanges(explicit, closeUnderCase(explicit, !!(n.flags & FLAG_A)))) {
          if (n.flags & FLAG_I) insensitive = true;
          else sensitive = true;
        }
        return;
      }
      case 'backref':
        if (n.flags & FLAG_I) insensitive = true;
        else sensitive = true;
        return;
      case 'seq':
        n.items.forEach(visit);
        return;
      case 'alt':
        n.branches.forEach(visit);
        return;
      case 'group':
      case 'atomic':
      case 'look':
      case 'repeat':
        visit(n.body);
        return;
      case 'cond':
        visit(n.yes);
        visit(n.no);
        return;
      default:
        return;
    }
  };
  visit(ast);
  return insensitive && !sensitive;
}

export function emit(ast: Node, groupCount: number, unicode: boolean, useIgnoreCaseFlag: boolean): Emitted {
  const e = new Emitter(groupCount, unicode, useIgnoreCaseFlag);
  const source = e.node(ast);
  return { source, flags: (unicode ? 'u' : '') + (useIgnoreCaseFlag ? 'i' : ''), groupMap: e.all };
}

class Emitter {
  jsGroups = 0;
  /** Copies of each Python group visible at the current emission point. */
  current: number[][];
  all: number[][];

  constructor(groupCount: number, readonly unicode: boolean, readonly useI: boolean) {
    this.current = Array.from({ length: groupCount + 1 }, () => []);
    this.all = Array.from({ length: groupCount + 1 }, () => []);
  }

  node(n: Node): string {
    switch (n.type) {
      case 'empty':
        return '';
      case 'never':
        return '(?!)';
      case 'char':
        return this.char(n.cp, n.flags);
      case 'any':
        return n.flags & FLAG_S ? '[^]' : '[^\\n]';
      case 'cat':
        return this.category(n.cat, n.flags);
      case 'set':
        return this.set(n);
      case 'assert':
        return this.assertion(n.kind, n.flags);
      case 'seq':
        return n.items.map((item) => this.node(item)).join('');
      case 'alt':
        return '(?:' + this.branches(n.branches) + ')';
      case 'group': {
        const js = ++this.jsGroups;
        const body = this.node(n.body);
        this.current[n.index] = [js];
        this.all[n.index]!.push(js);
        return '(' + body + ')';
      }
      case 'atomic': {
        // (?>X) ≡ (?=(X))\k — a lookahead is atomic in JS, the backreference consumes its text
        const js = ++this.jsGroups;
        return `(?:(?=(${this.node(n.body)}))\\${js})`;
      }
      case 'look':
        return '(?' + (n.behind ? '<' : '') + (n.negate ? '!' : '=') + this.node(n.body) + ')';
      case 'backref': {
        if (n.flags & FLAG_I && !this.useI) {
          throw new EmitError('a case-insensitive backreference is only supported with pattern-wide (?i)');
        }
        // Only one copy can have participated; the others are unset and match "" in JS.
        return '(?:' + (this.current[n.index] ?? []).map((g) => '\\' + g).join('') + ')';
      }
      case 'cond':
        throw new EmitError('internal: conditional left after expansion');
      case 'repeat':
        return this.repeat(n);
    }
  }

  branches(branches: Node[]): string {
    const saved = this.current;
    const merged: Set<number>[] = saved.map((copies) => new Set(copies));
    const parts = branches.map((b) => {
      this.current = saved.map((c) => c.slice());
      const s = this.node(b);
      this.current.forEach((copies, g) => {
        for (const c of copies) merged[g]!.add(c);
      });
      return s;
    });
    this.current = merged.map((set) => [...set]);
    return parts.join('|');
  }

  char(cp: number, flags: number): string {
    let variants = flags & FLAG_I ? caseVariants(cp, !!(flags & FLAG_A)) : [cp];
    if (!this.unicode) variants = variants.filter((v) => v < 0x80);
    if (variants.length === 0) return '[]';
    if (variants.length === 1) return literal(variants[0]!, this.unicode);
    if (this.useI && variants.length === 2 && variants[1]! < 0x80) return literal(cp < 0x80 ? cp : variants[0]!, this.unicode);
    return '[' + classBody(normalize(variants.flatMap((v) => [v, v])), this.unicode) + ']';
  }

  /** JS text for a category, or ranges when it must be merged into a set. */
  categoryParts(cat: Category, flags: number): { ranges?: Ranges; classText?: string; negatedWord?: boolean } {
    const ascii = !this.unicode || !!(flags & FLAG_A);
    const maxCp = this.unicode ? 0x10ffff : 0x7f;
    const lower = cat.toLowerCase();
    const negated = cat !== lower;
    if (ascii) {
      const base = lower === 'd' ? ASCII_DIGIT : lower === 'w' ? ASCII_WORD : flags & FLAG_A ? ASCII_SPACE : ASCII_SPACE_PY;
      return { ranges: negated ? complement(base, maxCp) : base };
    }
    if (lower === 's') return { ranges: negated ? complement(UNICODE_SPACE) : UNICODE_SPACE };
    if (lower === 'd') return { classText: negated ? '\\P{Nd}' : '\\p{Nd}' };
    return negated ? { negatedWord: true } : { classText: '\\p{L}\\p{N}_' };
  }

  category(cat: Category, flags: number): string {
    if (!this.unicode) {
      if (cat === 's') return flags & FLAG_A ? '[\\t-\\r ]' : '[\\t-\\r\\x1c-\\x20]';
      if (cat === 'S') return flags & FLAG_A ? '[^\\t-\\r ]' : '[^\\t-\\r\\x1c-\\x20]';
      return '\\' + cat;
    }
    const parts = this.categoryParts(cat, flags);
    if (parts.negatedWord) return U_NONWORD;
    if (parts.classText) return '[' + parts.classText + ']';
    return '[' + classBody(parts.ranges!, true) + ']';
  }

  set(n: Extract<Node, { type: 'set' }>): string {
    let ranges: Ranges = [];
    let extra = '';
    let negatedWord = false;
    for (const item of n.items) {
      if (item.kind === 'range') ranges.push(item.lo, item.hi);
      else {
        const parts = this.categoryParts(item.cat, n.flags);
        if (parts.ranges) ranges.push(...parts.ranges);
        if (parts.classText) extra += parts.classText;
        if (parts.negatedWord) negatedWord = true;
      }
    }
    ranges = normalize(ranges);
    if (n.flags & FLAG_I) ranges = closeUnderCase(ranges, !!(n.flags & FLAG_A));
    if (!this.unicode) ranges = intersect(ranges, 0, 0x7f);
    const body = classBody(ranges, this.unicode) + extra;
    if (!negatedWord) return (n.negated ? '[^' : '[') + body + ']';
    // \W cannot sit inside a class next to other items without the `v` flag: use an alternation.
    const any = body ? `(?:[${body}]|${U_NONWORD})` : U_NONWORD;
    return n.negated ? `(?:(?!${any})[^])` : any;
  }

  assertion(kind: string, flags: number): string {
    switch (kind) {
      case 'bol':
        return flags & FLAG_M ? '(?<![^\\n])' : '^';
      case 'eol':
        // Python: end of string, or before a final "\n"; with MULTILINE before any "\n"
        return flags & FLAG_M ? '(?![^\\n])' : '(?=\\n?$)';
      case 'start':
        return '^';
      case 'end':
        return '$';
      default: {
        const nonBoundary = kind === 'nonboundary';
        // Python 3.11: \B never matches in an empty string
        if (!this.unicode) return nonBoundary ? '(?!^$)\\B' : '\\b';
        const w = flags & FLAG_A ? '[0-9A-Z_a-z]' : U_WORD;
        return nonBoundary
          ? `(?!^$)(?:(?<=${w})(?=${w})|(?<!${w})(?!${w}))`
          : `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`;
      }
    }
  }

  repeat(n: Extract<Node, { type: 'repeat' }>): string {
    if (n.possessive) {
      return this.node({ type: 'atomic', body: { ...n, possessive: false } });
    }
    const body = this.node(n.body);
    const lazy = n.greedy ? '' : '?';
    if (n.min === 0 && n.max === 1 && width(n.body)[0] === 0) {
      // JS refuses an optional iteration that matches "", Python takes it (and sets its groups)
      return n.greedy ? `(?:${body}|)` : `(?:|${body})`;
    }
    const atom = isAtom(n.body, body) ? body : `(?:${body})`;
    let q: string;
    if (n.max === Infinity) q = n.min === 0 ? '*' : n.min === 1 ? '+' : `{${n.min},}`;
    else if (n.min === 0 && n.max === 1) q = '?';
    else if (n.min === n.max) q = `{${n.min}}`;
    else q = `{${n.min},${n.max}}`;
    return atom + q + lazy;
  }
}

function isAtom(node: Node, text: string): boolean {
  switch (node.type) {
    case 'char':
    case 'any':
    case 'cat':
    case 'group':
      return true;
    case 'set':
      return text.startsWith('[') && text.endsWith(']') && !text.startsWith('(?');
    default:
      return false;
  }
}
