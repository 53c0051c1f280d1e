/**
 * Streaming parser for journalctl's export format (systemd "Journal Export
 * Format"): each entry is a run of fields ended by an empty line; a field is
 * either `KEY=value\n` (printable UTF-8 value) or, binary-safe,
 * `KEY\n` + little-endian uint64 length + raw bytes + `\n`.
 *
 * Chunks may split anywhere; the parser keeps the unfinished tail.
 */

/** Field values by name; a field that occurs several times has an array. */
export type JournalEntry = Record<string, string | string[]>;

export interface ExportParserOptions {
  /** Only these fields are decoded (others skipped cheaply). Default: all. */
  fields?: ReadonlySet<string>;
  /** Decoder for binary-form values (not valid UTF-8 or with control characters). Default: UTF-8 with U+FFFD. */
  decodeBinary?(bytes: Buffer): string;
  /** Largest accepted binary field, bytes (protects memory from a corrupt stream). Default 64 MiB. */
  maxFieldBytes?: number;
}

const NL = 0x0a;
const EQ = 0x3d;
const EMPTY = Buffer.alloc(0);

export class ExportParser {
  #rest: Buffer = EMPTY;
  #entry: JournalEntry = Object.create(null);
  #fields: ReadonlySet<string> | undefined;
  #decodeBinary: (bytes: Buffer) => string;
  #maxField: number;

  constructor(opts: ExportParserOptions = {}) {
    this.#fields = opts.fields;
    this.#decodeBinary = opts.decodeBinary ?? ((b) => b.toString('utf8'));
    this.#maxField = opts.maxFieldBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes held for an unfinished field. */
  get pendingBytes(): number {
    return this.#rest.length;
  }

  /** Forgets partial data (after the producer died mid-entry). */
  reset(): void {
    this.#rest = EMPTY;
    this.#entry = Object.create(null);
  }

  /** Feeds a chunk; returns the entries it completed, in order. */
  push(chunk: Buffer): JournalEntry[] {
    const buf = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    // Scan a one-byte-per-char copy: string indexOf/slice stay in JS (no native
    // call per field) and string offsets equal byte offsets. Values are then
    // decoded as UTF-8 from the buffer, and only for the wanted fields.
    const str = buf.toString('latin1');
    const out: JournalEntry[] = [];
    const fields = this.#fields;
    let entry = this.#entry;
    let pos = 0;
    const len = str.length;
    while (pos < len) {
      if (str.charCodeAt(pos) === NL) {
        // Empty line: end of entry.
        out.push(entry);
        entry = Object.create(null);
        pos++;
        continue;
      }
      const nl = str.indexOf('\n', pos);
      if (nl < 0) break;
      const eq = str.indexOf('=', pos);
      if (eq >= 0 && eq < nl) {
        const key = str.slice(pos, eq);
        if (!fields || fields.has(key)) add(entry, key, asciiOrUtf8(str, buf, eq + 1, nl));
        pos = nl + 1;
        continue;
      }
      // Binary field: KEY\n <u64le size> <data> \n
      if (nl + 9 > len) break;
      const size = buf.readUInt32LE(nl + 1) + buf.readUInt32LE(nl + 5) * 0x1_0000_0000;
      if (size > this.#maxField) {
        throw new Error(`journal export stream: field ${str.slice(pos, nl)} of ${size} bytes exceeds the limit`);
      }
      const end = nl + 9 + size;
      if (end + 1 > len) break;
      if (str.charCodeAt(end) !== NL) throw new Error('journal export stream: binary field not followed by a newline');
      const key = str.slice(pos, nl);
      if (!fields || fields.has(key)) add(entry, key, this.#decodeBinary(buf.subarray(nl + 9, end)));
      pos = end + 1;
    }
    this.#entry = entry;
    // Copy the tail: `chunk` belongs to the stream and may be reused.
    this.#rest = pos < len ? Buffer.from(buf.subarray(pos)) : EMPTY;
    return out;
  }
}

/** Text values are UTF-8; most are plain ASCII, where the latin1 view already is the string. */
function asciiOrUtf8(str: string, buf: Buffer, from: number, to: number): string {
  for (let i = from; i < to; i++) {
    if (str.charCodeAt(i) > 0x7f) return buf.toString('utf8', from, to);
  }
  return str.slice(from, to);
}

function add(entry: JournalEntry, key: string, value: string): void {
  const prev = entry[key];
  if (prev === undefined) entry[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else entry[key] = [prev, value];
}

/** First value of a field, or undefined. */
export function firstValue(entry: JournalEntry, key: string): string | undefined {
  const v = entry[key];
  return Array.isArray(v) ? v[0] : v;
}

/** Serialises entries in export format (for fixtures, systemd-journal-remote input and benchmarks). */
export function toExportFormat(entries: Iterable<Record<string, string | Buffer | (string | Buffer)[]>>): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    for (const [key, raw] of Object.entries(entry)) {
      for (const value of Array.isArray(raw) ? raw : [raw]) {
        const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
        // Binary form for anything a text line cannot carry.
        if (bytes.includes(NL) || typeof value !== 'string' || /[\x00-\x1f\x7f]/.test(value)) {
          const size = Buffer.alloc(8);
          size.writeBigUInt64LE(BigInt(bytes.length));
          parts.push(Buffer.from(`${key}\n`), size, bytes, Buffer.from('\n'));
        } else parts.push(Buffer.from(`${key}=`), bytes, Buffer.from('\n'));
      }
    }
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
