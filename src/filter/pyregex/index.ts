/**
 * Python `re` patterns, run on V8's irregexp.
 *
 *   const re = compilePythonRegex('^Failed (?P<user>\\S+) from (?P<ip>\\S+)$');
 *   re.exec(line)?.groups.user
 *
 * A pattern is parsed (parser.ts), its conditionals and backreferences are
 * rewritten away (conditionals.ts), and it is emitted twice (emit.ts): an ASCII
 * RegExp (no `u` flag, native `\w \d \b`) used when the subject is pure ASCII,
 * and a Unicode one used otherwise. `exec` has `re.search(subject, pos)`
 * semantics, `match` `re.match(subject, pos)` semantics.
 */
import type { ErrorLocation } from '../../errors.ts';
import { RegexError } from '../../errors.ts';
import { FLAG_I, FLAG_M, type Node, type ParsedPattern } from './ast.ts';
import { ConditionalError, resolveConditionals } from './conditionals.ts';
import { EmitError, canUseIgnoreCaseFlag, emit } from './emit.ts';
import { StartFilter, startFilter, trailingGroup } from './literals.ts';
import { PyRegexSyntaxError, parsePythonRegex as parseWithOptions } from './parser.ts';

export type { Node, ParsedPattern } from './ast.ts';
export { PyRegexSyntaxError } from './parser.ts';
export { requiredLiterals, StartFilter, startFilter, trailingGroup } from './literals.ts';

export interface CompileOptions {
  /** re.MULTILINE for the whole pattern. */
  multiline?: boolean;
  /** re.IGNORECASE for the whole pattern. */
  ignoreCase?: boolean;
  /** Compile with the `d` flag so `span()` of groups is free (slower matching). */
  indices?: boolean;
  /** Where the pattern comes from, for error messages. */
  where?: ErrorLocation;
}

export interface PyMatch {
  index: number;
  end: number;
  text: string;
  /** Named groups; undefined = did not participate. */
  groups: Record<string, string | undefined>;
  group(n: number | string): string | undefined;
  span(n: number | string): [number, number] | undefined;
}

export interface PyRegex {
  /** The Python source. */
  source: string;
  /** Named groups in order of definition. */
  groupNames: string[];
  /** Number of capturing groups (Python numbering). */
  groupCount: number;
  /** re.search(subject, pos=from). */
  exec(subject: string, from?: number): PyMatch | null;
  /** re.match(subject, pos=from): the match must start at `from`. */
  match(subject: string, from?: number): PyMatch | null;
  /** Whether re.search(subject) finds something; allocation-free. */
  test(subject: string): boolean;
}

/**
 * The compiled form with the low-level access the filter's per-line loop uses: no Match object,
 * the caller says which dialect applies, and a start-of-subject prefilter.
 */
export interface FastPyRegex extends PyRegex {
  /** Named groups, name → Python group number. */
  readonly names: ReadonlyMap<string, number>;
  /** groupMap[pythonGroup] = JS group numbers of its copies (the first defined one is the value). */
  readonly groupMap: readonly (readonly number[])[];
  /** Null when the pattern gives no cheap constraint on the subject's start. */
  readonly startFilter: StartFilter | null;
  /** The named group that always ends where the match ends (see trailingGroup), or null. */
  readonly trailingGroup: string | null;
  /** re.search(subject) from 0 as the raw JS match; `ascii` must be isAscii(subject). */
  execArray(subject: string, ascii: boolean): RegExpExecArray | null;
}

/** Parse a Python pattern into an AST (for lints and literal prefilters). */
export function parsePythonRegex(source: string, opts: { where?: ErrorLocation } = {}): ParsedPattern {
  return parseWithOptions(source, opts);
}

// All regexes are usually applied to the same line in a row: remember the last answer.
let lastSubject = '';
let lastAscii = true;
const NON_ASCII = /[^\x00-\x7f]/;

export function isAscii(subject: string): boolean {
  if (subject === lastSubject) return lastAscii;
  lastAscii = !NON_ASCII.test(subject);
  lastSubject = subject;
  return lastAscii;
}

export function compilePythonRegex(source: string, opts: CompileOptions = {}): FastPyRegex {
  const where = opts.where ?? {};
  const initialFlags = (opts.ignoreCase ? FLAG_I : 0) | (opts.multiline ? FLAG_M : 0);
  const parsed = parseWithOptions(source, { flags: initialFlags, where });
  let ast: Node;
  try {
    ast = resolveConditionals(parsed.ast);
  } catch (err) {
    if (!(err instanceof ConditionalError)) throw err;
    const at = err.position >= 0 ? err.position : 0;
    throw new PyRegexSyntaxError(source, `conditional group reference cannot be translated exactly (${err.message})`, at, where);
  }
  const useI = canUseIgnoreCaseFlag(ast);
  let ascii;
  let unicode;
  try {
    ascii = emit(ast, parsed.groupCount, false, useI);
    unicode = emit(ast, parsed.groupCount, true, useI);
  } catch (err) {
    if (!(err instanceof EmitError)) throw err;
    throw new RegexError(`invalid regex ${JSON.stringify(source)}: ${err.message}`, where);
  }
  return new TranslatedRegex(parsed, ascii, unicode, !!opts.indices, where, startFilter(ast), trailingGroup(ast));
}

interface Dialect {
  search: RegExp;
  sticky: RegExp | null;
  source: string;
  flags: string;
}

function makeRegExp(pattern: string, flags: string, python: string, where: ErrorLocation): RegExp {
  try {
    return new RegExp(pattern, flags);
  } catch (err) {
    throw new RegexError(
      `invalid regex ${JSON.stringify(python)}: JavaScript rejected its translation /${pattern}/${flags}: ${(err as Error).message}`,
      where,
      { cause: err },
    );
  }
}

class TranslatedRegex implements FastPyRegex {
  readonly source: string;
  readonly groupNames: string[];
  readonly groupCount: number;
  readonly names: Map<string, number>;
  readonly groupMap: number[][];
  readonly startFilter: StartFilter | null;
  readonly trailingGroup: string | null;
  readonly #ascii: Dialect;
  readonly #unicode: Dialect;
  readonly #where: ErrorLocation;
  #indexed: [RegExp | null, RegExp | null] = [null, null];

  constructor(
    parsed: ParsedPattern,
    ascii: { source: string; flags: string; groupMap: number[][] },
    unicode: { source: string; flags: string },
    indices: boolean,
    where: ErrorLocation,
    start: StartFilter | null = null,
    trailing: string | null = null,
  ) {
    this.startFilter = start;
    this.trailingGroup = trailing;
    this.source = parsed.source;
    this.names = parsed.names;
    this.groupNames = [...parsed.names.keys()];
    this.groupCount = parsed.groupCount;
    // Both dialects number their groups identically (same AST walk).
    this.groupMap = ascii.groupMap;
    this.#where = where;
    const d = indices ? 'd' : '';
    this.#ascii = {
      search: makeRegExp(ascii.source, ascii.flags + 'g' + d, parsed.source, where),
      sticky: null,
      source: ascii.source,
      flags: ascii.flags + d,
    };
    this.#unicode = {
      search: makeRegExp(unicode.source, unicode.flags + 'g' + d, parsed.source, where),
      sticky: null,
      source: unicode.source,
      flags: unicode.flags + d,
    };
  }

  /** The JS translations, for diagnostics (`moat regex --explain`, tests). */
  get translations(): { ascii: string; unicode: string; asciiFlags: string; unicodeFlags: string } {
    return {
      ascii: this.#ascii.source,
      unicode: this.#unicode.source,
      asciiFlags: this.#ascii.flags,
      unicodeFlags: this.#unicode.flags,
    };
  }

  exec(subject: string, from = 0): PyMatch | null {
    const dialect = isAscii(subject) ? this.#ascii : this.#unicode;
    const re = dialect.search;
    re.lastIndex = clamp(from, subject.length);
    const m = re.exec(subject);
    return m ? new Match(this, m, subject) : null;
  }

  execArray(subject: string, ascii: boolean): RegExpExecArray | null {
    const re = ascii ? this.#ascii.search : this.#unicode.search;
    re.lastIndex = 0;
    return re.exec(subject);
  }

  match(subject: string, from = 0): PyMatch | null {
    const dialect = isAscii(subject) ? this.#ascii : this.#unicode;
    const re = (dialect.sticky ??= makeRegExp(dialect.source, dialect.flags + 'y', this.source, this.#where));
    re.lastIndex = clamp(from, subject.length);
    const m = re.exec(subject);
    return m ? new Match(this, m, subject) : null;
  }

  test(subject: string): boolean {
    const re = isAscii(subject) ? this.#ascii.search : this.#unicode.search;
    re.lastIndex = 0;
    return re.test(subject);
  }

  /** Python group number for a number or name; throws like Python's IndexError. */
  resolveGroup(n: number | string): number {
    const index = typeof n === 'number' ? n : this.names.get(n);
    if (index === undefined || !Number.isInteger(index) || index < 0 || index > this.groupCount) {
      throw new RangeError(`no such group: ${String(n)} in ${JSON.stringify(this.source)}`);
    }
    return index;
  }

  /** Re-run a match with the `d` flag to get group offsets. */
  indicesFor(m: Match): RegExpIndicesArray {
    if (m.raw.indices) return m.raw.indices;
    const ascii = isAscii(m.subject);
    const slot = ascii ? 0 : 1;
    const dialect = ascii ? this.#ascii : this.#unicode;
    const re = (this.#indexed[slot] ??= makeRegExp(dialect.source, dialect.flags + 'dy', this.source, this.#where));
    re.lastIndex = m.index;
    const again = re.exec(m.subject);
    if (!again?.indices) throw new Error('internal: re-match for span() failed');
    return again.indices;
  }
}

function clamp(from: number, length: number): number {
  return from <= 0 ? 0 : from >= length ? length : from;
}

class Match implements PyMatch {
  readonly index: number;
  readonly end: number;
  readonly text: string;
  #groups: Record<string, string | undefined> | undefined;

  constructor(readonly regex: TranslatedRegex, readonly raw: RegExpExecArray, readonly subject: string) {
    this.index = raw.index;
    this.text = raw[0];
    this.end = raw.index + raw[0].length;
  }

  get groups(): Record<string, string | undefined> {
    if (this.#groups) return this.#groups;
    const out: Record<string, string | undefined> = {};
    for (const [name, index] of this.regex.names) out[name] = this.groupAt(index);
    return (this.#groups = out);
  }

  groupAt(index: number): string | undefined {
    if (index === 0) return this.text;
    for (const js of this.regex.groupMap[index]!) {
      const v = this.raw[js];
      if (v !== undefined) return v;
    }
    return undefined;
  }

  group(n: number | string): string | undefined {
    return this.groupAt(this.regex.resolveGroup(n));
  }

  span(n: number | string): [number, number] | undefined {
    const index = this.regex.resolveGroup(n);
    if (index === 0) return [this.index, this.end];
    const copies = this.regex.groupMap[index]!;
    if (!copies.some((js) => this.raw[js] !== undefined)) return undefined;
    const indices = this.regex.indicesFor(this);
    for (const js of copies) {
      const pair = indices[js];
      if (pair) return [pair[0], pair[1]];
    }
    return undefined;
  }
}
