/**
 * What the command dispatcher (transmitter.ts) needs from the daemon.
 *
 * The transmitter parses fail2ban's command words, converts arguments and
 * builds fail2ban's reply shapes; the daemon implements this interface with
 * typed values and throws MoatErrors (UnknownJailError for a missing jail,
 * InvalidArgumentError for bad values, DuplicateJailError below...).
 * Every method may return a Promise.
 */
import { MoatError } from '../errors.ts';

export type MaybePromise<T> = T | Promise<T>;

/** Server-wide options of `set/get <option>` (§6.2 "Logging / database / global"). */
export type ServerOption =
  | 'loglevel'
  | 'logtarget'
  | 'syslogsocket'
  | 'allowipv6'
  | 'thread'
  | 'dbfile'
  | 'dbmaxmatches'
  | 'dbpurgeage';

export const BANTIME_EXTRA_OPTIONS = [
  'increment',
  'factor',
  'formula',
  'multipliers',
  'maxtime',
  'rndtime',
  'overalljails',
] as const;
export type BantimeExtraOption = `bantime.${(typeof BANTIME_EXTRA_OPTIONS)[number]}`;

/**
 * Jail options with one value, read by `get JAIL opt` and written by `set JAIL opt VALUE`.
 * Values reach `setJailOption` converted: `idle` → boolean, `maxretry|maxmatches|maxlines` → integer;
 * all others as the string given (time values like "10m" are parsed by the daemon).
 */
export type JailScalarOption =
  | 'idle'
  | 'ignoreself'
  | 'ignorecommand'
  | 'ignorecache'
  | 'logencoding'
  | 'prefregex'
  | 'usedns'
  | 'findtime'
  | 'bantime'
  | 'datepattern'
  | 'logtimezone'
  | 'maxretry'
  | 'maxmatches'
  | 'maxlines'
  | BantimeExtraOption;

export type StatusFlavor = 'basic' | 'short' | 'cymru';

export interface JailStatus {
  filter: {
    currentlyFailed: number;
    totalFailed: number;
    /** File jails: monitored files. */
    fileList?: string[];
    /** Journal jails: match groups (each a list of words, `+` excluded). */
    journalMatches?: string[][];
  };
  actions: {
    currentlyBanned: number;
    totalBanned: number;
    /** Current bans (not needed for flavor `short`). */
    bannedIps: string[];
    /** Flavor `cymru` only; when absent the lists show "error" like fail2ban without DNS support. */
    cymru?: { asn: string[]; country: string[]; rir: string[] };
  };
}

/** One entry of `get JAIL banip`, ordered by end of ban. */
export interface BanListEntry {
  ip: string;
  /** Epoch seconds. */
  start: number;
  /** Seconds; -1 = permanent. */
  bantime: number;
}

export interface ReloadOptions {
  restart: boolean;
  unban: boolean;
  ifExists: boolean;
  /**
   * Present when the client sent a config stream (fail2ban-client style): the daemon calls it
   * between the begin and end phases of the reload, the transmitter applies the stream quietly.
   * Absent: the daemon re-reads its own configuration.
   */
  applyStream?: () => Promise<void>;
}

export interface DaemonApi {
  // --- server ---
  version(): string;
  /**
   * `stop`: must return promptly and schedule the teardown (e.g. setImmediate/setTimeout) so the
   * reply reaches the client; close the ControlServer last. Awaiting ControlServer.close() in here
   * would drop the reply (close() destroys open connections).
   */
  shutdown(): MaybePromise<void>;
  /** Names of the running jails (any order; the transmitter sorts). */
  jailNames(): MaybePromise<string[]>;
  jailStatus(jail: string, flavor: StatusFlavor): MaybePromise<JailStatus>;
  /** Current bans of every jail. */
  bannedByJail(): MaybePromise<{ jail: string; ips: string[] }[]>;
  /** Jails where `ip` is banned. */
  jailsBanning(ip: string): MaybePromise<string[]>;
  /** Unbans everything in all jails and the store; returns the count. */
  unbanAll(): MaybePromise<number>;
  /** Unbans the ips in all jails and the store; missing ones are ignored; returns the count. */
  unbanEverywhere(ips: string[]): MaybePromise<number>;
  addJail(jail: string, backend: string): MaybePromise<void>;
  startJail(jail: string): MaybePromise<void>;
  /** Stops and removes the jail. */
  stopJail(jail: string): MaybePromise<void>;
  stopAllJails(): MaybePromise<void>;
  /** `jail` null = all jails. */
  reload(jail: string | null, opts: ReloadOptions): MaybePromise<void>;
  /** Reopens the log file: 'rolled over' (file target) or 'flushed'. */
  flushLogs(): MaybePromise<string>;
  /** `config-error MSG`: log MSG at ERROR. */
  logConfigError(message: string): MaybePromise<void>;
  getServerOption(option: ServerOption): MaybePromise<unknown>;
  /** Returns the resulting value (`dbfile` None → null). */
  setServerOption(option: ServerOption, value: CommandValue): MaybePromise<unknown>;

  // --- jail options ---
  getJailOption(jail: string, option: JailScalarOption): MaybePromise<unknown>;
  setJailOption(jail: string, option: JailScalarOption, value: string | number | boolean): MaybePromise<void>;
  getIgnoreIps(jail: string): MaybePromise<string[]>;
  addIgnoreIp(jail: string, ip: string): MaybePromise<void>;
  delIgnoreIp(jail: string, ip: string): MaybePromise<void>;
  getLogPaths(jail: string): MaybePromise<string[]>;
  addLogPath(jail: string, path: string, tail: boolean): MaybePromise<void>;
  delLogPath(jail: string, path: string): MaybePromise<void>;
  getJournalMatches(jail: string): MaybePromise<string[][]>;
  /** `words` as sent: `['_SYSTEMD_UNIT=sshd.service', '+', '_COMM=sshd']`. */
  addJournalMatch(jail: string, words: string[]): MaybePromise<void>;
  delJournalMatch(jail: string, words: string[]): MaybePromise<void>;
  /** Regexes in their expanded form (after <HOST> etc.). */
  getRegexes(jail: string, kind: 'fail' | 'ignore'): MaybePromise<string[]>;
  addRegexes(jail: string, kind: 'fail' | 'ignore', regexes: string[]): MaybePromise<void>;
  delRegex(jail: string, kind: 'fail' | 'ignore', index: number): MaybePromise<void>;

  // --- bans ---
  /** `set JAIL attempt IP [LINES]`: count a manual failure; returns 1. */
  attempt(jail: string, ip: string, lines: string[]): MaybePromise<number>;
  banIps(jail: string, ips: string[]): MaybePromise<number>;
  /** reportAbsent: throw "not banned: [...]" for ips that were not banned. */
  unbanIps(jail: string, ips: string[], reportAbsent: boolean): MaybePromise<number>;
  bannedIn(jail: string): MaybePromise<string[]>;
  isBannedIn(jail: string, ip: string): MaybePromise<boolean>;
  banList(jail: string): MaybePromise<BanListEntry[]>;

  // --- actions ---
  actionNames(jail: string): MaybePromise<string[]>;
  /**
   * `set JAIL addaction ACT [PYFILE KWARGS]`: returns the name the action got (`dummy[target=/x]`
   * → `dummy`); void = ACT as given.
   */
  addAction(jail: string, action: string, pythonFile?: string, kwargs?: unknown): MaybePromise<string | void>;
  delAction(jail: string, action: string): MaybePromise<void>;
  actionProperties(jail: string, action: string): MaybePromise<string[]>;
  actionMethods(jail: string, action: string): MaybePromise<string[]>;
  getActionProperty(jail: string, action: string, property: string): MaybePromise<unknown>;
  setActionProperty(jail: string, action: string, property: string, value: CommandValue): MaybePromise<void>;
  callActionMethod(jail: string, action: string, method: string, kwargs: Record<string, unknown>): MaybePromise<unknown>;

  // --- console ---
  /** `console-state [JAIL]`: everything `moat console` shows, in one reply (src/console/PROTOCOL.md). */
  consoleState?(jail: string | null): MaybePromise<unknown>;
}

/** A scalar as it arrives in a command. */
export type CommandValue = string | number | boolean | null | Record<string, unknown> | unknown[];

// --- errors the transmitter (and the daemon) raise, mapped by the client like fail2ban's beautifier ---

/** Unknown first word, or set/get of an unknown option (fail2ban: `Exception("Invalid command")`). */
export class InvalidCommandError extends MoatError {
  override name = 'InvalidCommandError';
  constructor(message = 'Invalid command') {
    super('MOAT_ERR_INVALID_COMMAND', message);
  }
}

/** A required argument is missing (fail2ban: IndexError → "Sorry but the command is invalid"). */
export class MissingArgumentError extends MoatError {
  override name = 'MissingArgumentError';
  constructor(message: string) {
    super('MOAT_ERR_MISSING_ARGUMENT', message);
  }
}

/** `add JAIL` for an existing jail. */
export class DuplicateJailError extends MoatError {
  override name = 'DuplicateJailError';
  readonly jail: string;
  constructor(jail: string) {
    super('MOAT_ERR_DUPLICATE_JAIL', `The jail '${jail}' already exists`);
    this.jail = jail;
  }
}

/** A write command arrived on the read-only socket. */
export class ReadOnlyError extends MoatError {
  override name = 'ReadOnlyError';
  constructor(command: string) {
    super('MOAT_ERR_READ_ONLY', `'${command}' is not allowed on the read-only socket (connect to the main socket as root)`);
  }
}
