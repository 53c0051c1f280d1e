/**
 * moatd: owns the jails, the store, the log and the control socket, and implements the
 * command set (DaemonApi) the transmitter dispatches to. Configuration is read here, at start
 * and on reload; a reload is parsed and validated completely before anything changes, so a bad
 * file leaves the running jails as they were.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfig, MOAT_DAEMON_SETTINGS, parseTimeValue, type DaemonSettings, type JailDefinition, type LoadedConfig } from '../config/index.ts';
import { KeyedSerialQueue, NftBatcher, NftRunner } from '../actions/index.ts';
import { InvalidArgumentError, MoatError, UnknownJailError } from '../errors.ts';
import { Jail } from '../jail/jail.ts';
import { Logger, levelLabel, parseLevel, type NamedLogger } from '../log/logger.ts';
import { canonicalIp } from '../net/ip.ts';
import { Store } from '../store/store.ts';
import { createNotifier, type Notifier } from '../systemd/notify.ts';
import { MOAT_VERSION } from '../version.ts';
import { ControlServer } from './control-socket.ts';
import {
  DuplicateJailError,
  InvalidCommandError,
  type BanListEntry,
  type CommandValue,
  type DaemonApi,
  type JailScalarOption,
  type JailStatus,
  type ReloadOptions,
  type ServerOption,
  type StatusFlavor,
} from './daemon-api.ts';
import { EventHub } from './events.ts';
import { Transmitter } from './transmitter.ts';
import { consoleState } from './console-state.ts';

export interface DaemonOptions {
  configDir: string;
  socket?: string;
  pidfile?: string;
  loglevel?: string;
  logtarget?: string;
  syslogsocket?: string;
  /** -x: remove a stale socket. */
  force?: boolean;
  /** Overrides dbfile (tests). */
  dbfile?: string | null;
  env?: NodeJS.ProcessEnv;
}

export class Daemon implements DaemonApi {
  readonly opts: DaemonOptions;
  readonly events = new EventHub();
  readonly jails = new Map<string, Jail>();
  logger!: Logger;
  settings!: DaemonSettings;
  store: Store | null = null;
  server: ControlServer | null = null;
  #log!: { server: NamedLogger; filter: NamedLogger; actions: NamedLogger; jail: NamedLogger; transmitter: NamedLogger };
  #queue = new KeyedSerialQueue();
  #nft: { runner: NftRunner; batcher: NftBatcher } | null = null;
  #notifier: Notifier;
  #purgeTimer: NodeJS.Timeout | null = null;
  #statusTimer: NodeJS.Timeout | null = null;
  #stopping: Promise<void> | null = null;
  #onStopped: (() => void)[] = [];
  readonly startedAt = Date.now() / 1000;

  constructor(opts: DaemonOptions) {
    this.opts = opts;
    this.#notifier = createNotifier(opts.env ?? process.env);
  }

  // ---------------------------------------------------------------- start / stop

  async start(): Promise<void> {
    const cfg = loadConfig(this.opts.configDir);
    this.settings = this.#effectiveSettings(cfg.daemon);
    this.logger = new Logger({ target: this.settings.logtarget, level: this.settings.loglevel, syslogSocket: this.settings.syslogsocket });
    const child = (n: string) => this.logger.child(`moat.${n}`);
    this.#log = { server: child('server'), filter: child('filter'), actions: child('actions'), jail: child('jail'), transmitter: child('transmitter') };
    this.logger.subscribe((r) =>
      this.events.publish({ type: 'log', time: r.time, level: levelLabel(r.level), logger: r.name, message: r.message }),
    );
    this.#log.server.info('-'.repeat(50));
    this.#log.server.info(`Starting moat v${MOAT_VERSION}`);
    for (const w of cfg.warnings) this.#log.server.warning(w);
    for (const e of cfg.errors) this.#configError(e);

    if (this.settings.dbfile) {
      if (this.settings.dbfile !== ':memory:') mkdirSync(dirname(this.settings.dbfile), { recursive: true, mode: 0o750 });
      this.store = Store.open(this.settings.dbfile, {
        // positions are written after every read: after a crash (kill -9) no line is read twice
        flushIntervalSeconds: 0,
        ...(this.settings.dbmaxmatches !== null ? { dbMaxMatches: this.settings.dbmaxmatches } : {}),
      });
      this.#log.server.info(`Connected to moat persistent database '${this.settings.dbfile}'`);
      this.#purgeTimer = setInterval(() => this.#purge(), 3600_000);
      this.#purgeTimer.unref();
    }

    const transmitter = new Transmitter(this, {
      onError: (cmd, err) =>
        this.#log.transmitter.error(`Command ${JSON.stringify(cmd)} has failed. Received ${(err as Error).name}: ${(err as Error).message}`),
    });
    this.server = await ControlServer.listen({
      socketPath: this.settings.socket,
      socketGroup: this.settings.socketgroup,
      force: !!this.opts.force,
      handler: (cmd) => transmitter.proceed(cmd as never),
      events: this.events,
      env: this.opts.env ?? process.env,
    } as Parameters<typeof ControlServer.listen>[0]);
    this.#writePidfile();

    for (const def of cfg.jails) await this.#startJail(def);
    this.#notifier.notify(`READY=1\nSTATUS=${this.#statusLine()}\nMAINPID=${process.pid}`);
    this.#notifier.startWatchdog();
    if (this.#notifier.enabled) {
      this.#statusTimer = setInterval(() => this.#notifier.notify(`STATUS=${this.#statusLine()}`), 5000);
      this.#statusTimer.unref();
    }
    this.#log.server.info(`Server ready (${this.jails.size} jail(s))`);
  }

  /** Resolves when the daemon has stopped (after `stop` or a signal). */
  waitStopped(): Promise<void> {
    return new Promise((r) => this.#onStopped.push(r));
  }

  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = (async () => {
      this.#notifier.notify('STOPPING=1');
      this.#log.server.info('Shutdown in progress...');
      this.#log.server.info('Stopping all jails');
      for (const jail of [...this.jails.values()]) await this.#stopJail(jail);
      if (this.#purgeTimer) clearInterval(this.#purgeTimer);
      if (this.#statusTimer) clearInterval(this.#statusTimer);
      this.store?.close();
      this.store = null;
      await this.server?.close();
      this.#removePidfile();
      this.#log.server.info('Exiting moat');
      this.logger.close();
      await this.#notifier.stop();
      for (const r of this.#onStopped) r();
    })();
    return this.#stopping;
  }

  #effectiveSettings(s: DaemonSettings): DaemonSettings {
    const o = this.opts;
    return {
      ...s,
      socket: o.socket ?? s.socket ?? MOAT_DAEMON_SETTINGS.socket,
      pidfile: o.pidfile ?? s.pidfile,
      loglevel: o.loglevel ?? s.loglevel,
      logtarget: o.logtarget ?? s.logtarget,
      syslogsocket: o.syslogsocket ?? s.syslogsocket,
      dbfile: o.dbfile !== undefined ? o.dbfile : s.dbfile,
    };
  }

  #writePidfile(): void {
    const p = this.settings.pidfile;
    if (!p) return;
    try {
      mkdirSync(dirname(p), { recursive: true, mode: 0o750 });
      writeFileSync(p, `${process.pid}\n`, { mode: 0o644 });
    } catch (e) {
      this.#log.server.warning(`Unable to write pidfile ${p}: ${(e as Error).message}`);
    }
  }

  #removePidfile(): void {
    const p = this.settings?.pidfile;
    try {
      if (p && existsSync(p) && readFileSync(p, 'utf8').trim() === String(process.pid)) unlinkSync(p);
    } catch {
      /* best effort */
    }
  }

  #nftBackend(): { runner: NftRunner; batcher: NftBatcher } | null {
    if (this.#nft) return this.#nft;
    try {
      const runner = new NftRunner({} as never);
      const batcher = new NftBatcher(runner as never);
      this.#nft = { runner, batcher } as never;
    } catch {
      this.#nft = null;
    }
    return this.#nft;
  }

  /**
   * Creates and starts one jail. A jail that cannot be built (e.g. an action whose options the
   * nft backend rejects) is logged and skipped like a config error: the other jails keep running.
   */
  async #startJail(def: JailDefinition): Promise<Jail | null> {
    this.#log.jail.info(`Creating new jail '${def.name}'`);
    let jail: Jail;
    try {
      jail = this.#createJail(def);
    } catch (e) {
      // MoatError messages already name file, section and option
      this.#log.server.error(`Jail '${def.name}': ${(e as Error).message}. Jail skipped.`);
      const code = e instanceof MoatError ? e.code : 'MOAT_ERR_JAIL';
      this.events.publish({ type: 'error', time: Date.now() / 1000, code, message: (e as Error).message, jail: def.name });
      return null;
    }
    this.jails.set(def.name, jail);
    await jail.start();
    return jail;
  }

  #createJail(def: JailDefinition): Jail {
    return new Jail(def, {
      store: this.store,
      log: { filter: this.#log.filter, actions: this.#log.actions, jail: this.#log.jail },
      events: this.events,
      queue: this.#queue,
      nft: this.#nftBackend(),
      allowIpv6: this.settings.allowipv6 !== false,
      dbmaxmatches: this.settings.dbmaxmatches,
    });
  }

  async #stopJail(jail: Jail): Promise<void> {
    await jail.stop();
    this.jails.delete(jail.name);
  }

  #configError(e: MoatError): void {
    this.#log.server.error(`${e.message}. Jail skipped.`);
    this.events.publish({ type: 'error', time: Date.now() / 1000, code: e.code, message: e.message, ...(e.section ? { jail: e.section } : {}) });
  }

  #purge(): void {
    try {
      this.store?.purge(this.settings.dbpurgeage);
    } catch (e) {
      this.#log.server.error(`database purge failed: ${(e as Error).message}`);
    }
  }

  #statusLine(): string {
    let failed = 0;
    let banned = 0;
    for (const j of this.jails.values()) {
      failed += j.failManager.size;
      banned += j.banManager.size;
    }
    return `${this.jails.size} jail(s), ${failed} failing, ${banned} banned`;
  }

  #jail(name: string): Jail {
    const j = this.jails.get(name);
    if (!j) throw new UnknownJailError(name);
    return j;
  }

  // ---------------------------------------------------------------- reload

  async reload(jail: string | null, opts: ReloadOptions): Promise<void> {
    this.#notifier.notify('RELOADING=1');
    this.events.publish({ type: 'reload', time: Date.now() / 1000, jail, phase: 'begin' });
    try {
      if (opts.applyStream) {
        await opts.applyStream();
        return;
      }
      // parse and validate everything before touching the running jails
      let cfg: LoadedConfig;
      try {
        cfg = loadConfig(this.opts.configDir);
      } catch (e) {
        this.#log.server.error(`Reload failed, keeping the running configuration: ${(e as Error).message}`);
        throw e;
      }
      for (const e of cfg.errors) this.#configError(e);
      const wanted = new Map(cfg.jails.map((d) => [d.name, d]));
      const failedNames = new Set(cfg.errors.map((e) => e.section).filter((s): s is string => !!s));
      if (jail !== null) {
        if (!wanted.has(jail) && !this.jails.has(jail)) {
          if (opts.ifExists) return;
          throw new UnknownJailError(jail);
        }
      }
      const names = jail !== null ? [jail] : [...new Set([...this.jails.keys(), ...wanted.keys()])];
      for (const name of names) {
        const running = this.jails.get(name);
        const def = wanted.get(name);
        if (!def) {
          if (failedNames.has(name) && running) {
            this.#log.server.warning(`Jail '${name}' keeps running with its previous configuration (new one is invalid)`);
            continue;
          }
          if (running) await this.#stopJail(running);
          continue;
        }
        if (running && !opts.restart && JSON.stringify(running.def) === JSON.stringify(def)) {
          if (opts.unban) running.banManager.unbanAll('flush');
          continue;
        }
        if (running) {
          if (opts.unban) running.banManager.unbanAll('flush');
          await this.#stopJail(running);
        }
        await this.#startJail(def);
      }
    } finally {
      this.events.publish({ type: 'reload', time: Date.now() / 1000, jail, phase: 'end' });
      this.#notifier.notify(`READY=1\nSTATUS=${this.#statusLine()}`);
    }
  }

  // ---------------------------------------------------------------- DaemonApi: server

  version(): string {
    return MOAT_VERSION;
  }

  shutdown(): void {
    setImmediate(() => void this.stop());
  }

  jailNames(): string[] {
    return [...this.jails.keys()];
  }

  jailStatus(name: string, flavor: StatusFlavor): JailStatus {
    const j = this.#jail(name);
    const journal = j.def.backend.toLowerCase().startsWith('systemd');
    return {
      filter: {
        currentlyFailed: j.failManager.size,
        totalFailed: j.failManager.totalFailed,
        ...(journal ? { journalMatches: j.def.journalmatch.map((g) => g.filter((w) => w !== '+')) } : { fileList: j.logFiles }),
      },
      actions: {
        currentlyBanned: j.banManager.size,
        totalBanned: j.banManager.totalBanned,
        bannedIps: flavor === 'short' ? [] : j.banManager.bannedIds(),
      },
    };
  }

  bannedByJail(): { jail: string; ips: string[] }[] {
    return [...this.jails.values()].map((j) => ({ jail: j.name, ips: j.banManager.bannedIds() }));
  }

  jailsBanning(ip: string): string[] {
    const id = canonicalIp(ip) ?? ip;
    return [...this.jails.values()].filter((j) => j.banManager.has(id)).map((j) => j.name);
  }

  unbanAll(): number {
    let n = 0;
    for (const j of this.jails.values()) n += j.banManager.unbanAll('flush').length;
    this.store?.removeBans(null, null);
    return n;
  }

  unbanEverywhere(ips: string[]): number {
    let n = 0;
    for (const j of this.jails.values()) n += j.unbanIps(ips).unbanned;
    for (const ip of ips) this.store?.removeBans(null, canonicalIp(ip) ?? ip);
    return n;
  }

  addJail(jail: string, _backend: string): void {
    if (this.jails.has(jail)) throw new DuplicateJailError(jail);
    throw new InvalidCommandError(`'add' of a jail at runtime is not supported; define [${jail}] in the configuration and reload`);
  }

  async startJail(jail: string): Promise<void> {
    if (this.jails.has(jail)) return;
    await this.reload(jail, { restart: false, unban: false, ifExists: false });
  }

  async stopJail(jail: string): Promise<void> {
    await this.#stopJail(this.#jail(jail));
  }

  async stopAllJails(): Promise<void> {
    for (const j of [...this.jails.values()]) await this.#stopJail(j);
  }

  flushLogs(): string {
    return this.logger.reopen();
  }

  logConfigError(message: string): void {
    this.#log.server.error(message);
  }

  getServerOption(option: ServerOption): unknown {
    switch (option) {
      case 'loglevel':
        return this.settings.loglevel;
      case 'logtarget':
        return this.logger.target;
      case 'syslogsocket':
        return this.settings.syslogsocket;
      case 'dbfile':
        return this.settings.dbfile;
      case 'dbpurgeage':
        return this.settings.dbpurgeage;
      case 'dbmaxmatches':
        return this.settings.dbmaxmatches;
      case 'allowipv6':
        return this.settings.allowipv6;
      case 'thread':
        return { stacksize: 0 };
    }
  }

  setServerOption(option: ServerOption, value: CommandValue): unknown {
    switch (option) {
      case 'loglevel':
        this.logger.level = parseLevel(String(value));
        this.settings.loglevel = String(value).toUpperCase();
        return this.settings.loglevel;
      case 'logtarget':
        this.logger.setTarget(String(value));
        this.settings.logtarget = String(value);
        return this.settings.logtarget;
      case 'dbpurgeage':
        this.settings.dbpurgeage = parseTimeValue(String(value));
        return this.settings.dbpurgeage;
      case 'dbmaxmatches':
        this.settings.dbmaxmatches = Number(value);
        return this.settings.dbmaxmatches;
      case 'dbfile':
        if (this.jails.size) throw new InvalidArgumentError('Cannot change database when there are jails present');
        throw new InvalidArgumentError('dbfile is read from moat.conf at start');
      default:
        throw new InvalidCommandError(`Invalid command (no set action or not yet implemented)`);
    }
  }

  // ---------------------------------------------------------------- DaemonApi: jail options

  getJailOption(name: string, option: JailScalarOption): unknown {
    const j = this.#jail(name);
    const d = j.def;
    switch (option) {
      case 'idle':
        return j.idle;
      case 'ignoreself':
        return d.ignoreself;
      case 'ignorecommand':
        return d.ignorecommand ?? '';
      case 'ignorecache':
        return d.ignorecache ? [d.ignorecache.key, d.ignorecache.maxCount, d.ignorecache.maxTime] : null;
      case 'logencoding':
        return d.logencoding === 'auto' ? 'UTF-8' : d.logencoding;
      case 'prefregex':
        return j.filter.prefregex?.expanded ?? '';
      case 'usedns':
        return d.usedns;
      case 'findtime':
        return j.failManager.findTime;
      case 'bantime':
        return j.banManager.bantime;
      case 'datepattern':
        return d.filter.datepattern === null ? [null, 'Default Detectors'] : [d.filter.datepattern, j.filter.dateDetector.describe()];
      case 'logtimezone':
        return d.logtimezone;
      case 'maxretry':
        return j.failManager.maxRetry;
      case 'maxmatches':
        return j.failManager.maxMatches;
      case 'maxlines':
        return j.filter.maxlines;
      case 'bantime.increment':
        return d.bantimeIncrement.enabled;
      case 'bantime.factor':
        return d.bantimeIncrement.factor;
      case 'bantime.formula':
        return d.bantimeIncrement.formula;
      case 'bantime.multipliers':
        return d.bantimeIncrement.multipliers.length ? d.bantimeIncrement.multipliers.join(' ') : null;
      case 'bantime.maxtime':
        return d.bantimeIncrement.maxtime;
      case 'bantime.rndtime':
        return d.bantimeIncrement.rndtime;
      case 'bantime.overalljails':
        return d.bantimeIncrement.overalljails;
    }
  }

  setJailOption(name: string, option: JailScalarOption, value: string | number | boolean): void {
    const j = this.#jail(name);
    switch (option) {
      case 'idle':
        j.idle = value === true || /^(on|true|yes|1)$/i.test(String(value));
        return;
      case 'maxretry':
        j.failManager.maxRetry = Number(value);
        j.def.maxretry = Number(value);
        return;
      case 'maxmatches':
        j.failManager.maxMatches = Number(value);
        j.def.maxmatches = Number(value);
        return;
      case 'findtime': {
        const t = parseTimeValue(String(value));
        j.failManager.findTime = t;
        j.filter.findtime = t;
        j.def.findtime = t;
        return;
      }
      case 'bantime': {
        const t = Math.trunc(parseTimeValue(String(value)));
        j.banManager.bantime = t;
        j.def.bantime = t;
        return;
      }
      case 'ignoreself':
        j.def.ignoreself = value === true || /^(on|true|yes|1)$/i.test(String(value));
        (j.ignore as unknown as { ignoreSelf: boolean }).ignoreSelf = j.def.ignoreself;
        return;
      default:
        throw new InvalidCommandError(`Invalid command: set ${option} at runtime is not supported yet; change the configuration and reload`);
    }
  }

  getIgnoreIps(jail: string): string[] {
    return this.#jail(jail).ignore.list();
  }
  addIgnoreIp(jail: string, ip: string): void {
    this.#jail(jail).ignore.add(ip);
  }
  delIgnoreIp(jail: string, ip: string): void {
    this.#jail(jail).ignore.remove(ip);
  }
  getLogPaths(jail: string): string[] {
    return this.#jail(jail).logFiles;
  }
  addLogPath(jail: string, path: string, tail: boolean): void {
    const j = this.#jail(jail);
    const src = j.source as { addLogPath?: (g: string, s: 'head' | 'tail') => void } | null;
    if (!src?.addLogPath) throw new InvalidArgumentError(`jail '${jail}' does not read files`);
    src.addLogPath(path, tail ? 'tail' : 'head');
  }
  delLogPath(jail: string, path: string): void {
    const j = this.#jail(jail);
    const src = j.source as { removeLogPath?: (g: string) => void } | null;
    src?.removeLogPath?.(path);
  }
  getJournalMatches(jail: string): string[][] {
    return this.#jail(jail).def.journalmatch;
  }
  addJournalMatch(_jail: string, _words: string[]): void {
    throw new InvalidCommandError('journal matches are read from the configuration; change it and reload');
  }
  delJournalMatch(_jail: string, _words: string[]): void {
    throw new InvalidCommandError('journal matches are read from the configuration; change it and reload');
  }
  getRegexes(jail: string, kind: 'fail' | 'ignore'): string[] {
    const f = this.#jail(jail).filter;
    return (kind === 'fail' ? f.failregex : f.ignoreregex).map((r) => r.expanded);
  }
  addRegexes(_jail: string, _kind: 'fail' | 'ignore', _regexes: string[]): void {
    throw new InvalidCommandError('regexes are read from the configuration; change it and reload');
  }
  delRegex(_jail: string, _kind: 'fail' | 'ignore', _index: number): void {
    throw new InvalidCommandError('regexes are read from the configuration; change it and reload');
  }

  // ---------------------------------------------------------------- DaemonApi: bans

  attempt(jail: string, ip: string, lines: string[]): number {
    return this.#jail(jail).attempt(ip, lines);
  }
  banIps(jail: string, ips: string[]): number {
    for (const ip of ips) {
      if (!canonicalIp(ip)) throw new InvalidArgumentError(`'${ip}' is not a valid IP address`);
    }
    return this.#jail(jail).banIps(ips);
  }
  unbanIps(jail: string, ips: string[], reportAbsent: boolean): number {
    const r = this.#jail(jail).unbanIps(ips);
    if (reportAbsent && r.absent.length) throw new InvalidArgumentError(`not banned: ${JSON.stringify(r.absent)}`);
    return r.unbanned;
  }
  bannedIn(jail: string): string[] {
    return this.#jail(jail).banManager.bannedIds();
  }
  isBannedIn(jail: string, ip: string): boolean {
    return this.#jail(jail).banManager.has(canonicalIp(ip) ?? ip);
  }
  banList(jail: string): BanListEntry[] {
    const bm = this.#jail(jail).banManager;
    return bm.bannedIds().map((id) => {
      const t = bm.get(id)!;
      return { ip: id, start: t.time, bantime: t.bantime };
    });
  }

  // ---------------------------------------------------------------- DaemonApi: actions

  actionNames(jail: string): string[] {
    return this.#jail(jail).actions.map((a) => a.name);
  }
  addAction(_jail: string, _action: string): void {
    throw new InvalidCommandError('actions are read from the configuration; change it and reload');
  }
  delAction(_jail: string, _action: string): void {
    throw new InvalidCommandError('actions are read from the configuration; change it and reload');
  }
  #actionDef(jail: string, action: string) {
    const d = this.#jail(jail).def.actions.find((a) => a.name === action);
    if (!d) throw new InvalidArgumentError(`Invalid Action name: ${action}`);
    return d;
  }
  actionProperties(jail: string, action: string): string[] {
    return Object.keys(this.#actionDef(jail, action).properties);
  }
  actionMethods(jail: string, action: string): string[] {
    this.#actionDef(jail, action);
    return ['ban', 'flush', 'reban', 'start', 'stop', 'unban'];
  }
  getActionProperty(jail: string, action: string, property: string): unknown {
    const d = this.#actionDef(jail, action);
    if (property in d.commands) return (d.commands as unknown as Record<string, string>)[property];
    if (property === 'timeout') return d.timeout;
    return d.properties[property] ?? null;
  }
  setActionProperty(_jail: string, _action: string, _property: string, _value: CommandValue): void {
    throw new InvalidCommandError('action properties are read from the configuration; change it and reload');
  }
  callActionMethod(_jail: string, _action: string, _method: string, _kwargs: Record<string, unknown>): unknown {
    throw new InvalidCommandError('calling action methods is not supported');
  }

  // ---------------------------------------------------------------- console

  consoleState(jail: string | null): unknown {
    const jails = jail === null ? [...this.jails.values()] : [this.#jail(jail)];
    return consoleState(jails, this.startedAt, Date.now() / 1000);
  }
}

