/**
 * One monitored log path (§8.2): the open file behind it, its read position,
 * first-line hash and rotation detection. Reading is synchronous (pread on
 * the fd) and every chunk's complete lines are handed to `deliver` before
 * the next chunk is read.
 *
 * Rotation:
 * - rename + create: the path now names another inode. The old file is read
 *   to its end, then kept open ("retired") for `rotationGraceMs`, because a
 *   writer may still append to it until it reopens; the new file is read
 *   from its start.
 * - copytruncate: size below our read offset, or the first line's SHA-1
 *   changed → read again from 0.
 */

import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { LineAssembler } from './line-assembler.ts';
import type { LineDecoder } from './encoding.ts';
import { errorText, type LogPositionStore, type SourceLine, type SourceLogger, type SourceMode } from './types.ts';

/** Starts watching the inode currently at `path`; returns a closer, or null when watching is impossible. */
export type InodeWatcher = (path: string, onChange: () => void) => (() => void) | null;

export interface LogFileOptions {
  decoder: LineDecoder;
  maxLineBytes: number;
  chunk: Buffer;
  rotationGraceMs: number;
  positions?: LogPositionStore | undefined;
  logger: SourceLogger;
  /** Receives each chunk's lines; must not throw (FileSource catches). */
  deliver(lines: SourceLine[], mode: SourceMode): void;
  watchInode?: InodeWatcher | undefined;
  /** Called when an inode watch could not be set up, so the source polls this file. */
  onWatchFailed?(path: string): void;
  onChange(file: LogFile): void;
}

export type LogFileState = 'open' | 'absent' | 'missing' | 'error';

interface Reader {
  fd: number;
  ino: number;
  dev: number;
  /** Offset of the next byte to read (includes bytes of a pending partial line). */
  readPos: number;
  /** Offset after the last delivered line. */
  pos: number;
  assembler: LineAssembler;
  mode: SourceMode;
  unwatch: (() => void) | null;
  retiredUntil: number;
  lastSize: number;
  lastMtime: number;
}

const DECODE_WARN_INTERVAL_MS = 24 * 3600 * 1000;

export class LogFile {
  readonly path: string;
  state: LogFileState = 'missing';
  lastError: string | undefined;
  /** true when this file is polled rather than watched. */
  polled = false;
  /** Signature from the last poll stat (ino:size:mtime), for change detection. */
  pollSignature = '';
  #opts: LogFileOptions;
  #cur: Reader | null = null;
  #retired: Reader[] = [];
  #hash = '';
  #decodeWarnedAt = -Infinity;
  #closed = false;

  constructor(path: string, opts: LogFileOptions) {
    this.path = path;
    this.#opts = opts;
  }

  get hash(): string {
    return this.#hash;
  }
  get pos(): number {
    return this.#cur?.pos ?? 0;
  }
  get inode(): number | undefined {
    return this.#cur?.ino;
  }
  get mode(): SourceMode {
    return this.#cur?.mode ?? 'operation';
  }
  get size(): number | undefined {
    return this.#cur?.lastSize;
  }
  get hasRetired(): boolean {
    return this.#retired.length > 0;
  }

  /**
   * Opens the file. `tail`: start at its end (operation mode at once);
   * `head`: resume at the stored position if the first-line hash matches,
   * else from 0, in `mode`. Returns false when the file does not exist.
   */
  open(start: 'head' | 'tail', mode: SourceMode): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      this.#noteOpenError(err);
      return false;
    }
    try {
      const st = fstatSync(fd);
      this.#hash = firstLineHashOf(fd, this.#opts.chunk);
      let pos = 0;
      let midLine = false;
      if (start === 'tail') {
        pos = st.size;
        midLine = pos > 0 && lastByte(fd, pos) !== 0x0a;
        mode = 'operation';
      } else {
        const stored = this.#opts.positions?.get(this.path);
        if (stored && stored.hash === this.#hash && stored.pos <= st.size) pos = stored.pos;
      }
      this.#cur = this.#newReader(fd, st, pos, mode, midLine);
      this.state = 'open';
      this.lastError = undefined;
      this.#opts.logger.info?.(`Added logfile: '${this.path}' (pos = ${pos}, hash = ${this.#hash})`);
      return true;
    } catch (err) {
      closeQuietly(fd);
      this.#noteOpenError(err);
      return false;
    }
  }

  /**
   * Brings the file up to date: follows rotations and delivers every complete
   * line available, up to `budget` bytes. Returns true when data is left over.
   */
  check(budget: number): boolean {
    if (this.#closed) return false;
    const now = Date.now();
    for (const r of [...this.#retired]) {
      this.#readToEnd(r, Infinity);
      if (now >= r.retiredUntil) this.#retire(r, true);
    }
    if (!this.#cur) {
      // Missing at start, or vanished: a file that (re)appears holds new content.
      if (!this.open('head', 'operation')) return false;
      this.#opts.logger.info?.(`Log presence detected for file ${this.path}`);
    }
    const cur = this.#cur!;
    let pst: Stats | null = null;
    try {
      pst = statSync(this.path);
    } catch {
      pst = null;
    }
    if (pst === null) {
      if (this.state !== 'absent') {
        this.state = 'absent';
        this.#opts.logger.debug?.(`Log absence detected (possibly rotation) for ${this.path}`);
      }
      // Renamed away or deleted: a writer may still append through its fd.
      return this.#readToEnd(cur, budget);
    }
    if (pst.ino !== cur.ino || pst.dev !== cur.dev) {
      this.#readToEnd(cur, Infinity);
      this.#opts.logger.notice?.(
        `Log rotation detected for ${this.path}, reason: (${pst.size}, ${cur.pos}, ${pst.ino}, ${cur.ino}, inode)`,
      );
      this.#retired.push(cur);
      cur.retiredUntil = now + this.#opts.rotationGraceMs;
      this.#cur = null;
      if (!this.open('head', 'operation')) return false;
      if (this.#opts.positions) this.#opts.positions.set(this.path, this.#hash, this.#cur!.pos);
      return this.#readToEnd(this.#cur!, budget);
    }
    this.state = 'open';
    let st: Stats;
    try {
      st = fstatSync(cur.fd);
    } catch (err) {
      this.#fail(err);
      return false;
    }
    if (st.size < cur.readPos) {
      this.#restartAtZero(cur, `(${st.size}, ${cur.readPos}, ${st.ino}, ${cur.ino}, size)`);
    } else if (st.size !== cur.lastSize || st.mtimeMs !== cur.lastMtime) {
      const hash = firstLineHashOf(cur.fd, this.#opts.chunk);
      if (this.#hash !== '' && hash !== this.#hash) {
        this.#restartAtZero(cur, `(${st.size}, ${cur.readPos}, ${st.ino}, ${cur.ino}, ${hash}, ${this.#hash})`);
      }
      this.#hash = hash;
    }
    cur.lastSize = st.size;
    cur.lastMtime = st.mtimeMs;
    return this.#readToEnd(cur, budget);
  }

  /** Closes every descriptor and watch; the file can no longer be read. */
  close(): void {
    this.#closed = true;
    for (const r of [...this.#retired]) this.#retire(r, false);
    if (this.#cur) this.#closeReader(this.#cur);
    this.#cur = null;
  }

  #newReader(fd: number, st: Stats, pos: number, mode: SourceMode, midLine: boolean): Reader {
    const assembler = new LineAssembler(this.#opts.maxLineBytes);
    assembler.reset(midLine);
    const reader: Reader = {
      fd,
      ino: st.ino,
      dev: st.dev,
      readPos: pos,
      pos,
      assembler,
      mode,
      unwatch: null,
      retiredUntil: Infinity,
      lastSize: st.size,
      lastMtime: st.mtimeMs,
    };
    if (this.#opts.watchInode && !this.polled) {
      reader.unwatch = this.#opts.watchInode(this.path, () => this.#opts.onChange(this));
      if (!reader.unwatch) this.#opts.onWatchFailed?.(this.path);
    }
    return reader;
  }

  #restartAtZero(cur: Reader, reason: string): void {
    this.#opts.logger.notice?.(`Log rotation detected for ${this.path}, reason: ${reason}`);
    cur.readPos = 0;
    cur.pos = 0;
    cur.assembler.reset();
    cur.mode = 'operation';
    this.#hash = firstLineHashOf(cur.fd, this.#opts.chunk);
  }

  /** Reads and delivers complete lines until EOF or `budget` bytes; true = budget exhausted first. */
  #readToEnd(r: Reader, budget: number): boolean {
    const buf = this.#opts.chunk;
    let spent = 0;
    for (;;) {
      if (spent >= budget) return true;
      let n: number;
      try {
        n = readSync(r.fd, buf, 0, buf.length, r.readPos);
      } catch (err) {
        this.#fail(err);
        return false;
      }
      if (n === 0) {
        if (r.mode === 'restore') r.mode = 'operation';
        return false;
      }
      const lines: SourceLine[] = [];
      r.assembler.push(buf.subarray(0, n), r.readPos, (line) => {
        const decoded = this.#opts.decoder.decode(line.bytes);
        if (!decoded.ok) this.#warnDecode();
        if (line.dropped > 0) {
          this.#opts.logger.warning?.(
            `Line in '${this.path}' ending at offset ${line.end} is longer than ${this.#opts.maxLineBytes} bytes; ` +
              `${line.dropped} bytes dropped`,
          );
        }
        lines.push({ text: decoded.text, path: this.path, pos: line.end });
      });
      r.readPos += n;
      spent += n;
      if (lines.length) {
        // The mode of this batch: restore until the read that reaches EOF.
        this.#opts.deliver(lines, r.mode);
        r.pos = lines[lines.length - 1]!.pos;
        if (r === this.#cur) {
          if (this.#hash === '') this.#hash = firstLineHashOf(r.fd, buf);
          this.#opts.positions?.set(this.path, this.#hash, r.pos);
        }
      }
    }
  }

  #warnDecode(): void {
    const now = Date.now();
    if (now - this.#decodeWarnedAt < DECODE_WARN_INTERVAL_MS) return;
    this.#decodeWarnedAt = now;
    this.#opts.logger.warning?.(`Error decoding line from '${this.path}' with '${this.#opts.decoder.encoding}'.`);
  }

  #retire(r: Reader, log: boolean): void {
    if (log && r.assembler.pendingBytes) {
      this.#opts.logger.debug?.(
        `Dropping ${r.assembler.pendingBytes} bytes of an unterminated last line of rotated ${this.path}`,
      );
    }
    this.#closeReader(r);
    this.#retired = this.#retired.filter((x) => x !== r);
  }

  #closeReader(r: Reader): void {
    r.unwatch?.();
    r.unwatch = null;
    closeQuietly(r.fd);
  }

  #fail(err: unknown): void {
    this.lastError = errorText(err);
    this.state = 'error';
    this.#opts.logger.error?.(`Unable to read ${this.path}: ${this.lastError}`);
    if (this.#cur) this.#closeReader(this.#cur);
    this.#cur = null;
  }

  #noteOpenError(err: unknown): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      this.state = 'missing';
      return;
    }
    if (this.lastError !== errorText(err)) this.#opts.logger.error?.(`Unable to open ${this.path}: ${errorText(err)}`);
    this.state = 'error';
    this.lastError = errorText(err);
  }
}

/** SHA-1 hex of the first line including its `\n`; '' while the first line is incomplete (§4.6). */
export function firstLineHashOf(fd: number, scratch: Buffer): string {
  const hash = createHash('sha1');
  let off = 0;
  for (;;) {
    const n = readSync(fd, scratch, 0, Math.min(scratch.length, 4096), off);
    if (n === 0) return '';
    const nl = scratch.subarray(0, n).indexOf(0x0a);
    if (nl >= 0) {
      hash.update(scratch.subarray(0, nl + 1));
      return hash.digest('hex');
    }
    hash.update(scratch.subarray(0, n));
    off += n;
  }
}

function lastByte(fd: number, size: number): number {
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, size - 1);
  return b[0]!;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}
