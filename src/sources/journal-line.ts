/**
 * Journal entry → the syslog-style line fail2ban builds for its filters (§8.3):
 *
 *   ⟨_HOSTNAME⟩ ⟨SYSLOG_IDENTIFIER|_COMM⟩[⟨SYSLOG_PID|_PID⟩]: ⟨MESSAGE⟩
 *
 * parts joined with single spaces, each omitted when missing (the pid only
 * exists with an identifier); `kernel:` gets `[%12.6f]` monotonic seconds;
 * a multi-valued MESSAGE is joined with spaces; newlines anywhere become the
 * two characters `\n`. The time is `_SOURCE_REALTIME_TIMESTAMP`, else
 * `__REALTIME_TIMESTAMP` (microseconds since the epoch).
 */

import { LocalSecondText } from '../util/local-time.ts';
import { firstValue, type JournalEntry } from './journal-export.ts';

export interface JournalLine {
  /** The regex subject (fail2ban's "after date" part of the line triple). */
  text: string;
  /** Entry time, epoch seconds with microseconds. */
  time: number;
  /**
   * The date part of fail2ban's line triple: the local-time ISO timestamp (`isoLocal`, Python's
   * `datetime.isoformat()`: no fraction when the microseconds are 0) and one space.
   */
  datePart: string;
  cursor: string;
}

/**
 * Fields the formatter reads (the parsers skip every other one). Their names all differ in length,
 * which `JournalLineReader` uses to find a name with one compare.
 */
export const JOURNAL_FIELD_NAMES = [
  '__CURSOR',
  '__REALTIME_TIMESTAMP',
  '_SOURCE_REALTIME_TIMESTAMP',
  '__MONOTONIC_TIMESTAMP',
  '_SOURCE_MONOTONIC_TIMESTAMP',
  '_HOSTNAME',
  'SYSLOG_IDENTIFIER',
  '_COMM',
  'SYSLOG_PID',
  '_PID',
  'MESSAGE',
] as const;

export const JOURNAL_LINE_FIELDS: ReadonlySet<string> = new Set(JOURNAL_FIELD_NAMES);

/**
 * What a line is built from: the first value of each field (MESSAGE: all values joined with
 * spaces), timestamps as microseconds (undefined: missing or not a plain number).
 */
export interface JournalFields {
  cursor: string | undefined;
  realtime: number | undefined;
  sourceRealtime: number | undefined;
  monotonic: number | undefined;
  sourceMonotonic: number | undefined;
  hostname: string | undefined;
  identifier: string | undefined;
  comm: string | undefined;
  syslogPid: string | undefined;
  pid: string | undefined;
  message: string | undefined;
}

/** Builds the line for one entry; null when it has no usable timestamp or cursor. */
export function formatJournalEntry(entry: JournalEntry): JournalLine | null {
  const message = entry.MESSAGE;
  return buildJournalLine({
    cursor: firstValue(entry, '__CURSOR'),
    realtime: parseMicros(firstValue(entry, '__REALTIME_TIMESTAMP')),
    sourceRealtime: parseMicros(firstValue(entry, '_SOURCE_REALTIME_TIMESTAMP')),
    monotonic: parseMicros(firstValue(entry, '__MONOTONIC_TIMESTAMP')),
    sourceMonotonic: parseMicros(firstValue(entry, '_SOURCE_MONOTONIC_TIMESTAMP')),
    hostname: firstValue(entry, '_HOSTNAME'),
    identifier: firstValue(entry, 'SYSLOG_IDENTIFIER'),
    comm: firstValue(entry, '_COMM'),
    syslogPid: firstValue(entry, 'SYSLOG_PID'),
    pid: firstValue(entry, '_PID'),
    message: Array.isArray(message) ? message.join(' ') : message,
  });
}

/** The line for one entry's fields (shared by `formatJournalEntry` and the follower's `JournalLineReader`). */
export function buildJournalLine(f: JournalFields): JournalLine | null {
  const cursor = f.cursor;
  const micros = f.sourceRealtime ?? f.realtime;
  if (cursor === undefined || micros === undefined) return null;

  let text = f.hostname ? f.hostname : '';
  const ident = f.identifier || f.comm;
  if (ident) {
    let tag = ident;
    const pid = f.syslogPid || f.pid;
    if (pid) tag += `[${formatPid(pid)}]`;
    tag += ':';
    text = text ? `${text} ${tag}` : tag;
    if (tag === 'kernel:') {
      const mono = f.sourceMonotonic ?? f.monotonic;
      if (mono !== undefined) text += ` [${formatSeconds(mono).padStart(12)}]`;
    }
  }
  const message = f.message ?? '';
  text = text ? `${text} ${message}` : message;
  return {
    // a text-form value cannot hold a newline: only binary-form values need the escape
    text: text.includes('\n') ? text.replace(/\n/g, '\\n') : text,
    time: micros / 1e6,
    datePart: datePart(micros),
    cursor,
  };
}

/** Microseconds from a field value of digits only (journald writes them so); undefined otherwise. */
export function parseMicros(v: string | undefined): number | undefined {
  return v === undefined ? undefined : decimalIn(v, 0, v.length);
}

/** The decimal number written in `s[from, to)` (read in place, no substring), or undefined unless it is digits only. */
export function decimalIn(s: string, from: number, to: number): number | undefined {
  if (to <= from) return undefined;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  // beyond 2^53 the running sum rounds differently from Number(text)
  return n <= Number.MAX_SAFE_INTEGER ? n : Number(s.slice(from, to));
}

/** `%i` of Python's `int(v, 0)`, or the value as it is when that fails (fail2ban's fallback). */
function formatPid(v: string): string {
  // the usual case, a plain decimal without a leading zero, is its own answer
  if (isPlainDecimal(v)) return v;
  const s = v.trim();
  const m = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)$/.exec(s);
  if (!m) return v;
  const n = BigInt(m[2]!.replace(/_/g, '')); // BigInt reads 0x/0o/0b prefixes like int(v, 0)
  return `${m[1] === '-' && n !== 0n ? '-' : ''}${n}`;
}

/** Digits only, without a leading zero (what `%i` of `int(v, 0)` gives back unchanged). */
function isPlainDecimal(v: string): boolean {
  return !(v.length > 1 && v.charCodeAt(0) === 0x30) && v.length <= 15 && decimalIn(v, 0, v.length) !== undefined;
}

/** `%.6f` of microseconds as seconds, exact for integer microseconds. */
function formatSeconds(micros: number): string {
  const whole = Math.floor(micros / 1e6);
  return `${whole}.${String(micros - whole * 1e6).padStart(6, '0')}`;
}

/** Python `datetime.fromtimestamp(t).isoformat()` in the process time zone. */
export function isoLocal(micros: number): string {
  const second = Math.floor(micros / 1e6);
  const frac = micros - second * 1e6;
  const base = seconds.of(second);
  return frac ? `${base}.${String(frac).padStart(6, '0')}` : base;
}

/** Journal entries come in time order: one text per second, the date worked out once a minute. */
const seconds = new LocalSecondText('T');
let lastBase = '';
let lastPart = ' ';

/** `isoLocal` and one space; the whole-second text of the last second is reused. */
function datePart(micros: number): string {
  if (micros % 1e6) return `${isoLocal(micros)} `;
  const base = seconds.of(micros / 1e6);
  if (base !== lastBase) {
    lastBase = base;
    lastPart = `${base} `;
  }
  return lastPart;
}
