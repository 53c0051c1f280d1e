/**
 * Compiled date regexes. A matcher searches a line and reports where the whole match and the date
 * text (group 1) are, plus the strptime fields. Built-in templates compile straight to JS RegExp (their
 * regexes use a known, small subset of Python syntax); user patterns go through the Python-regex
 * translator so they get Python semantics.
 */
import type { ErrorLocation } from '../../errors.ts';
import type { PyMatch, PyRegex } from '../pyregex/index.ts';
import { compileDatePythonRegex } from './python-regex.ts';
import type { DateFields, FieldConverter } from './strptime.ts';

const NO_FIELDS: DateFields = Object.freeze({});

/** Where the last successful search matched; one instance per template, reused for every line. */
export class MatchResult {
  start = 0;
  end = 0;
  dateStart = 0;
  dateEnd = 0;
  /** Whole matched text: the conversion cache key. */
  text = '';
  /** The epoch/TAI64N value text (epoch templates). */
  value = '';
  /** The string that was searched (fields are extracted from it on demand). */
  subject = '';
  /** Matcher-specific handle on the raw match. */
  raw: unknown = null;
}

export interface DateMatcher {
  /** Python `search(line, pos, endpos)`: fills `out`, returns false when there is no match. */
  search(line: string, pos: number, endpos: number, out: MatchResult): boolean;
  /** The strptime fields of a match this matcher filled, converted to epoch seconds (NaN when they make no valid date). */
  convert(match: MatchResult, converter: FieldConverter): number;
}

export interface BuiltinRegExps {
  /** Only the date group (and groups a back-reference needs) capture: cheap per line. */
  search: RegExp;
  /** Every named group captures, by number; sticky, re-run at a match to read the fields. */
  fields: RegExp;
  /** Field name of each capture of `fields` (index = group number), undefined for unnamed groups. */
  names: Array<string | undefined>;
}

/**
 * Python syntax → JS for the fixed regexes of the built-in templates: a leading `(?iu)`, named groups
 * and named back-references; anything else Python-specific is refused. Named groups are emitted as
 * numbered ones because JS builds a `groups` object per match otherwise, which doubles the cost.
 */
export function builtinRegExps(pySource: string): BuiltinRegExps {
  let source = pySource;
  let flags = '';
  const globalFlags = /^\(\?([a-zA-Z]+)\)/.exec(source);
  if (globalFlags) {
    const letters = globalFlags[1] as string;
    if (!/^[iu]+$/.test(letters)) throw new Error(`unexpected flags (?${letters}) in built-in date regex`);
    if (letters.includes('i')) flags += 'i';
    source = source.slice(globalFlags[0].length);
  }
  if (source.includes('(?(')) throw new Error('conditional group in built-in date regex');
  const referenced = new Set([...source.matchAll(/\(\?P=(\w+)\)/g)].map((m) => m[1] as string));
  const full = rewriteGroups(source, () => true);
  const lean = rewriteGroups(source, (name) => referenced.has(name));
  return {
    search: new RegExp(lean.source, `g${flags}`),
    fields: new RegExp(full.source, `y${flags}`),
    names: full.names,
  };
}

/**
 * Rewrites `(?P<name>` to a numbered group when `keep(name)` (else non-capturing) and `(?P=name)` to
 * `\N`. Plain `(` groups stay capturing. Character classes and escapes are copied as they are.
 */
function rewriteGroups(source: string, keep: (name: string) => boolean): { source: string; names: Array<string | undefined> } {
  const names: Array<string | undefined> = [undefined];
  const numbers = new Map<string, number>();
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      out += source.slice(i, i + 2);
      i++;
    } else if (c === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j;
    } else if (source.startsWith('(?P<', i)) {
      const close = source.indexOf('>', i);
      const name = source.slice(i + 4, close);
      if (keep(name)) {
        names.push(name);
        numbers.set(name, names.length - 1);
        out += '(';
      } else {
        out += '(?:';
      }
      i = close;
    } else if (source.startsWith('(?P=', i)) {
      const close = source.indexOf(')', i);
      const number = numbers.get(source.slice(i + 4, close));
      if (number === undefined) throw new Error(`back-reference to an unknown group in ${source}`);
      out += `\\${number}`;
      i = close;
    } else if (c === '(' && source[i + 1] !== '?') {
      names.push(undefined);
      out += c;
    } else {
      out += c;
    }
  }
  return { source: out, names };
}

function subjectUpTo(line: string, endpos: number): string {
  return endpos < line.length ? line.slice(0, endpos) : line;
}

/**
 * A built-in template regex `prefix(date)suffix` whose suffix is zero-width (a boundary lookahead or
 * `$`), so the date text always ends where the match ends and no index tracking is needed.
 */
export class BuiltinMatcher implements DateMatcher {
  private readonly re: BuiltinRegExps;
  constructor(pySource: string) {
    this.re = builtinRegExps(pySource);
  }

  search(line: string, pos: number, endpos: number, out: MatchResult): boolean {
    const re = this.re.search;
    const subject = subjectUpTo(line, endpos);
    re.lastIndex = pos;
    const m = re.exec(subject);
    if (m === null) return false;
    const text = m[0];
    const date = m[1] ?? '';
    out.start = m.index;
    out.end = m.index + text.length;
    out.dateEnd = out.end;
    out.dateStart = out.end - date.length;
    out.text = text;
    out.value = date;
    out.subject = subject;
    return true;
  }

  convert(match: MatchResult, converter: FieldConverter): number {
    // the fields are read only on a conversion-cache miss: re-run the full regex at the match
    const re = this.re.fields;
    re.lastIndex = match.start;
    const m = re.exec(match.subject);
    // (group 0 has no name, so it is skipped like the unnamed groups)
    return m === null ? converter.convert(NO_FIELDS) : converter.convertList(this.re.names, m);
  }
}

/** The number of an EPOCH / LEPOCH date (also in the template regexes fail2ban shows, template.ts). */
export const EPOCH_SECONDS = '\\d{10,11}\\b(?:\\.\\d{3,6})?';
export const EPOCH_LONG = '\\d{10,11}(?:\\d{3}(?:\\.\\d{1,6}|\\d{3})?)?';

/**
 * The built-in EPOCH/LEPOCH templates: the number at line start, right after a line-leading `[`, or
 * after `audit(`. fail2ban's regex adds a conditional group meant to require `]` resp. `:<serial>)`
 * after the number, but as written (`(?:(?(selinux)...)|(?(square)...))`) one branch always succeeds
 * with an empty match, so nothing is required; JS has no conditionals and needs none here.
 */
export class EpochMatcher implements DateMatcher {
  private readonly re: RegExp;
  constructor(lineBeginOnly: boolean, long: boolean) {
    const e = long ? EPOCH_LONG : EPOCH_SECONDS;
    this.re = lineBeginOnly
      ? new RegExp(`^(?:\\W{0,2})?(${e})(?=\\b|\\W|$)`, 'g')
      : new RegExp(`(?:^|(?<=^\\[)|(?<=\\baudit\\())(${e})(?=\\b|\\W|$)`, 'g');
  }

  search(line: string, pos: number, endpos: number, out: MatchResult): boolean {
    const re = this.re;
    re.lastIndex = pos;
    const m = re.exec(subjectUpTo(line, endpos));
    if (m === null) return false;
    const value = m[1] as string;
    out.start = m.index;
    out.end = m.index + m[0].length;
    out.dateEnd = out.end;
    out.dateStart = out.end - value.length;
    out.text = value;
    out.value = value;
    return true;
  }

  convert(_match: MatchResult, converter: FieldConverter): number {
    return converter.convert(NO_FIELDS);
  }
}

/** A user pattern, compiled by the Python-regex translator. `valueGroup` names the epoch group. */
export class PythonMatcher implements DateMatcher {
  private readonly re: PyRegex;
  constructor(
    pySource: string,
    where: ErrorLocation,
    private readonly valueGroup = 1,
  ) {
    this.re = compileDatePythonRegex(pySource, where);
  }

  search(line: string, pos: number, endpos: number, out: MatchResult): boolean {
    const m = this.re.exec(subjectUpTo(line, endpos), pos);
    if (m === null) return false;
    out.start = m.index;
    out.end = m.end;
    const span = m.span(1);
    if (span === undefined) {
      // group 1 did not take part: nothing to cut out (Python would give an empty (-1,-1) span)
      out.dateStart = out.dateEnd = m.index;
    } else {
      out.dateStart = span[0];
      out.dateEnd = span[1];
    }
    out.text = m.text;
    out.value = m.group(this.valueGroup) ?? '';
    out.raw = m;
    return true;
  }

  convert(match: MatchResult, converter: FieldConverter): number {
    return converter.convert((match.raw as PyMatch).groups);
  }
}
