/**
 * What a filter produces for a log line: a failure of one ID at one time.
 * This is the hand-off between src/filter and src/failures.
 */
import type { Family } from '../net/ip.ts';

/** One matched log line split by the date detector: [before-date, date-text, after-date]. */
export type LineTriple = [before: string, date: string, after: string];

export interface Failure {
  /** What is counted and banned: canonical IP text, or a raw string (F-ID, DNS name in raw mode). */
  id: string;
  /** Address family when `id` (or `ip`) is an address. */
  family: Family | null;
  /** Address when it differs from `id` (F-ID plus HOST in one regex), else null. */
  ip: string | null;
  /** Epoch seconds (may be fractional). */
  time: number;
  /** Lines that took part in the match, full text (date included). */
  matches: string[];
  /** Number of lines merged into this failure (multi-line sessions). */
  attempts: number;
  /** Every captured value: user, users, F-* groups by lower-case name, ip4/ip6/dns/fid, ... */
  data: Record<string, unknown>;
  /** Index of the failregex that matched. */
  regexIndex: number;
}
