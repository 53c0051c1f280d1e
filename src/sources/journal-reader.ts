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

/** Slots of the fields a line is built from: indexes into JOURNAL_FIELD_NAMES. */
const CURSOR = 0;
const REALTIME = 1;
const SOURCE_REALTIME = 2;
const MONOTONIC = 3;
const SOURCE_MONOTONIC = 4;
const HOSTNAME = 5;
const IDENTIFIER = 6;
const COMM = 7;
const SYSLOG_PID = 8;
const PID = 9;
const MESSAGE = 10;
const NAMES: readonly string[] = JOURNAL_FIELD_NAMES;
const SLOT_BY_NAME = new Map(NAMES.map((n, i) => [n, i]));

/** Slot of the field name at `str[pos, pos + len)`, or -1. The names' lengths all differ. */
function slotOf(str: string, pos: number, len: number): number {
  let slot: number;
  switch (len) {
    case 8: slot = CURSOR; break;
    case 20: slot = REALTIME; break;
    case 26: slot = SOURCE_REALTIME; break;
    case 21: slot = MONOTONIC; break;
    case 27: slot = SOURCE_MONOTONIC; break;
    case 9: slot = HOSTNAME; break;
    case 17: slot = IDENTIFIER; break;
    case 5: slot = COMM; break;
    case 10: slot = SYSLOG_PID; break;
    case 4: slot = PID; break;
    case 7: slot = MESSAGE; break;
    default: return -1;
  }
  return str.startsWith(NAMES[slot]!, pos) ? slot : -1;
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
  /** Last ASCII host, identifier and command: most entries repeat them. */
  #lastHost = '';
  #lastIdent = '';
  #lastComm = '';

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
    const slot = SLOT_BY_NAME.get(key);
    if (slot !== undefined) this.#set(slot, this.decodeBinary(value));
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
        const last = slot === HOSTNAME ? this.#lastHost : slot === IDENTIFIER ? this.#lastIdent : this.#lastComm;
        // the previous value is ASCII, so equal latin1 text means equal bytes and equal text
        if (last.length === to - from && str.startsWith(last, from)) {
          this.#set(slot, last);
          return;
        }
        const value = asciiOrUtf8(str, buf, from, to);
        if (value.length === to - from) {
          if (slot === HOSTNAME) this.#lastHost = value;
          else if (slot === IDENTIFIER) this.#lastIdent = value;
          else this.#lastComm = value;
        }
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
