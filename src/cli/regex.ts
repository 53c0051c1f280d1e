/**
 * `moat regex [options] LOG FILTER [IGNOREREGEX]` — moat's fail2ban-regex (reference §6.8).
 * LOG is a file or a literal line; FILTER a filter file, a filter name under the config's
 * filter.d (with optional [opt=val, ...]) or a raw failregex. Human output is laid out like
 * fail2ban-regex's; --json prints one object for scripts.
 */
import { isAscii } from 'node:buffer';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseReference, readFilter, type FilterDefinition } from '../config/index.ts';
import { UsageError } from '../errors.ts';
import type { LineTriple } from '../filter/failure.ts';
import { Filter, type FilterMatch, type LineHint } from '../filter/filter.ts';
import { defaultConfigDir, MOAT_VERSION } from '../version.ts';

const USAGE = `Usage: moat regex [OPTIONS] <LOG> <REGEX> [IGNOREREGEX]

Tests a filter (failregex/ignoreregex) against a log file or a single line.

LOG          a log file, or a literal log line
REGEX        a filter name under --config's filter.d (e.g. sshd[mode=aggressive]),
             a path to a filter file, or a literal failregex
IGNOREREGEX  a filter file or a literal ignoreregex

Options:
  -c, --config DIR          configuration directory (default /etc/moat, else the bundled config/)
  -d, --datepattern P       date pattern to use instead of the filter's
      --timezone, --TZ TZ   time zone for dates without one (fixed offset or abbreviation)
  -e, --encoding ENC        log file encoding (default utf-8)
  -r, --raw                 raw hosts: no DNS (moat regex never resolves names)
      --usedns VALUE        yes|warn|no|raw, as the jail option
  -L, --maxlines N          maximum lines of a multi-line failure
  -m, --journalmatch M      journal match (accepted for compatibility; LOG is read as a file or line)
      --now T               reference time for year inference: epoch seconds or ISO-8601
      --journal-lines       each LOG line is a journal entry message: no date detection, time = --now
      --no-check-all        stop at the first matching failregex (the daemon's behaviour)
  -o, --out FMT             print only: id, fid, ip, msg, row, a group name, or a template with <tags>
      --print-all-matched   print every matched line
      --print-all-missed    print every missed line
      --print-all-ignored   print every ignored line
      --print-no-missed     do not print missed lines
      --print-no-ignored    do not print ignored lines
  -v, --verbose             more output (repeatable)
      --json                print one JSON object with counts and every failure
  -V, --version             print the version
  -h, --help                this help
`;

/**
 * How many listed lines fail2ban-regex keeps and prints before saying "too many to print": 20,
 * or the -L/--maxlines value when one is given.
 */
const DEFAULT_LIST_LIMIT = 20;

interface RegexStat {
  text: string;
  hits: number;
  ids: { id: string; time: number | null; multiple: boolean }[];
}

export interface RegexOutput {
  write(s: string): void;
  error(s: string): void;
}

const stdio: RegexOutput = {
  write: (s) => process.stdout.write(s),
  error: (s) => process.stderr.write(s),
};

function parseNow(text: string): number {
  if (/^-?\d+(?:\.\d+)?$/.test(text)) return Number(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--now: not an epoch time nor an ISO-8601 date: ${text}`);
  return t / 1000;
}

function shortstr(s: string, l = 53): string {
  return s.length > l ? `${s.slice(0, l - 3)}...` : s;
}

function pprintList(out: string[], lines: string[], header?: string): void {
  if (!lines.length) return;
  out.push(`${header ? `|- ${header}\n` : ''}|  ${lines.join('\n|  ')}\n\`-`);
}

interface LoadedRegexes {
  def: Pick<FilterDefinition, 'prefregex' | 'failregex' | 'ignoreregex' | 'maxlines' | 'datepattern'>;
  header: string[];
}

/** Resolves the REGEX argument the way fail2ban-regex does: filter name, filter file, or literal. */
function loadFilterArg(value: string, configDir: string, kind: 'fail' | 'ignore'): LoadedRegexes {
  const header: string[] = [];
  const label = `${kind}regex`;
  if (kind === 'fail' && /^\/{0,3}[\w/_\-.]+(?:\[[\s\S]*\])?$/.test(value)) {
    const ref = parseReference(value);
    const name = ref.name;
    const tries = name.slice(-6).includes('.') ? [name] : [name, `${name}.conf`, `${name}.local`];
    for (const t of tries) {
      const file = t.includes('/') ? resolve(t) : join(basename(configDir) === 'filter.d' ? configDir : join(configDir, 'filter.d'), t);
      if (!existsSync(file) || !statSync(file).isFile()) continue;
      const inFilterDir = !t.includes('/') || basename(dirname(file)) === 'filter.d';
      const def = inFilterDir
        ? readFilter(value.includes('/') ? `${basename(name, extname(name))}${value.slice(name.length)}` : value, {
            configDir: basename(dirname(file)) === 'filter.d' ? dirname(dirname(file)) : configDir,
          })
        : readFilter(`${file}${value.slice(name.length)}`, { configDir });
      if (inFilterDir) {
        header.push(`Use ${label.padStart(11)} filter file : ${basename(name, extname(name))}, basedir: ${configDir}`);
      } else {
        header.push(`Use ${label.padStart(11)} file : ${file}`);
      }
      if (Object.keys(ref.options).length) header.push(`Use   filter options : ${pyDictRepr(ref.options)}`);
      return { def, header };
    }
  }
  header.push(`Use ${label.padStart(11)} line : ${shortstr(value)}`);
  const def =
    kind === 'fail'
      ? { prefregex: null, failregex: [value], ignoreregex: [], maxlines: null, datepattern: null }
      : { prefregex: null, failregex: [], ignoreregex: [value], maxlines: null, datepattern: null };
  return { def, header };
}

function pyDictRepr(o: Record<string, string>): string {
  return `{${Object.entries(o)
    .map(([k, v]) => `'${k}': '${v}'`)
    .join(', ')}}`;
}

type LineHandler = (line: string, lineNo: number, hint: LineHint | undefined) => void;

const CHUNK_BYTES = 1 << 20;

/**
 * Reads a file line by line in large chunks (bounded memory), calling `onLine(text, lineNo, hint)`.
 * As in fail2ban-regex, a line is complete once it ends with a newline (or a carriage return):
 * the trailing CR/LF characters are cut off, and a last line without either is not read.
 * UTF-8 is read in blocks of whole lines: a block that is pure ASCII (the usual log) is cut into
 * one small string per line straight from the bytes (no decoding, and a line kept by a multi-line
 * session does not keep the whole block alive), taken with its newline so the filter can cut its
 * buffer from it (LineHint); other blocks go through the TextDecoder. Cutting
 * at a newline byte never splits a UTF-8 sequence, and the decoder treats a newline the same in a
 * stream or at the end of a piece, so the text is exactly what one streaming decode gives.
 */
function forEachFileLine(path: string, encoding: string, onLine: LineHandler): void {
  const label = normaliseEncoding(encoding);
  if (new TextDecoder(label).encoding !== 'utf-8') {
    forEachDecodedLine(path, label, onLine);
    return;
  }
  // the byte order mark is dropped only at the start of the file, as a streaming decoder does
  const firstDecoder = new TextDecoder('utf-8');
  const laterDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const fd = openSync(path, 'r');
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let filled = 0;
  let atStart = true;
  let lineNo = 0;
  const hint: LineHint = { ascii: true, terminated: undefined };
  /** Lines in buf[0, end) (end is just after a newline, or the end of the file). */
  const emit = (end: number, final: boolean): void => {
    const block = buf.subarray(0, end);
    const first = atStart;
    atStart = false;
    if (!isAscii(block)) {
      emitText((first ? firstDecoder : laterDecoder).decode(block), final);
      return;
    }
    let start = 0;
    for (let nl = block.indexOf(10, start); nl >= 0; nl = block.indexOf(10, start)) {
      if (nl > start && block[nl - 1] === 13) {
        let stop = nl - 1;
        while (stop > start && block[stop - 1] === 13) stop--;
        hint.terminated = undefined;
        onLine(block.toString('latin1', start, stop), ++lineNo, hint);
      } else {
        const terminated = block.toString('latin1', start, nl + 1);
        hint.terminated = terminated;
        onLine(terminated.slice(0, -1), ++lineNo, hint);
      }
      start = nl + 1;
    }
    if (final && start < end && block[end - 1] === 13) {
      let stop = end - 1;
      while (stop > start && block[stop - 1] === 13) stop--;
      hint.terminated = undefined;
      onLine(block.toString('latin1', start, stop), ++lineNo, hint);
    }
  };
  const emitText = (data: string, final: boolean): void => {
    lineNo = splitLines(data, final, lineNo, onLine);
  };
  try {
    for (;;) {
      if (filled === buf.length) {
        // one line longer than the buffer: make room
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const n = readSync(fd, buf, filled, buf.length - filled, null);
      if (n <= 0) {
        if (filled > 0) emit(filled, true);
        break;
      }
      filled += n;
      const lastNl = buf.lastIndexOf(10, filled - 1);
      if (lastNl < 0) continue;
      emit(lastNl + 1, false);
      buf.copy(buf, 0, lastNl + 1, filled);
      filled -= lastNl + 1;
    }
  } finally {
    closeSync(fd);
  }
}

/** Any other encoding: one streaming decode, split into lines. */
function forEachDecodedLine(path: string, label: string, onLine: LineHandler): void {
  const fd = openSync(path, 'r');
  const decoder = new TextDecoder(label);
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let rest = '';
  let lineNo = 0;
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      const text = n > 0 ? decoder.decode(chunk.subarray(0, n), { stream: true }) : decoder.decode();
      const data = rest + text;
      const start = data.lastIndexOf('\n') + 1;
      lineNo = splitLines(data.slice(0, start), false, lineNo, onLine);
      rest = data.slice(start);
      if (n <= 0) break;
    }
    splitLines(rest, true, lineNo, onLine);
  } finally {
    closeSync(fd);
  }
}

/**
 * Calls `onLine` for each line of `data` ending with "\n", trailing CRs cut off; with `final`, also
 * for a last piece ending with CR (see forEachFileLine). Returns the last line number used.
 */
function splitLines(data: string, final: boolean, lineNo: number, onLine: LineHandler): number {
  let start = 0;
  for (let nl = data.indexOf('\n'); nl >= 0; nl = data.indexOf('\n', start)) {
    onLine(trimCarriageReturns(data, start, nl), ++lineNo, undefined);
    start = nl + 1;
  }
  if (final && start < data.length && data.charCodeAt(data.length - 1) === 13) {
    onLine(trimCarriageReturns(data, start, data.length), ++lineNo, undefined);
  }
  return lineNo;
}

function trimCarriageReturns(data: string, start: number, end: number): string {
  while (end > start && data.charCodeAt(end - 1) === 13) end--;
  return data.slice(start, end);
}

function normaliseEncoding(enc: string): string {
  const e = enc.toLowerCase();
  if (e === 'auto' || e === '') return 'utf-8';
  return e;
}

function jsonData(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (v === null || v === undefined) continue;
    if (k === 'matches' || k === 'nofail-matches' || k === 'mlfpending' || k === 'content' || /^skiplines\d+$/.test(k)) continue;
    out[k] = v instanceof Set ? [...v].sort() : v;
  }
  return out;
}

/** The address or host text exactly as captured (raw, not resolved). */
function capturedHost(m: FilterMatch): string {
  const d = m.data;
  for (const k of ['ip4', 'ip6', 'dns', 'fid']) {
    const v = d[k];
    if (typeof v === 'string') return v;
  }
  return m.id ?? '';
}

export async function runRegex(argv: string[], io: RegexOutput = stdio): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        datepattern: { type: 'string', short: 'd' },
        timezone: { type: 'string' },
        TZ: { type: 'string' },
        encoding: { type: 'string', short: 'e' },
        raw: { type: 'boolean', short: 'r' },
        usedns: { type: 'string' },
        maxlines: { type: 'string', short: 'L' },
        journalmatch: { type: 'string', short: 'm' },
        now: { type: 'string' },
        'journal-lines': { type: 'boolean' },
        'no-check-all': { type: 'boolean' },
        out: { type: 'string', short: 'o' },
        'print-all-matched': { type: 'boolean' },
        'print-all-missed': { type: 'boolean' },
        'print-all-ignored': { type: 'boolean' },
        'print-no-missed': { type: 'boolean' },
        'print-no-ignored': { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v', multiple: true },
        json: { type: 'boolean' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
        'log-level': { type: 'string', short: 'l' },
      },
    });
  } catch (e) {
    io.error(`ERROR: ${(e as Error).message}\n`);
    return 255;
  }
  const o = args.values;
  if (o.help) {
    io.write(USAGE);
    return 0;
  }
  if (o.version) {
    io.write(`${MOAT_VERSION}\n`);
    return 0;
  }
  if (args.positionals.length < 2 || args.positionals.length > 3) {
    io.error('ERROR: moat regex needs LOG and REGEX (and optionally IGNOREREGEX); see moat regex --help\n');
    return 255;
  }
  if (o['print-no-missed'] && o['print-all-missed']) {
    io.error('ERROR: --print-no-missed and --print-all-missed are mutually exclusive.\n');
    return 255;
  }
  if (o['print-no-ignored'] && o['print-all-ignored']) {
    io.error('ERROR: --print-no-ignored and --print-all-ignored are mutually exclusive.\n');
    return 255;
  }
  const [logArg, regexArg, ignoreArg] = args.positionals as [string, string, string | undefined];
  const configDir = resolve(o.config ?? defaultConfigDir());
  const verbose = o.verbose?.length ?? 0;
  const json = !!o.json;
  const out = o.out;
  const quiet = json || out !== undefined;
  const header: string[] = [];

  try {
    const now = o.now !== undefined ? parseNow(o.now) : undefined;
    const fail = loadFilterArg(regexArg, configDir, 'fail');
    header.push(...fail.header);
    let ignoreregex = fail.def.ignoreregex;
    if (ignoreArg !== undefined) {
      const ign = loadFilterArg(ignoreArg, configDir, 'ignore');
      header.push(...ign.header);
      ignoreregex = ign.def.ignoreregex.length ? ign.def.ignoreregex : ign.def.failregex;
    }
    const maxlines = o.maxlines !== undefined ? Number(o.maxlines) : fail.def.maxlines;
    if (maxlines !== null && (!Number.isInteger(maxlines) || maxlines < 1)) throw new UsageError(`--maxlines: not a positive integer: ${o.maxlines}`);
    const datepattern = o.datepattern ?? fail.def.datepattern;
    const usedns = o.raw ? 'raw' : (o.usedns ?? 'raw');
    const filter = new Filter(
      {
        prefregex: fail.def.prefregex,
        failregex: fail.def.failregex,
        ignoreregex,
        maxlines,
        datepattern,
        logtimezone: o.timezone ?? o.TZ ?? null,
        usedns,
      },
      {
        checkAllRegex: !o['no-check-all'] && out === undefined,
        checkFindTime: false,
        rawHosts: true,
        // only -o and --json print captured data; the summary just counts
        collectData: json || out !== undefined,
        ...(now !== undefined ? { now: () => now } : {}),
      },
    );
    if (maxlines !== null && maxlines !== undefined) header.push(`Use         maxlines : ${filter.maxlines}`);
    header.push(`Use      datepattern : ${filter.dateDetector.describe()}`);

    const failStats: RegexStat[] = fail.def.failregex.map((text) => ({ text, hits: 0, ids: [] }));
    const ignoreStats: RegexStat[] = ignoreregex.map((text) => ({ text, hits: 0, ids: [] }));
    let prefMatched = 0;
    const stats = { tested: 0, matched: 0, missed: 0, ignored: 0 };
    const listed = { matched: [] as string[], missed: [] as string[], ignored: [] as string[] };
    const jsonMatches: string[] = [];
    const refNow = now ?? Date.now() / 1000;
    const journalLines = !!o['journal-lines'];
    const journalDateText = new Date(refNow * 1000).toISOString().slice(0, 19);

    const journalDate = { time: refNow, dateText: journalDateText };
    const printNoIgnored = !!o['print-no-ignored'];
    const printAllIgnored = !!o['print-all-ignored'];
    const printAllMatched = !!o['print-all-matched'];
    const printNoMissed = !!o['print-no-missed'];
    const printAllMissed = !!o['print-all-missed'];
    const listLimit = o.maxlines !== undefined ? maxlines! : DEFAULT_LIST_LIMIT;
    const multiLine = filter.maxlines > 1;
    /**
     * Multi-line buffering, counted as fail2ban-regex counts it: each earlier line that leaves the
     * buffer with this line (a match took it, an ignoreregex dropped it, a prefregex's content
     * replaced the buffer) moves one count from missed to matched, whatever it was counted as when
     * read, and the first equal text leaves the missed list. The line a full buffer drops anyway
     * does not count, nor does a line that stays (compared by value: a duplicate line stays).
     */
    const countPulledLines = (before: readonly LineTriple[], after: readonly LineTriple[]) => {
      for (const old of before) {
        if (after.some((t) => t[0] === old[0] && t[1] === old[1] && t[2] === old[2])) continue;
        const text = old[0] + old[1] + old[2];
        const at = listed.missed.indexOf(text);
        if (at >= 0) listed.missed.splice(at, 1);
        if (printAllMatched) listed.matched.push(text);
        stats.matched++;
        stats.missed--;
      }
    };
    // -o output is gathered and written in large pieces (one write per match is slow)
    let pendingOut = '';
    const flushOut = () => {
      if (pendingOut !== '') io.write(pendingOut);
      pendingOut = '';
    };

    // per line only counters change; ids, JSON and -o text are built only when asked for
    const onLine = (line: string, lineNo: number, hint?: LineHint) => {
      if (line === '' || line.charCodeAt(0) === 35 /* # */) return;
      // the buffer before this line, minus the line it drops when full (the filter changes it in place)
      const before = multiLine ? filter.bufferedLines.slice(filter.bufferedLines.length >= filter.maxlines ? 1 : 0) : undefined;
      const results = filter.processLine(line, journalLines ? journalDate : undefined, hint);
      let ignored = filter.lastLineIgnored;
      if (filter.lastPrefregexMatched) prefMatched++;
      const ignoreHits = filter.lastIgnoreHits;
      for (let i = 0; i < ignoreHits.length; i++) ignoreStats[ignoreHits[i]!]!.hits++;
      let found = 0;
      let withId = 0;
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        const st = failStats[r.regexIndex]!;
        st.hits++;
        if (verbose && r.id !== null) st.ids.push({ id: r.id, time: r.time, multiple: found > 1 });
        if (r.nofail) ignored = true;
        else {
          found++;
          if (r.id !== null) withId++;
        }
      }
      if (out !== undefined) {
        if (withId && !ignored) {
          for (const r of results) {
            if (r.nofail || r.id === null) continue;
            pendingOut += formatOut(out, r) + '\n';
            if (pendingOut.length >= 1 << 16) flushOut();
          }
        }
        return;
      }
      if (before !== undefined) countPulledLines(before, filter.bufferedLines);
      if (json && !ignored && withId) {
        for (const r of results) {
          if (r.nofail || r.id === null) continue;
          jsonMatches.push(
            JSON.stringify({
              line: lineNo,
              fid: r.id,
              host: capturedHost(r),
              time: r.time,
              attempts: Math.max(1, r.data.matches?.length ?? 1),
              data: jsonData(r.data),
            }),
          );
        }
      }
      if (ignored) {
        stats.ignored++;
        if (!printNoIgnored && (printAllIgnored || stats.ignored <= listLimit + 1)) listed.ignored.push(line);
      } else if (found > 0) {
        stats.matched++;
        if (printAllMatched) listed.matched.push(line);
      } else {
        stats.missed++;
        if (!printNoMissed && (printAllMissed || stats.missed <= listLimit + 1)) listed.missed.push(line);
      }
      stats.tested++;
    };

    const started = process.hrtime.bigint();
    const looksLikePath = /^[\w./~+-]+$/.test(logArg) && logArg.includes('/');
    try {
      if (existsSync(logArg) && statSync(logArg).isFile()) {
        header.push(`Use         log file : ${logArg}`);
        header.push(`Use         encoding : ${(o.encoding ?? 'UTF-8').toUpperCase()}`);
        if (!quiet) io.write(`\nRunning tests\n=============\n\n${header.join('\n')}\n\n`);
        forEachFileLine(logArg, o.encoding ?? 'utf-8', onLine);
      } else if (looksLikePath) {
        throw new UsageError(`log file not found: ${logArg}`);
      } else {
        const lines = logArg.split('\n');
        if (filter.maxlines <= 1 && lines.length === 1) {
          header.push(`Use      single line : ${shortstr(logArg)}`);
        } else {
          header.push(`Use      multi line : ${lines.length} line(s)`);
          lines.slice(0, 5).forEach((l, i) => header.push(`| ${String(i + 1).padStart(2).slice(0, 2)}: ${shortstr(l)}`));
          if (lines.length > 5) header.push('| ...');
          header.push('`-');
        }
        if (!quiet) io.write(`\nRunning tests\n=============\n\n${header.join('\n')}\n\n`);
        lines.forEach((l, i) => onLine(l.replace(/[\r\n]+$/, ''), i + 1));
      }
    } finally {
      flushOut();
    }
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;

    if (out !== undefined) return 0;
    if (json) {
      io.write(
        `{"lines":${stats.tested},"matched":${stats.matched},"missed":${stats.missed},"ignored":${stats.ignored},"matches":[${jsonMatches.join(',')}]}\n`,
      );
      return 0;
    }
    io.write(renderStats({ filter, failStats, ignoreStats, prefMatched, stats, listed, elapsed, verbose, listLimit, o }));
    return 0;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    io.error(`ERROR: ${msg}\n`);
    return 255;
  }
}

function renderStats(p: {
  filter: Filter;
  failStats: RegexStat[];
  ignoreStats: RegexStat[];
  prefMatched: number;
  stats: { tested: number; matched: number; missed: number; ignored: number };
  listed: { matched: string[]; missed: string[]; ignored: string[] };
  elapsed: number;
  verbose: number;
  listLimit: number;
  o: Record<string, unknown>;
}): string {
  const out: string[] = ['', 'Results', '======='];
  const printRegexes = (title: string, list: RegexStat[]) => {
    let total = 0;
    const rows: string[] = [];
    list.forEach((st, i) => {
      total += st.hits;
      if (st.hits || p.verbose) rows.push(`${String(i + 1).padStart(2)}) [${st.hits}] ${st.text}`);
      if (p.verbose) {
        for (const id of st.ids) {
          rows.push(`    ${id.id}  ${id.time === null ? '' : ctime(id.time)}${id.multiple ? ' (multiple regex matched)' : ''}`);
        }
      }
    });
    out.push(`\n${title}: ${total} total`);
    pprintList(out, rows, ' #) [# of hits] regular expression');
  };
  if (p.filter.prefregex) {
    out.push(`\nPrefregex: ${p.prefMatched} total`);
    pprintList(out, [p.filter.prefregex.expanded]);
  }
  printRegexes('Failregex', p.failStats);
  printRegexes('Ignoreregex', p.ignoreStats);
  out.push('\nDate template hits:');
  const dates: string[] = [];
  for (const t of p.filter.dateDetector.templates) if (p.verbose || t.hits) dates.push(`[${t.hits}] ${t.name}`);
  pprintList(out, dates, '[# of hits] date format');
  const s = p.stats;
  out.push(`\nLines: ${s.tested} lines, ${s.ignored} ignored, ${s.matched} matched, ${s.missed} missed`);
  out.push(`[processed in ${p.elapsed.toFixed(2)} sec]`);
  out.push('');
  const printLines = (kind: 'matched' | 'ignored' | 'missed') => {
    const count = s[kind];
    if (!count) return;
    const title = `${kind[0]!.toUpperCase()}${kind.slice(1)} line(s):`;
    if (count < p.listLimit || p.o[`print-all-${kind}`]) pprintList(out, p.listed[kind].map((l) => l.trimEnd()), title);
    else out.push(`${title} too many to print.  Use --print-all-${kind} to print all ${count} lines`);
  };
  if (p.o['print-all-matched']) printLines('matched');
  if (!p.o['print-no-ignored']) printLines('ignored');
  if (!p.o['print-no-missed']) printLines('missed');
  return out.join('\n') + '\n';
}

/** Python's time.strftime("%a %b %d %H:%M:%S %Y") in local time. */
function ctime(t: number): string {
  const d = new Date(t * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

/** `-o FMT`: id/fid, ip, msg, row, a group name, or a template with <tags>. */
function formatOut(fmt: string, r: FilterMatch): string {
  if (fmt === 'id' || fmt === 'fid') return r.id ?? '';
  if (fmt === 'ip') return r.ip ?? r.id ?? '';
  const matches = (r.data.matches ?? []).map((t) => t.join(''));
  if (fmt === 'msg') return matches.join('\n');
  if (fmt === 'row') {
    const { matches: _m, ...rest } = r.data;
    return `[${JSON.stringify(r.id)},\t${r.time},\t${JSON.stringify(jsonData(rest))}],`;
  }
  if (!fmt.includes('<')) {
    const v = r.data[fmt];
    return v === null || v === undefined ? 'None' : v instanceof Set ? JSON.stringify([...v]) : String(v);
  }
  return fmt.replace(/<([^ <>]+)>/g, (tag, name: string) => {
    if (name === 'ip') return r.ip ?? r.id ?? '';
    if (name === 'fid' || name === 'id') return r.id ?? '';
    if (name === 'msg' || name === 'matches') return matches.join('\n');
    if (name === 'time') return String(r.time);
    if (name === 'failures' || name === 'attempts') return String(matches.length);
    const key = /^F-(.+)$/.exec(name)?.[1]?.toLowerCase() ?? name;
    const v = r.data[key === 'id' ? 'fid' : key];
    if (v === null || v === undefined) return name.startsWith('F-') ? '' : tag;
    return v instanceof Set ? [...v].join(',') : String(v);
  });
}
