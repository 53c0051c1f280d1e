/**
 * IP address parsing and canonical forms, as fail2ban's IPAddr does them:
 * IPv4 dotted quad, IPv6 in Python's compressed lower-case form, IPv4-mapped
 * IPv6 (::ffff:a.b.c.d) normalised to IPv4, optional /prefix.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 'inet4' | 'inet6';

export interface IpAddress {
  family: Family;
  /** Canonical text without prefix. */
  address: string;
  /** Big-endian bytes: 4 for inet4, 16 for inet6. */
  bytes: Uint8Array;
  /** Prefix length (32 / 128 for a single address). */
  prefix: number;
}

function v4Bytes(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map((x) => Number(x)));
}

/**
 * The four numbers of a dotted quad as node's isIPv4 accepts it (decimal 0-255, no leading
 * zeros, nothing else), packed as one unsigned 32-bit value; -1 when `s` is not one.
 */
export function dottedQuad(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/**
 * True when `text` is an IPv4 address written exactly as its canonical form, so parseIp(text)
 * gives back the same text with prefix 32 (the common case of a captured address: no parsing
 * or allocation needed).
 */
export function isCanonicalIPv4(text: string): boolean {
  return dottedQuad(text) >= 0;
}

function v6Bytes(s: string): Uint8Array | null {
  let text = s;
  const out = new Uint8Array(16);
  // embedded IPv4 tail
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let tailWords: number[] = [];
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return null;
    const b = v4Bytes(tail);
    tailWords = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    text = text.slice(0, lastColon + 1) + '0:0';
    tailWords = tailWords.length ? tailWords : [];
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (h: string) => (h === '' ? [] : h.split(':').map((w) => parseInt(w, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const words = halves.length === 2 ? [...head, ...new Array(8 - head.length - rest.length).fill(0), ...rest] : head;
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return null;
  if (tailWords.length) {
    words[6] = tailWords[0]!;
    words[7] = tailWords[1]!;
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

/**
 * Plain IPv6 text (hex groups with at most one `::`; no IPv4 tail, zone, brackets or prefix) as 8
 * words in `out`, without allocating; false for anything else (which then takes the full parse).
 */
export function ipv6Words(s: string, out: Uint16Array): boolean {
  const n = s.length;
  if (n < 2 || n > 39) return false;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let value = 0;
    let digits = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (h < 0) break;
      value = value * 16 + h;
      if (++digits > 4) return false;
    }
    if (digits === 0 || count === 8) return false;
    out[count++] = value;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58 || ++i === n) return false; // not a colon, or a trailing single colon
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    }
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  const tail = count - gap;
  for (let k = tail - 1; k >= 0; k--) out[8 - tail + k] = out[gap + k]!;
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

/** Words of `ipv6Words` that are an IPv4-mapped address (::ffff:a.b.c.d, which parseIp treats as IPv4). */
export function isMappedIpv4Words(w: Uint16Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff;
}

/** Python ipaddress-style compressed IPv6 text (longest zero run of ≥2 words becomes ::). */
function v6Text(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestLen < 2) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** Parses `a.b.c.d`, IPv6 (optionally in brackets), with optional `/prefix` or `/dotted-mask`. */
export function parseIp(input: string): IpAddress | null {
  let s = input.trim();
  let prefixText: string | undefined;
  const slash = s.indexOf('/');
  if (slash >= 0) {
    prefixText = s.slice(slash + 1);
    s = s.slice(0, slash);
  }
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  let family: Family;
  let bytes: Uint8Array;
  /** The input when it is a dotted quad (which `dottedQuad` accepts only in canonical form). */
  let canonical4: string | null = null;
  const quad = dottedQuad(s);
  if (quad >= 0) {
    canonical4 = s;
    family = 'inet4';
    bytes = Uint8Array.of(quad >>> 24, (quad >>> 16) & 0xff, (quad >>> 8) & 0xff, quad & 0xff);
  } else if (isIPv6(s)) {
    const b = v6Bytes(s.toLowerCase());
    if (!b) return null;
    // IPv4-mapped IPv6 is treated as IPv4
    if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
      family = 'inet4';
      bytes = b.slice(12);
      if (prefixText !== undefined && /^\d+$/.test(prefixText)) prefixText = String(Math.max(0, Number(prefixText) - 96));
    } else {
      family = 'inet6';
      bytes = b;
    }
  } else {
    return null;
  }
  const max = family === 'inet4' ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (/^\d+$/.test(prefixText)) prefix = Number(prefixText);
    else if (family === 'inet4' && isIPv4(prefixText)) {
      const m = v4Bytes(prefixText);
      const bits = [...m].map((x) => x.toString(2).padStart(8, '0')).join('');
      if (!/^1*0*$/.test(bits)) return null;
      prefix = bits.indexOf('0') < 0 ? 32 : bits.indexOf('0');
    } else return null;
    if (prefix < 0 || prefix > max) return null;
    bytes = maskBytes(bytes, prefix);
  }
  // a whole dotted quad is its own text (the ignore list parses every failure's address)
  const address =
    family === 'inet6' ? v6Text(bytes) : canonical4 !== null && prefix === 32 ? canonical4 : `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  return { family, address, bytes, prefix };
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = out[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** Canonical text of a parsed address: the address, with `/prefix` only for a network. */
export function ipText(ip: IpAddress): string {
  return ip.prefix === (ip.family === 'inet4' ? 32 : 128) ? ip.address : `${ip.address}/${ip.prefix}`;
}

/** Canonical text of a single address or network (`a.b.c.0/24`), or null if not an IP. */
export function canonicalIp(input: string): string | null {
  if (isCanonicalIPv4(input)) return input;
  const ip = parseIp(input);
  return ip ? ipText(ip) : null;
}

export function ipFamily(input: string): Family | null {
  return parseIp(input)?.family ?? null;
}

export function isIp(input: string): boolean {
  return parseIp(input) !== null;
}

/** True when `address` lies inside `network` (same family, prefix match). */
export function networkContains(network: IpAddress, address: IpAddress): boolean {
  if (network.family !== address.family) return false;
  if (address.prefix < network.prefix) return false;
  // the address masked to the network's prefix, compared byte by byte without a masked copy
  const whole = network.prefix >> 3;
  for (let i = 0; i < whole; i++) if (address.bytes[i] !== network.bytes[i]) return false;
  const bits = network.prefix & 7;
  for (let i = whole; i < network.bytes.length; i++) {
    const mask = i === whole ? (0xff << (8 - bits)) & 0xff : 0;
    if ((address.bytes[i]! & mask) !== network.bytes[i]) return false;
  }
  return true;
}

/** `networkContains` for an IPv4 address given as `dottedQuad`'s number (the ignore check, per failure). */
export function ipv4NetworkContains(network: IpAddress, quad: number): boolean {
  if (network.family !== 'inet4') return false;
  return (quad & ipv4Mask(network.prefix)) >>> 0 === ipv4Base(network);
}

/** An IPv4 network's bytes as a 32-bit number, unmasked (as networkContains compares them). */
export function ipv4Base(network: IpAddress): number {
  const b = network.bytes;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** The 32-bit mask of an IPv4 prefix length. */
export function ipv4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Reverse-DNS style text used by the <ip-rev> tag: fail2ban leaves a trailing dot and no suffix. */
export function reversePointer(ip: IpAddress): string {
  if (ip.family === 'inet4') return `${[...ip.bytes].reverse().join('.')}.`;
  const nibbles: string[] = [];
  for (const b of ip.bytes) nibbles.push((b >> 4).toString(16), (b & 15).toString(16));
  return `${nibbles.reverse().join('.')}.`;
}
