/**
 * Ignore checks applied before a failure is counted (§4.2): ignorecache,
 * ignoreself, ignoreip (addresses, networks, DNS names, `file:` lists) and
 * ignorecommand, first hit wins.
 *
 * The failure path must never wait on the network or a child process, so the
 * list answers in two ways:
 *
 * - `isIgnoredSync(subject)` answers from memory: addresses, networks, own
 *   addresses, `file:` lists, DNS names resolved earlier and cached verdicts.
 *   It returns `undefined` when the answer needs asynchronous work: the
 *   ignorecommand has to run (and the cache has no verdict), or a DNS name of
 *   the list (or the host's own names) has never been resolved yet.
 * - `isIgnored(subject)` gives the full answer: waits for first resolutions
 *   (bounded by `dnsTimeout`) and runs the ignorecommand.
 *
 * DNS names are resolved in the background as soon as the list is built and
 * refreshed when older than `dnsTtl` (5 min); a stale answer is used while the
 * refresh runs, a failed lookup keeps the previous addresses.
 *
 * How a jail keeps the exact-maxretry guarantee: feed failures in order; when
 * `isIgnoredSync` answers, count the failure (and ban) in the same turn; when
 * it returns `undefined`, hold this failure and every later failure of the jail
 * in a FIFO, `await isIgnored()` for the head, then count and ban it in the
 * turn the promise resolves, and continue with the queue. Counting never
 * happens in a different order than the log, and the failure that reaches
 * maxretry is banned in the turn it is counted.
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { networkInterfaces, hostname } from 'node:os';
import { readFileSync, statSync } from 'node:fs';
import { dottedQuad, ipv4Base, ipv4Mask, ipv4NetworkContains, ipv6Words, isMappedIpv4Words, parseIp, networkContains, reversePointer, type IpAddress, type Family } from '../net/ip.ts';

export type IgnoreSource = 'ip' | 'dns' | 'command' | 'ignoreself rule';

export type IgnoreVerdict =
  | { ignored: true; source: IgnoreSource; /** answer came from ignorecache (fail2ban does not log these) */ cached: boolean }
  | { ignored: false; cached: boolean };

/** The usual verdict, shared (verdicts are never changed: a cached one is copied). */
const NOT_IGNORED: IgnoreVerdict = Object.freeze({ ignored: false, cached: false });

/** What is checked: an ID alone, or a failure with the values tags may use. */
export interface IgnoreSubject {
  id: string;
  ip?: string | null;
  family?: Family | null;
  time?: number;
  failures?: number;
  matches?: string[];
  data?: Record<string, unknown>;
}

export interface IgnoreCacheOptions {
  /** Key template with tags (`<ip>`, `<F-USER>`...), substituted as plain text. */
  key: string;
  maxCount: number;
  /** Seconds. */
  maxTime: number;
}

export type IgnoreLog = (level: 'debug' | 'info' | 'warning' | 'error', message: string) => void;

export interface IgnoreListOptions {
  jail?: string;
  ignoreSelf?: boolean;
  /** Entries: addresses, CIDR networks, `[v6]`, DNS names, `file:/path`. */
  ignoreIp?: string[];
  ignoreCommand?: string | null;
  ignoreCache?: IgnoreCacheOptions | null;
  /** Seconds before a running ignorecommand is killed (default 60). */
  commandTimeout?: number;
  /** Seconds a DNS answer is fresh (default 300). */
  dnsTtl?: number;
  /** Seconds `isIgnored` waits for a first DNS answer (default 5). */
  dnsTimeout?: number;
  /** Epoch seconds. */
  now?: () => number;
  /** Name → addresses (default: getaddrinfo via dns.lookup, all families). */
  resolve?: (name: string) => Promise<string[]>;
  /** The host's own addresses (default: os.networkInterfaces()). */
  ownAddresses?: () => string[];
  /** Names whose addresses are the host's own (default: localhost and os.hostname()). */
  ownNames?: () => string[];
  /** Base directory for relative `file:` paths. */
  baseDir?: string;
  log?: IgnoreLog;
}

interface DnsState {
  addresses: Set<string>;
  resolvedAt: number;
  settled: boolean;
  inflight: Promise<void> | null;
}

interface ListFile {
  path: string;
  mtimeMs: number;
  checkedAt: number;
  singles: Set<string>;
  networks: IpAddress[];
}

type Entry = { kind: 'net'; text: string; net: IpAddress } | { kind: 'dns'; text: string; name: string } | { kind: 'file'; text: string; file: ListFile };

const SELF_KEY = '\0self';

/** Whether network `n` holds the subject: a dotted quad as `dottedQuad`'s number (>= 0), else parsed. */
function inNetwork(n: IpAddress, quad: number, addr: IpAddress | null): boolean {
  return quad >= 0 ? ipv4NetworkContains(n, quad) : addr !== null && networkContains(n, addr);
}

async function defaultResolve(name: string): Promise<string[]> {
  const all = await lookup(name, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

function defaultOwnAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address);
  return out;
}

function canonical(text: string): string | null {
  const ip = parseIp(text);
  return ip && ip.prefix === (ip.family === 'inet4' ? 32 : 128) ? ip.address : null;
}

/**
 * The first `prefix` bits of `addr` (8 words) equal those of `a`: 8 words, or with `bytes` 16 bytes
 * (an IpAddress's, compared unmasked like networkContains).
 */
function sameWords(a: Uint16Array | Uint8Array, addr: Uint16Array, prefix: number, bytes = false): boolean {
  for (let k = 0; k < 8; k++) {
    const bits = Math.min(16, Math.max(0, prefix - k * 16));
    const want = bytes ? (a[2 * k]! << 8) | a[2 * k + 1]! : a[k]!;
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    if ((addr[k]! & mask) !== want) return false;
  }
  return true;
}

/** Python float text for <time>: 1795238403.0 / 1795238403.553. */
function pyFloatText(t: number): string {
  return Number.isInteger(t) ? `${t}.0` : String(t);
}

/** `<F-USER>` → data key `user`; `<F-ID>` → `fid`, `<F-PORT>` → `fport` (§5.3). */
function fTagKey(name: string): string {
  const lower = name.toLowerCase();
  return lower === 'id' ? 'fid' : lower === 'port' ? 'fport' : lower;
}

function envName(tag: string): string {
  return `F2B_${tag.replace(/\W/g, '_').toUpperCase()}`;
}

/** Plain values of the dynamic tags for a subject (used for env vars and cache keys). */
function tagValues(s: IgnoreSubject): Map<string, string> {
  const ip = s.ip ?? s.id;
  const parsed = parseIp(ip);
  const v = new Map<string, string>();
  v.set('ip', ip);
  v.set('fid', s.id);
  v.set('family', s.family ?? parsed?.family ?? '');
  v.set('ip-rev', parsed ? reversePointer(parsed) : '');
  v.set('failures', String(s.failures ?? 1));
  v.set('time', s.time === undefined ? '' : pyFloatText(s.time));
  v.set('matches', (s.matches ?? []).join('\n'));
  for (const [k, val] of Object.entries(s.data ?? {})) {
    if (val === undefined || val === null) continue;
    v.set(`F-${k}`, Array.isArray(val) ? val.join(', ') : String(val));
  }
  return v;
}

function lookupTag(values: Map<string, string>, tag: string): string | undefined {
  if (tag.startsWith('F-')) return values.get(`F-${fTagKey(tag.slice(2))}`) ?? '';
  return values.get(tag);
}

/**
 * The ignorecommand as a shell script plus environment: each known tag becomes
 * a quoted variable reference ("$F2B_IP"), its value goes in the environment.
 * No value is ever part of the script text.
 */
export function buildIgnoreCommand(command: string, subject: IgnoreSubject): { script: string; env: Record<string, string> } {
  const values = tagValues(subject);
  const env: Record<string, string> = {};
  const script = command.replace(/<([^<>\s]+)>/g, (whole, tag: string) => {
    const value = lookupTag(values, tag);
    if (value === undefined) return whole;
    const name = tag.startsWith('F-') ? envName(`F_${fTagKey(tag.slice(2))}`) : envName(tag);
    env[name] = value.replace(/\0/g, '');
    return `"$${name}"`;
  });
  return { script, env };
}

/** Substitutes tags in the ignorecache key as plain text (the key is never executed). */
function cacheKey(template: string, subject: IgnoreSubject): string {
  const values = tagValues(subject);
  return template.replace(/<([^<>\s]+)>/g, (whole, tag: string) => lookupTag(values, tag) ?? whole);
}

/** Splits an `ignoreip` value: entries separated by spaces and/or commas. */
export function splitIgnoreIp(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

export class IgnoreList {
  readonly jail: string;
  ignoreSelf: boolean;
  ignoreCommand: string | null;
  readonly ignoreCache: IgnoreCacheOptions | null;

  #singles = new Map<string, string>(); // canonical address or raw text → entry text
  #entries: Entry[] = [];
  #dns = new Map<string, DnsState>();
  /** The `#dns` keys of the host's own names (ignoreself), in the order they were added. */
  #selfNames: string[] = [];
  #cache = new Map<string, { verdict: IgnoreVerdict; at: number }>();
  #ownAddrs: Set<string> | null = null;
  #ownAddrsAt = 0;
  #opts: Required<Pick<IgnoreListOptions, 'commandTimeout' | 'dnsTtl' | 'dnsTimeout' | 'now' | 'resolve' | 'ownAddresses' | 'ownNames' | 'log'>> & {
    baseDir: string;
  };

  constructor(opts: IgnoreListOptions = {}) {
    this.jail = opts.jail ?? '';
    this.ignoreSelf = opts.ignoreSelf ?? true;
    this.ignoreCommand = opts.ignoreCommand || null;
    this.ignoreCache = opts.ignoreCache ?? null;
    this.#opts = {
      commandTimeout: opts.commandTimeout ?? 60,
      dnsTtl: opts.dnsTtl ?? 300,
      dnsTimeout: opts.dnsTimeout ?? 5,
      now: opts.now ?? (() => Date.now() / 1000),
      resolve: opts.resolve ?? defaultResolve,
      ownAddresses: opts.ownAddresses ?? defaultOwnAddresses,
      ownNames: opts.ownNames ?? (() => ['localhost', hostname()]),
      log: opts.log ?? (() => {}),
      baseDir: opts.baseDir ?? process.cwd(),
    };
    for (const e of opts.ignoreIp ?? []) this.add(e);
    if (this.ignoreSelf) {
      for (const n of this.#opts.ownNames()) {
        const key = `${SELF_KEY}${n}`;
        if (!this.#dns.has(key)) this.#selfNames.push(key);
        this.#ensureDns(key);
      }
    }
  }

  /** Adds one ignoreip entry (`set JAIL addignoreip`). Returns false for a duplicate. */
  add(entry: string): boolean {
    const text = entry.trim();
    if (!text) return false;
    if (this.#singles.has(text) || this.#entries.some((e) => e.text === text)) return false;
    if (text.startsWith('file:')) {
      const path = text.slice(5);
      const abs = path.startsWith('/') ? path : `${this.#opts.baseDir}/${path}`;
      const file: ListFile = { path: abs, mtimeMs: -1, checkedAt: -Infinity, singles: new Set(), networks: [] };
      this.#refreshFile(file, true);
      this.#entries.push({ kind: 'file', text, file });
      return true;
    }
    const ip = parseIp(text);
    if (ip) {
      const single = ip.prefix === (ip.family === 'inet4' ? 32 : 128);
      if (single) {
        if (this.#singles.has(ip.address)) return false;
        this.#singles.set(ip.address, text);
      } else {
        if (this.#entries.some((e) => e.kind === 'net' && e.net.address === ip.address && e.net.prefix === ip.prefix)) return false;
        this.#entries.push({ kind: 'net', text, net: ip });
      }
      return true;
    }
    // Not an address: a host name, resolved in the background; also matched literally (raw IDs).
    this.#singles.set(text, text);
    if (/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(text)) {
      this.#entries.push({ kind: 'dns', text, name: text });
      this.#ensureDns(text);
    }
    return true;
  }

  /** Removes an entry (`delignoreip`), or all entries without argument. */
  remove(entry?: string): boolean {
    if (entry === undefined) {
      this.#singles.clear();
      this.#entries = [];
      this.#cache.clear();
      return true;
    }
    const text = entry.trim();
    const canon = canonical(text);
    let removed = this.#singles.delete(text) || (canon !== null && this.#singles.delete(canon));
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.text !== text);
    removed ||= this.#entries.length !== before;
    if (removed) this.#cache.clear();
    return removed;
  }

  /** Entries as configured (for `get JAIL ignoreip`). */
  list(): string[] {
    return [...new Set([...this.#singles.values()]), ...this.#entries.filter((e) => e.kind !== 'dns').map((e) => e.text)];
  }

  /** Promise of all first DNS resolutions (tests, startup). */
  async ready(): Promise<void> {
    await Promise.all([...this.#dns.values()].map((s) => s.inflight).filter(Boolean));
  }

  /** Answer from memory, or `undefined` when async work (command, first DNS answer) is needed. */
  isIgnoredSync(subject: IgnoreSubject | string): IgnoreVerdict | undefined {
    const s = typeof subject === 'string' ? { id: subject } : subject;
    const key = this.ignoreCache ? cacheKey(this.ignoreCache.key, s) : null;
    if (key !== null) {
      const hit = this.#cacheGet(key);
      if (hit) return { ...hit, cached: true };
    }
    const r = this.#evaluate(s, false);
    if (r === 'pending' || r === 'command') return undefined;
    if (key !== null && !(r.ignored && r.source === 'ip' && this.#singleHit(s.id))) this.#cacheSet(key, r);
    return r;
  }

  /**
   * For checking many ids at once (the restore of a big store at start): a predicate that is true
   * exactly when `isIgnoredSync` says "ignored" for a restored ban of that id. Plain dotted quads
   * are answered from the address sets and IPv4 masks of the list (no parse, clock or allocation
   * per id); other ids, and all ids when an ignorecache is set (the cache is part of the answer),
   * go through isIgnoredSync. Own addresses and `file:` lists are refreshed once, when called.
   */
  bulkCheck(): (id: string) => boolean {
    // without ignorecache the verdict depends on the id alone
    const slow = this.ignoreCache
      ? (id: string): boolean => {
          const family = parseIp(id)?.family ?? null;
          return this.isIgnoredSync({ id, ip: family ? id : null, family })?.ignored === true;
        }
      : (id: string): boolean => this.isIgnoredSync(id)?.ignored === true;
    if (this.ignoreCache) return slow;
    // every address and network of the list, as #evaluate sees them for a single address
    const sets: (() => Set<string>)[] = [];
    const nets: IpAddress[] = [];
    if (this.ignoreSelf) {
      const own = this.#ownAddresses();
      sets.push(() => own);
      for (const name of this.#selfNames) {
        const st = this.#dns.get(name)!;
        sets.push(() => st.addresses);
      }
    }
    const singles = new Set<string>();
    for (const key of this.#singles.keys()) if (parseIp(key)) singles.add(key);
    sets.push(() => singles);
    for (const e of this.#entries) {
      if (e.kind === 'net') nets.push(e.net);
      else if (e.kind === 'file') {
        this.#refreshFile(e.file, false);
        const file = e.file;
        sets.push(() => file.singles);
        nets.push(...file.networks);
      } else {
        const st = this.#ensureDns(e.name);
        sets.push(() => st.addresses);
      }
    }
    const v4nets = nets.filter((n) => n.family === 'inet4').map((n) => ({ base: ipv4Base(n), mask: ipv4Mask(n.prefix) }));
    const v6nets = nets.filter((n) => n.family === 'inet6');
    // IPv6 by value (an id need not be written canonically): the list's IPv6 addresses as words,
    // re-read when a DNS answer replaced a set
    const v6cache = new Map<Set<string>, Uint16Array[]>();
    const v6of = (set: Set<string>): Uint16Array[] => {
      let words = v6cache.get(set);
      if (!words) {
        words = [];
        for (const a of set) {
          const w = new Uint16Array(8);
          if (ipv6Words(a, w)) words.push(w);
        }
        v6cache.set(set, words);
      }
      return words;
    };
    const id6 = new Uint16Array(8);
    return (id) => {
      const q = dottedQuad(id);
      if (q >= 0) {
        for (const set of sets) if (set().has(id)) return true;
        for (const n of v4nets) if ((q & n.mask) >>> 0 === n.base) return true;
        return false;
      }
      // IPv4-mapped addresses count as IPv4 (parseIp): the full check
      if (!ipv6Words(id, id6) || isMappedIpv4Words(id6)) return slow(id);
      for (const set of sets) for (const w of v6of(set())) if (sameWords(w, id6, 128)) return true;
      for (const n of v6nets) if (sameWords(n.bytes, id6, n.prefix, true)) return true;
      return false;
    };
  }

  /** Full answer: waits for pending first DNS answers and runs the ignorecommand. */
  async isIgnored(subject: IgnoreSubject | string): Promise<IgnoreVerdict> {
    const s = typeof subject === 'string' ? { id: subject } : subject;
    const sync = this.isIgnoredSync(s);
    if (sync) return sync;
    await this.#settleDns();
    const key = this.ignoreCache ? cacheKey(this.ignoreCache.key, s) : null;
    let r = this.#evaluate(s, true);
    if (r === 'pending') r = { ignored: false, cached: false }; // unreachable after settle; be safe
    if (r === 'command') {
      const ignored = await this.#runCommand(s);
      r = ignored ? { ignored: true, source: 'command', cached: false } : { ignored: false, cached: false };
    }
    if (key !== null) this.#cacheSet(key, r);
    return r;
  }

  #singleHit(id: string): boolean {
    return this.#singles.has(id) || this.#singles.has(canonical(id) ?? '\0');
  }

  /** Steps 2–5 of §4.2. `settled`: unresolved names count as "no match" instead of "pending". */
  #evaluate(s: IgnoreSubject, settled: boolean): IgnoreVerdict | 'pending' | 'command' {
    // a dotted quad (the usual failure id) is a single address and its own canonical text: it is
    // matched as a number, without parsing it into bytes (this runs for every failure)
    const quad = dottedQuad(s.id);
    const addr = quad >= 0 ? null : parseIp(s.id);
    const single = quad >= 0 ? s.id : addr && addr.prefix === (addr.family === 'inet4' ? 32 : 128) ? addr.address : null;
    let pending = false;
    if (this.ignoreSelf && single !== null) {
      if (this.#ownAddresses().has(single)) return { ignored: true, source: 'ignoreself rule', cached: false };
      for (const name of this.#selfNames) {
        const st = this.#dns.get(name)!;
        this.#refreshDnsIfStale(name, st);
        if (st.addresses.has(single)) return { ignored: true, source: 'ignoreself rule', cached: false };
        if (!st.settled && !settled) pending = true;
      }
    }
    if (this.#singles.has(s.id) || (single !== null && this.#singles.has(single))) return { ignored: true, source: 'ip', cached: false };
    for (const e of this.#entries) {
      if (e.kind === 'net') {
        if (inNetwork(e.net, quad, addr)) return { ignored: true, source: 'ip', cached: false };
      } else if (e.kind === 'file') {
        this.#refreshFile(e.file, false);
        if (single !== null && e.file.singles.has(single)) return { ignored: true, source: 'ip', cached: false };
        if (e.file.networks.some((n) => inNetwork(n, quad, addr))) return { ignored: true, source: 'ip', cached: false };
      } else if (single !== null) {
        const st = this.#ensureDns(e.name);
        this.#refreshDnsIfStale(e.name, st);
        if (st.addresses.has(single)) return { ignored: true, source: 'dns', cached: false };
        if (!st.settled && !settled) pending = true;
      }
    }
    if (pending) return 'pending';
    if (this.ignoreCommand) return 'command';
    return NOT_IGNORED;
  }

  #ownAddresses(): Set<string> {
    const now = this.#opts.now();
    if (!this.#ownAddrs || now - this.#ownAddrsAt >= this.#opts.dnsTtl) {
      const set = new Set<string>();
      for (const a of this.#opts.ownAddresses()) {
        const c = canonical(a.replace(/%.*$/, ''));
        if (c) set.add(c);
      }
      this.#ownAddrs = set;
      this.#ownAddrsAt = now;
    }
    return this.#ownAddrs;
  }

  #ensureDns(name: string): DnsState {
    let st = this.#dns.get(name);
    if (!st) {
      st = { addresses: new Set(), resolvedAt: -Infinity, settled: false, inflight: null };
      this.#dns.set(name, st);
      this.#startResolve(name, st);
    }
    return st;
  }

  #refreshDnsIfStale(name: string, st: DnsState): void {
    if (!st.inflight && this.#opts.now() - st.resolvedAt >= this.#opts.dnsTtl) this.#startResolve(name, st);
  }

  #startResolve(name: string, st: DnsState): void {
    const host = name.startsWith(SELF_KEY) ? name.slice(SELF_KEY.length) : name;
    st.inflight = this.#opts
      .resolve(host)
      .then(
        (addrs) => {
          const set = new Set<string>();
          for (const a of addrs) {
            const c = canonical(a);
            if (c) set.add(c);
          }
          st.addresses = set;
        },
        (err: unknown) => {
          // Keep the previous answer; an unresolvable name matches nothing.
          this.#opts.log('warning', `[${this.jail}] Unable to find a corresponding IP address for ${host}: ${(err as Error)?.message ?? err}`);
        },
      )
      .finally(() => {
        st.resolvedAt = this.#opts.now();
        st.settled = true;
        st.inflight = null;
      });
  }

  async #settleDns(): Promise<void> {
    const waiting = [...this.#dns.values()].filter((s) => !s.settled && s.inflight).map((s) => s.inflight!);
    if (!waiting.length) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((res) => {
      timer = setTimeout(res, this.#opts.dnsTimeout * 1000);
    });
    await Promise.race([Promise.all(waiting), timeout]);
    clearTimeout(timer);
  }

  /** Reloads a `file:` list when its mtime changed (checked at most once per second). */
  #refreshFile(file: ListFile, force: boolean): void {
    const now = this.#opts.now();
    if (!force && now - file.checkedAt < 1) return;
    file.checkedAt = now;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file.path).mtimeMs;
    } catch (err) {
      if (file.mtimeMs !== -2) this.#opts.log('warning', `[${this.jail}] ignoreip file ${file.path} cannot be read: ${(err as Error).message}`);
      file.mtimeMs = -2;
      file.singles = new Set();
      file.networks = [];
      return;
    }
    if (mtimeMs === file.mtimeMs) return;
    file.mtimeMs = mtimeMs;
    const singles = new Set<string>();
    const networks: IpAddress[] = [];
    const lines = readFileSync(file.path, 'utf8').split('\n');
    lines.forEach((raw, i) => {
      const line = raw.replace(/#.*$/, '').trim();
      if (!line) return;
      for (const word of splitIgnoreIp(line)) {
        const ip = parseIp(word);
        if (!ip) {
          this.#opts.log('warning', `[${this.jail}] ${file.path}:${i + 1}: '${word}' is not an IP address or network, skipped`);
          continue;
        }
        if (ip.prefix === (ip.family === 'inet4' ? 32 : 128)) singles.add(ip.address);
        else networks.push(ip);
      }
    });
    file.singles = singles;
    file.networks = networks;
    this.#cache.clear();
  }

  #cacheGet(key: string): IgnoreVerdict | undefined {
    const e = this.#cache.get(key);
    if (!e) return undefined;
    if (this.#opts.now() - e.at > this.ignoreCache!.maxTime) {
      this.#cache.delete(key);
      return undefined;
    }
    return e.verdict;
  }

  #cacheSet(key: string, verdict: IgnoreVerdict): void {
    const c = this.ignoreCache!;
    if (c.maxCount <= 0) return;
    this.#cache.delete(key);
    while (this.#cache.size >= c.maxCount) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, { verdict: { ...verdict, cached: false }, at: this.#opts.now() });
  }

  /** Runs the ignorecommand: exit 0 → ignore, 1 → not ignored, other/timeout → error logged, not ignored. */
  #runCommand(s: IgnoreSubject): Promise<boolean> {
    const { script, env } = buildIgnoreCommand(this.ignoreCommand!, s);
    const baseEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('F2B_')) baseEnv[k] = v;
    return new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', script], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      const collect = (b: Buffer) => {
        if (output.length < 4096) output += b.toString('utf8');
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const timer = setTimeout(() => {
        this.#opts.log('error', `[${this.jail}] ignorecommand -- timed out after ${this.#opts.commandTimeout} seconds.`);
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, this.#opts.commandTimeout * 1000);
      child.on('error', (err) => {
        clearTimeout(timer);
        this.#opts.log('error', `[${this.jail}] ignorecommand cannot run: ${err.message}`);
        resolve(false);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(true);
        else {
          if (code !== 1) {
            this.#opts.log('error', `[${this.jail}] ignorecommand -- returned ${code ?? 'signal'}${output ? `: ${output.trim()}` : ''}`);
          }
          resolve(false);
        }
      });
    });
  }
}
