/**
 * Reference syntax (§1.7): `name[opt=value, opt2="quoted, value"][more=1]`, used
 * by `filter`, each `action`, `banaction`, `backend`, `logtarget`,
 * `ignorecache`; and the splitting of a multi-line `action` value into
 * several references (an option list may span lines).
 */
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

export interface Reference {
  name: string;
  options: Record<string, string>;
}

const KEY_RE = /[\w.-]+/y;

/** Parses `name[k=v, ...][...]`. Later keys win. Throws ConfigValueError on bad syntax. */
export function parseReference(text: string, where: ErrorLocation = {}): Reference {
  const open = text.indexOf('[');
  if (open === -1) {
    const name = text.trim();
    if (!name) throw new ConfigValueError('empty reference', where);
    return { name, options: {} };
  }
  const name = text.slice(0, open).trim();
  const close = text.lastIndexOf(']');
  if (!name || close < open || text.slice(close + 1).trim() !== '') {
    throw new ConfigValueError(`unexpected option syntax in ${JSON.stringify(text)}`, where);
  }
  return { name, options: parseOptionList(text.slice(open + 1, close), where) };
}

/** Parses the inside of the brackets: `k=v, k2="x,y"][k3=z`. */
export function parseOptionList(list: string, where: ErrorLocation = {}): Record<string, string> {
  const options: Record<string, string> = {};
  const fail = (message: string): never => {
    throw new ConfigValueError(`${message} in option list ${JSON.stringify(list)}`, where);
  };
  let pos = 0;
  const skipSpace = () => {
    while (pos < list.length && /\s/.test(list[pos]!)) pos++;
  };
  for (;;) {
    skipSpace();
    if (pos >= list.length) break;
    if (list[pos] === ',' && list.slice(pos + 1).trim() === '') break; // trailing comma
    KEY_RE.lastIndex = pos;
    const key = KEY_RE.exec(list);
    if (!key || list[pos + key[0].length] !== '=') {
      fail(`expected option, wrong syntax at ${pos}: ${JSON.stringify(list.slice(pos, pos + 25))}`);
    }
    const keyName = key![0];
    pos += keyName.length + 1;
    let value: string;
    const quote = list[pos];
    if (quote === '"' || quote === "'") {
      const end = list.indexOf(quote, pos + 1);
      if (end === -1) fail(`unterminated ${quote} quote after option '${keyName}'`);
      value = list.slice(pos + 1, end);
      pos = end + 1;
    } else {
      let end = pos;
      while (end < list.length && list[end] !== ',' && list[end] !== ']') end++;
      value = list.slice(pos, end);
      pos = end;
    }
    options[keyName.trim()] = value.trim();
    if (pos >= list.length) break;
    if (list[pos] === ',') {
      pos++;
      continue;
    }
    const group = /\]\s*\[/y;
    group.lastIndex = pos;
    if (list[pos] === ']' && group.exec(list)) {
      pos = group.lastIndex;
      continue;
    }
    fail(`unexpected syntax at ${pos} after option '${keyName}': ${JSON.stringify(list.slice(pos, pos + 25))}`);
  }
  return options;
}

/**
 * Splits a (multi-line) value into references: each is a word optionally
 * followed by bracketed option lists (which may contain quoted strings and
 * newlines); references are separated by whitespace. Empty entries are dropped.
 */
export function splitReferences(value: string): string[] {
  const out: string[] = [];
  let pos = 0;
  const n = value.length;
  const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
  while (pos < n) {
    while (pos < n && isSpace(value[pos])) pos++;
    if (pos >= n) break;
    const start = pos;
    while (pos < n && !isSpace(value[pos]) && value[pos] !== '[') pos++;
    // bracket groups, possibly after whitespace: `name [a=1]`, `name[a=1][b=2]`
    for (;;) {
      let look = pos;
      while (look < n && isSpace(value[look])) look++;
      if (value[look] !== '[') break;
      pos = scanBracketGroup(value, look);
    }
    const token = value.slice(start, pos).trim();
    if (token) out.push(token);
    if (pos === start) pos++; // defensive: always advance
  }
  return out;
}

/** From the `[` at `open`, returns the index after its closing `]` (quotes respected). */
function scanBracketGroup(value: string, open: number): number {
  let pos = open + 1;
  let quote: string | null = null;
  while (pos < value.length) {
    const c = value[pos]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      // a quote opens a quoted value only right after `=`, as in the option grammar
      if (value[pos - 1] === '=') quote = c;
    } else if (c === ']') {
      return pos + 1;
    }
    pos++;
  }
  return pos; // unterminated: the reference parser reports it
}
