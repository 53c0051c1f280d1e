/**
 * DateDetector: finds the date in a log line, cuts it out and converts it (reference §3.4, §2.1 step 1).
 *
 * Template choice follows fail2ban: the template that won the previous line is tried first (only
 * inside the previous span when the characters around it look the same); otherwise all templates are
 * scanned in list order, a line-anchored match ends the scan, and a match further right than expected
 * is only kept as a candidate (a date-like string inside the message must not win) — the candidate
 * with the smallest offset is used when nothing better turns up. Winners bubble up the list by
 * weight, as in fail2ban, which also decides the order `templates` is shown in.
 */
import { DateError, type ErrorLocation } from '../../errors.ts';
import { defaultTemplateList, expandDatePlaceholder } from './defaults.ts';
import { MatchResult } from './matcher.ts';
import { FieldConverter } from './strptime.ts';
import { createSpec, DateTemplate, patternKey, type TemplateSpec } from './template.ts';
import { LINE_BEGIN } from './template-regex.ts';
import { parseTimeZone } from './timezone.ts';

export interface DateDetectorOptions {
  /** Raw jail/filter `datepattern` value (may be multi-line); null/undefined = default templates. */
  datepattern?: string | null;
  /** Raw `logtimezone` value: zone for dates without one; null = local time of the process. */
  logtimezone?: string | null;
  /** Epoch seconds for year/date inference ("now"); defaults to the wall clock. */
  now?: () => number;
  /** The wall clock in epoch seconds, for the "last used" time of templates; defaults to Date.now. */
  wallClock?: () => number;
  /** Where the values come from, for error messages. */
  where?: ErrorLocation;
}

/**
 * A line split around its date.
 *
 * - `date` non-empty: `time` is the epoch seconds (float; EPOCH fractions kept, pattern dates whole).
 * - `date` empty (a template that matches the empty string, e.g. `{NONE}`): `time` is NaN, meaning "the
 *   line has no date of its own" — the filter uses the previous date if younger than 60 s, else now.
 *
 * - `date` non-empty and `time` NaN: a date was found and cut out but cannot be converted (Feb 30,
 *   year 0000, unknown zone...). fail2ban logs an error, keeps the line split and treats it as having
 *   no date; so does the filter.
 */
export interface DetectedDate {
  before: string;
  date: string;
  after: string;
  time: number;
  template: DateTemplate;
}

const UNUSED_SECONDS = 300;
const FAR = 0x7fffffff;

export class DateDetector {
  /** Templates in their current order (winners move up), with hit counters. */
  readonly templates: DateTemplate[] = [];

  private readonly rawPattern: string | null;
  private readonly names = new Set<string>();
  /** Templates made from plain datepattern lines, by patternKey (see shareAnchoredWeights). */
  private readonly patternTemplates = new Map<string, DateTemplate>();
  private readonly converter: FieldConverter;
  private readonly now: () => number;
  /** `now` read at most once per line: every use within one line sees the same instant. */
  private readonly lineNow: () => number;
  private lineNowValue = NaN;
  private readonly wallClock: () => number;
  private readonly where: ErrorLocation;

  // Position of the last winning match, and the characters around it (char codes, -1 = none).
  private lastStart = 1;
  private lastStartBefore = -1;
  private lastStartAt = -1;
  private lastEnd = FAR;
  private lastEndBefore = -1;
  private lastEndAt = -1;
  private lastIndex = FAR;
  private firstUnused = 0;
  /** Copy of a reserved candidate's match, since its template may search again before it is used. */
  private readonly reserved = new MatchResult();

  constructor(opts: DateDetectorOptions = {}) {
    this.where = opts.where ?? {};
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.wallClock = opts.wallClock ?? (() => Date.now() / 1000);
    this.lineNow = () => (Number.isNaN(this.lineNowValue) ? (this.lineNowValue = this.now()) : this.lineNowValue);
    const zone =
      opts.logtimezone == null || opts.logtimezone === ''
        ? null
        : parseTimeZone(opts.logtimezone, { ...this.where, option: 'logtimezone' });
    this.converter = new FieldConverter(this.lineNow, zone);
    this.rawPattern = opts.datepattern ?? null;
    if (this.rawPattern !== null) {
      const where = { ...this.where, option: 'datepattern' };
      for (const line of this.rawPattern.split(/\n+/)) {
        const pattern = line.trim();
        if (pattern !== '') this.appendPattern(pattern, where);
      }
    }
  }

  /**
   * What fail2ban reports for the jail's date pattern (`get JAIL datepattern`): "Default Detectors"
   * for the defaults or more than two templates, else the first template's pattern and name.
   */
  patternInfo(): { pattern: string | null; name: string } {
    const t = this.templates;
    if (t.length === 0 || t.length > 2 || this.rawPattern === null) return { pattern: null, name: 'Default Detectors' };
    const first = t[0] as DateTemplate;
    return { pattern: first.pattern, name: first.name };
  }

  /** fail2ban-regex's "Use datepattern" text: `⟨raw value⟩ : ⟨name⟩`, or "Default Detectors". */
  describe(): string {
    const { name } = this.patternInfo();
    return this.rawPattern === null ? name : `${this.rawPattern} : ${name}`;
  }

  /** Finds, cuts out and converts the date of `line`; null when the line has no (usable) date. */
  detect(line: string): DetectedDate | null {
    const template = this.find(line);
    if (template === null) return null;
    const m = template.match;
    const before = line.slice(0, m.dateStart);
    const after = line.slice(m.dateEnd);
    if (m.dateStart === m.dateEnd) return { before, date: '', after, time: NaN, template };
    return { before, date: line.slice(m.dateStart, m.dateEnd), after, time: this.timeOf(template), template };
  }

  /**
   * The lower-level half of detect(): the template that wins `line` (its `match` holds where the
   * date is), or null. The caller cuts the line itself and asks timeOf() for a non-empty date.
   */
  find(line: string): DateTemplate | null {
    if (this.templates.length === 0) this.addDefaults(false);
    return this.matchTime(line);
  }

  /** Epoch seconds of the date `template` just found (NaN when it makes no valid date). */
  timeOf(template: DateTemplate): number {
    this.lineNowValue = NaN;
    return template.toTime(this.converter, this.lineNow);
  }


  // ---- template list -------------------------------------------------------------------------

  private appendPattern(pattern: string, where: ErrorLocation): void {
    const key = patternKey(pattern);
    if (key === '{^LN-BEG}') {
      this.addDefaults(true);
    } else if (key === '{DEFAULT}') {
      // fail2ban adds nothing here (its filter rejects every template); an otherwise empty list then
      // falls back to the full defaults on the first line
      this.shareAnchoredWeights();
    } else if (key.includes('{DATE}')) {
      const ignoreDuplicates = this.templates.length > 0;
      for (const spec of expandDatePlaceholder(pattern, where)) this.append(spec, 1, ignoreDuplicates, where);
    } else if (key === '{NONE}') {
      this.append(createSpec('{UNB}^', { builtin: true, where }), 1, false, where);
    } else {
      this.append(createSpec(pattern, { builtin: false, where }), 1, false, where);
      this.patternTemplates.set(key, this.templates[this.templates.length - 1]!);
    }
  }

  /**
   * fail2ban shares one template object per datepattern key, and building its default list sets the
   * weight of each line-anchored copy to 100: a datepattern line that is one of those copies (e.g.
   * `{^LN-BEG}Epoch`) then sorts with weight 100 too, once the defaults are in use.
   */
  private shareAnchoredWeights(): void {
    if (this.patternTemplates.size === 0) return;
    for (const { weight, key } of defaultTemplateList()) {
      const t = key !== undefined ? this.patternTemplates.get(key) : undefined;
      if (t !== undefined) t.templateWeight = weight;
    }
  }

  private addDefaults(lineAnchoredOnly: boolean): void {
    this.shareAnchoredWeights();
    const ignoreDuplicates = this.templates.length > 0;
    for (const { spec, weight } of defaultTemplateList()) {
      if (lineAnchoredOnly && !(spec.flags & LINE_BEGIN)) continue;
      this.append(spec, weight, ignoreDuplicates, this.where);
    }
  }

  private append(spec: TemplateSpec, weight: number, ignoreDuplicates: boolean, where: ErrorLocation): void {
    if (this.names.has(spec.name)) {
      if (ignoreDuplicates) return;
      throw new DateError(`There is already a template with name ${spec.name}`, where);
    }
    this.names.add(spec.name);
    this.templates.push(new DateTemplate(spec, weight));
  }

  // ---- matching ------------------------------------------------------------------------------

  private matchTime(line: string): DateTemplate | null {
    const templates = this.templates;
    const count = templates.length;
    let winner: DateTemplate | null = null;
    let winnerIndex = -1;
    let reservedIndex = -1;
    let reservedDistance = FAR;
    let skipIndex = -1;

    const last = this.lastIndex < count ? (templates[this.lastIndex] as DateTemplate) : null;
    if (last !== null) {
      let matched: boolean;
      if (last.anchored) {
        matched = last.search(line);
        skipIndex = this.lastIndex;
      } else if (this.sameSurroundings(line)) {
        matched = last.search(line, this.lastStart, this.lastEnd);
      } else {
        matched = last.search(line);
        skipIndex = this.lastIndex;
      }
      if (matched) {
        const m = last.match;
        if (count === 1 || last.anchored || (m.start === this.lastStart && m.end === this.lastEnd)) {
          winner = last;
          winnerIndex = this.lastIndex;
        } else {
          // moved: maybe another template fits better
          reservedIndex = this.lastIndex;
          reservedDistance = m.start;
          copyMatch(m, this.reserved);
        }
      }
    }

    if (winner === null) {
      for (let i = 0; i < count; i++) {
        if (i === skipIndex) continue;
        const t = templates[i] as DateTemplate;
        if (!t.search(line)) continue;
        const distance = t.match.start;
        if (i + 1 >= count || t.anchored) {
          winner = t;
          winnerIndex = i;
          break;
        }
        if (distance > t.distance || distance > this.lastStart) {
          // further right than before: possibly a date inside the message, keep looking
          if (distance < reservedDistance) {
            reservedIndex = i;
            reservedDistance = distance;
            copyMatch(t.match, this.reserved);
          }
          continue;
        }
        winner = t;
        winnerIndex = i;
        break;
      }
      if (winner === null && reservedIndex >= 0) {
        winner = templates[reservedIndex] as DateTemplate;
        winnerIndex = reservedIndex;
        copyMatch(this.reserved, winner.match);
      }
    }
    if (winner === null) return null;

    const m = winner.match;
    winner.hits++;
    winner.lastUsed = this.wallClock();
    winner.distance = m.start;
    if (this.firstUnused === winnerIndex) this.firstUnused++;
    this.lastStart = m.start;
    this.lastStartBefore = codeAt(line, m.start - 1);
    this.lastStartAt = codeAt(line, m.start);
    this.lastEnd = m.end;
    // (for an empty match at 0 fail2ban reads the line's last character here: Python's line[-1])
    this.lastEndBefore = codeAt(line, m.end > 0 ? m.end - 1 : line.length - 1);
    this.lastEndAt = codeAt(line, m.end);
    let index = winnerIndex;
    if (index !== 0 && index !== this.lastIndex) index = this.reorder(index);
    this.lastIndex = index;
    return winner;
  }

  /** The characters around the last match position look the same in this line. */
  private sameSurroundings(line: string): boolean {
    const start = this.lastStart;
    const end = this.lastEnd;
    const startOk =
      codeAt(line, start - 1) === this.lastStartBefore ||
      (codeAt(line, start) === this.lastStartAt && !isAlnum(this.lastStartAt));
    if (!startOk) return false;
    return (
      codeAt(line, end) === this.lastEndAt ||
      (codeAt(line, end - 1) === this.lastEndBefore && !isAlnum(this.lastEndBefore))
    );
  }

  /** Moves a winner up the list when its weight beats the target's (fail2ban's bubble-up). */
  private reorder(index: number): number {
    const templates = this.templates;
    const t = templates[index] as DateTemplate;
    const staleBefore = t.lastUsed - UNUSED_SECONDS;
    const weight = t.weight;
    let pos = this.firstUnused < index ? this.firstUnused : index >> 1;
    const movable = (): boolean => {
      const target = templates[pos] as DateTemplate;
      return weight > target.weight || staleBefore > target.lastUsed;
    };
    if (!movable()) {
      if (pos === index - 1) return index;
      pos = index - 1;
      if (!movable()) return index;
    }
    templates.splice(index, 1);
    templates.splice(pos, 0, t);
    while (this.firstUnused < templates.length && (templates[this.firstUnused] as DateTemplate).hits) this.firstUnused++;
    return pos;
  }
}

/** Char code at `i`, -1 outside the line (Python slices give '' there). */
function codeAt(line: string, i: number): number {
  return i >= 0 && i < line.length ? line.charCodeAt(i) : -1;
}

function isAlnum(code: number): boolean {
  if (code < 0) return false;
  if (code < 128) {
    return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
  }
  return /[\p{L}\p{N}]/u.test(String.fromCharCode(code));
}

function copyMatch(from: MatchResult, to: MatchResult): void {
  to.start = from.start;
  to.end = from.end;
  to.dateStart = from.dateStart;
  to.dateEnd = from.dateEnd;
  to.text = from.text;
  to.value = from.value;
  to.subject = from.subject;
  to.raw = from.raw;
}
