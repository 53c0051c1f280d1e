/**
 * FileSource: follows a jail's logpath globs (§8.1, §8.2) and hands complete
 * lines to the jail synchronously, in the I/O callback that read them.
 *
 * Backends: `inotify` (aliases `pyinotify`, `gamin`) uses fs.watch on every
 * file (inode: modifications, also of a renamed-away file) and on every
 * directory holding files or glob candidates (create/rename/delete); a stat
 * loop still runs for what cannot be watched (missing directories, globs with
 * wildcards in directory names) and, every few ticks, as a safety net for
 * lost events. `polling` only uses the stat loop. `auto` = inotify when
 * fs.watch works, else polling.
 *
 * Unlike fail2ban, files that appear after start (a glob match, or a log that
 * did not exist yet) are picked up without a reload.
 */

import { watch as fsWatch, statSync, type FSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigValueError, type ErrorLocation } from '../errors.ts';
import { createLineDecoder } from './encoding.ts';
import { compileGlob, expandGlob, hasGlobMagic, type CompiledGlob } from './glob.ts';
import { LogFile, type LogFileState } from './log-file.ts';
import { errorText, type LogPositionStore, type SourceContext, type SourceLine, type SourceLogger, type SourceMode } from './types.ts';

export type FileBackendName = 'auto' | 'inotify' | 'polling';

/** Maps a `backend` value to the file backend it selects; throws for unknown names and for systemd. */
export function resolveFileBackend(name: string, where: ErrorLocation = { option: 'backend' }): FileBackendName {
  const base = name.trim().replace(/\[.*\]$/s, '').trim().toLowerCase();
  switch (base) {
    case '':
    case 'auto':
      return 'auto';
    case 'inotify':
    case 'pyinotify':
    case 'gamin':
      return 'inotify';
    case 'polling':
      return 'polling';
    case 'systemd':
      throw new ConfigValueError(`backend '${name}' reads the journal, not files (use JournalSource)`, where);
    default:
      throw new ConfigValueError(`Unknown backend '${name}'`, where);
  }
}

export type WatchFunction = (path: string, listener: (event: string, filename: string | null) => void) => FSWatcher;

export interface FileSourceOptions {
  /** Jail name, used in messages. */
  jail?: string;
  logpaths: { glob: string; start?: 'head' | 'tail' }[];
  /** `auto` (default), `inotify`/`pyinotify`/`gamin`, `polling`. */
  backend?: string;
  /** Python codec name; `auto`/unset = UTF-8. */
  logencoding?: string;
  positions?: LogPositionStore;
  /** Called synchronously with each batch of complete lines. */
  onLines(lines: SourceLine[], ctx: SourceContext): void;
  logger?: SourceLogger;
  /** Stat-loop interval (polling backend, missing files/dirs), ms. Default 1000. */
  pollIntervalMs?: number;
  /** With inotify: every this many poll ticks, stat all files anyway (lost-event safety net). Default 5. */
  safetyEveryTicks?: number;
  /** Longest line kept; the rest up to the newline is dropped. Default 64 KiB. */
  maxLineBytes?: number;
  /** Bytes read per pread. Default 64 KiB. */
  readChunkBytes?: number;
  /** Bytes read per file and event-loop turn before yielding (big writes, catch-up). Default 256 KiB. */
  turnBudgetBytes?: number;
  /** How long a rotated-away file keeps being read after the new one appeared, ms. Default 5000. */
  rotationGraceMs?: number;
  /** fs.watch replacement (tests: make it throw to simulate a system without inotify). */
  watch?: WatchFunction;
}

export interface FileStatus {
  path: string;
  state: LogFileState;
  /** How changes are noticed. */
  watch: 'inotify' | 'polling';
  mode: SourceMode;
  pos: number;
  size: number | undefined;
  inode: number | undefined;
  hash: string;
  lastError?: string;
}

export interface FileSourceStatus {
  kind: 'file';
  requestedBackend: FileBackendName;
  backend: 'inotify' | 'polling';
  running: boolean;
  globs: string[];
  files: FileStatus[];
  linesDelivered: number;
  /** false when a file cannot be read (permission, I/O error) or the consumer threw last time. */
  healthy: boolean;
  lastError?: string;
}

interface GlobEntry {
  glob: CompiledGlob;
  start: 'head' | 'tail';
}

/**
 * Bytes read per file and event-loop turn (~2,500 sshd lines, ~20–30 ms): between turns the bans of
 * the last one go to nft (on the other core) and the control socket answers, during a big write.
 */
const DEFAULT_TURN_BUDGET = 256 * 1024;

export class FileSource {
  readonly requestedBackend: FileBackendName;
  #backend: 'inotify' | 'polling';
  #opts: FileSourceOptions;
  #logger: SourceLogger;
  #decoder;
  #chunk: Buffer;
  #globs = new Map<string, GlobEntry>();
  #files = new Map<string, LogFile>();
  #dirWatchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | null = null;
  #ticks = 0;
  #running = false;
  #pendingContinue = new Set<LogFile>();
  #continueScheduled = false;
  #linesDelivered = 0;
  #lastError: string | undefined;
  #consumerFailed = false;
  #watch: WatchFunction;

  constructor(opts: FileSourceOptions) {
    this.#opts = opts;
    this.#logger = opts.logger ?? {};
    this.requestedBackend = resolveFileBackend(opts.backend ?? 'auto');
    this.#backend = this.requestedBackend === 'polling' ? 'polling' : 'inotify';
    this.#decoder = createLineDecoder(opts.logencoding);
    this.#chunk = Buffer.allocUnsafe(opts.readChunkBytes ?? 64 * 1024);
    this.#watch = opts.watch ?? ((p, l) => fsWatch(p, { persistent: false }, l));
    for (const lp of opts.logpaths) this.#globs.set(lp.glob, { glob: compileGlob(lp.glob), start: lp.start ?? 'head' });
  }

  /** Backend in use: 'inotify' unless polling was requested or fs.watch does not work here. */
  get backend(): 'inotify' | 'polling' {
    return this.#backend;
  }

  /**
   * Expands the globs, opens the files (positions resumed, `tail` at end) and
   * starts watching. The initial read happens on the next turn.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#backend === 'inotify') this.#probeWatch();
    for (const entry of this.#globs.values()) this.#expand(entry, true);
    this.#watchDirs();
    const interval = this.#opts.pollIntervalMs ?? 1000;
    this.#timer = setInterval(() => this.#tick(), interval);
    this.#timer.unref();
    for (const f of this.#files.values()) this.#pendingContinue.add(f);
    this.#scheduleContinue();
  }

  /** Closes files and watches. Positions were already handed to the store after each batch. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const w of this.#dirWatchers.values()) w.close();
    this.#dirWatchers.clear();
    for (const f of this.#files.values()) f.close();
    this.#files.clear();
    this.#pendingContinue.clear();
  }

  /** `set JAIL addlogpath`: adds a glob while running. */
  addLogPath(glob: string, start: 'head' | 'tail' = 'head'): void {
    if (this.#globs.has(glob)) return;
    const entry = { glob: compileGlob(glob), start };
    this.#globs.set(glob, entry);
    if (!this.#running) return;
    for (const f of this.#expand(entry, true)) this.#check(f);
    this.#watchDirs();
  }

  /** `set JAIL dellogpath`: stops following a glob and the files only it matched. */
  removeLogPath(glob: string): void {
    if (!this.#globs.delete(glob)) return;
    for (const [path, file] of this.#files) {
      if (![...this.#globs.values()].some((g) => g.glob.matches(path))) {
        file.close();
        this.#files.delete(path);
        this.#pendingContinue.delete(file);
      }
    }
    this.#watchDirs();
  }

  /** Paths currently followed (fail2ban's "File list"). */
  get files(): string[] {
    return [...this.#files.keys()];
  }

  status(): FileSourceStatus {
    const files: FileStatus[] = [...this.#files.values()].map((f) => ({
      path: f.path,
      state: f.state,
      watch: f.polled || this.#backend === 'polling' ? 'polling' : 'inotify',
      mode: f.mode,
      pos: f.pos,
      size: f.size,
      inode: f.inode,
      hash: f.hash,
      ...(f.lastError !== undefined ? { lastError: f.lastError } : {}),
    }));
    const fileError = files.find((f) => f.state === 'error')?.lastError;
    const lastError = fileError ?? this.#lastError;
    return {
      kind: 'file',
      requestedBackend: this.requestedBackend,
      backend: this.#backend,
      running: this.#running,
      globs: [...this.#globs.keys()],
      files,
      linesDelivered: this.#linesDelivered,
      healthy: this.#running && fileError === undefined && !this.#consumerFailed,
      ...(lastError !== undefined ? { lastError } : {}),
    };
  }

  /** Checks that fs.watch works at all; otherwise falls back to polling (§8.1 fall-through). */
  #probeWatch(): void {
    try {
      const w = this.#watch(process.cwd(), () => {});
      w.close();
    } catch (err) {
      this.#backend = 'polling';
      const msg = `Could only initiated 'polling' backend whenever '${this.#opts.backend ?? 'auto'}' was requested (${errorText(err)})`;
      if (this.requestedBackend === 'auto') this.#logger.debug?.(msg);
      else this.#logger.warning?.(msg);
    }
  }

  /** Adds files matching `entry`; at start they follow the glob's head/tail, later ones are read from the start. */
  #expand(entry: GlobEntry, initial: boolean): LogFile[] {
    const added: LogFile[] = [];
    const { files, dangling } = expandGlob(entry.glob.pattern);
    for (const d of dangling) {
      if (!this.#files.has(d)) this.#logger.warning?.(`File ${d} is a dead symbolic link, skipped`);
    }
    const paths = files.length || hasGlobMagic(entry.glob.pattern) ? files : [resolve(entry.glob.pattern)];
    for (const path of paths) {
      if (this.#files.has(path)) continue;
      const file = this.#newFile(path);
      this.#files.set(path, file);
      const opened = initial ? file.open(entry.start, 'restore') : file.open('head', 'operation');
      if (!opened && file.state === 'missing') {
        this.#logger.info?.(`Log file ${path} does not exist yet; waiting for it`);
      }
      added.push(file);
    }
    return added;
  }

  #newFile(path: string): LogFile {
    return new LogFile(path, {
      decoder: this.#decoder,
      maxLineBytes: this.#opts.maxLineBytes ?? 64 * 1024,
      chunk: this.#chunk,
      rotationGraceMs: this.#opts.rotationGraceMs ?? 5000,
      positions: this.#opts.positions,
      logger: this.#logger,
      deliver: (lines, mode) => this.#deliver(lines, mode, path),
      watchInode: this.#backend === 'inotify' ? (p, onChange) => this.#watchInode(p, onChange) : undefined,
      onWatchFailed: (p) => {
        const f = this.#files.get(p);
        if (f) f.polled = true;
      },
      onChange: (f) => this.#check(f),
    });
  }

  #deliver(lines: SourceLine[], mode: SourceMode, path: string): void {
    this.#linesDelivered += lines.length;
    try {
      this.#opts.onLines(lines, { mode, path });
      this.#consumerFailed = false;
    } catch (err) {
      // A failing consumer must not stall the file: the batch counts as read.
      this.#consumerFailed = true;
      this.#lastError = `processing lines of ${path} failed: ${errorText(err)}`;
      this.#logger.error?.(this.#lastError);
    }
  }

  #watchInode(path: string, onChange: () => void): (() => void) | null {
    try {
      const w = this.#watch(path, () => onChange());
      w.on('error', () => w.close());
      return () => w.close();
    } catch (err) {
      this.#logger.warning?.(`Cannot watch ${path} (${errorText(err)}); polling it`);
      return null;
    }
  }

  /** One watch per directory holding a followed file or a flat glob's candidates. */
  #watchDirs(): void {
    if (this.#backend !== 'inotify' || !this.#running) return;
    const wanted = new Set<string>();
    for (const path of this.#files.keys()) wanted.add(dirname(path));
    for (const { glob } of this.#globs.values()) if (glob.flat) wanted.add(glob.base);
    for (const [dir, w] of this.#dirWatchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.#dirWatchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.#dirWatchers.has(dir)) continue;
      try {
        const w = this.#watch(dir, (_event, name) => this.#onDirEvent(dir, name));
        w.on('error', () => {
          // Directory removed: the stat loop re-creates the watch when it is back.
          w.close();
          if (this.#dirWatchers.get(dir) === w) this.#dirWatchers.delete(dir);
        });
        this.#dirWatchers.set(dir, w);
      } catch {
        /* missing directory (or no inotify left): the tick retries and the stat loop covers it */
      }
    }
  }

  #onDirEvent(dir: string, name: string | null): void {
    if (!this.#running) return;
    if (name === null) {
      for (const f of this.#files.values()) if (dirname(f.path) === dir) this.#check(f);
      this.#rescan(true);
      return;
    }
    const path = join(dir, name);
    const file = this.#files.get(path);
    if (file) {
      this.#check(file);
      return;
    }
    for (const entry of this.#globs.values()) {
      if (entry.glob.flat && entry.glob.base === dir && entry.glob.matches(path) && isFile(path)) {
        for (const f of this.#expand(entry, false)) this.#check(f);
        this.#watchDirs();
        return;
      }
    }
  }

  /** Re-expands globs (all of them, or only those a directory watch cannot cover). */
  #rescan(all: boolean): void {
    let added = false;
    for (const entry of this.#globs.values()) {
      if (!all && this.#backend === 'inotify' && entry.glob.flat && this.#dirWatchers.has(entry.glob.base)) continue;
      for (const f of this.#expand(entry, false)) {
        added = true;
        this.#check(f);
      }
    }
    if (added) this.#watchDirs();
  }

  #tick(): void {
    if (!this.#running) return;
    this.#ticks++;
    const polling = this.#backend === 'polling';
    this.#rescan(polling);
    if (!polling) this.#watchDirs();
    const safety = !polling && this.#ticks % (this.#opts.safetyEveryTicks ?? 5) === 0;
    for (const f of this.#files.values()) {
      if (polling || safety || f.polled || f.state !== 'open' || f.hasRetired) this.#pollFile(f);
    }
  }

  /** Stat-based change detection: (inode, size, mtime) differ from the last poll → check. */
  #pollFile(f: LogFile): void {
    let sig: string;
    try {
      const st = statSync(f.path);
      sig = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      sig = 'absent';
    }
    if (sig !== f.pollSignature || f.hasRetired || f.state !== 'open') {
      f.pollSignature = sig;
      this.#check(f);
    }
  }

  #check(f: LogFile): void {
    if (!this.#running || !this.#files.has(f.path)) return;
    const more = f.check(this.#opts.turnBudgetBytes ?? DEFAULT_TURN_BUDGET);
    if (more) {
      this.#pendingContinue.add(f);
      this.#scheduleContinue();
    }
  }

  /** Large reads continue on the next turn, so the daemon stays responsive while catching up. */
  #scheduleContinue(): void {
    if (this.#continueScheduled || !this.#pendingContinue.size) return;
    this.#continueScheduled = true;
    setImmediate(() => {
      this.#continueScheduled = false;
      const files = [...this.#pendingContinue];
      this.#pendingContinue.clear();
      for (const f of files) this.#check(f);
    });
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
