/**
 * Splits a byte stream into complete lines (§8.2): only `\n`-terminated lines
 * come out, the partial tail waits for the rest, trailing `\r`s are removed
 * (fail2ban strips "\r\n" characters from the end). A line longer than
 * `maxLineBytes` keeps its first `maxLineBytes` bytes; the rest up to its
 * newline is dropped so one runaway writer cannot grow memory without bound.
 */

export interface AssembledLine {
  /** Line bytes without the newline and trailing CRs. Only valid during the callback. */
  bytes: Uint8Array;
  /** Stream offset just after the line's `\n`. */
  end: number;
  /** Bytes dropped because the line exceeded the cap (0 normally). */
  dropped: number;
}

const NL = 0x0a;
const CR = 0x0d;

export class LineAssembler {
  readonly maxLineBytes: number;
  #parts: Buffer[] = [];
  #partLen = 0;
  #dropped = 0;
  /** Set when the stream position is mid-line (tail start): discard up to the next newline silently. */
  #skipToNewline = false;

  constructor(maxLineBytes: number) {
    if (!(maxLineBytes >= 1)) throw new RangeError('maxLineBytes must be >= 1');
    this.maxLineBytes = maxLineBytes;
  }

  /** Bytes held for an incomplete line (bounded by maxLineBytes). */
  get pendingBytes(): number {
    return this.#partLen;
  }

  reset(skipToNewline = false): void {
    this.#parts = [];
    this.#partLen = 0;
    this.#dropped = 0;
    this.#skipToNewline = skipToNewline;
  }

  /**
   * Feeds `chunk`, which starts at stream offset `offset`, and calls `emit` for
   * every line it completes. `chunk` may be reused by the caller afterwards.
   */
  push(chunk: Uint8Array, offset: number, emit: (line: AssembledLine) => void): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(NL, start);
      if (nl < 0) {
        this.#keep(buf, start, buf.length);
        return;
      }
      if (this.#skipToNewline) {
        this.#skipToNewline = false;
      } else {
        let bytes: Buffer;
        if (this.#partLen === 0) {
          const take = Math.min(nl - start, this.maxLineBytes);
          this.#dropped += nl - start - take;
          bytes = buf.subarray(start, start + take);
        } else {
          this.#keep(buf, start, nl);
          bytes = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#partLen);
        }
        let len = bytes.length;
        // Only strip CRs that really preceded the newline, not ones left at a truncation cut.
        if (this.#dropped === 0) while (len > 0 && bytes[len - 1] === CR) len--;
        emit({ bytes: len === bytes.length ? bytes : bytes.subarray(0, len), end: offset + nl + 1, dropped: this.#dropped });
        this.#parts = [];
        this.#partLen = 0;
        this.#dropped = 0;
      }
      start = nl + 1;
    }
  }

  #keep(buf: Buffer, from: number, to: number): void {
    if (this.#skipToNewline) return;
    const room = this.maxLineBytes - this.#partLen;
    const take = Math.min(room, to - from);
    if (take > 0) {
      // Copy: the caller reuses its read buffer.
      this.#parts.push(Buffer.from(buf.subarray(from, from + take)));
      this.#partLen += take;
    }
    this.#dropped += to - from - take;
  }
}
