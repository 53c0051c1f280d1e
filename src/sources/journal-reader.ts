/**
 * journalctl's export stream straight to journal lines: the follower's hot path. `ExportParser`
 * builds a record of every wanted field and `formatJournalEntry` reads it back; here the fields a
 * line is built from go from the chunk into a reused `JournalFields`, timestamps are read as
 * numbers in place, a host or identifier equal to the previous entry's reuses that string, and
 * every other field is skipped without a string. The lines are the same as
 * `formatJournalEntry(ExportParser entry)` (test/sources/journal-reader.test.ts compares them for
 * every chunk split).
 */
import { asciiOrUtf8, ExportScanner, type ExportScanOptions } from './journal-export.ts';
import { buildJournalLine, decimalIn, JOURNAL_FIELD_NAMES, parseMicros, type JournalFields, type JournalLine } from './journal-line.ts';

export type JournalLineReaderOptions = ExportScanOptions;

const NAMES: readonly string[] = JOURNAL_FIELD_NAMES;
/** Slots of the fields a line is built from: indexes into JOURNAL_FIELD_NAMES. */
const slot = (name: (typeof JOURNAL_FIELD_NAMES)[number]): number => NAMES.indexOf(name);
const CURSOR = slot('__CURSOR');
const REALTIME = slot('__REALTIME_TIMESTAMP');
const SOURCE_REALTIME = slot('_SOURCE_REALTIME_TIMESTAMP');
const MONOTONIC = slot('__MONOTONIC_TIMESTAMP');
const SOURCE_MONOTONIC = slot('_SOURCE_MONOTONIC_TIMESTAMP');
const HOSTNAME = slot('_HOSTNAME');
const IDENTIFIER = slot('SYSLOG_IDENTIFIER');
const COMM = slot('_COMM');
const SYSLOG_PID = slot('SYSLOG_PID');
const PID = slot('_PID');
const MESSAGE = slot('MESSAGE');

/** The slot of each name length: the wanted names' lengths all differ, so one compare finds a name. */
const SLOT_BY_LENGTH: number[] = [];
for (const [i, name] of NAMES.entries()) {
  if (SLOT_BY_LENGTH[name.length] !== undefined) throw new Error(`journal field names of one length: ${name}`);
  SLOT_BY_LENGTH[name.length] = i;
}

/** Slot of the field name at `str[pos, pos + len)`, or -1. */
function slotOf(str: string, pos: number, len: number): number {
  const i = SLOT_BY_LENGTH[len];
  return i !== undefined && str.startsWith(NAMES[i]!, pos) ? i : -1;
}

/** Empties the slots in place: one `JournalFields` serves every entry (buildJournalLine keeps none of it). */
function clearFields(f: JournalFields): JournalFields {
  f.cursor = undefined;
  f.realtime = undefined;
  f.sourceRealtime = undefined;
  f.monotonic = undefined;
  f.sourceMonotonic = undefined;
  f.hostname = undefined;
  f.identifier = undefined;
  f.comm = undefined;
  f.syslogPid = undefined;
  f.pid = undefined;
  f.message = undefined;
  return f;
}

export class JournalLineReader extends ExportScanner<JournalLine> {
  readonly #fields: JournalFields = clearFields({} as JournalFields);
  /** Slots that have a value in the current entry (the first value wins, MESSAGE values are joined). */
  #seen: boolean[] = new Array<boolean>(NAMES.length).fill(false);
  /** Last ASCII value by slot (host, identifier, command): most entries repeat them. */
  readonly #last: string[] = new Array<string>(NAMES.length).fill('');

  constructor(opts: JournalLineReaderOptions = {}) {
    super(opts);
  }

  protected clearEntry(): void {
    clearFields(this.#fields);
    this.#seen.fill(false);
  }

  /** An entry without a cursor or a usable timestamp gives no line (`formatJournalEntry` gives null). */
  protected endEntry(out: JournalLine[]): void {
    const line = buildJournalLine(this.#fields);
    if (line) out.push(line);
    this.clearEntry();
  }

  protected textField(str: string, buf: Buffer, keyStart: number, eq: number, nl: number): void {
    const slot = slotOf(str, keyStart, eq - keyStart);
    if (slot >= 0) this.#text(slot, str, buf, eq + 1, nl);
  }

  protected binaryField(key: string, value: Buffer): void {
    const slot = slotOf(key, 0, key.length);
    if (slot >= 0) this.#set(slot, this.decodeBinary(value));
  }

  /** A text-form value (UTF-8, no control characters) at `str[from, to)`. */
  #text(slot: number, str: string, buf: Buffer, from: number, to: number): void {
    if (this.#seen[slot] && slot !== MESSAGE) return; // first value wins
    const f = this.#fields;
    switch (slot) {
      // timestamps: read in place, no string
      case REALTIME: f.realtime = decimalIn(str, from, to); break;
      case SOURCE_REALTIME: f.sourceRealtime = decimalIn(str, from, to); break;
      case MONOTONIC: f.monotonic = decimalIn(str, from, to); break;
      case SOURCE_MONOTONIC: f.sourceMonotonic = decimalIn(str, from, to); break;
      case HOSTNAME: case IDENTIFIER: case COMM: {
        const last = this.#last[slot]!;
        // the previous value is ASCII, so equal latin1 text means equal bytes and equal text
        if (last.length === to - from && str.startsWith(last, from)) {
          this.#set(slot, last);
          return;
        }
        const value = asciiOrUtf8(str, buf, from, to);
        if (value.length === to - from) this.#last[slot] = value; // ASCII: one char per byte
        this.#set(slot, value);
        return;
      }
      default:
        this.#set(slot, asciiOrUtf8(str, buf, from, to));
        return;
    }
    this.#seen[slot] = true;
  }

  #set(slot: number, value: string): void {
    const f = this.#fields;
    if (this.#seen[slot]) {
      if (slot === MESSAGE) f.message += ` ${value}`; // a repeated MESSAGE is joined with spaces
      return;
    }
    this.#seen[slot] = true;
    switch (slot) {
      case CURSOR: f.cursor = value; break;
      case REALTIME: f.realtime = parseMicros(value); break;
      case SOURCE_REALTIME: f.sourceRealtime = parseMicros(value); break;
      case MONOTONIC: f.monotonic = parseMicros(value); break;
      case SOURCE_MONOTONIC: f.sourceMonotonic = parseMicros(value); break;
      case HOSTNAME: f.hostname = value; break;
      case IDENTIFIER: f.identifier = value; break;
      case COMM: f.comm = value; break;
      case SYSLOG_PID: f.syslogPid = value; break;
      case PID: f.pid = value; break;
      default: f.message = value;
    }
  }
}
