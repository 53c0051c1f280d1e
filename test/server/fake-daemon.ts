/**
 * In-memory DaemonApi for the transmitter, control socket and client tests.
 * Behaves like a small daemon: jails with options, ignore lists, regexes, bans, actions.
 */
import { InvalidArgumentError, UnknownJailError } from '../../src/errors.ts';
import {
  DuplicateJailError,
  type BanListEntry,
  type CommandValue,
  type DaemonApi,
  type JailScalarOption,
  type JailStatus,
  type ReloadOptions,
  type ServerOption,
  type StatusFlavor,
} from '../../src/server/daemon-api.ts';

export interface FakeJail {
  backend: string;
  options: Map<string, unknown>;
  ignoreIps: string[];
  logPaths: string[];
  journal: string[][];
  failregex: string[];
  ignoreregex: string[];
  bans: Map<string, { start: number; bantime: number }>;
  totalBanned: number;
  failed: { current: number; total: number };
  actions: Map<string, Map<string, unknown>>;
  started: boolean;
}

export class FakeDaemon implements DaemonApi {
  readonly jails = new Map<string, FakeJail>();
  readonly server = new Map<string, unknown>([
    ['loglevel', 'INFO'],
    ['logtarget', '/var/log/moat.log'],
    ['syslogsocket', 'auto'],
    ['dbfile', '/var/lib/moat/moat.sqlite3'],
    ['dbmaxmatches', 10],
    ['dbpurgeage', 86400],
    ['thread', { stacksize: 0 }],
  ]);
  readonly calls: string[] = [];
  readonly reloads: { jail: string | null; opts: ReloadOptions }[] = [];
  shutdownRequested = false;
  configErrors: string[] = [];

  jail(name: string): FakeJail {
    const j = this.jails.get(name);
    if (!j) throw new UnknownJailError(name);
    return j;
  }

  add(name: string, backend = 'auto'): FakeJail {
    const j: FakeJail = {
      backend,
      options: new Map<string, unknown>([
        ['idle', false],
        ['ignoreself', true],
        ['ignorecommand', ''],
        ['logencoding', 'UTF-8'],
        ['usedns', 'warn'],
        ['findtime', 600],
        ['bantime', 600],
        ['datepattern', null],
        ['maxretry', 5],
        ['maxmatches', 5],
        ['maxlines', 1],
        ['prefregex', ''],
      ]),
      ignoreIps: [],
      logPaths: [],
      journal: [],
      failregex: [],
      ignoreregex: [],
      bans: new Map(),
      totalBanned: 0,
      failed: { current: 0, total: 0 },
      actions: new Map(),
      started: false,
    };
    this.jails.set(name, j);
    return j;
  }

  version(): string {
    return '0.1.0';
  }
  shutdown(): void {
    this.shutdownRequested = true;
  }
  jailNames(): string[] {
    return [...this.jails.keys()];
  }
  jailStatus(jail: string, _flavor: StatusFlavor): JailStatus {
    const j = this.jail(jail);
    const base = { currentlyFailed: j.failed.current, totalFailed: j.failed.total };
    return {
      filter: j.backend === 'systemd' ? { ...base, journalMatches: j.journal } : { ...base, fileList: [...j.logPaths] },
      actions: { currentlyBanned: j.bans.size, totalBanned: j.totalBanned, bannedIps: [...j.bans.keys()] },
    };
  }
  bannedByJail(): { jail: string; ips: string[] }[] {
    return [...this.jails].map(([jail, j]) => ({ jail, ips: [...j.bans.keys()] }));
  }
  jailsBanning(ip: string): string[] {
    return [...this.jails].filter(([, j]) => j.bans.has(ip)).map(([n]) => n);
  }
  unbanAll(): number {
    let n = 0;
    for (const j of this.jails.values()) {
      n += j.bans.size;
      j.bans.clear();
    }
    return n;
  }
  unbanEverywhere(ips: string[]): number {
    let n = 0;
    for (const j of this.jails.values()) for (const ip of ips) if (j.bans.delete(ip)) n++;
    return n;
  }
  addJail(jail: string, backend: string): void {
    if (this.jails.has(jail)) throw new DuplicateJailError(jail);
    this.add(jail, backend);
  }
  startJail(jail: string): void {
    this.jail(jail).started = true;
  }
  stopJail(jail: string): void {
    this.jail(jail);
    this.jails.delete(jail);
  }
  stopAllJails(): void {
    this.jails.clear();
  }
  async reload(jail: string | null, opts: ReloadOptions): Promise<void> {
    if (jail !== null && !this.jails.has(jail) && !opts.ifExists) throw new UnknownJailError(jail);
    this.reloads.push({ jail, opts });
    await opts.applyStream?.();
  }
  flushLogs(): string {
    return 'rolled over';
  }
  logConfigError(message: string): void {
    this.configErrors.push(message);
  }
  getServerOption(option: ServerOption): unknown {
    return this.server.get(option) ?? null;
  }
  setServerOption(option: ServerOption, value: CommandValue): unknown {
    if (option === 'dbfile' && typeof value === 'string' && value.toLowerCase() === 'none') {
      this.server.set('dbfile', null);
      return null;
    }
    if (option === 'loglevel' && typeof value === 'string') value = value.toUpperCase();
    this.server.set(option, value);
    return value;
  }
  getJailOption(jail: string, option: JailScalarOption): unknown {
    return this.jail(jail).options.get(option) ?? null;
  }
  setJailOption(jail: string, option: JailScalarOption, value: string | number | boolean): void {
    const j = this.jail(jail);
    if (option === 'bantime' || option === 'findtime') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new InvalidArgumentError(`bad time value '${value}'`);
      j.options.set(option, n);
    } else if (option === 'datepattern') {
      j.options.set(option, [value, String(value)]);
    } else j.options.set(option, value);
  }
  getIgnoreIps(jail: string): string[] {
    return [...this.jail(jail).ignoreIps];
  }
  addIgnoreIp(jail: string, ip: string): void {
    this.jail(jail).ignoreIps.push(ip);
  }
  delIgnoreIp(jail: string, ip: string): void {
    const j = this.jail(jail);
    j.ignoreIps = j.ignoreIps.filter((x) => x !== ip);
  }
  getLogPaths(jail: string): string[] {
    return [...this.jail(jail).logPaths];
  }
  addLogPath(jail: string, path: string, _tail: boolean): void {
    this.jail(jail).logPaths.push(path);
  }
  delLogPath(jail: string, path: string): void {
    const j = this.jail(jail);
    j.logPaths = j.logPaths.filter((x) => x !== path);
  }
  getJournalMatches(jail: string): string[][] {
    return this.jail(jail).journal.map((m) => [...m]);
  }
  addJournalMatch(jail: string, words: string[]): void {
    const j = this.jail(jail);
    let group: string[] = [];
    for (const w of words) {
      if (w === '+') {
        j.journal.push(group);
        group = [];
      } else group.push(w);
    }
    if (group.length) j.journal.push(group);
  }
  delJournalMatch(jail: string, _words: string[]): void {
    this.jail(jail).journal = [];
  }
  getRegexes(jail: string, kind: 'fail' | 'ignore'): string[] {
    const j = this.jail(jail);
    return [...(kind === 'fail' ? j.failregex : j.ignoreregex)];
  }
  addRegexes(jail: string, kind: 'fail' | 'ignore', regexes: string[]): void {
    const j = this.jail(jail);
    (kind === 'fail' ? j.failregex : j.ignoreregex).push(...regexes.map((r) => r.replace('<HOST>', '(?:(?P<ip4>[\\d.]+))')));
  }
  delRegex(jail: string, kind: 'fail' | 'ignore', index: number): void {
    const list = kind === 'fail' ? this.jail(jail).failregex : this.jail(jail).ignoreregex;
    if (index < 0 || index >= list.length) throw new InvalidArgumentError(`no regex at index ${index}`);
    list.splice(index, 1);
  }
  attempt(jail: string, _ip: string, _lines: string[]): number {
    const j = this.jail(jail);
    j.failed.current++;
    j.failed.total++;
    return 1;
  }
  banIps(jail: string, ips: string[]): number {
    const j = this.jail(jail);
    let n = 0;
    for (const ip of ips) {
      if (j.bans.has(ip)) continue;
      j.bans.set(ip, { start: 1700000000 + j.bans.size, bantime: Number(j.options.get('bantime')) });
      j.totalBanned++;
      n++;
    }
    return n;
  }
  unbanIps(jail: string, ips: string[], reportAbsent: boolean): number {
    const j = this.jail(jail);
    const absent = ips.filter((ip) => !j.bans.has(ip));
    if (reportAbsent && absent.length) throw new InvalidArgumentError(`not banned: [${absent.map((a) => `'${a}'`).join(', ')}]`);
    let n = 0;
    for (const ip of ips) if (j.bans.delete(ip)) n++;
    return n;
  }
  bannedIn(jail: string): string[] {
    return [...this.jail(jail).bans.keys()];
  }
  isBannedIn(jail: string, ip: string): boolean {
    return this.jail(jail).bans.has(ip);
  }
  banList(jail: string): BanListEntry[] {
    return [...this.jail(jail).bans].map(([ip, b]) => ({ ip, ...b })).sort((a, b) => a.start + a.bantime - (b.start + b.bantime));
  }
  actionNames(jail: string): string[] {
    return [...this.jail(jail).actions.keys()];
  }
  action(jail: string, action: string): Map<string, unknown> {
    const a = this.jail(jail).actions.get(action);
    if (!a) throw new InvalidArgumentError(`Invalid Action name '${action}' for jail '${jail}'`);
    return a;
  }
  addAction(jail: string, action: string): void {
    this.jail(jail).actions.set(action, new Map<string, unknown>([['actionban', ''], ['timeout', 60]]));
  }
  delAction(jail: string, action: string): void {
    this.action(jail, action);
    this.jail(jail).actions.delete(action);
  }
  actionProperties(jail: string, action: string): string[] {
    return [...this.action(jail, action).keys()].sort();
  }
  actionMethods(jail: string, action: string): string[] {
    this.action(jail, action);
    return ['ban', 'reload', 'start', 'stop', 'unban'];
  }
  getActionProperty(jail: string, action: string, property: string): unknown {
    return this.action(jail, action).get(property) ?? null;
  }
  setActionProperty(jail: string, action: string, property: string, value: CommandValue): void {
    this.action(jail, action).set(property, value);
  }
  callActionMethod(jail: string, action: string, method: string, kwargs: Record<string, unknown>): unknown {
    this.calls.push(`${jail}.${action}.${method}(${JSON.stringify(kwargs)})`);
    return null;
  }
}

/** A daemon with one file jail `sshd` (2 currently failed / 7 total, one ban), as in §6.3. */
export function sampleDaemon(): FakeDaemon {
  const d = new FakeDaemon();
  const j = d.add('sshd', 'polling');
  j.logPaths.push('/tmp/f2btest/auth.log');
  j.failed = { current: 2, total: 7 };
  j.bans.set('192.0.2.10', { start: 1700000000, bantime: 600 });
  j.totalBanned = 1;
  return d;
}
