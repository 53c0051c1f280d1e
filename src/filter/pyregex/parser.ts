/**
 * Parser for CPython `re` syntax (str patterns, as of Python 3.11).
 *
 * It accepts what CPython accepts and rejects what CPython rejects, with the
 * same messages and positions (positions count code points, like Python's).
 * One deliberate extension: inline global flags `(?i)` inside a group apply to
 * the rest of that group, which is what fail2ban's `((?i)X)` → `(?i:X)` rewrite
 * produces; Python 3.11 itself would reject them.
 */
import type { ErrorLocation } from '../../errors.ts';
import { RegexError } from '../../errors.ts';
import {
  FLAG_A, FLAG_I, FLAG_M, FLAG_S, FLAG_X,
  type Category, type Node, type ParsedPattern, type SetItem,
} from './ast.ts';

/** A Python-compatible syntax error; `position` is the code-point offset in the pattern. */
export class PyRegexSyntaxError extends RegexError {
  override name = 'PyRegexSyntaxError';
  readonly position: number;
  readonly pattern: string;
  constructor(pattern: string, message: string, position: number, where: ErrorLocation = {}) {
    super(`invalid regex ${JSON.stringify(pattern)}: ${message} at position ${position}`, where);
    this.position = position;
    this.pattern = pattern;
  }
}

const MAXREPEAT = 4294967295; // CPython's _sre.MAXREPEAT
const MAXGROUPS = 1073741823;

const FLAG_LETTERS: Record<string, number> = { i: FLAG_I, m: FLAG_M, s: FLAG_S, x: FLAG_X, a: FLAG_A, u: 0, L: 0 };

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 0x07, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b, '\\': 0x5c,
};

const ch = (cp: number | undefined): string => (cp === undefined ? '' : String.fromCodePoint(cp));
const isDigit = (cp: number | undefined): boolean => cp !== undefined && cp >= 0x30 && cp <= 0x39;
const isOctal = (cp: number | undefined): boolean => cp !== undefined && cp >= 0x30 && cp <= 0x37;
const isHex = (cp: number | undefined): boolean =>
  cp !== undefined && (isDigit(cp) || (cp >= 0x41 && cp <= 0x46) || (cp >= 0x61 && cp <= 0x66));
const isAsciiLetter = (cp: number | undefined): boolean =>
  cp !== undefined && ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a));
const WHITESPACE_VERBOSE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);
/** Python's str.isidentifier(), close enough: XID_Start/XID_Continue. */
const IDENTIFIER = /^[\p{XID_Start}_][\p{XID_Continue}]*$/u;

export interface ParseOptions {
  /** Initial flags (FLAG_* bits), e.g. from compile options. */
  flags?: number;
  where?: ErrorLocation;
}

/** Parse a Python regex into an AST. Throws PyRegexSyntaxError (a RegexError) like Python's re.error. */
export function parsePythonRegex(source: string, opts: ParseOptions = {}): ParsedPattern {
  const parser = new Parser(source, opts.flags ?? 0, opts.where ?? {});
  try {
    return parser.parse();
  } catch (err) {
    if (err instanceof RangeError) {
      throw new PyRegexSyntaxError(source, 'pattern too deeply nested', parser.pos, opts.where ?? {});
    }
    throw err;
  }
}

interface FlagState {
  value: number;
}

class Parser {
  readonly cps: number[];
  pos = 0;
  groupCount = 0;
  readonly names = new Map<string, number>();
  readonly openGroups = new Set<number>();
  /** Numeric conditional references are checked once all groups are known. */
  readonly condRefs: { index: number; pos: number }[] = [];
  lookbehindGroups: number | null = null;
  depth = 0;

  constructor(readonly source: string, readonly initialFlags: number, readonly where: ErrorLocation) {
    this.cps = Array.from(source, (c) => c.codePointAt(0)!);
  }

  error(message: string, position: number): never {
    throw new PyRegexSyntaxError(this.source, message, position, this.where);
  }

  peek(offset = 0): number | undefined {
    return this.cps[this.pos + offset];
  }

  eat(c: string): boolean {
    if (this.cps[this.pos] === c.codePointAt(0)) {
      this.pos++;
      return true;
    }
    return false;
  }

  parse(): ParsedPattern {
    const flags: FlagState = { value: this.initialFlags };
    const ast = this.parseAlternation(flags, true);
    if (this.pos < this.cps.length) this.error('unbalanced parenthesis', this.pos);
    for (const ref of this.condRefs) {
      if (ref.index > this.groupCount) this.error(`invalid group reference ${ref.index}`, ref.pos);
    }
    return { source: this.source, ast, groupCount: this.groupCount, names: this.names, flags: flags.value };
  }

  /** branch ('|' branch)* — stops before ')' or at the end. */
  parseAlternation(flags: FlagState, topLevel = false): Node {
    const branches: Node[] = [this.parseSequence(flags, topLevel)];
    while (this.eat('|')) branches.push(this.parseSequence(flags, false));
    return branches.length === 1 ? branches[0]! : { type: 'alt', branches };
  }

  skipVerbose(flags: FlagState): void {
    if (!(flags.value & FLAG_X)) return;
    for (;;) {
      const c = this.peek();
      if (c !== undefined && WHITESPACE_VERBOSE.has(c)) this.pos++;
      else if (c === 0x23) {
        while (this.pos < this.cps.length && this.cps[this.pos] !== 0x0a) this.pos++;
      } else return;
    }
  }

  parseSequence(flags: FlagState, atPatternStart: boolean): Node {
    const items: Node[] = [];
    let leadingFlagsAllowed = atPatternStart;
    for (;;) {
      this.skipVerbose(flags);
      const c = this.peek();
      if (c === undefined || c === 0x7c /* | */ || c === 0x29 /* ) */) break;
      const start = this.pos;
      const atom = this.parseAtom(flags, leadingFlagsAllowed || this.depth > 0);
      if (atom === 'flags') continue; // global flags: leadingFlagsAllowed stays as it is
      leadingFlagsAllowed = false;
      if (atom === null) continue; // comment
      items.push(this.parseQuantifiers(atom, start, flags));
    }
    if (items.length === 0) return { type: 'empty' };
    return items.length === 1 ? items[0]! : { type: 'seq', items };
  }

  /** Whether `{` at the current position starts a valid `{m,n}` quantifier (Python's rule). */
  quantifierBraceAhead(): boolean {
    let i = this.pos + 1;
    while (isDigit(this.cps[i])) i++;
    if (this.cps[i] === 0x2c) {
      i++;
      while (isDigit(this.cps[i])) i++;
    }
    return this.cps[i] === 0x7d && i > this.pos + 1;
  }

  parseQuantifiers(atom: Node, atomStart: number, flags: FlagState): Node {
    let node = atom;
    let repeated = false;
    for (;;) {
      this.skipVerbose(flags);
      const c = this.peek();
      const here = this.pos;
      let min: number;
      let max: number;
      if (c === 0x2a) [min, max] = [0, MAXREPEAT];
      else if (c === 0x2b) [min, max] = [1, MAXREPEAT];
      else if (c === 0x3f) [min, max] = [0, 1];
      else if (c === 0x7b && this.quantifierBraceAhead()) {
        this.pos++;
        const lo = this.readDigits();
        let hi = lo;
        if (this.eat(',')) hi = this.readDigits();
        this.pos++; // '}'
        min = lo === '' ? 0 : Number(lo);
        max = hi === '' ? MAXREPEAT : Number(hi);
        if (min >= MAXREPEAT || max >= MAXREPEAT + (hi === '' ? 1 : 0)) {
          this.error('the repetition number is too large', here + 1);
        }
        if (max < min) this.error('min repeat greater than max repeat', here + 1);
        this.pos--; // re-align: the common code below consumes one char
      } else return node;
      this.pos++;
      // `(?:^)*` is fine in Python (the group is the item), a bare `^*` is not
      if (node.type === 'assert' && this.cps[atomStart] !== 0x28) this.error('nothing to repeat', here);
      if (repeated) this.error('multiple repeat', here);
      let greedy = true;
      let possessive = false;
      if (this.eat('?')) greedy = false;
      else if (this.eat('+')) possessive = true;
      node = { type: 'repeat', min, max: max === MAXREPEAT ? Infinity : max, greedy, possessive, body: node };
      repeated = true;
    }
  }

  readDigits(): string {
    let s = '';
    while (isDigit(this.peek())) s += ch(this.cps[this.pos++]);
    return s;
  }

  /** One atom; null for a comment, 'flags' for global inline flags. */
  parseAtom(flags: FlagState, globalFlagsAllowed: boolean): Node | null | 'flags' {
    const start = this.pos;
    const c = this.cps[this.pos++]!;
    switch (c) {
      case 0x2e: // .
        return { type: 'any', flags: flags.value };
      case 0x5e: // ^
        return { type: 'assert', kind: 'bol', flags: flags.value };
      case 0x24: // $
        return { type: 'assert', kind: 'eol', flags: flags.value };
      case 0x5b: // [
        return this.parseSet(flags, start);
      case 0x5c: // backslash
        return this.parseEscape(flags, start);
      case 0x2a:
      case 0x2b:
      case 0x3f:
        this.error('nothing to repeat', start);
      // falls through (error never returns)
      case 0x7b: // {
        this.pos--;
        if (this.quantifierBraceAhead()) this.error('nothing to repeat', start);
        this.pos++;
        return { type: 'char', cp: c, flags: flags.value };
      case 0x28: // (
        return this.parseGroup(flags, start, globalFlagsAllowed);
      default:
        return { type: 'char', cp: c, flags: flags.value };
    }
  }

  parseGroup(flags: FlagState, start: number, globalFlagsAllowed: boolean): Node | null | 'flags' {
    if (!this.eat('?')) return this.capture(flags, start, null);
    const c = this.peek();
    if (c === undefined) this.error('unexpected end of pattern', this.pos);
    this.pos++;
    switch (ch(c)) {
      case ':': {
        const body = this.subpattern({ value: flags.value }, start);
        return body;
      }
      case 'P': {
        if (this.eat('<')) {
          const name = this.readName('>', 'group name');
          return this.capture(flags, start, name);
        }
        if (this.eat('=')) {
          const namePos = this.pos;
          const name = this.readName(')', 'group name');
          const index = this.names.get(name);
          if (index === undefined) this.error(`unknown group name '${name}'`, namePos);
          if (this.openGroups.has(index)) this.error('cannot refer to an open group', namePos - 3);
          this.checkLookbehindRef(index, namePos - 3);
          return { type: 'backref', index, flags: flags.value };
        }
        const next = this.peek();
        if (next === undefined) this.error('unexpected end of pattern', this.pos);
        this.error(`unknown extension ?P${ch(next)}`, start + 1);
      }
      // falls through
      case '=':
      case '!':
        return { type: 'look', behind: false, negate: c === 0x21, body: this.subpattern({ value: flags.value }, start) };
      case '<': {
        const next = this.peek();
        if (next === undefined) this.error('unexpected end of pattern', this.pos);
        if (next !== 0x3d && next !== 0x21) this.error(`unknown extension ?<${ch(next)}`, start + 1);
        this.pos++;
        const outer = this.lookbehindGroups;
        if (outer === null) this.lookbehindGroups = this.groupCount;
        const body = this.subpattern({ value: flags.value }, start);
        this.lookbehindGroups = outer;
        const [lo, hi] = width(body);
        if (lo !== hi) this.error('look-behind requires fixed-width pattern', start);
        return { type: 'look', behind: true, negate: next === 0x21, body };
      }
      case '#': {
        while (this.pos < this.cps.length && this.cps[this.pos] !== 0x29) this.pos++;
        if (this.pos >= this.cps.length) this.error('missing ), unterminated comment', start);
        this.pos++;
        return null;
      }
      case '>':
        return { type: 'atomic', body: this.subpattern({ value: flags.value }, start) };
      case '(':
        return this.parseConditional(flags, start);
      default:
        if (ch(c) in FLAG_LETTERS || c === 0x2d) {
          this.pos--;
          return this.parseFlags(flags, start, globalFlagsAllowed);
        }
        this.error(`unknown extension ?${ch(c)}`, start + 1);
    }
  }

  /** Body of a group up to and including its ')'. */
  subpattern(flags: FlagState, start: number): Node {
    this.depth++;
    const body = this.parseAlternation(flags);
    this.depth--;
    if (!this.eat(')')) this.error('missing ), unterminated subpattern', start);
    return body;
  }

  capture(flags: FlagState, start: number, name: string | null): Node {
    const index = ++this.groupCount;
    if (index >= MAXGROUPS) this.error('too many groups', start);
    if (name !== null) {
      if (this.names.has(name)) {
        this.error(`redefinition of group name '${name}' as group ${index}; was group ${this.names.get(name)}`, start + 4);
      }
      this.names.set(name, index);
    }
    this.openGroups.add(index);
    const body = this.subpattern({ value: flags.value }, start);
    this.openGroups.delete(index);
    return { type: 'group', index, name, body };
  }

  readName(terminator: string, what: string): string {
    const namePos = this.pos;
    const end = this.cps.indexOf(terminator.codePointAt(0)!, this.pos);
    if (end < 0) this.error(`missing ${terminator}, unterminated name`, namePos);
    const name = String.fromCodePoint(...this.cps.slice(this.pos, end));
    if (name === '') this.error(`missing ${what}`, namePos);
    if (!IDENTIFIER.test(name)) this.error(`bad character in ${what} '${name}'`, namePos);
    this.pos = end + 1;
    return name;
  }

  checkLookbehindRef(index: number, position: number): void {
    if (this.lookbehindGroups !== null && index > this.lookbehindGroups) {
      this.error('cannot refer to group defined in the same lookbehind subpattern', position);
    }
  }

  parseConditional(flags: FlagState, start: number): Node {
    const namePos = this.pos;
    const end = this.cps.indexOf(0x29, this.pos);
    if (end < 0) this.error('missing ), unterminated name', namePos);
    const name = String.fromCodePoint(...this.cps.slice(this.pos, end));
    this.pos = end + 1;
    let index: number;
    if (name === '') this.error('missing group name', namePos);
    if (IDENTIFIER.test(name)) {
      const found = this.names.get(name);
      if (found === undefined) this.error(`unknown group name '${name}'`, namePos);
      index = found;
    } else if (/^[0-9]+$/.test(name)) {
      index = Number(name);
      if (index === 0) this.error('bad group number', namePos);
      if (index >= MAXGROUPS) this.error(`invalid group reference ${index}`, namePos);
      this.condRefs.push({ index, pos: namePos });
    } else {
      this.error(`bad character in group name '${name}'`, namePos);
    }
    if (this.lookbehindGroups !== null) this.checkLookbehindRef(index, namePos);
    this.depth++;
    const inner = { value: flags.value };
    const yes = this.parseSequence(inner, false);
    let no: Node = { type: 'empty' };
    if (this.eat('|')) {
      no = this.parseSequence(inner, false);
      if (this.peek() === 0x7c) this.error('conditional backref with more than two branches', this.pos);
    }
    this.depth--;
    if (!this.eat(')')) this.error('missing ), unterminated subpattern', start);
    return { type: 'cond', index, yes, no, pos: start };
  }

  /** `(?aiLmsux)`, `(?aiLmsux-imsx:...)`; the '(?' is consumed. */
  parseFlags(flags: FlagState, start: number, globalFlagsAllowed: boolean): Node | 'flags' {
    let add = 0;
    let remove = 0;
    let sawUnicode = false;
    const readLetters = (negative: boolean): void => {
      for (;;) {
        const c = this.peek();
        if (c === undefined) this.error('missing -, : or )', this.pos);
        const letter = ch(c);
        if (!(letter in FLAG_LETTERS)) return;
        if (letter === 'L') this.error("bad inline flags: cannot use 'L' flag with a str pattern", this.pos + 1);
        if (negative && (letter === 'a' || letter === 'u')) {
          this.error('bad inline flags: cannot turn off flags \'a\', \'u\' and \'L\'', this.pos + 1);
        }
        if (letter === 'u') sawUnicode = true;
        if (negative) remove |= FLAG_LETTERS[letter]!;
        else add |= FLAG_LETTERS[letter]!;
        this.pos++;
      }
    };
    readLetters(false);
    if (sawUnicode && add & FLAG_A) this.error("bad inline flags: flags 'a', 'u' and 'L' are incompatible", this.pos);
    if (this.eat(')')) {
      if (!globalFlagsAllowed) this.error('global flags not at the start of the expression', start);
      flags.value |= add;
      return 'flags';
    }
    if (this.eat('-')) {
      const c = this.peek();
      if (c === undefined || !(ch(c) in FLAG_LETTERS)) {
        this.error(c === undefined ? 'missing flag' : `unknown flag`, this.pos);
      }
      readLetters(true);
      if (remove === 0) this.error('missing flag', this.pos);
      if (add & remove) this.error('bad inline flags: flag turned on and off', this.pos);
    }
    const c = this.peek();
    if (c !== 0x3a) {
      if (c === undefined) this.error('missing -, : or )', this.pos);
      this.error(isAsciiLetter(c) ? 'unknown flag' : 'missing -, : or )', this.pos);
    }
    this.pos++;
    return this.subpattern({ value: (flags.value | add) & ~remove }, start);
  }

  parseEscape(flags: FlagState, start: number): Node {
    const c = this.cps[this.pos];
    if (c === undefined) this.error('bad escape (end of pattern)', start);
    const letter = ch(c);
    const f = flags.value;
    switch (letter) {
      case 'A': this.pos++; return { type: 'assert', kind: 'start', flags: f };
      case 'Z': this.pos++; return { type: 'assert', kind: 'end', flags: f };
      case 'b': this.pos++; return { type: 'assert', kind: 'boundary', flags: f };
      case 'B': this.pos++; return { type: 'assert', kind: 'nonboundary', flags: f };
      case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
        this.pos++;
        return { type: 'cat', cat: letter as Category, flags: f };
    }
    if (isDigit(c) && c !== 0x30) {
      // octal escape *or* group reference, Python's rule
      let digits = ch(c);
      this.pos++;
      if (isDigit(this.peek())) {
        digits += ch(this.cps[this.pos++]);
        if (isOctal(digits.codePointAt(0)) && isOctal(digits.codePointAt(1)) && isOctal(this.peek())) {
          digits += ch(this.cps[this.pos++]);
          const value = parseInt(digits, 8);
          if (value > 0o377) this.error(`octal escape value \\${digits} outside of range 0-0o377`, start);
          return { type: 'char', cp: value, flags: f };
        }
      }
      const index = Number(digits);
      if (index <= this.groupCount) {
        if (this.openGroups.has(index)) this.error('cannot refer to an open group', start);
        this.checkLookbehindRef(index, start);
        return { type: 'backref', index, flags: f };
      }
      this.error(`invalid group reference ${index}`, start + 1);
    }
    return { type: 'char', cp: this.commonEscape(start, false), flags: f };
  }

  /** Escapes valid both inside and outside sets; returns the code point. Position is at the char after '\'. */
  commonEscape(start: number, inSet: boolean): number {
    const c = this.cps[this.pos]!;
    const letter = ch(c);
    this.pos++;
    if (letter in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[letter]!;
    if (inSet && letter === 'b') return 0x08;
    if (letter === 'x' || letter === 'u' || letter === 'U') {
      const n = letter === 'x' ? 2 : letter === 'u' ? 4 : 8;
      let hex = '';
      while (hex.length < n && isHex(this.peek())) hex += ch(this.cps[this.pos++]);
      if (hex.length < n) this.error(`incomplete escape \\${letter}${hex}`, start);
      const value = parseInt(hex, 16);
      if (value > 0x10ffff) this.error(`bad escape \\${letter}${hex}`, start);
      return value;
    }
    if (letter === '0' || (inSet && isOctal(c))) {
      let digits = letter;
      while (digits.length < 3 && isOctal(this.peek())) digits += ch(this.cps[this.pos++]);
      const value = parseInt(digits, 8);
      if (value > 0o377) this.error(`octal escape value \\${digits} outside of range 0-0o377`, start);
      return value;
    }
    if (letter === 'N') this.error('named Unicode escapes \\N{...} are not supported', start);
    if (isAsciiLetter(c) || isDigit(c)) this.error(`bad escape \\${letter}`, start);
    return c; // identity escape of a non-letter
  }

  parseSet(flags: FlagState, start: number): Node {
    const negated = this.eat('^');
    const items: SetItem[] = [];
    const first = this.pos;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.error('unterminated character set', start);
      this.pos++;
      if (c === 0x5d && this.pos - 1 !== first) break;
      const itemStart = this.pos - 1;
      let lo: SetItem;
      if (c === 0x5c) lo = this.setEscape(itemStart);
      else lo = { kind: 'range', lo: c, hi: c };
      if (this.peek() === 0x2d /* - */) {
        this.pos++;
        const d = this.peek();
        if (d === undefined) this.error('unterminated character set', start);
        this.pos++;
        if (d === 0x5d) {
          items.push(lo, { kind: 'range', lo: 0x2d, hi: 0x2d });
          break;
        }
        const hi: SetItem = d === 0x5c ? this.setEscape(this.pos - 1) : { kind: 'range', lo: d, hi: d };
        const text = String.fromCodePoint(...this.cps.slice(itemStart, this.pos));
        if (lo.kind !== 'range' || hi.kind !== 'range') {
          this.error(`bad character range ${text}`, itemStart);
        }
        if (hi.lo < lo.lo) this.error(`bad character range ${text}`, itemStart);
        items.push({ kind: 'range', lo: lo.lo, hi: hi.lo });
      } else items.push(lo);
    }
    return { type: 'set', negated, items, flags: flags.value };
  }

  setEscape(start: number): SetItem {
    const c = this.peek();
    if (c === undefined) this.error('unterminated character set', start);
    const letter = ch(c);
    if ('dDwWsS'.includes(letter)) {
      this.pos++;
      return { kind: 'cat', cat: letter as Category };
    }
    if (isDigit(c) && !isOctal(c)) this.error(`bad escape \\${letter}`, start);
    const cp = this.commonEscape(start, true);
    return { kind: 'range', lo: cp, hi: cp };
  }
}

/** Minimum and maximum match width (in code points); Infinity when unbounded. */
export function width(node: Node): [number, number] {
  switch (node.type) {
    case 'empty':
    case 'assert':
    case 'look':
      return [0, 0];
    case 'never':
      return [0, 0];
    case 'char':
    case 'any':
    case 'set':
    case 'cat':
      return [1, 1];
    case 'seq': {
      let lo = 0;
      let hi = 0;
      for (const item of node.items) {
        const [a, b] = width(item);
        lo += a;
        hi += b;
      }
      return [lo, hi];
    }
    case 'alt': {
      let lo = Infinity;
      let hi = 0;
      for (const b of node.branches) {
        const [x, y] = width(b);
        lo = Math.min(lo, x);
        hi = Math.max(hi, y);
      }
      return [lo, hi];
    }
    case 'group':
    case 'atomic':
      return width(node.body);
    case 'backref':
      return [0, Infinity];
    case 'cond': {
      const [a, b] = width(node.yes);
      const [c, d] = width(node.no);
      return [Math.min(a, c), Math.max(b, d)];
    }
    case 'repeat': {
      const [a, b] = width(node.body);
      return [a * node.min, b === 0 ? 0 : b * node.max];
    }
  }
}
