/**
 * The per-line filter pipeline (reference §2.1, §2.3): date split → line buffer → prefregex →
 * failregex → ignoreregex → multi-line (mlfid) merge → failure id. One Filter per jail; it is
 * synchronous so a failure reaches the failure manager in the same turn that read its line.
 */
import { RegexError, type ErrorLocation } from '../errors.ts';
import { parseIp, type Family } from '../net/ip.ts';
import { DateDetector } from './date/index.ts';
import type { Failure, LineTriple } from './failure.ts';
import { MlfidCache } from './mlfid-cache.ts';
import { compilePythonRegex, type PyMatch, type PyRegex } from './pyregex/index.ts';
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
}

export type FailureData = Record<string, unknown> & { matches?: LineTriple[] };

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

interface CompiledRegex {
  source: string;
  expanded: string;
  regex: PyRegex;
  alt: [group: string, target: string][];
  tuple: [group: string, target: string][];
  skipLineGroups: string[];
}

const COMPLEX_NAME_RE = /^(alt_|tuple_)(.*?)(?:_\d+)?$/;

/** Result of one regex search over the line buffer, with the lines it covered. */
interface SearchResult {
  match: PyMatch;
  matched: LineTriple[];
  unmatched: LineTriple[];
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
  now: () => number;
  /** Per-line statistics for moat regex: set by processLine. */
  lastPrefregexMatched = false;
  lastLineIgnored = false;
  lastIgnoreHits: number[] = [];
  private lineBuffer: LineTriple[] = [];
  private lastDate: number | null = null;
  private lastDateText = '';
  private readonly mlfidCache = new MlfidCache(100, 300);
  private readonly onWarning: (message: string) => void;
  private readonly warnedAt = new Map<string, number>();

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
    this.checkAllRegex = runtime.checkAllRegex ?? false;
    this.checkFindTime = runtime.checkFindTime ?? false;
    this.findtime = runtime.findtime ?? 600;
    this.now = runtime.now ?? (() => Date.now() / 1000);
    this.rawHosts = runtime.rawHosts ?? this.usedns === 'raw';
    this.onWarning = runtime.onWarning ?? (() => {});
    this.dateDetector = new DateDetector({
      datepattern: spec.datepattern ?? null,
      logtimezone: spec.logtimezone ?? null,
      now: () => this.now(),
    });
  }

  /**
   * Processes one physical log line (without its newline). `given` supplies the date for
   * journal entries (no date detection then).
   */
  processLine(line: string, given?: { time: number; dateText: string }): FilterMatch[] {
    let triple: LineTriple;
    let date: number | null = null;
    let noDate = false;
    if (given) {
      triple = ['', given.dateText, line];
      date = given.time;
      this.lastDateText = given.dateText;
      this.lastDate = date;
    } else {
      const found = this.dateDetector.detect(line);
      if (found) {
        triple = [found.before, found.date, found.after];
        if (found.date !== '') {
          if (Number.isFinite(found.time)) {
            date = found.time;
            this.lastDateText = found.date;
            this.lastDate = date;
          } else {
            this.warnOnce('bad-date', `failed to parse the time text '${found.date}'`);
          }
        } else if (this.lastDate !== null && this.lastDate > this.now() - 60) {
          // matched an empty date: reuse a recent one
          triple = ['', this.lastDateText, line];
          date = this.lastDate;
        } else {
          date = this.now();
        }
      } else {
        triple = ['', '', line];
      }
      if (date === null) {
        noDate = true;
        if (this.lastDate !== null && this.lastDate > this.now() - 60) {
          triple = ['', this.lastDateText, line];
          date = this.lastDate;
        } else if (this.checkFindTime && this.inOperation) {
          date = this.now();
        }
      }
    }

    if (this.checkFindTime && date !== null) {
      const now = this.now();
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
        return [];
      }
    }
    return this.findFailures(triple, date, noDate);
  }

  /** Converts matches with ids into Failures (pending and nofail matches are dropped). */
  static toFailures(matches: FilterMatch[], fallbackTime: number): Failure[] {
    const out: Failure[] = [];
    for (const m of matches) {
      if (m.id === null || m.nofail) continue;
      const triples = m.data.matches ?? [];
      out.push({
        id: m.id,
        family: m.family,
        ip: m.ip,
        time: m.time ?? fallbackTime,
        matches: triples.map((t) => t[0] + t[1] + t[2]),
        attempts: Math.max(1, triples.length),
        data: m.data,
        regexIndex: m.regexIndex,
      });
    }
    return out;
  }

  private warnOnce(key: string, message: string): void {
    const now = this.now();
    const last = this.warnedAt.get(key);
    if (last !== undefined && now - last < 86400) return;
    this.warnedAt.set(key, now);
    this.onWarning(message);
  }

  private findFailures(triple: LineTriple, date: number | null, noDate: boolean): FilterMatch[] {
    const out: FilterMatch[] = [];
    this.lastPrefregexMatched = false;
    this.lastLineIgnored = false;
    if (this.lastIgnoreHits.length) this.lastIgnoreHits = [];
    const multi = this.maxlines > 1;
    let orgBuffer: LineTriple[];
    if (multi) {
      this.lineBuffer.push(triple);
      if (this.lineBuffer.length > this.maxlines) this.lineBuffer = this.lineBuffer.slice(-this.maxlines);
      orgBuffer = this.lineBuffer;
    } else {
      orgBuffer = this.lineBuffer = [triple];
    }
    let buf: string | null = tupleLinesBuffer(orgBuffer);

    // fail2ban checks ignoreregex up front when there are clearly fewer of them
    if (this.ignoreregex.length && this.ignoreregex.length < this.failregex.length - 2) {
      if (this.ignoreLine(buf, orgBuffer, null) !== null) return out;
    }

    let preGroups: Record<string, unknown> | null = null;
    if (this.prefregex) {
      const pm = this.search(this.prefregex, buf, orgBuffer);
      if (!pm) return out;
      this.lastPrefregexMatched = true;
      preGroups = this.groupsOf(this.prefregex, pm.match);
      const content = preGroups['content'];
      delete preGroups['content'];
      if (typeof content === 'string' && content !== '') {
        this.lineBuffer = [['', '', content]];
        buf = null;
      }
    }

    for (let index = 0; index < this.failregex.length; index++) {
      const fr = this.failregex[index]!;
      if (buf === null) buf = tupleLinesBuffer(this.lineBuffer);
      const sr = this.search(fr, buf, orgBuffer);
      if (!sr) continue;
      let fail: Record<string, unknown> = this.groupsOf(fr, sr.match);
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
      if (preGroups) {
        fail = { ...preGroups, ...fail };
      }
      const mlfid = fail['mlfid'];
      if (mlfid !== null && mlfid !== undefined) {
        fail = this.mergeFailure(String(mlfid), fail, sr);
        if (fail['nofail'] && !this.checkAllRegex) return out;
      } else {
        fail['matches'] = [...((fail['matches'] as LineTriple[] | undefined) ?? []), ...sr.matched];
      }
      // fail2ban honours F-NOFAIL only with F-MLFID in its daemon (quirk #11); moat always does
      const nofail = !!fail['nofail'];
      const fid = fail['fid'] as string | null | undefined;
      let host = fail['ip4'] as string | null | undefined;
      if (host !== null && host !== undefined) {
        cidr = (fail['cidr'] as string | null | undefined) ?? null;
        raw = true;
      } else {
        host = fail['ip6'] as string | null | undefined;
        if (host !== null && host !== undefined) {
          cidr = (fail['cidr'] as string | null | undefined) ?? null;
          raw = true;
        } else {
          host = fail['dns'] as string | null | undefined;
          if (host === null || host === undefined) {
            host = fid;
            raw = true;
          }
        }
      }
      const time = date;
      if (host === null || host === undefined) {
        // multi-line session without an address yet: remember it is pending
        fail['mlfpending'] = 1;
        out.push({ regexIndex: index, id: null, needsDns: false, family: null, ip: null, time, data: fail, nofail });
      } else if (raw) {
        // each captured text is parsed once: canonical form and family come together
        const addr = parseAddress(cidr !== null && cidr !== undefined && cidr !== '' ? `${host}/${cidr}` : host);
        if (fid === null || fid === undefined || fid === host) {
          const id = addr?.text ?? host;
          out.push({ regexIndex: index, id, needsDns: false, family: addr?.family ?? null, ip: null, time, data: fail, nofail });
        } else {
          const ip = addr?.text ?? host;
          fail['ip'] = ip;
          const fidAddr = parseAddress(fid);
          out.push({
            regexIndex: index,
            id: fidAddr?.text ?? fid,
            needsDns: false,
            family: fidAddr?.family ?? addr?.family ?? null,
            ip,
            time,
            data: fail,
            nofail,
          });
        }
      } else {
        // a DNS name: an IP literal is used as is, otherwise it needs resolving (usedns yes/warn)
        const addr = parseAddress(host);
        if (addr) {
          out.push({ regexIndex: index, id: addr.text, needsDns: false, family: addr.family, ip: null, time, data: fail, nofail });
        } else if (this.usedns !== 'no') {
          out.push({ regexIndex: index, id: host, needsDns: true, family: null, ip: null, time, data: fail, nofail });
        }
      }
      if (this.checkAllRegex && mlfid !== null && mlfid !== undefined) {
        const last = out[out.length - 1];
        if (last) last.data = { ...last.data };
      }
      if (!this.checkAllRegex) break;
    }
    return out;
  }

  private search(cr: CompiledRegex, buf: string, orgLines: LineTriple[]): SearchResult | null {
    const match = cr.regex.exec(buf);
    if (!match) return null;
    if (orgLines.length <= 1) return { match, matched: orgLines, unmatched: [] };
    // find the lines the match covers
    const matchLineStart = buf.lastIndexOf('\n', match.index) + 1;
    const endNl = buf.indexOf('\n', Math.max(0, match.end - 1));
    const matchLineEnd = endNl < 0 ? buf.length : endNl + 1;
    const count1 = countNewlines(buf, 0, matchLineStart);
    const count2 = countNewlines(buf, 0, matchLineEnd);
    const matched = orgLines.slice(count1, count2);
    const unmatched = orgLines.slice(0, count1);
    // lines captured by <SKIPLINES> go back to the buffer
    let n = 0;
    for (const skipped of skippedLines(cr, match)) {
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
    return { match, matched, unmatched };
  }

  private ignoreLine(buf: string, orgBuffer: LineTriple[], failMatch: SearchResult | null): number | null {
    if (failMatch && this.maxlines > 1) {
      orgBuffer = failMatch.matched;
      buf = tupleLinesBuffer(orgBuffer);
    }
    let found: number | null = null;
    for (let i = 0; i < this.ignoreregex.length; i++) {
      const ir = this.ignoreregex[i]!;
      if (ir.regex.exec(buf)) {
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

  private groupsOf(cr: CompiledRegex, match: PyMatch): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const g = match.groups;
    for (const name of cr.regex.groupNames) out[name] = g[name] ?? null;
    for (const [k, n] of cr.alt) {
      const v = out[k];
      if (v && !out[n]) out[n] = v;
    }
    for (const [k, n] of cr.tuple) {
      const v = out[k];
      const t = out[n];
      out[n] = Array.isArray(t) ? [...t, v] : [t ?? null, v];
    }
    return out;
  }

  private mergeFailure(mlfid: string, fail: Record<string, unknown>, sr: SearchResult): Record<string, unknown> {
    const cached = this.mlfidCache.get(mlfid, this.now());
    let users: Set<string> | null = null;
    let flags = 0;
    if (fail['mlfgained']) {
      flags |= 8 | 1;
      if (!fail['nofail']) fail['nofail'] = fail['mlfgained'];
    } else if (fail['nofail']) flags |= 1;
    if (fail['mlfforget']) flags |= 2;
    delete fail['mlfforget'];
    if (cached) {
      users = updateUsers(cached, fail['user']);
      if (cached['nofail']) flags |= 4;
      delete cached['nofail'];
      if (cached['mlfgained']) flags |= 4;
      delete cached['mlfgained'];
      if (flags & 8) delete cached['mlfpending'];
      if ((flags & 4) === 0 && !cached['mlfpending']) delete cached['matches'];
      for (const [k, v] of Object.entries(fail)) if (v !== null && v !== undefined) cached[k] = v;
      fail = cached;
      if (flags & 2) this.mlfidCache.delete(mlfid);
    } else if (!(flags & 2)) {
      users = updateUsers(fail, fail['user']);
      this.mlfidCache.set(mlfid, fail, this.now());
    }
    const pending = fail['mlfpending'];
    delete fail['mlfpending'];
    if (pending || (users && users.size > 1)) {
      delete fail['nofail'];
      delete fail['mlfgained'];
      flags &= ~(8 | 1);
    }
    if ((flags & 1) === 0) {
      const m: LineTriple[] = [...((fail['nofail-matches'] as LineTriple[] | undefined) ?? [])];
      delete fail['nofail-matches'];
      m.push(...((fail['matches'] as LineTriple[] | undefined) ?? []));
      if ((flags & 8) === 0) m.push(...sr.matched);
      fail['matches'] = m;
    } else if ((flags & 3) === 1) {
      fail['nofail-matches'] = [...((fail['nofail-matches'] as LineTriple[] | undefined) ?? []), ...sr.matched];
    }
    return fail;
  }
}

function updateUsers(fail: Record<string, unknown>, user: unknown): Set<string> | null {
  let users = fail['users'] as Set<string> | undefined;
  if (user) {
    if (!users) {
      users = new Set<string>();
      fail['users'] = users;
    }
    users.add(String(user));
    return users;
  }
  return users ?? null;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i >= 0 && i < to; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function skippedLines(cr: CompiledRegex, match: PyMatch): string[] {
  if (!cr.skipLineGroups.length) return [];
  let text = '';
  for (const g of cr.skipLineGroups) {
    const v = match.groups[g];
    if (v !== undefined) text += v;
  }
  // Python str.splitlines(): drop a trailing empty piece
  const parts = text.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Canonical text (with /prefix for networks) and family of an address, or null when it is not one. */
function parseAddress(text: string): { text: string; family: Family } | null {
  const ip = parseIp(text);
  if (!ip) return null;
  const full = ip.family === 'inet4' ? 32 : 128;
  return { text: ip.prefix === full ? ip.address : `${ip.address}/${ip.prefix}`, family: ip.family };
}

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
  let regex: PyRegex;
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
  return { source, expanded, regex, alt, tuple, skipLineGroups };
}
