/**
 * The per-line filter pipeline (reference §2.1, §2.3): date split → line buffer → prefregex →
 * failregex → ignoreregex → multi-line (mlfid) merge → failure id. One Filter per jail; it is
 * synchronous so a failure reaches the failure manager in the same turn that read its line.
 *
 * Captured data lives in fixed-slot records (data-record.ts) while a line is worked on; a match's
 * `data` object is only built when the caller collects data. Regexes whose start cannot fit the
 * subject are not run (regex-dispatch.ts).
 */
import { RegexError, type ErrorLocation } from '../errors.ts';
import { ipText, isCanonicalIPv4, parseIp, type Family } from '../net/ip.ts';
import { DataSchema, type DataRecord } from './data-record.ts';
import { DateDetector } from './date/index.ts';
import type { Failure, LineTriple } from './failure.ts';
import { MlfidCache } from './mlfid-cache.ts';
import { compilePythonRegex, isAscii, type FastPyRegex } from './pyregex/index.ts';
import { RegexDispatch } from './regex-dispatch.ts';
import { FAILURE_ID_PRESENT_GROUPS, expandRegexTags, globalFlagsToScoped, tagToGroupName } from './regex-tags.ts';

export type UseDns = 'yes' | 'warn' | 'no' | 'raw';

export interface FilterSpec {
  prefregex?: string | null;
  failregex: string[];
  ignoreregex?: string[];
  maxlines?: number | null;
  datepattern?: string | null;
  logtimezone?: string | null;
  usedns?: string | null;
  /** Where the regexes came from, for error messages. */
  where?: ErrorLocation;
}

export interface FilterRuntime {
  /** Try every failregex on every line (fail2ban-regex, conformance); the daemon stops at the first. */
  checkAllRegex?: boolean;
  /** Daemon mode: apply the time-sanity rules of §2.1 step 2. */
  checkFindTime?: boolean;
  findtime?: number;
  /** Clock in epoch seconds. */
  now?: () => number;
  /** Report hosts raw (no DNS, names are ids). */
  rawHosts?: boolean;
  /** Called for the once-a-day style warnings (no date, odd timestamp). */
  onWarning?: (message: string) => void;
  /**
   * Build each match's `data` (captured values, matched lines); default true. A caller that only
   * counts matches (moat regex without -o/--json) turns it off: every `data` is then an empty
   * frozen object.
   */
  collectData?: boolean;
}

export type FailureData = Record<string, unknown> & { matches?: LineTriple[] };

/** What a reader may know about a line that saves the filter work (see processLine). */
export interface LineHint {
  /** The line is pure ASCII (the reader checked a whole block at once). */
  ascii?: boolean;
  /** The line followed by "\n", when the reader has that string at hand: buffers are cut from it. */
  terminated?: string;
}

/** One failregex hit on a line, before it becomes a Failure. */
export interface FilterMatch {
  regexIndex: number;
  /** Failure id; null while a multi-line session has no address yet (pending). */
  id: string | null;
  /** True when `id` is a host name that still needs DNS resolution (usedns yes/warn). */
  needsDns: boolean;
  family: Family | null;
  /** Address when it differs from the id (F-ID with HOST). */
  ip: string | null;
  /** Epoch seconds, null when the line had no usable date. */
  time: number | null;
  data: FailureData;
  /** The match says "not a failure by itself" (F-NOFAIL / F-MLFGAINED). */
  nofail: boolean;
}

/** The `data` of every match when the filter does not collect data (see FilterRuntime.collectData). */
const NO_DATA: FailureData = Object.freeze({});

/** Where a regex's groups go in the data records. */
interface GroupLayout {
  /** Slot of each named group, in definition order. */
  slots: number[];
  /** JS group numbers holding each named group's value (first defined copy wins). */
  js: (readonly number[])[];
  /** alt_/tuple_ groups (sorted by name) → target slot. */
  alt: [from: number, to: number][];
  tuple: [from: number, to: number][];
  /**
   * No alt_/tuple_ target is a prefregex group, so the groups can be written straight into a copy
   * of the prefregex's record: `{ ...pre, ...groups }` in one step, same keys and order.
   */
  direct: boolean;
}

interface CompiledRegex {
  source: string;
  expanded: string;
  regex: FastPyRegex;
  alt: [group: string, target: string][];
  tuple: [group: string, target: string][];
  skipLineGroups: string[];
  layout: GroupLayout;
}

const COMPLEX_NAME_RE = /^(alt_|tuple_)(.*?)(?:_\d+)?$/;
const EMPTY_MATCHES: FilterMatch[] = [];
const NO_LINES = Object.freeze([]) as unknown as LineTriple[];
const EMPTY_CANDIDATES = new Int32Array(0);

/** Result of one regex search over the line buffer, with the lines it covered. */
interface SearchResult {
  raw: RegExpExecArray;
  matched: LineTriple[];
  unmatched: LineTriple[];
}

/** Slots of the keys the pipeline itself reads or writes. */
interface KeySlots {
  content: number;
  mlfid: number;
  matches: number;
  nofailMatches: number;
  users: number;
  user: number;
  mlfpending: number;
  nofail: number;
  mlfgained: number;
  mlfforget: number;
  fid: number;
  ip4: number;
  ip6: number;
  dns: number;
  cidr: number;
  ip: number;
}

export function tupleLinesBuffer(lines: readonly LineTriple[]): string {
  if (lines.length === 1) return lines[0]![0] + lines[0]![2] + '\n';
  let s = '';
  for (const l of lines) s += l[0] + l[2] + '\n';
  return s;
}

export class Filter {
  readonly failregex: CompiledRegex[];
  readonly ignoreregex: CompiledRegex[];
  readonly prefregex: CompiledRegex | null;
  readonly maxlines: number;
  readonly usedns: UseDns;
  readonly dateDetector: DateDetector;
  checkAllRegex: boolean;
  checkFindTime: boolean;
  findtime: number;
  /** Operation mode: the log was read to its end once; odd dates become "now" (§2.1). */
  inOperation = false;
  rawHosts: boolean;
  /** Clock in epoch seconds; read at most once per line (see lineNow). */
  now: () => number;
  /** Per-line statistics for moat regex: set by processLine. */
  lastPrefregexMatched = false;
  lastLineIgnored = false;
  lastIgnoreHits: number[] = [];
  private lineBuffer: LineTriple[] = [];
  private lastDate: number | null = null;
  private lastDateText = '';
  private readonly schema = new DataSchema();
  /**
   * Records reused for every line: the prefregex's groups, and a failregex's groups until they
   * are kept (a new session, or a match whose data is collected gets its own copy).
   */
  private readonly preScratch: DataRecord;
  private readonly failScratch: DataRecord;
  private readonly key: KeySlots;
  private readonly failDispatch: RegexDispatch;
  private readonly ignoreDispatch: RegexDispatch;
  private readonly mlfidCache = new MlfidCache<DataRecord>(100, 300);
  private readonly onWarning: (message: string) => void;
  private readonly warnedAt = new Map<string, number>();
  private readonly collectData: boolean;
  /** The prefregex's content group always ends where its match ends. */
  private readonly contentEndsMatch: boolean;
  /** The line being processed is pure ASCII, so is every text cut from it. */
  private lineAscii = false;
  /** The line being processed followed by "\n" (single-line buffers only), or null. */
  private lineTerminated: string | null = null;
  /** `now` and the wall clock as read for the current line (NaN: not read yet). */
  private lineNowValue = NaN;
  private lineWallValue = NaN;
  private readonly wallClock = (): number => Date.now() / 1000;

  constructor(spec: FilterSpec, runtime: FilterRuntime = {}) {
    this.usedns = normaliseUseDns(spec.usedns);
    this.maxlines = Math.max(1, spec.maxlines ?? 1);
    const multiline = this.maxlines > 1;
    const where = spec.where ?? {};
    this.prefregex = spec.prefregex ? compileTagged(spec.prefregex, this.usedns, multiline, where, 'prefregex') : null;
    this.failregex = spec.failregex.map((r) => compileTagged(r, this.usedns, multiline, where, 'failregex'));
    this.ignoreregex = (spec.ignoreregex ?? []).map((r) =>
      compileTagged(r, this.usedns, multiline, where, 'ignoreregex'),
    );
    const prefHasId = this.prefregex ? hasFailureIdGroup(this.prefregex) : false;
    for (const fr of this.failregex) {
      if (!prefHasId && !hasFailureIdGroup(fr)) {
        throw new RegexError(`No failure-id group in '${fr.source}'`, { ...where, option: 'failregex' });
      }
    }
    // group slots first (prefregex, then failregexes), so records list them like the old objects did
    for (const cr of [...(this.prefregex ? [this.prefregex] : []), ...this.failregex]) cr.layout = this.layoutOf(cr);
    const slot = (name: string) => this.schema.slot(name);
    this.key = {
      content: slot('content'),
      mlfid: slot('mlfid'),
      matches: slot('matches'),
      nofailMatches: slot('nofail-matches'),
      users: slot('users'),
      user: slot('user'),
      mlfpending: slot('mlfpending'),
      nofail: slot('nofail'),
      mlfgained: slot('mlfgained'),
      mlfforget: slot('mlfforget'),
      fid: slot('fid'),
      ip4: slot('ip4'),
      ip6: slot('ip6'),
      dns: slot('dns'),
      cidr: slot('cidr'),
      ip: slot('ip'),
    };
    this.preScratch = this.schema.empty();
    this.failScratch = this.schema.empty();
    this.failDispatch = new RegexDispatch(this.failregex.map((cr) => cr.regex.startFilter));
    this.ignoreDispatch = new RegexDispatch(this.ignoreregex.map((cr) => cr.regex.startFilter));
    this.checkAllRegex = runtime.checkAllRegex ?? false;
    this.checkFindTime = runtime.checkFindTime ?? false;
    this.findtime = runtime.findtime ?? 600;
    this.now = runtime.now ?? this.wallClock;
    this.rawHosts = runtime.rawHosts ?? this.usedns === 'raw';
    this.onWarning = runtime.onWarning ?? (() => {});
    this.collectData = runtime.collectData ?? true;
    const pref = this.prefregex?.regex;
    this.contentEndsMatch = pref?.trailingGroup === 'content' && pref.groupMap[pref.names.get('content')!]!.length === 1;
    this.dateDetector = new DateDetector({
      datepattern: spec.datepattern ?? null,
      logtimezone: spec.logtimezone ?? null,
      now: () => this.lineNow(),
      wallClock: () => this.lineWall(),
    });
  }

  /**
   * Processes one physical log line (without its newline). `given` supplies the date for
   * journal entries (no date detection then). `hint` passes what the reader knows about the
   * line (not kept). The returned array must not be modified.
   */
  processLine(line: string, given?: { time: number; dateText: string }, hint?: LineHint): FilterMatch[] {
    this.lineNowValue = NaN;
    this.lineWallValue = NaN;
    // in a multi-line buffer earlier lines take part: the hints only cover single-line buffers
    const single = this.maxlines <= 1;
    this.lineAscii = single && (hint?.ascii ?? isAscii(line));
    const terminated = hint?.terminated;
    this.lineTerminated =
      single && terminated !== undefined && terminated.length === line.length + 1 && terminated.charCodeAt(line.length) === 10
        ? terminated
        : null;
    let triple: LineTriple;
    let date: number | null = null;
    let noDate = false;
    if (given) {
      triple = ['', given.dateText, line];
      date = given.time;
      this.lastDateText = given.dateText;
      this.lastDate = date;
    } else {
      const found = this.dateDetector.find(line);
      if (found) {
        const m = found.match;
        const dateText = m.dateStart === m.dateEnd ? '' : line.slice(m.dateStart, m.dateEnd);
        triple = [m.dateStart === 0 ? '' : line.slice(0, m.dateStart), dateText, line.slice(m.dateEnd)];
        if (dateText !== '') {
          const time = this.dateDetector.timeOf(found);
          if (Number.isFinite(time)) {
            date = time;
            this.lastDateText = dateText;
            this.lastDate = date;
          } else {
            this.warnOnce('bad-date', `failed to parse the time text '${dateText}'`);
          }
        } else if (this.lastDate !== null && this.lastDate > this.lineNow() - 60) {
          // matched an empty date: reuse a recent one
          triple = ['', this.lastDateText, line];
          date = this.lastDate;
        } else {
          date = this.lineNow();
        }
      } else {
        triple = ['', '', line];
      }
      if (date === null) {
        noDate = true;
        if (this.lastDate !== null && this.lastDate > this.lineNow() - 60) {
          triple = ['', this.lastDateText, line];
          date = this.lastDate;
        } else if (this.checkFindTime && this.inOperation) {
          date = this.lineNow();
        }
      }
    }

    if (this.checkFindTime && date !== null) {
      const now = this.lineNow();
      if (this.inOperation) {
        const delta = Math.trunc(date - now);
        if (Math.abs(delta) > 60) {
          this.warnOnce(
            'odd-time',
            `Detected a log entry ${delta < 0 ? 'before' : 'after'} the current time in operation mode ` +
              `(${Math.abs(delta)}s). This looks like a ${-3300 <= delta && delta < 0 ? 'latency' : 'timezone'} problem. ` +
              `Treating such entries as if they just happened. Line with odd timestamp: ${line}`,
          );
          date = now;
          this.lastDate = date;
        }
      } else if (date < now - this.findtime) {
        this.warnOnce(
          'too-old',
          `Ignoring all log entries older than ${this.findtime}s; these are probably messages generated while moat was not running.`,
        );
        return EMPTY_MATCHES;
      }
    }
    return this.findFailures(triple, date, noDate);
  }

  /**
   * The multi-line buffer: the lines kept for a later match, oldest first (after processLine).
   * Read-only view; the filter may change it in place with the next line.
   */
  get bufferedLines(): readonly LineTriple[] {
    return this.lineBuffer;
  }

  /** `now()` for the current line: one read serves the date, the session cache and the warnings. */
  private lineNow(): number {
    if (Number.isNaN(this.lineNowValue)) this.lineNowValue = this.now();
    return this.lineNowValue;
  }

  /** The wall clock for the current line (the same read as lineNow when `now` is the wall clock). */
  private lineWall(): number {
    if (this.now === this.wallClock) return this.lineNow();
    if (Number.isNaN(this.lineWallValue)) this.lineWallValue = this.wallClock();
    return this.lineWallValue;
  }

  /** The Failure of a match that has an id (`id`: `m.id`; pending and nofail matches are no failures). */
  static toFailure(m: FilterMatch, id: string, fallbackTime: number): Failure {
    const triples = m.data.matches ?? [];
    return {
      id,
      family: m.family,
      ip: m.ip,
      time: m.time ?? fallbackTime,
      matches: triples.map((t) => t[0] + t[1] + t[2]),
      attempts: Math.max(1, triples.length),
      data: m.data,
      regexIndex: m.regexIndex,
    };
  }

  private warnOnce(key: string, message: string): void {
    const now = this.lineNow();
    const last = this.warnedAt.get(key);
    if (last !== undefined && now - last < 86400) return;
    this.warnedAt.set(key, now);
    this.onWarning(message);
  }

  /** Whether `subject` (text of the current line) is pure ASCII: which regex dialect runs. */
  private asciiOf(subject: string): boolean {
    return this.lineAscii || isAscii(subject);
  }

  private findFailures(triple: LineTriple, date: number | null, noDate: boolean): FilterMatch[] {
    let out = EMPTY_MATCHES;
    this.lastPrefregexMatched = false;
    this.lastLineIgnored = false;
    if (this.lastIgnoreHits.length) this.lastIgnoreHits = [];
    const multi = this.maxlines > 1;
    const key = this.key;
    const schema = this.schema;
    let orgBuffer: LineTriple[];
    if (multi) {
      this.lineBuffer.push(triple);
      // (never more than one line over: the buffer it is left with holds at most maxlines)
      if (this.lineBuffer.length > this.maxlines) this.lineBuffer.shift();
      orgBuffer = this.lineBuffer;
    } else {
      orgBuffer = this.lineBuffer = [triple];
    }
    // a line without text before its date: its buffer (after-date text + "\n") is a tail of the
    // terminated line, since the after-date text is always a tail of the line
    const term = this.lineTerminated;
    let buf: string | null = term !== null && triple[0] === '' ? term.slice(term.length - 1 - triple[2].length) : tupleLinesBuffer(orgBuffer);

    // fail2ban checks ignoreregex up front when there are clearly fewer of them
    if (this.ignoreregex.length && this.ignoreregex.length < this.failregex.length - 2) {
      if (this.ignoreLine(buf, orgBuffer, null) !== null) return out;
    }

    let preGroups: DataRecord | null = null;
    if (this.prefregex) {
      const pm = this.search(this.prefregex, buf, orgBuffer);
      if (!pm) return out;
      this.lastPrefregexMatched = true;
      preGroups = this.groupsOf(this.prefregex, pm.raw, null, this.preScratch);
      const content = preGroups[key.content];
      preGroups[key.content] = undefined;
      if (typeof content === 'string' && content !== '') {
        this.lineBuffer = [['', '', content]];
        // when the content group ends the match and the match ends right before the buffer's
        // final newline, content + '\n' is the buffer's tail: no new string needed
        const end = pm.raw.index + pm.raw[0].length;
        buf =
          this.contentEndsMatch && end === buf.length - 1 && buf.charCodeAt(end) === 10
            ? buf.slice(end - content.length)
            : null;
      }
    }

    // only the regexes whose start fits the buffer are tried, in list order; when the buffer
    // changes (matched lines removed) the candidates are looked up again after the current index
    let candidates = buf === null ? EMPTY_CANDIDATES : this.failDispatch.candidates(buf);
    let c = 0;
    let index = -1;
    for (;;) {
      if (buf === null) {
        buf = tupleLinesBuffer(this.lineBuffer);
        candidates = this.failDispatch.candidates(buf);
        c = 0;
        while (c < candidates.length && candidates[c]! <= index) c++;
      }
      if (c >= candidates.length) break;
      index = candidates[c++]!;
      const fr = this.failregex[index]!;
      if (!this.failDispatch.admits(index, buf)) continue;
      const sr = this.search(fr, buf, orgBuffer);
      if (!sr) continue;
      let fail = this.groupsOf(fr, sr.raw, preGroups, this.failScratch);
      if (this.ignoreregex.length && this.ignoreLine(buf, orgBuffer, sr) !== null) {
        buf = null;
        if (!this.checkAllRegex) break;
        continue;
      }
      if (noDate) {
        this.warnOnce('no-date', `Found a match but no valid date/time found for '${triple[1]}'. Please try setting a custom date pattern.`);
        if (date === null && this.checkFindTime) continue;
      }
      if (!this.checkAllRegex || multi) {
        this.lineBuffer = sr.unmatched;
        buf = null;
      }
      let raw = this.rawHosts;
      let cidr: string | null = null;
      if (preGroups && !fr.layout.direct) {
        // { ...preGroups, ...fail }
        const merged = preGroups.slice();
        for (const k of schema.keys(fail)) schema.set(merged, k, fail[k]);
        fail = merged;
      }
      const mlfid = fail[key.mlfid];
      const session = mlfid !== null && mlfid !== undefined;
      if (session) {
        fail = this.mergeFailure(String(mlfid), fail, sr);
        if (fail[key.nofail] && !this.checkAllRegex) return out;
      } else if (this.collectData) {
        schema.set(fail, key.matches, [...((fail[key.matches] as LineTriple[] | undefined) ?? []), ...sr.matched]);
      }
      // fail2ban honours F-NOFAIL only with F-MLFID in its daemon (quirk #11); moat always does
      const nofail = !!fail[key.nofail];
      const fid = fail[key.fid] as string | null | undefined;
      let host = fail[key.ip4] as string | null | undefined;
      if (host !== null && host !== undefined) {
        cidr = (fail[key.cidr] as string | null | undefined) ?? null;
        raw = true;
      } else {
        host = fail[key.ip6] as string | null | undefined;
        if (host !== null && host !== undefined) {
          cidr = (fail[key.cidr] as string | null | undefined) ?? null;
          raw = true;
        } else {
          host = fail[key.dns] as string | null | undefined;
          if (host === null || host === undefined) {
            host = fid;
            raw = true;
          }
        }
      }
      const time = date;
      let id: string | null = null;
      let needsDns = false;
      let family: Family | null = null;
      let ip: string | null = null;
      let found = true;
      if (host === null || host === undefined) {
        // multi-line session without an address yet: remember it is pending
        schema.set(fail, key.mlfpending, 1);
      } else if (raw) {
        // each captured text is parsed once: canonical form and family come together
        const addr = parseAddress(cidr !== null && cidr !== undefined && cidr !== '' ? `${host}/${cidr}` : host);
        if (fid === null || fid === undefined || fid === host) {
          id = addr?.text ?? host;
          family = addr?.family ?? null;
        } else {
          ip = addr?.text ?? host;
          schema.set(fail, key.ip, ip);
          const fidAddr = parseAddress(fid);
          id = fidAddr?.text ?? fid;
          family = fidAddr?.family ?? addr?.family ?? null;
        }
      } else {
        // a DNS name: an IP literal is used as is, otherwise it needs resolving (usedns yes/warn)
        const addr = parseAddress(host);
        if (addr) {
          id = addr.text;
          family = addr.family;
        } else if (this.usedns !== 'no') {
          id = host;
          needsDns = true;
        } else {
          found = false;
        }
      }
      if (found) {
        // built now: a session's record changes with later lines, the match keeps this state
        const data = this.collectData ? (schema.toObject(fail) as FailureData) : NO_DATA;
        if (out === EMPTY_MATCHES) out = [];
        out.push({ regexIndex: index, id, needsDns, family, ip, time, data, nofail });
      }
      if (!this.checkAllRegex) break;
    }
    return out;
  }

  private search(cr: CompiledRegex, buf: string, orgLines: LineTriple[]): SearchResult | null {
    const raw = cr.regex.execArray(buf, this.asciiOf(buf));
    if (!raw) return null;
    if (orgLines.length <= 1) {
      // single-line mode never adds to the buffer it is left with: one shared empty list will do
      return { raw, matched: orgLines, unmatched: this.maxlines > 1 ? [] : NO_LINES };
    }
    // find the lines the match covers
    const matchIndex = raw.index;
    const matchEnd = raw.index + raw[0].length;
    const matchLineStart = buf.lastIndexOf('\n', matchIndex) + 1;
    const endNl = buf.indexOf('\n', Math.max(0, matchEnd - 1));
    const matchLineEnd = endNl < 0 ? buf.length : endNl + 1;
    const count1 = countNewlines(buf, 0, matchLineStart);
    const count2 = countNewlines(buf, 0, matchLineEnd);
    const matched = orgLines.slice(count1, count2);
    const unmatched = orgLines.slice(0, count1);
    // lines captured by <SKIPLINES> go back to the buffer
    let n = 0;
    for (const skipped of skippedLines(cr, raw)) {
      for (let m = 0; m < matched.length - n; m++) {
        const t = matched[n + m]!;
        if (t[0] + t[2] === skipped) {
          unmatched.push(...matched.splice(n + m, 1));
          n += m;
          break;
        }
      }
    }
    unmatched.push(...orgLines.slice(count2));
    return { raw, matched, unmatched };
  }

  private ignoreLine(buf: string, orgBuffer: LineTriple[], failMatch: SearchResult | null): number | null {
    if (failMatch && this.maxlines > 1) {
      orgBuffer = failMatch.matched;
      buf = tupleLinesBuffer(orgBuffer);
    }
    let found: number | null = null;
    const ascii = this.asciiOf(buf);
    const candidates = this.ignoreDispatch.candidates(buf);
    for (let c = 0; c < candidates.length; c++) {
      const i = candidates[c]!;
      if (!this.ignoreDispatch.admits(i, buf)) continue;
      const ir = this.ignoreregex[i]!;
      if (ir.regex.execArray(buf, ascii)) {
        found = i;
        this.lastLineIgnored = true;
        this.lastIgnoreHits.push(i);
        if (!this.checkAllRegex || this.maxlines > 1) {
          if (failMatch) this.lineBuffer = failMatch.unmatched;
        }
        if (!this.checkAllRegex) break;
      }
    }
    return found;
  }

  /** Slots and JS group numbers of a regex's named groups, and where alt_/tuple_ groups go. */
  private layoutOf(cr: CompiledRegex): GroupLayout {
    const names = cr.regex.groupNames;
    const prefGroups = new Set(this.prefregex?.regex.groupNames ?? []);
    return {
      slots: names.map((n) => this.schema.slot(n)),
      js: names.map((n) => cr.regex.groupMap[cr.regex.names.get(n)!]!),
      alt: cr.alt.map(([k, n]) => [this.schema.slot(k), this.schema.slot(n)]),
      tuple: cr.tuple.map(([k, n]) => [this.schema.slot(k), this.schema.slot(n)]),
      direct: [...cr.alt, ...cr.tuple].every(([, n]) => !prefGroups.has(n)),
    };
  }

  /**
   * The named groups of a match (null when a group did not take part), plus alt_/tuple_ targets,
   * written into `out` (a reused scratch record). With `pre` and a direct layout they are written
   * over a copy of the prefregex's record.
   */
  private groupsOf(cr: CompiledRegex, raw: RegExpExecArray, pre: DataRecord | null, out: DataRecord): DataRecord {
    const schema = this.schema;
    const { slots, js, alt, tuple, direct } = cr.layout;
    if (pre !== null && direct) schema.copyInto(out, pre);
    else schema.reset(out);
    for (let i = 0; i < slots.length; i++) {
      const copies = js[i]!;
      let v: string | undefined = raw[copies[0]!];
      for (let j = 1; j < copies.length && v === undefined; j++) v = raw[copies[j]!];
      schema.set(out, slots[i]!, v ?? null);
    }
    for (let i = 0; i < alt.length; i++) {
      const [k, n] = alt[i]!;
      const v = out[k];
      if (v && !out[n]) schema.set(out, n, v);
    }
    for (let i = 0; i < tuple.length; i++) {
      const [k, n] = tuple[i]!;
      const v = out[k];
      const t = out[n];
      schema.set(out, n, Array.isArray(t) ? [...t, v] : [t ?? null, v]);
    }
    return out;
  }

  private mergeFailure(mlfid: string, fail: DataRecord, sr: SearchResult): DataRecord {
    const key = this.key;
    const schema = this.schema;
    const cached = this.mlfidCache.get(mlfid, this.lineNow());
    let users: Set<string> | null = null;
    let flags = 0;
    if (fail[key.mlfgained]) {
      flags |= 8 | 1;
      if (!fail[key.nofail]) schema.set(fail, key.nofail, fail[key.mlfgained]);
    } else if (fail[key.nofail]) flags |= 1;
    if (fail[key.mlfforget]) flags |= 2;
    fail[key.mlfforget] = undefined;
    if (cached) {
      users = this.updateUsers(cached, fail[key.user]);
      if (cached[key.nofail]) flags |= 4;
      cached[key.nofail] = undefined;
      if (cached[key.mlfgained]) flags |= 4;
      cached[key.mlfgained] = undefined;
      if (flags & 8) cached[key.mlfpending] = undefined;
      if ((flags & 4) === 0 && !cached[key.mlfpending]) cached[key.matches] = undefined;
      schema.assignNonNull(cached, fail);
      fail = cached;
      if (flags & 2) this.mlfidCache.delete(mlfid);
    } else if (!(flags & 2)) {
      // a new session keeps the record: it cannot stay the reused scratch one
      if (fail === this.failScratch) fail = fail.slice();
      users = this.updateUsers(fail, fail[key.user]);
      this.mlfidCache.set(mlfid, fail, this.lineNow());
    }
    const pending = fail[key.mlfpending];
    fail[key.mlfpending] = undefined;
    if (pending || (users && users.size > 1)) {
      fail[key.nofail] = undefined;
      fail[key.mlfgained] = undefined;
      flags &= ~(8 | 1);
    }
    // the matched lines only end up in `data`: nothing to keep when nobody reads it
    if (!this.collectData) return fail;
    if ((flags & 1) === 0) {
      const m: LineTriple[] = [...((fail[key.nofailMatches] as LineTriple[] | undefined) ?? [])];
      fail[key.nofailMatches] = undefined;
      m.push(...((fail[key.matches] as LineTriple[] | undefined) ?? []));
      if ((flags & 8) === 0) m.push(...sr.matched);
      schema.set(fail, key.matches, m);
    } else if ((flags & 3) === 1) {
      schema.set(fail, key.nofailMatches, [...((fail[key.nofailMatches] as LineTriple[] | undefined) ?? []), ...sr.matched]);
    }
    return fail;
  }

  private updateUsers(fail: DataRecord, user: unknown): Set<string> | null {
    let users = fail[this.key.users] as Set<string> | undefined;
    if (user) {
      if (!users) {
        users = new Set<string>();
        this.schema.set(fail, this.key.users, users);
      }
      users.add(String(user));
      return users;
    }
    return users ?? null;
  }
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i >= 0 && i < to; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function skippedLines(cr: CompiledRegex, raw: RegExpExecArray): string[] {
  if (!cr.skipLineGroups.length) return [];
  let text = '';
  for (const g of cr.skipLineGroups) {
    let v: string | undefined;
    for (const js of cr.regex.groupMap[cr.regex.names.get(g)!]!) {
      v = raw[js];
      if (v !== undefined) break;
    }
    if (v !== undefined) text += v;
  }
  // Python str.splitlines(): drop a trailing empty piece
  const parts = text.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

interface ParsedAddress {
  readonly text: string;
  readonly family: Family;
}

/** Recently parsed texts: attackers repeat, so most lookups hit. Cleared when it grows large. */
let addressCache = new Map<string, ParsedAddress | null>();
const ADDRESS_CACHE_LIMIT = 65536;

/** Canonical text (with /prefix for networks) and family of an address, or null when it is not one. */
function parseAddress(text: string): ParsedAddress | null {
  if (isCanonicalIPv4(text)) return { text, family: 'inet4' };
  let parsed = addressCache.get(text);
  if (parsed !== undefined) return parsed;
  const ip = parseIp(text);
  parsed = ip ? { text: ipText(ip), family: ip.family } : null;
  if (addressCache.size >= ADDRESS_CACHE_LIMIT) addressCache = new Map();
  addressCache.set(text, parsed);
  return parsed;
}

const NO_LAYOUT: GroupLayout = { slots: [], js: [], alt: [], tuple: [], direct: true };

function normaliseUseDns(v: string | null | undefined): UseDns {
  const s = (v ?? 'warn').toLowerCase();
  if (s === 'yes' || s === 'true' || s === 'on' || s === '1') return 'yes';
  if (s === 'no' || s === 'false' || s === 'off' || s === '0') return 'no';
  if (s === 'raw') return 'raw';
  return 'warn';
}

function hasFailureIdGroup(cr: CompiledRegex): boolean {
  return FAILURE_ID_PRESENT_GROUPS.some((g) => cr.regex.groupNames.includes(g));
}

function compileTagged(source: string, usedns: UseDns, multiline: boolean, where: ErrorLocation, option: string): CompiledRegex {
  const expanded = globalFlagsToScoped(expandRegexTags(source, usedns));
  if (expanded.trim() === '') throw new RegexError('Cannot add empty regex', { ...where, option });
  let regex: FastPyRegex;
  try {
    regex = compilePythonRegex(expanded, { multiline, where: { ...where, option } });
  } catch (e) {
    if (e instanceof RegexError) throw e;
    throw new RegexError(`Unable to compile regular expression '${source}': ${(e as Error).message}`, { ...where, option }, { cause: e });
  }
  const alt: [string, string][] = [];
  const tuple: [string, string][] = [];
  const skipLineGroups: string[] = [];
  for (const k of regex.groupNames) {
    if (/^skiplines\d+$/.test(k)) skipLineGroups.push(k);
    if (k.length <= 4) continue;
    const m = COMPLEX_NAME_RE.exec(k);
    if (!m) continue;
    const target = tagToGroupName(m[2]!);
    (m[1] === 'alt_' ? alt : tuple).push([k, target]);
  }
  const byName = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  alt.sort(byName);
  tuple.sort(byName);
  skipLineGroups.sort((a, b) => Number(a.slice(9)) - Number(b.slice(9)));
  return { source, expanded, regex, alt, tuple, skipLineGroups, layout: NO_LAYOUT };
}
