/**
 * Typed definitions produced by the config readers (the config → everyone
 * contract in ARCHITECTURE.md).
 */
import type { MoatError } from '../errors.ts';

export interface FilterDefinition {
  /** Filter name as referenced (`sshd`), or the path for a file reference. */
  name: string;
  /** Files read, in merge order. */
  files: string[];
  prefregex: string | null;
  failregex: string[];
  ignoreregex: string[];
  maxlines: number | null;
  datepattern: string | null;
  /** One entry per journalmatch line, shell-word split (`A=b + C=d` → ['A=b', '+', 'C=d']). */
  journalmatch: string[][];
  usedns: string | null;
  /** Every resolved option of the filter (Definition ← Init ← arguments), after tag substitution. */
  options: Record<string, string>;
}

export const ACTION_COMMANDS = [
  'actionstart',
  'actionstop',
  'actioncheck',
  'actionban',
  'actionunban',
  'actionflush',
  'actionreload',
  'actionrepair',
  'actionreban',
  'actionprolong',
] as const;
export type ActionCommandName = (typeof ACTION_COMMANDS)[number];

/** Seconds an action command may run when the action sets no `timeout`. */
export const DEFAULT_ACTION_TIMEOUT = 60;

export interface ActionDefinition {
  /** The action's unique name in its jail (fail2ban's `actname`, e.g. `iptables-multiport-tcp`). */
  name: string;
  /** The `action.d/NAME` file name used (`iptables-multiport`). */
  file: string;
  /** Files read, in merge order. */
  files: string[];
  /** Operations after `%(x)s` and client-side `<tag>` substitution; '' when not defined. */
  commands: Record<ActionCommandName, string>;
  actionstartOnDemand: boolean | null;
  actionrepairOnUnban: boolean;
  norestored: boolean;
  /** Per-command timeout, seconds (default 60). */
  timeout: number;
  /**
   * [Init] options and reference arguments with their raw values (may contain
   * `<tags>`), including `name`, `actname` and conditional keys such as
   * `blocktype?family=inet6`.
   */
  properties: Record<string, string>;
}

export interface LogPath {
  glob: string;
  start: 'head' | 'tail';
}

/** fail2ban's default `bantime.formula`. */
export const DEFAULT_BANTIME_FORMULA = 'ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor';

export interface BantimeIncrement {
  enabled: boolean;
  /** Python expression (default "1"). */
  factor: string;
  /** Python expression (default fail2ban's formula). */
  formula: string;
  /** From `bantime.multipliers`; empty when not set. */
  multipliers: number[];
  maxtime: number | null;
  rndtime: number | null;
  overalljails: boolean;
}

export interface IgnoreCacheSettings {
  key: string;
  maxCount: number;
  maxTime: number;
}

export interface JailDefinition {
  name: string;
  enabled: boolean;
  /** Backend name (`auto`, `polling`, `pyinotify`, `systemd`...). */
  backend: string;
  /** Options of the backend reference (`systemd[journalflags=1]`). */
  backendOptions: Record<string, string>;
  filter: FilterDefinition;
  actions: ActionDefinition[];
  /** Globs, not expanded nor checked here. Empty for systemd backends. */
  logpaths: LogPath[];
  logencoding: string;
  logtimezone: string | null;
  maxretry: number;
  maxmatches: number;
  findtime: number;
  /** Seconds, truncated to an integer; negative = permanent. */
  bantime: number;
  bantimeIncrement: BantimeIncrement;
  ignoreip: string[];
  ignoreself: boolean;
  ignorecommand: string | null;
  ignorecache: IgnoreCacheSettings | null;
  usedns: string;
  /** Effective journalmatch (same as filter.journalmatch). */
  journalmatch: string[][];
  /** Section header of the jail (first file that defines it). */
  source: { file: string; line: number };
}

export interface DaemonSettings {
  loglevel: string;
  logtarget: string;
  syslogsocket: string;
  socket: string;
  pidfile: string;
  /** null when `dbfile = None` (database disabled). */
  dbfile: string | null;
  /** Seconds. */
  dbpurgeage: number;
  dbmaxmatches: number | null;
  allowipv6: 'auto' | boolean;
  /** Group (name or gid) given the read-only socket `<socket>.ro`; null: no read-only socket. */
  socketgroup: string | null;
  /** Files the settings were read from (empty when defaults only). */
  files: string[];
}

export interface LoadedConfig {
  dir: string;
  daemon: DaemonSettings;
  /** Enabled jails that resolved completely. */
  jails: JailDefinition[];
  /** One error per jail (or unit) that could not be loaded. */
  errors: MoatError[];
  warnings: string[];
}
