/**
 * moatd: owns the jails, the store, the log and the control socket, and implements the
 * command set (DaemonApi) the transmitter dispatches to. Configuration is read here, at start
 * and on reload; a reload is parsed and validated completely before anything changes, so a bad
 * file leaves the running jails as they were.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DEFAULT_BANTIME_FORMULA,
  loadConfig,
  MOAT_DAEMON_SETTINGS,
  parseConfigBool,
  parseConfigInt,
  parseIgnoreCache,
  parseReference,
  parseTimeValue,
  readAction,
  type ActionDefinition,
  type BantimeIncrement,
  type DaemonSettings,
  type FilterDefinition,
  type JailDefinition,
  type LoadedConfig,
} from '../config/index.ts';
import { CommandAction, emptyCommands, KeyedSerialQueue, NftBatcher, NftRunner } from '../actions/index.ts';
import { compileBanTimeFunction, type BanTimeIncrementOptions } from '../bans/increment.ts';
import { ConfigNotFoundError, InvalidArgumentError, MoatError, UnknownJailError } from '../errors.ts';
import { createLineDecoder } from '../sources/encoding.ts';
import { resolveFileBackend } from '../sources/file-source.ts';
import { journalMatchArgs } from '../sources/journal-source.ts';
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
    this.logger.subscribe((r) => {
      // every "Found" line comes through here: no event object unless a client watches
      if (this.events.size) this.events.publish({ type: 'log', time: r.time, level: levelLabel(r.level), logger: r.name, message: r.message });
    });
    this.#log.server.info('-'.repeat(50));
    this.#log.server.info(`Starting moat v${MOAT_VERSION}`);
    for (const w of cfg.warnings) this.#log.server.warning(w);
    for (const e of cfg.errors) this.#configError(e);

    if (this.settings.dbfile) {
      if (this.settings.dbfile !== ':memory:') mkdirSync(dirname(this.settings.dbfile), { recursive: true, mode: 0o750 });
      this.store = Store.open(this.settings.dbfile, {
        // bans are written 100 ms after they changed (up to 1 s while a backlog is read), failure
        // counts and read positions together within 5 s (fail2ban: positions every 10 s, counts
        // never): after a kill -9 reading resumes exactly where the stored counts end, so a longer
        // window only means more lines read again; the 5 s cut the rows a busy jail rewrites ~3×
        writeBehindMs: 100,
        progressWriteMs: 5000,
        // the fsyncs of WAL checkpoints happen on a worker thread, not in the middle of reading logs
        backgroundCheckpointMs: 1000,
        log: (level, message) => this.#log.server[level](message),
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
      handler: (cmd) => transmitter.proceed(cmd),
      events: this.events,
      env: this.opts.env ?? process.env,
    });
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
      this.#nft?.runner.close();
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

  /** One nft runner and batcher shared by all jails, made on first use. */
  #nftBackend(): { runner: NftRunner; batcher: NftBatcher } {
    if (!this.#nft) {
      // element adds/deletes go through one long-running `nft -i` instead of a process per batch
      const runner = new NftRunner({ session: true });
      this.#nft = { runner, batcher: new NftBatcher(runner) };
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
    const journal = isJournalJail(j);
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

  /**
   * `add JAIL [BACKEND]`: an empty jail (no regexes, log paths or actions) that `set` commands
   * fill and `start JAIL` starts, as fail2ban's configuration stream does.
   */
  addJail(jail: string, backend: string): void {
    if (this.jails.has(jail)) throw new DuplicateJailError(jail);
    const ref = parseReference(backend, { option: 'backend' });
    if (!ref.name.toLowerCase().startsWith('systemd')) resolveFileBackend(ref.name);
    const def = emptyJailDefinition(jail, ref.name, ref.options);
    this.#log.jail.info(`Creating new jail '${jail}'`);
    this.jails.set(jail, this.#createJail(def));
  }

  async startJail(jail: string): Promise<void> {
    const running = this.jails.get(jail);
    if (running) {
      // a jail made by `add` starts here; a running one is left alone
      if (!running.started) await running.start();
      return;
    }
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
      case 'datepattern': {
        // fail2ban: (first template's pattern, its name), or (None, "Default Detectors")
        const info = j.filter.dateDetector.patternInfo();
        return [info.pattern, info.name];
      }
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

  async setJailOption(name: string, option: JailScalarOption, value: string | number | boolean): Promise<void> {
    const j = this.#jail(name);
    const text = String(value);
    // fail2ban: an empty value (or None) unsets the option
    const unset = text === '' || text === 'None';
    switch (option) {
      case 'idle':
        j.idle = asBool(value);
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
        j.def.ignoreself = asBool(value);
        j.ignore.ignoreSelf = j.def.ignoreself;
        return;
      case 'ignorecommand':
        j.def.ignorecommand = text === '' ? null : text;
        j.ignore.ignoreCommand = j.def.ignorecommand;
        return;
      case 'ignorecache': {
        const cache = unset ? null : parseIgnoreCache(text, { section: name, option });
        (j.ignore as { ignoreCache: typeof cache }).ignoreCache = cache;
        j.def.ignorecache = cache;
        return;
      }
      case 'prefregex':
        this.#applyFilter(j, { prefregex: text === '' ? null : text });
        return;
      case 'maxlines':
        this.#applyFilter(j, { maxlines: Math.max(1, Number(value)) });
        return;
      case 'datepattern':
        this.#applyFilter(j, { datepattern: unset || text.trim() === '' ? null : text });
        return;
      case 'logtimezone':
        this.#applyFilter(j, {}, { logtimezone: unset ? null : text });
        return;
      case 'usedns': {
        let mode = text.trim().toLowerCase();
        if (!['yes', 'warn', 'no', 'raw'].includes(mode)) {
          this.#log.jail.error(`Incorrect value ${JSON.stringify(text)} specified for usedns. Using safe "no"`);
          mode = 'no';
        }
        this.#applyFilter(j, { usedns: mode }, { usedns: mode });
        return;
      }
      case 'logencoding': {
        createLineDecoder(text, { section: name, option });
        const changed = text !== j.def.logencoding;
        j.def.logencoding = text;
        // the reader decodes with the encoding it was made with: a new one takes over where it stopped
        if (changed) await j.restartSource();
        return;
      }
      case 'bantime.increment':
      case 'bantime.factor':
      case 'bantime.formula':
      case 'bantime.multipliers':
      case 'bantime.maxtime':
      case 'bantime.rndtime':
      case 'bantime.overalljails':
        this.#setBantimeExtra(j, option.slice('bantime.'.length), text, unset);
        return;
      default:
        throw new InvalidCommandError(`Invalid command '${option}' (no set action or not yet implemented)`);
    }
  }

  /**
   * Rebuilds the jail's filter with `changes`; a regex, date pattern or time zone that does not
   * compile throws before anything changed.
   */
  #applyFilter(j: Jail, changes: Partial<FilterDefinition>, jailChanges: Partial<JailDefinition> = {}): void {
    j.replaceFilter({ ...j.def, ...jailChanges, filter: { ...j.def.filter, ...changes } });
  }

  /** `set JAIL bantime.OPT VALUE` (§4.5): validated and compiled first, then applied to the ban manager. */
  #setBantimeExtra(j: Jail, opt: string, text: string, unset: boolean): void {
    const where = { section: j.name, option: `bantime.${opt}` };
    const next: BantimeIncrement = { ...j.def.bantimeIncrement, multipliers: [...j.def.bantimeIncrement.multipliers] };
    switch (opt) {
      case 'increment':
        next.enabled = !unset && parseConfigBool(text);
        break;
      case 'factor':
        next.factor = unset ? '1' : text;
        break;
      case 'formula':
        next.formula = unset ? DEFAULT_BANTIME_FORMULA : text;
        break;
      case 'multipliers':
        next.multipliers = unset ? [] : text.split(/\s+/).filter((m) => m !== '').map((m) => parseConfigInt(m, where));
        break;
      case 'maxtime':
        next.maxtime = unset ? null : parseTimeValue(text, where);
        break;
      case 'rndtime':
        next.rndtime = unset ? null : parseTimeValue(text, where);
        break;
      case 'overalljails':
        next.overalljails = !unset && parseConfigBool(text);
        break;
    }
    const options = incrementOptions(next);
    // factor, formula and multipliers are compiled even while the increment is off: a bad one is refused now
    compileBanTimeFunction({ ...options, enabled: true }, Math.random, where);
    j.banManager.setIncrement(options);
    j.def.bantimeIncrement = next;
    this.#log.jail.info(`[${j.name}] Set banTime.${opt} = ${unset ? 'None' : text}`);
    if (opt === 'increment' && next.enabled && !this.store) {
      this.#log.jail.warning(`[${j.name}] ban time increment is not available as long jail database is not set`);
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
    const j = this.#jail(jail);
    // a jail made by `add` and not started yet has no reader: its paths as given
    return j.source ? j.logFiles : j.def.logpaths.map((p) => p.glob);
  }
  addLogPath(jail: string, path: string, tail: boolean): void {
    const j = this.#jail(jail);
    if (isJournalJail(j)) throw new InvalidArgumentError(`jail '${jail}' reads the journal (backend ${j.def.backend}), not files`);
    const start = tail ? 'tail' : 'head';
    (j.source as { addLogPath?: (g: string, s: 'head' | 'tail') => void } | null)?.addLogPath?.(path, start);
    // kept in the definition so that a restarted reader (logencoding) follows it too
    if (!j.def.logpaths.some((p) => p.glob === path)) j.def.logpaths = [...j.def.logpaths, { glob: path, start }];
  }
  delLogPath(jail: string, path: string): void {
    const j = this.#jail(jail);
    const src = j.source as { removeLogPath?: (g: string) => void } | null;
    src?.removeLogPath?.(path);
    j.def.logpaths = j.def.logpaths.filter((p) => p.glob !== path);
  }
  getJournalMatches(jail: string): string[][] {
    const j = this.#jail(jail);
    return isJournalJail(j) ? j.def.journalmatch : [];
  }
  /** One match entry (words as sent, `+` ORs); the journal reader restarts at its cursor. File jails: ignored, like fail2ban. */
  async addJournalMatch(jail: string, words: string[]): Promise<void> {
    const j = this.#jail(jail);
    if (!isJournalJail(j)) {
      this.#log.jail.debug(`Jail ${jail} is not a journal jail: addjournalmatch ignored`);
      return;
    }
    const next = [...j.def.journalmatch, [...words]];
    journalMatchArgs(next);
    await this.#setJournalMatches(j, next);
    this.#log.jail.info(`[${jail}] Added journal match: ${words.join(' ')}`);
  }
  async delJournalMatch(jail: string, words: string[]): Promise<void> {
    const j = this.#jail(jail);
    if (!isJournalJail(j)) return;
    const key = JSON.stringify(words);
    const i = j.def.journalmatch.findIndex((m) => JSON.stringify(m) === key);
    if (i < 0) throw new InvalidArgumentError(`Match [${words.map((w) => `'${w}'`).join(', ')}] not found`);
    await this.#setJournalMatches(j, j.def.journalmatch.filter((_, k) => k !== i));
    this.#log.jail.info(`[${jail}] Removed journal match: ${words.join(' ')}`);
  }
  async #setJournalMatches(j: Jail, matches: string[][]): Promise<void> {
    j.def.journalmatch = matches;
    j.def.filter = { ...j.def.filter, journalmatch: matches };
    await j.restartSource();
  }
  getRegexes(jail: string, kind: 'fail' | 'ignore'): string[] {
    const f = this.#jail(jail).filter;
    return (kind === 'fail' ? f.failregex : f.ignoreregex).map((r) => r.expanded);
  }
  /** Raw filter regexes (with <HOST>, <F-*>); one that does not compile is refused and the filter stays as it was. */
  addRegexes(jail: string, kind: 'fail' | 'ignore', regexes: string[]): void {
    const j = this.#jail(jail);
    const key = kind === 'fail' ? 'failregex' : 'ignoreregex';
    this.#applyFilter(j, { [key]: [...j.def.filter[key], ...regexes] });
  }
  /** Python list indexing (-1 = last); a bad index is logged and changes nothing, like fail2ban. */
  delRegex(jail: string, kind: 'fail' | 'ignore', index: number): void {
    const j = this.#jail(jail);
    const key = kind === 'fail' ? 'failregex' : 'ignoreregex';
    const list = j.def.filter[key];
    const i = index < 0 ? list.length + index : index;
    if (i < 0 || i >= list.length) {
      this.#log.filter.error(`[${jail}] Cannot remove regular expression. Index ${index} is not valid`);
      return;
    }
    this.#applyFilter(j, { [key]: list.filter((_, k) => k !== i) });
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
  /**
   * `set JAIL addaction ACT`: ACT is read from action.d (`dummy[target=/x]` works as in jail.conf);
   * a plain name with no such file becomes an empty command action whose operations `set JAIL
   * action ACT actionban ...` fills (fail2ban's configuration stream does that). Python actions
   * are refused. Returns the action's name.
   */
  async addAction(jail: string, action: string, pythonFile?: string): Promise<string> {
    const j = this.#jail(jail);
    if (pythonFile !== undefined) {
      throw new InvalidArgumentError(
        `python action '${pythonFile}' is not supported by moat (fail2ban loads it as Python code); use an action.d .conf action`,
      );
    }
    let def: ActionDefinition;
    try {
      def = readAction(action, { configDir: this.opts.configDir, jailName: jail, jailVars: jailVarsOf(j.def) });
    } catch (e) {
      if (!(e instanceof ConfigNotFoundError) || /[[\]\s]/.test(action)) throw e;
      this.#log.actions.warning(
        `[${jail}] No action '${action}' in action.d: added as an empty command action (set its operations with 'set ${jail} action ${action} actionban ...')`,
      );
      def = emptyActionDefinition(action);
    }
    if (j.actions.some((a) => a.name === def.name)) throw new InvalidArgumentError(`Action ${def.name} already exists`);
    await j.addAction(def);
    j.def.actions = [...j.def.actions, def];
    return def.name;
  }
  /** Like an action dropped by a reload in fail2ban: its bans are lifted with it and actionstop runs. */
  async delAction(jail: string, action: string): Promise<void> {
    const j = this.#jail(jail);
    if (!(await j.removeAction(action))) throw new InvalidArgumentError(`Invalid Action name: ${action}`);
    j.def.actions = j.def.actions.filter((a) => a.name !== action);
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
  /**
   * `set JAIL action ACT PROPERTY VALUE`, fail2ban semantics: operations (actionban ...) and [Init]
   * properties change in place; operations read from action.d were already substituted, so a
   * property only matters where a command still names it (<tag> left for execution time).
   * `timeout` is a time value; `bantime` is ignored (it is the ticket's dynamic tag).
   */
  setActionProperty(jail: string, action: string, property: string, value: CommandValue): void {
    const j = this.#jail(jail);
    const a = j.actions.find((x) => x.name === action);
    if (!a) throw new InvalidArgumentError(`Invalid Action name: ${action}`);
    let text = pyText(value);
    if (property === 'timeout') text = String(parseTimeValue(text, { section: jail, option: 'timeout' }));
    if (a instanceof CommandAction) {
      a.setProperty(property, text);
      this.#log.actions.debug(`[${jail}] Set action ${action} ${property} = ${JSON.stringify(text)}`);
      return;
    }
    // the native nftables backend built its ruleset from the options at start
    if (pyText(this.getActionProperty(jail, action, property) as CommandValue) === text) return;
    throw new InvalidArgumentError(
      `action '${action}' runs on moat's native nftables backend: its '${property}' cannot change while the jail runs (change the configuration and reload)`,
    );
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

/** Python's str() of a command value. */
function pyText(v: CommandValue): string {
  if (v === null || v === undefined) return '';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** fail2ban's _as_bool: a true value, or one of its words (not trimmed). */
function asBool(v: string | number | boolean): boolean {
  return v === true || /^(on|true|yes|1)$/i.test(String(v));
}

function isJournalJail(j: Jail): boolean {
  return j.def.backend.toLowerCase().startsWith('systemd');
}

/** The ban manager's form of `bantime.*`. */
function incrementOptions(b: BantimeIncrement): BanTimeIncrementOptions {
  return {
    enabled: b.enabled,
    factor: b.factor,
    formula: b.formula,
    multipliers: b.multipliers.length ? b.multipliers : null,
    maxtime: b.maxtime,
    rndtime: b.rndtime,
    overalljails: b.overalljails,
  };
}

/** Jail options an action read at runtime may interpolate (`%(bantime)s` ...). */
function jailVarsOf(def: JailDefinition): Record<string, string> {
  return {
    bantime: String(def.bantime),
    findtime: String(def.findtime),
    maxretry: String(def.maxretry),
    maxmatches: String(def.maxmatches),
    backend: def.backend,
    usedns: def.usedns,
    logencoding: def.logencoding,
  };
}

function emptyActionDefinition(name: string): ActionDefinition {
  return {
    name,
    file: name,
    files: [],
    commands: emptyCommands(),
    actionstartOnDemand: null,
    actionrepairOnUnban: false,
    norestored: false,
    timeout: 60,
    properties: {},
  };
}

/** What `add JAIL BACKEND` creates: fail2ban's defaults, nothing to read, match or run yet. */
function emptyJailDefinition(name: string, backend: string, backendOptions: Record<string, string>): JailDefinition {
  return {
    name,
    enabled: true,
    backend,
    backendOptions,
    filter: {
      name: '',
      files: [],
      prefregex: null,
      failregex: [],
      ignoreregex: [],
      maxlines: null,
      datepattern: null,
      journalmatch: [],
      usedns: null,
      options: {},
    },
    actions: [],
    logpaths: [],
    logencoding: 'auto',
    logtimezone: null,
    maxretry: 3,
    maxmatches: 5,
    findtime: 600,
    bantime: 600,
    bantimeIncrement: {
      enabled: false,
      factor: '1',
      formula: DEFAULT_BANTIME_FORMULA,
      multipliers: [],
      maxtime: null,
      rndtime: null,
      overalljails: false,
    },
    ignoreip: [],
    ignoreself: true,
    ignorecommand: null,
    ignorecache: null,
    usedns: 'warn',
    journalmatch: [],
    source: { file: '', line: 0 },
  };
}
