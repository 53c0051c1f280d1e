/**
 * Shapes shared by the log sources and the jail that consumes them.
 *
 * Delivery is synchronous: a source reads in its I/O callback and calls the
 * jail's callback before returning, so the line that reaches maxretry bans in
 * the same event-loop turn that read it.
 */

/** One complete, decoded log line (no trailing `\r\n`). */
export interface SourceLine {
  text: string;
  /** The log file it came from (the expanded path, not the glob). */
  path: string;
  /** Byte offset just after this line's newline. */
  pos: number;
}

/**
 * `restore`: the initial read of content that existed when the source started
 * (§2.1 step 2 drops entries older than findtime); `operation`: live content
 * (entries far from "now" are treated as just happened).
 */
export type SourceMode = 'restore' | 'operation';

export interface SourceContext {
  mode: SourceMode;
  /** File the batch came from (file sources only). */
  path?: string;
}

/** Read positions per log file, as the store keeps them (§4.6 `logs` table). */
export interface LogPositionStore {
  get(path: string): { hash: string; pos: number } | undefined;
  set(path: string, hash: string, pos: number): void;
}

/** The daemon's logger, reduced to what sources say. Every method is optional. */
export interface SourceLogger {
  debug?(message: string): void;
  info?(message: string): void;
  notice?(message: string): void;
  warning?(message: string): void;
  error?(message: string): void;
}

/** In-memory LogPositionStore, for tests and for running without a database. */
export class MemoryPositionStore implements LogPositionStore {
  readonly entries = new Map<string, { hash: string; pos: number }>();
  get(path: string): { hash: string; pos: number } | undefined {
    const e = this.entries.get(path);
    return e ? { ...e } : undefined;
  }
  set(path: string, hash: string, pos: number): void {
    this.entries.set(path, { hash, pos });
  }
}

/** The message of a thrown value, for the sources' log lines and status. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
