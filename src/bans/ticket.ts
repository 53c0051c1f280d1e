/**
 * A ban as it travels from the ban manager to the actions and the store.
 */
import type { Family } from '../net/ip.ts';

export interface BanTicket {
  jail: string;
  /** What is banned: canonical IP text or a raw id. */
  id: string;
  /** The address to act on (equals id for address ids; null for raw ids with no address). */
  ip: string | null;
  family: Family | null;
  /** Time of the ban in epoch seconds (time of the last counted failure, or now for manual bans). */
  time: number;
  /** Seconds; -1 = permanent. */
  bantime: number;
  /** How many times this id was banned in this jail (1 for the first ban). */
  banCount: number;
  /** Failures that led to the ban. */
  failures: number;
  /** Matched log lines (most recent last), truncated to maxmatches. */
  matches: string[];
  /** Captured values of the failure (user, F-* groups, ...). */
  data: Record<string, unknown>;
  /** True when restored from the store at start (actions with norestored skip it). */
  restored: boolean;
}

/** End of ban in epoch seconds; Infinity for permanent bans. */
export function banEnd(t: Pick<BanTicket, 'time' | 'bantime'>): number {
  return t.bantime < 0 ? Infinity : t.time + t.bantime;
}
