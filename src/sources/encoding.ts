/**
 * Log line decoding (`logencoding`, §8.2). fail2ban decodes each line strictly
 * and, on failure, warns and decodes again with replacement characters; this
 * module gives the same two-step answer for one line's bytes.
 *
 * Encoding names are Python codec names (`utf-8`, `latin-1`, `cp1252`...);
 * `auto` means the locale encoding, which for a daemon is UTF-8.
 */

import { isUtf8 } from 'node:buffer';
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

export interface DecodedLine {
  text: string;
  /** false when the bytes were not valid in the encoding (text has U+FFFD in their place). */
  ok: boolean;
}

export interface LineDecoder {
  /** Canonical name, for messages. */
  readonly encoding: string;
  decode(bytes: Uint8Array): DecodedLine;
}

const LATIN1_NAMES = new Set(['latin-1', 'latin1', 'l1', 'iso-8859-1', 'iso8859-1', '8859', 'cp819', 'iso-ir-100']);
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'u8', 'utf', 'cp65001']);
const ASCII_NAMES = new Set(['ascii', 'us-ascii', '646']);

/** Python codec spellings that WHATWG labels do not accept as such. */
const PYTHON_ALIASES: Record<string, string> = {
  cp1250: 'windows-1250',
  cp1251: 'windows-1251',
  cp1252: 'windows-1252',
  cp1253: 'windows-1253',
  cp1254: 'windows-1254',
  cp1255: 'windows-1255',
  cp1256: 'windows-1256',
  cp1257: 'windows-1257',
  cp1258: 'windows-1258',
  latin2: 'iso-8859-2',
  'latin-2': 'iso-8859-2',
  latin9: 'iso-8859-15',
  'latin-9': 'iso-8859-15',
  'koi8-r': 'koi8-r',
  'euc-jp': 'euc-jp',
  'shift-jis': 'shift_jis',
  sjis: 'shift_jis',
};

/** The bytes as a Buffer: the line assembler's already are one (no second view per line). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const utf8Decoder: LineDecoder = {
  encoding: 'utf-8',
  decode(bytes) {
    const buf = asBuffer(bytes);
    // isUtf8 validates natively; toString already substitutes U+FFFD for bad sequences.
    return { text: buf.toString('utf8'), ok: isUtf8(buf) };
  },
};

/** True ISO-8859-1 (every byte is the code point), like Python's latin-1 — not WHATWG's windows-1252. */
const latin1Decoder: LineDecoder = {
  encoding: 'latin-1',
  decode(bytes) {
    return { text: asBuffer(bytes).toString('latin1'), ok: true };
  },
};

const asciiDecoder: LineDecoder = {
  encoding: 'ascii',
  decode(bytes) {
    let ok = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! > 0x7f) {
        ok = false;
        break;
      }
    }
    if (ok) return { text: asBuffer(bytes).toString('latin1'), ok };
    let text = '';
    for (let i = 0; i < bytes.length; i++) text += bytes[i]! > 0x7f ? '\ufffd' : String.fromCharCode(bytes[i]!);
    return { text, ok };
  },
};

function whatwgDecoder(label: string, name: string): LineDecoder {
  const strict = new TextDecoder(label, { fatal: true });
  const lenient = new TextDecoder(label);
  return {
    encoding: name,
    decode(bytes) {
      try {
        return { text: strict.decode(bytes), ok: true };
      } catch {
        return { text: lenient.decode(bytes), ok: false };
      }
    },
  };
}

/**
 * Decoder for a `logencoding` value. Throws ConfigValueError for unknown
 * names and for UTF-16/32 (their newline is not a single 0x0A byte, and the
 * line splitter works on bytes).
 */
export function createLineDecoder(name: string | undefined, where: ErrorLocation = { option: 'logencoding' }): LineDecoder {
  const norm = (name ?? '').trim().toLowerCase().replace(/_/g, '-');
  if (norm === '' || norm === 'auto' || UTF8_NAMES.has(norm)) return utf8Decoder;
  if (LATIN1_NAMES.has(norm)) return latin1Decoder;
  if (ASCII_NAMES.has(norm)) return asciiDecoder;
  if (/^(utf-?16|utf-?32|ucs-?2|ucs-?4)/.test(norm)) {
    throw new ConfigValueError(`log encoding '${name}' is not supported (multi-byte newlines)`, where);
  }
  const label = PYTHON_ALIASES[norm] ?? norm;
  try {
    return whatwgDecoder(label, norm);
  } catch (cause) {
    throw new ConfigValueError(`unknown log encoding '${name}'`, where, { cause });
  }
}
