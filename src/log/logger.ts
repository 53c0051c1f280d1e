/**
 * moatd's log, laid out like fail2ban's (reference §7) so existing tooling (recidive,
 * log watchers) keeps working:
 *   `2026-11-21 05:20:03,553 moat.actions           [10552]: NOTICE  [sshd] Ban 192.0.2.10`
 * Targets: a file path, STDOUT, STDERR, SYSOUT, SYSLOG, SYSTEMD-JOURNAL. Under systemd
 * (JOURNAL_STREAM set) stream targets print `<N>`-prefixed lines without timestamps so the
 * journal keeps the priority and nothing is doubled. Writes are buffered per event-loop turn.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, statSync, writeSync } from 'node:fs';
import { MoatError } from '../errors.ts';
import { LocalSecondText } from '../util/local-time.ts';

export const LEVELS = {
  CRITICAL: 50,
  ERROR: 40,
  WARNING: 30,
  NOTICE: 25,
  INFO: 20,
  MSG: 18,
  DEBUG: 10,
  TRACEDEBUG: 7,
  HEAVYDEBUG: 5,
} as const;
export type LevelName = keyof typeof LEVELS;

/** Display names (fail2ban prints TRACE/HEAVY for the two lowest). */
const LEVEL_LABEL: Record<number, string> = {
  50: 'CRITICAL',
  40: 'ERROR',
  30: 'WARNING',
  25: 'NOTICE',
  20: 'INFO',
  18: 'MSG',
  10: 'DEBUG',
  7: 'TRACE',
  5: 'HEAVY',
};

/** The label a log line shows for `level` (fail2ban prints TRACE/HEAVY for 7 and 5, `#NN-Lev.` otherwise). */
export function levelLabel(level: number): string {
  return LEVEL_LABEL[level] ?? `#${String(level).padStart(2, '0')}-Lev.`;
}

/** syslog severities for each level. */
function syslogSeverity(level: number): number {
  if (level >= 50) return 2;
  if (level >= 40) return 3;
  if (level >= 30) return 4;
  if (level >= 25) return 5;
  if (level >= 18) return 6;
  return 7;
}

const FACILITIES: Record<string, number> = {
  KERN: 0, USER: 1, MAIL: 2, DAEMON: 3, AUTH: 4, SYSLOG: 5, LPR: 6, NEWS: 7, UUCP: 8, CRON: 9, AUTHPRIV: 10,
  FTP: 11, LOCAL0: 16, LOCAL1: 17, LOCAL2: 18, LOCAL3: 19, LOCAL4: 20, LOCAL5: 21, LOCAL6: 22, LOCAL7: 23,
};

export function parseLevel(value: string | number): number {
  if (typeof value === 'number') return value;
  const v = value.trim().toUpperCase();
  if (/^\d+$/.test(v)) return Number(v);
  if (v in LEVELS) return LEVELS[v as LevelName];
  if (v === 'TRACE') return 7;
  if (v === 'HEAVY') return 5;
  if (v === 'WARN') return 30;
  throw new MoatError('MOAT_ERR_LOG_LEVEL', `Unknown log level '${value}'`);
}

export interface LogTargetOptions {
  datetime?: boolean;
  padding?: boolean;
  facility?: string;
}

export interface LogRecord {
  time: number;
  level: number;
  name: string;
  message: string;
}

type Sink =
  | { kind: 'fd'; fd: number; ownFd: boolean; path?: string }
  | { kind: 'process'; child: ChildProcess };

export class Logger {
  level: number;
  target: string;
  readonly syslogSocket: string;
  private sink: Sink;
  private datetime: boolean;
  private padding: boolean;
  private journalPrefix: boolean;
  private facility: number;
  private buffer: string[] = [];
  private flushScheduled = false;
  private readonly listeners = new Set<(r: LogRecord) => void>();
  /** Formatted line heads (prefix, name, pid, level) by logger name and level; cleared on setTarget. */
  private heads = new Map<string, Map<number, { prefix: string; rest: string }>>();

  constructor(opts: { target?: string; level?: string | number; syslogSocket?: string } = {}) {
    this.level = parseLevel(opts.level ?? 'INFO');
    this.syslogSocket = opts.syslogSocket && opts.syslogSocket !== 'auto' ? opts.syslogSocket : '/dev/log';
    this.target = 'STDERR';
    this.sink = { kind: 'fd', fd: 2, ownFd: false };
    this.datetime = true;
    this.padding = true;
    this.journalPrefix = false;
    this.facility = FACILITIES.DAEMON!;
    this.setTarget(opts.target ?? 'STDERR');
  }

  /** Receives every record at or above the level (the control socket's watch stream uses it). */
  subscribe(fn: (r: LogRecord) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Changes the target; on failure the previous target stays and an error is thrown. */
  setTarget(spec: string, options: LogTargetOptions = {}): void {
    const [name, opts] = splitTargetOptions(spec);
    const upper = name.toUpperCase();
    const underJournal = !!process.env.JOURNAL_STREAM;
    let sink: Sink;
    let datetime = true;
    let padding = true;
    let journalPrefix = false;
    if (upper === 'STDOUT' || upper === 'STDERR' || upper === 'SYSOUT') {
      sink = { kind: 'fd', fd: upper === 'STDERR' ? 2 : 1, ownFd: false };
      datetime = upper !== 'SYSOUT';
      if (underJournal && upper !== 'SYSOUT') {
        journalPrefix = true;
        datetime = false;
      }
    } else if (upper === 'SYSLOG') {
      if (!existsSync(this.syslogSocket) || !statSync(this.syslogSocket).isSocket()) {
        throw new MoatError('MOAT_ERR_LOG_TARGET', `Syslog socket file: ${this.syslogSocket} does not exists or is not a socket`);
      }
      // node core cannot send unix datagrams: util-linux logger relays lines with their <PRI> prefix
      const child = spawn('logger', ['--socket', this.syslogSocket, '--prio-prefix', '--id=' + process.pid, '-t', 'moat'], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.on('error', () => {});
      child.unref();
      (child.stdin as NodeJS.WritableStream & { unref?: () => void }).on('error', () => {});
      sink = { kind: 'process', child };
      datetime = false;
      padding = false;
      journalPrefix = true;
    } else if (upper === 'SYSTEMD-JOURNAL') {
      const child = spawn('systemd-cat', ['-t', 'moat', '--level-prefix=true'], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('error', () => {});
      child.unref();
      sink = { kind: 'process', child };
      datetime = false;
      padding = false;
      journalPrefix = true;
    } else {
      let fd: number;
      try {
        fd = openSync(name, 'a', 0o600);
      } catch (e) {
        throw new MoatError('MOAT_ERR_LOG_TARGET', `Unable to log to '${name}': ${(e as Error).message}`);
      }
      sink = { kind: 'fd', fd, ownFd: true, path: name };
    }
    if (opts['datetime'] !== undefined) datetime = /^(on|yes|true|1)$/i.test(opts['datetime']);
    if (opts['padding'] !== undefined) padding = /^(on|yes|true|1)$/i.test(opts['padding']);
    if (options.datetime !== undefined) datetime = options.datetime;
    if (options.padding !== undefined) padding = options.padding;
    const facility = (opts['facility'] ?? options.facility ?? 'DAEMON').toUpperCase();
    this.flush();
    this.closeSink();
    this.sink = sink;
    this.target = name;
    this.datetime = datetime;
    this.padding = padding;
    this.journalPrefix = journalPrefix;
    this.facility = FACILITIES[facility] ?? FACILITIES.DAEMON!;
    this.heads.clear();
  }

  /** Reopens a file target (logrotate); returns fail2ban's flushlogs answer. */
  reopen(): 'rolled over' | 'flushed' {
    this.flush();
    if (this.sink.kind === 'fd' && this.sink.ownFd && this.sink.path) {
      const path = this.sink.path;
      try {
        const fd = openSync(path, 'a', 0o600);
        closeSync(this.sink.fd);
        this.sink = { kind: 'fd', fd, ownFd: true, path };
      } catch {
        /* keep the old fd */
      }
      return 'rolled over';
    }
    return 'flushed';
  }

  isEnabled(level: number): boolean {
    return level >= this.level;
  }

  log(level: number, name: string, message: string): void {
    if (level < this.level) return;
    const time = Date.now();
    if (this.listeners.size) {
      const rec = { time: time / 1000, level, name, message };
      for (const l of this.listeners) l(rec);
    }
    this.buffer.push(this.format(time, level, name, message));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  format(time: number, level: number, name: string, message: string): string {
    let byLevel = this.heads.get(name);
    if (!byLevel) this.heads.set(name, (byLevel = new Map()));
    let head = byLevel.get(level);
    if (head === undefined) {
      head = this.head(level, name);
      byLevel.set(level, head);
    }
    return this.datetime ? `${head.prefix}${formatAsctime(time)} ${head.rest}${message}\n` : `${head.prefix}${head.rest}${message}\n`;
  }

  /** The parts of a line around the time that depend only on the target, the logger name and the level. */
  private head(level: number, name: string): { prefix: string; rest: string } {
    const label = levelLabel(level);
    // journald's stream protocol and systemd-cat take a bare severity <0>..<7>; syslog wants facility too
    const prefix = this.journalPrefix ? `<${(this.target.toUpperCase() === 'SYSLOG' ? this.facility * 8 : 0) + syslogSeverity(level)}>` : '';
    const rest = this.padding ? `${name.padEnd(24)}[${process.pid}]: ${label.padEnd(7)} ` : `${name}[${process.pid}]: ${label} `;
    return { prefix, rest };
  }

  flush(): void {
    this.flushScheduled = false;
    if (!this.buffer.length) return;
    const text = this.buffer.join('');
    this.buffer = [];
    try {
      if (this.sink.kind === 'fd') writeSync(this.sink.fd, text);
      else this.sink.child.stdin?.write(text);
    } catch {
      /* a log that cannot be written must not take the daemon down */
    }
  }

  close(): void {
    this.flush();
    this.closeSink();
  }

  private closeSink(): void {
    const s = this.sink;
    if (s.kind === 'fd' && s.ownFd) {
      try {
        fstatSync(s.fd);
        closeSync(s.fd);
      } catch {
        /* already closed */
      }
    } else if (s.kind === 'process') {
      s.child.stdin?.end();
    }
  }

  /** A named child logger: `logger.child('moat.actions')`. */
  child(name: string): NamedLogger {
    return new NamedLogger(this, name);
  }
}

export class NamedLogger {
  constructor(
    readonly root: Logger,
    readonly name: string,
  ) {}
  critical(m: string): void {
    this.root.log(50, this.name, m);
  }
  error(m: string): void {
    this.root.log(40, this.name, m);
  }
  warning(m: string): void {
    this.root.log(30, this.name, m);
  }
  notice(m: string): void {
    this.root.log(25, this.name, m);
  }
  info(m: string): void {
    this.root.log(20, this.name, m);
  }
  msg(m: string): void {
    this.root.log(18, this.name, m);
  }
  debug(m: string): void {
    this.root.log(10, this.name, m);
  }
  log(level: number, m: string): void {
    this.root.log(level, this.name, m);
  }
  enabled(level: number): boolean {
    return this.root.isEnabled(level);
  }
}

// two caches: the clock (asctime of log lines) and the times of log entries (formatTime) differ
const asctimeSeconds = new LocalSecondText(' ');
const timeSeconds = new LocalSecondText(' ');

/** `YYYY-MM-DD HH:MM:SS,mmm` in local time. */
export function formatAsctime(ms: number): string {
  const second = Math.floor(ms / 1000);
  return `${asctimeSeconds.of(second)},${String(Math.floor(ms - second * 1000)).padStart(3, '0')}`;
}

/** `YYYY-MM-DD HH:MM:SS` in local time (fail2ban's time2str). */
export function formatTime(seconds: number): string {
  return timeSeconds.of(Math.floor(seconds));
}

function splitTargetOptions(spec: string): [string, Record<string, string>] {
  const m = /^([^[]+)\[(.*)\]\s*$/s.exec(spec.trim());
  if (!m) return [spec.trim(), {}];
  const opts: Record<string, string> = {};
  for (const part of m[2]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    opts[part.slice(0, eq).trim().toLowerCase()] = part
      .slice(eq + 1)
      .trim()
      .replace(/^(["'])(.*)\1$/, '$2');
  }
  return [m[1]!.trim(), opts];
}
