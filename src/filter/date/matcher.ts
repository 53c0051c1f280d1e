/**
 * Compiled date regexes. A matcher searches a line and reports where the whole match and the date
 * text (group 1) are, plus the strptime fields. Built-in templates compile straight to JS RegExp (their
 * regexes use a known, small subset of Python syntax); user patterns go through the Python-regex
 * translator so they get Python semantics.
 */
import type { ErrorLocation } from '../../errors.ts';
import { compileDatePythonRegex, type DatePyRegex } from './python-regex.ts';
import type { DateFields } from './strptime.ts';

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
  fields: DateFields = NO_FIELDS;
}

export interface DateMatcher {
  /** Python `search(line, pos, endpos)`: fills `out`, returns false when there is no match. */
  search(line: string, pos: number, endpos: number, out: MatchResult): boolean;
}

/**
 * Python syntax → JS for the fixed regexes of the built-in templates: a leading `(?iu)`, named groups
 * and named back-references. Anything else Python-specific is not expected here and is refused.
 */
export function builtinRegExp(pySource: string): RegExp {
  let source = pySource;
  let flags = 'g';
  const globalFlags = /^\(\?([a-zA-Z]+)\)/.exec(source);
  if (globalFlags) {
    const letters = globalFlags[1] as string;
    if (!/^[iu]+$/.test(letters)) throw new Error(`unexpected flags (?${letters}) in built-in date regex`);
    if (letters.includes('i')) flags += 'i';
    source = source.slice(globalFlags[0].length);
  }
  if (source.includes('(?(')) throw new Error('conditional group in built-in date regex');
  source = source.replaceAll('(?P<', '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  return new RegExp(source, flags);
}

function subjectUpTo(line: string, endpos: number): string {
  return endpos < line.length ? line.slice(0, endpos) : line;
}

/**
 * A built-in template regex `prefix(date)suffix` whose suffix is zero-width (a boundary lookahead or
 * `$`), so the date text always ends where the match ends and no index tracking is needed.
 */
export class BuiltinMatcher implements DateMatcher {
  private readonly re: RegExp;
  constructor(pySource: string) {
    this.re = builtinRegExp(pySource);
  }

  search(line: string, pos: number, endpos: number, out: MatchResult): boolean {
    const re = this.re;
    re.lastIndex = pos;
    const m = re.exec(subjectUpTo(line, endpos));
    if (m === null) return false;
    const text = m[0];
    const date = m[1] ?? '';
    out.start = m.index;
    out.end = m.index + text.length;
    out.dateEnd = out.end;
    out.dateStart = out.end - date.length;
    out.text = text;
    out.value = date;
    out.fields = m.groups ?? NO_FIELDS;
    return true;
  }
}

const EPOCH_SECONDS = '\\d{10,11}\\b(?:\\.\\d{3,6})?';
const EPOCH_LONG = '\\d{10,11}(?:\\d{3}(?:\\.\\d{1,6}|\\d{3})?)?';

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
    out.fields = NO_FIELDS;
    return true;
  }
}

/** A user pattern, compiled by the Python-regex translator. `valueGroup` names the epoch group. */
export class PythonMatcher implements DateMatcher {
  private readonly re: DatePyRegex;
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
    out.fields = m.groups;
    return true;
  }
}
