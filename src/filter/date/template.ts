/**
 * Date templates: one per date pattern. A `TemplateSpec` is the compiled, shareable part (name,
 * regex, matcher); a `DateTemplate` is one detector's use of it (hit counter, last position,
 * conversion cache).
 */
import { DateError, type ErrorLocation } from '../../errors.ts';
import { BuiltinMatcher, EPOCH_LONG, EPOCH_SECONDS, EpochMatcher, MatchResult, PythonMatcher, type DateMatcher } from './matcher.ts';
import type { FieldConverter } from './strptime.ts';
import { boundRegex, LINE_BEGIN, LINE_END, patternRegex, type WordBegin } from './template-regex.ts';

export type TemplateKind = 'pattern' | 'epoch' | 'long-epoch' | 'tai64n';

export interface TemplateSpec {
  /** fail2ban's display name, e.g. `{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day...`. */
  readonly name: string;
  /** The date pattern as given (null for the EPOCH/TAI64N keyword templates). */
  readonly pattern: string | null;
  /** The search regex, Python syntax, group 1 = date text. */
  readonly regex: string;
  /** LINE_BEGIN | LINE_END | WORD_BEGIN | WORD_END. */
  readonly flags: number;
  readonly kind: TemplateKind;
  readonly matcher: DateMatcher;
}

export interface SpecOptions {
  /** Regex compiled directly to JS (built-in default patterns); false → Python-regex translator. */
  builtin: boolean;
  where?: ErrorLocation;
}

const EPOCH_PLACEHOLDER = /(?<!\\)\{L?EPOCH\}/gi;

/** What identifies a datepattern value: keywords are case-insensitive unless it has a % directive. */
export function patternKey(pattern: string): string {
  return pattern.includes('%') ? pattern : pattern.toUpperCase();
}

/**
 * The template for one datepattern line (after the `{DEFAULT}`/`{^LN-BEG}`/`{DATE}`/`{NONE}` values
 * have been handled by the detector): keyword templates (EPOCH, LEPOCH, TAI64N, with `^`/`{^LN-BEG}`
 * anchors), `{EPOCH}`/`{LEPOCH}` placeholders, or a strptime-like pattern.
 */
export function createSpec(pattern: string, opts: SpecOptions): TemplateSpec {
  const key = patternKey(pattern);
  if (key.includes('EPOCH')) {
    EPOCH_PLACEHOLDER.lastIndex = 0;
    if (EPOCH_PLACEHOLDER.test(pattern)) return epochPatternSpec(pattern, key.includes('LEPOCH'), opts);
    if (key === 'EPOCH' || key === '{^LN-BEG}EPOCH' || key === '^EPOCH') return epochSpec(key !== 'EPOCH', false);
    if (key === 'LEPOCH' || key === '{^LN-BEG}LEPOCH' || key === '^LEPOCH') return epochSpec(key !== 'LEPOCH', true);
  }
  if (key === 'TAI64N' || key === '{^LN-BEG}TAI64N' || key === '^TAI64N') return tai64nSpec(key !== 'TAI64N');
  return patternSpec(pattern, opts);
}

function patternSpec(pattern: string, opts: SpecOptions): TemplateSpec {
  let built;
  try {
    built = patternRegex(pattern);
  } catch (err) {
    throw new DateError(
      `Failed to set datepattern '${pattern}' (may be an invalid format or unescaped percent char): ${(err as Error).message}`,
      opts.where ?? {},
    );
  }
  const matcher = opts.builtin ? new BuiltinMatcher(built.regex) : new PythonMatcher(built.regex, opts.where ?? {});
  return { name: built.name, pattern, regex: built.regex, flags: built.flags, kind: 'pattern', matcher };
}

/** The EPOCH / LEPOCH keywords (regex text kept as fail2ban shows it; matching is EpochMatcher's). */
function epochSpec(lineBeginOnly: boolean, long: boolean): TemplateSpec {
  const e = long ? EPOCH_LONG : EPOCH_SECONDS;
  const base = long ? 'LongEpoch' : 'Epoch';
  const built = lineBeginOnly
    ? boundRegex(`((?P<square>(?<=^\\[))?${e})(?(square)(?=\\]))`, base, 'start', true)
    : boundRegex(
        `((?:^|(?P<square>(?<=^\\[))|(?P<selinux>(?<=\\baudit\\()))${e})(?:(?(selinux)(?=:\\d+\\)))|(?(square)(?=\\])))`,
        base,
        false,
        true,
      );
  return {
    name: built.name,
    pattern: null,
    regex: built.regex,
    flags: built.flags,
    kind: long ? 'long-epoch' : 'epoch',
    matcher: new EpochMatcher(lineBeginOnly, long),
  };
}

/** A pattern with `{EPOCH}`/`{LEPOCH}` placeholders: the whole match is cut out, group 2 is the number. */
function epochPatternSpec(pattern: string, long: boolean, opts: SpecOptions): TemplateSpec {
  const e = long ? EPOCH_LONG : EPOCH_SECONDS;
  const source = `(${pattern.replace(EPOCH_PLACEHOLDER, `(${e})`)})`;
  const built = boundRegex(source, pattern, true, true);
  return {
    name: pattern,
    pattern,
    regex: built.regex,
    flags: built.flags,
    kind: long ? 'long-epoch' : 'epoch',
    matcher: new PythonMatcher(built.regex, opts.where ?? {}, 2),
  };
}

function tai64nSpec(lineBegin: boolean): TemplateSpec {
  const wordBegin: WordBegin = lineBegin ? 'start' : false;
  const built = boundRegex('@[0-9a-f]{24}', 'TAI64N', wordBegin, true);
  return {
    name: built.name,
    pattern: null,
    regex: built.regex,
    flags: built.flags,
    kind: 'tai64n',
    matcher: new BuiltinMatcher(built.regex),
  };
}

/** Conversion memo slots: direct-mapped by a hash of the date text (no Map to hash and grow). */
const CACHE_SLOTS = 64;

/** One detector's use of a template. */
export class DateTemplate {
  readonly spec: TemplateSpec;
  /**
   * Sorting weight of the template itself: 100 for the line-anchored copies of the defaults (and
   * for a datepattern line that is one of them, see DateDetector), else 1.
   */
  templateWeight: number;
  /** Lines this template won. */
  hits = 0;
  /** Epoch seconds (wall clock) of the last win. */
  lastUsed = 0;
  /** Offset of the last win in its line. */
  distance = 0x7fffffff;
  /** Scratch: the last successful search. */
  readonly match = new MatchResult();

  private cacheKey = '';
  private cacheTime = NaN;
  private cacheNowSecond = -1;
  /** Recent conversions: text, time, and floor(now) they used (-1 when they do not depend on now). */
  private readonly cacheKeys: string[] = new Array<string>(CACHE_SLOTS).fill('');
  private readonly cacheTimes = new Float64Array(CACHE_SLOTS);
  private readonly cacheNowSeconds = new Float64Array(CACHE_SLOTS);

  constructor(spec: TemplateSpec, templateWeight = 1) {
    this.spec = spec;
    this.templateWeight = templateWeight;
  }

  get name(): string {
    return this.spec.name;
  }

  get pattern(): string | null {
    return this.spec.pattern;
  }

  get regex(): string {
    return this.spec.regex;
  }

  get flags(): number {
    return this.spec.flags;
  }

  /** Anchored at line start or end: its match is taken without looking further. */
  get anchored(): boolean {
    return (this.spec.flags & (LINE_BEGIN | LINE_END)) !== 0;
  }

  /** fail2ban's sorting weight: hits × template weight / distance. */
  get weight(): number {
    return (this.hits * this.templateWeight) / Math.max(1, this.distance);
  }

  search(line: string, pos = 0, endpos = line.length): boolean {
    return this.spec.matcher.search(line, pos, endpos, this.match);
  }

  /** Epoch seconds of the last match; NaN when the fields make no valid date. */
  toTime(converter: FieldConverter, now: () => number): number {
    const m = this.match;
    switch (this.spec.kind) {
      case 'epoch':
        return Number(m.value);
      case 'long-epoch':
        return longEpoch(m.value);
      case 'tai64n':
        // "@4" + 15 hex digits of seconds (the 2^62 label bit dropped), nanoseconds ignored
        return parseInt(m.value.slice(2, 17), 16);
      default:
        return this.patternTime(converter, now);
    }
  }

  private patternTime(converter: FieldConverter, now: () => number): number {
    // (a memo only: a converted text gives the same time within the same second of "now")
    const key = this.match.text;
    if (key === this.cacheKey) {
      if (this.cacheNowSecond < 0 || this.cacheNowSecond === Math.floor(now())) return this.cacheTime;
    }
    const slot = slotOf(key);
    if (key !== this.cacheKey && this.cacheKeys[slot] === key) {
      const nowSecond = this.cacheNowSeconds[slot]!;
      if (nowSecond < 0 || nowSecond === Math.floor(now())) {
        this.remember(key, this.cacheTimes[slot]!, nowSecond);
        return this.cacheTime;
      }
    }
    const time = this.spec.matcher.convert(this.match, converter);
    const nowSecond = converter.usedNow ? Math.floor(converter.lastNow) : -1;
    this.cacheKeys[slot] = key;
    this.cacheTimes[slot] = time;
    this.cacheNowSeconds[slot] = nowSecond;
    this.remember(key, time, nowSecond);
    return time;
  }

  private remember(key: string, time: number, nowSecond: number): void {
    this.cacheKey = key;
    this.cacheTime = time;
    this.cacheNowSecond = nowSecond;
  }
}

function slotOf(text: string): number {
  let h = text.length;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return (h ^ (h >>> 7)) & (CACHE_SLOTS - 1);
}

function longEpoch(text: string): number {
  const v = Number(text);
  if (text.length >= 13) {
    return text.length >= 16 && !text.includes('.') ? v / 1000000 : v / 1000;
  }
  return v;
}
