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

export interface ExportScanOptions {
  /** Decoder for binary-form values (not valid UTF-8 or with control characters). Default: UTF-8 with U+FFFD. */
  decodeBinary?(bytes: Buffer): string;
  /** Largest accepted binary field, bytes (protects memory from a corrupt stream). Default 64 MiB. */
  maxFieldBytes?: number;
}

export interface ExportParserOptions extends ExportScanOptions {
  /** Only these fields are decoded (others skipped cheaply). Default: all. */
  fields?: ReadonlySet<string>;
}

const NL = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * The framing of the export stream, shared by the parsers: chunks that split anywhere, the
 * unfinished tail, text and binary fields, the empty line that ends an entry. What a field
 * becomes is the subclass's business (`ExportParser`: a record; `JournalLineReader`: a line).
 */
export abstract class ExportScanner<T> {
  #rest: Buffer = EMPTY;
  protected readonly decodeBinary: (bytes: Buffer) => string;
  readonly #maxField: number;

  constructor(opts: ExportScanOptions = {}) {
    this.decodeBinary = opts.decodeBinary ?? ((b) => b.toString('utf8'));
    this.#maxField = opts.maxFieldBytes ?? 64 * 1024 * 1024;
  }

  /** A text-form field `str[keyStart, eq)` = `str[eq + 1, nl)` (UTF-8 bytes of `buf`, same offsets). */
  protected abstract textField(str: string, buf: Buffer, keyStart: number, eq: number, nl: number): void;
  /** A binary-form field: its name and raw value. */
  protected abstract binaryField(key: string, value: Buffer): void;
  /** The empty line: the fields seen since the last one make an entry (push its result to `out`). */
  protected abstract endEntry(out: T[]): void;
  /** Forget the fields of the unfinished entry. */
  protected abstract clearEntry(): void;

  /** Bytes held for an unfinished field. */
  get pendingBytes(): number {
    return this.#rest.length;
  }

  /** Forgets partial data (after the producer died mid-entry). */
  reset(): void {
    this.#rest = EMPTY;
    this.clearEntry();
  }

  /** Feeds a chunk; returns what the entries it completed gave, in order. */
  push(chunk: Buffer): T[] {
    const buf = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    // Scan a one-byte-per-char copy: string indexOf/slice stay in JS (no native
    // call per field) and string offsets equal byte offsets. Values are then
    // decoded as UTF-8 from the buffer, and only for the wanted fields.
    const str = buf.toString('latin1');
    const out: T[] = [];
    let pos = 0;
    const len = str.length;
    while (pos < len) {
      if (str.charCodeAt(pos) === NL) {
        this.endEntry(out);
        pos++;
        continue;
      }
      const nl = str.indexOf('\n', pos);
      if (nl < 0) break;
      const eq = str.indexOf('=', pos);
      if (eq >= 0 && eq < nl) {
        this.textField(str, buf, pos, eq, nl);
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
      this.binaryField(str.slice(pos, nl), buf.subarray(nl + 9, end));
      pos = end + 1;
    }
    // Copy the tail: `chunk` belongs to the stream and may be reused.
    this.#rest = pos < len ? Buffer.from(buf.subarray(pos)) : EMPTY;
    return out;
  }
}

/** Export stream → one record of field values per entry. */
export class ExportParser extends ExportScanner<JournalEntry> {
  #entry: JournalEntry = Object.create(null);
  readonly #fields: ReadonlySet<string> | undefined;

  constructor(opts: ExportParserOptions = {}) {
    super(opts);
    this.#fields = opts.fields;
  }

  protected textField(str: string, buf: Buffer, keyStart: number, eq: number, nl: number): void {
    const key = str.slice(keyStart, eq);
    if (!this.#fields || this.#fields.has(key)) add(this.#entry, key, asciiOrUtf8(str, buf, eq + 1, nl));
  }

  protected binaryField(key: string, value: Buffer): void {
    if (!this.#fields || this.#fields.has(key)) add(this.#entry, key, this.decodeBinary(value));
  }

  protected endEntry(out: JournalEntry[]): void {
    out.push(this.#entry);
    this.#entry = Object.create(null);
  }

  protected clearEntry(): void {
    this.#entry = Object.create(null);
  }
}

/** Text values are UTF-8; most are plain ASCII, where the latin1 view already is the string. */
export function asciiOrUtf8(str: string, buf: Buffer, from: number, to: number): string {
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
