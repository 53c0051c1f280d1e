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

import { firstValue, type JournalEntry } from './journal-export.ts';

export interface JournalLine {
  /** The regex subject (fail2ban's "after date" part of the line triple). */
  text: string;
  /** Entry time, epoch seconds with microseconds. */
  time: number;
  /**
   * Local-time ISO timestamp (Python `datetime.isoformat()`: no fraction when
   * the microseconds are 0); fail2ban uses it plus a space as the date part.
   */
  dateText: string;
  cursor: string;
}

/** Fields the formatter reads: the export parser can skip every other one. */
export const JOURNAL_LINE_FIELDS: ReadonlySet<string> = new Set([
  '__CURSOR',
  '__REALTIME_TIMESTAMP',
  '__MONOTONIC_TIMESTAMP',
  '_SOURCE_REALTIME_TIMESTAMP',
  '_SOURCE_MONOTONIC_TIMESTAMP',
  '_HOSTNAME',
  'SYSLOG_IDENTIFIER',
  '_COMM',
  'SYSLOG_PID',
  '_PID',
  'MESSAGE',
]);

/** Builds the line for one entry; null when it has no usable timestamp or cursor. */
export function formatJournalEntry(entry: JournalEntry): JournalLine | null {
  const cursor = firstValue(entry, '__CURSOR');
  const micros = parseMicros(firstValue(entry, '_SOURCE_REALTIME_TIMESTAMP')) ?? parseMicros(firstValue(entry, '__REALTIME_TIMESTAMP'));
  if (cursor === undefined || micros === undefined) return null;

  const parts: string[] = [];
  const host = firstValue(entry, '_HOSTNAME');
  if (host) parts.push(host);
  const ident = firstValue(entry, 'SYSLOG_IDENTIFIER') || firstValue(entry, '_COMM');
  if (ident) {
    let tag = ident;
    const pid = firstValue(entry, 'SYSLOG_PID') || firstValue(entry, '_PID');
    if (pid) tag += `[${formatPid(pid)}]`;
    tag += ':';
    parts.push(tag);
    if (tag === 'kernel:') {
      const mono =
        parseMicros(firstValue(entry, '_SOURCE_MONOTONIC_TIMESTAMP')) ?? parseMicros(firstValue(entry, '__MONOTONIC_TIMESTAMP'));
      if (mono !== undefined) parts.push(`[${formatSeconds(mono).padStart(12)}]`);
    }
  }
  const message = entry.MESSAGE;
  parts.push(Array.isArray(message) ? message.join(' ') : (message ?? ''));
  return {
    text: parts.join(' ').replace(/\n/g, '\\n'),
    time: micros / 1e6,
    dateText: isoLocal(micros),
    cursor,
  };
}

function parseMicros(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** `%i` of Python's `int(v, 0)`, or the value as it is when that fails (fail2ban's fallback). */
function formatPid(v: string): string {
  const s = v.trim();
  const m = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)$/.exec(s);
  if (!m) return v;
  const n = BigInt(m[2]!.replace(/_/g, '')); // BigInt reads 0x/0o/0b prefixes like int(v, 0)
  return `${m[1] === '-' && n !== 0n ? '-' : ''}${n}`;
}

/** `%.6f` of microseconds as seconds, exact for integer microseconds. */
function formatSeconds(micros: number): string {
  const whole = Math.floor(micros / 1e6);
  return `${whole}.${String(micros - whole * 1e6).padStart(6, '0')}`;
}

/** Python `datetime.fromtimestamp(t).isoformat()` in the process time zone. */
export function isoLocal(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base =
    `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  const frac = micros % 1e6;
  return frac ? `${base}.${String(frac).padStart(6, '0')}` : base;
}
