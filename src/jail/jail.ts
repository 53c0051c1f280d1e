/**
 * A jail: one straight pipeline source → filter → failures → bans → actions.
 *
 * Everything between reading a line and starting the ban runs synchronously in the turn
 * that read the line, so the failure that reaches maxretry starts its ban at once (fail2ban
 * hands it to another thread that wakes up later). Only three things are asynchronous and
 * each keeps log order: DNS names in failures, ignorecommand, and the actions' commands.
 */
import { lookup } from 'node:dns/promises';
import type { ActionDefinition, JailDefinition } from '../config/types.ts';
import { CommandAction, createJailAction, type JailAction, type BanEpoch, type KeyedSerialQueue } from '../actions/index.ts';
import { NftAction, type NftBatcher, type NftRunner } from '../actions/index.ts';
import { BanManager, type BanOutcome, type RestoreScan, type UnbanReason } from '../bans/ban-manager.ts';
import type { BanTicket } from '../bans/ticket.ts';
import { FailManager, type FailTicket } from '../failures/fail-manager.ts';
import { IgnoreList, type IgnoreVerdict } from '../failures/ignore.ts';
import { Filter, type FilterMatch } from '../filter/filter.ts';
import type { Failure } from '../filter/failure.ts';
import { formatTime, type NamedLogger } from '../log/logger.ts';
import { canonicalIp, parseIp } from '../net/ip.ts';
import type { EventHub } from '../server/events.ts';
import type { ErrorLocation } from '../errors.ts';
import { FileSource, type FileSourceStatus } from '../sources/file-source.ts';
import { JournalSource, type JournalSourceStatus } from '../sources/journal-source.ts';
import type { JournalLine } from '../sources/journal-line.ts';
import type { SourceContext, SourceLine } from '../sources/types.ts';
import type { Store } from '../store/store.ts';
import { collectGarbageSoon } from '../util/memory.ts';

export interface JailDeps {
  store: Store | null;
  /** Loggers named like fail2ban's: filter, actions, jail. */
  log: { filter: NamedLogger; actions: NamedLogger; jail: NamedLogger };
  events: EventHub;
  /** Shared serial queue for action commands (keyed by jail). */
  queue?: KeyedSerialQueue;
  /** Native nftables backend (optional). */
  nft?: { runner: NftRunner; batcher: NftBatcher } | null;
  allowIpv6?: boolean;
  dbmaxmatches?: number | null;
  /** Clock in epoch seconds (tests). */
  now?: () => number;
}

export interface JailHealth {
  ok: boolean;
  lastError: string | null;
}

/** Runs `ignorecommand`/DNS work in log order without blocking the synchronous path. */
type Pending = { failure: Failure; needsDns: boolean };

export class Jail {
  readonly name: string;
  def: JailDefinition;
  /** Replaced as a whole by `replaceFilter` (runtime `set JAIL addfailregex` ...). */
  filter: Filter;
  readonly failManager: FailManager;
  readonly banManager: BanManager;
  readonly ignore: IgnoreList;
  readonly actions: JailAction[] = [];
  readonly epoch: BanEpoch = { value: 0 };
  source: FileSource | JournalSource | null = null;
  idle = false;
  started = false;
  #deps: JailDeps;
  #now: () => number;
  #pending: Pending[] = [];
  #draining = false;
  #lastError: string | null = null;
  #nextCleanupAt = 0;
  #lastCheckAt = 0;

  constructor(def: JailDefinition, deps: JailDeps) {
    this.name = def.name;
    this.def = def;
    this.#deps = deps;
    this.#now = deps.now ?? (() => Date.now() / 1000);
    this.filter = this.#makeFilter(def, { file: def.source.file, line: def.source.line, section: def.name });
    this.failManager = new FailManager({ maxRetry: def.maxretry, findTime: def.findtime, maxMatches: def.maxmatches, trackChanges: deps.store !== null });
    this.ignore = new IgnoreList({
      jail: def.name,
      ignoreSelf: def.ignoreself,
      ignoreIp: def.ignoreip,
      ignoreCommand: def.ignorecommand,
      ignoreCache: def.ignorecache,
      now: this.#now,
      log: (level, m) => deps.log.filter[level === 'warning' ? 'warning' : level === 'error' ? 'error' : level === 'info' ? 'info' : 'debug'](`[${this.name}] ${m}`),
    });
    this.banManager = new BanManager({
      jail: def.name,
      bantime: def.bantime,
      increment: def.bantimeIncrement.enabled
        ? {
            enabled: true,
            factor: def.bantimeIncrement.factor,
            formula: def.bantimeIncrement.formula,
            multipliers: def.bantimeIncrement.multipliers.length ? def.bantimeIncrement.multipliers : null,
            maxtime: def.bantimeIncrement.maxtime,
            rndtime: def.bantimeIncrement.rndtime,
            overalljails: def.bantimeIncrement.overalljails,
          }
        : null,
      store: deps.store,
      onBan: (tickets) => this.#onBan(tickets),
      onUnban: (tickets, reason) => this.#onUnban(tickets, reason),
      // the ban manager writes fail2ban's lines itself ("[jail] Ban ip", "Unban", "already banned")
      log: (level, m) => deps.log.actions[level](m),
    });
    for (const a of def.actions) this.addActionDefinition(a);
  }

  #makeFilter(def: JailDefinition, where: ErrorLocation): Filter {
    const f = def.filter;
    return new Filter(
      {
        prefregex: f.prefregex,
        failregex: f.failregex,
        ignoreregex: f.ignoreregex,
        maxlines: f.maxlines,
        datepattern: f.datepattern,
        logtimezone: def.logtimezone,
        usedns: def.usedns,
        where,
      },
      {
        checkAllRegex: false,
        checkFindTime: true,
        findtime: def.findtime,
        now: this.#now,
        onWarning: (m) => this.#deps.log.filter.warning(`[${this.name}] ${m}`),
      },
    );
  }

  addActionDefinition(def: ActionDefinition): JailAction {
    if (this.actions.some((a) => a.name === def.name)) {
      throw new Error(`Action ${def.name} already exists`);
    }
    const action = createJailAction(def, {
      jail: this.name,
      defaultBantime: this.def.bantime,
      epoch: this.epoch,
      allowIpv6: this.#deps.allowIpv6 ?? true,
      ...(this.#deps.queue ? { queue: this.#deps.queue } : {}),
      nft: this.#deps.nft ?? null,
      logger: (level, m) => {
        const l = this.#deps.log.actions;
        if (level === 'critical' || level === 'error') l.error(`[${this.name}] ${m}`);
        else if (level === 'warning') l.warning(`[${this.name}] ${m}`);
        else if (level === 'info') l.info(`[${this.name}] ${m}`);
        else l.debug(`[${this.name}] ${m}`);
      },
      jailCounters: () => ({
        found: this.failManager.size,
        foundTotal: this.failManager.totalFailed,
        banned: this.banManager.size,
        bannedTotal: this.banManager.totalBanned,
      }),
      ...(this.#deps.store
        ? {
            history: {
              matches: (ip: string, jail?: string) => this.#deps.store!.banHistory(ip, jail ?? null).matches,
              failures: (ip: string, jail?: string) => this.#deps.store!.banHistory(ip, jail ?? null).failures,
            },
          }
        : {}),
    } as Parameters<typeof createJailAction>[1]);
    this.actions.push(action);
    return action;
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    const log = this.#deps.log.jail;
    const store = this.#deps.store;
    if (store) {
      store.addJail(this.name);
      // go on counting where the last run stopped: the tickets match the stored read positions
      this.failManager.restore(store.loadFailures(this.name, this.#now() - this.def.findtime));
      store.trackFailures(this.name, this.failManager);
    }
    for (const a of this.actions) {
      try {
        await a.start();
      } catch (e) {
        this.#error(`Failed to start action '${a.name}': ${(e as Error).message}`);
      }
    }
    this.#restoreStopped = false;
    const restored = this.#restoreBans();
    this.#startSource();
    // a restore without per-ticket commands (native nftables: one transaction; actions whose ban does
    // nothing) finishes before the jail counts as started, so READY means the bans are in the firewall
    await restored;
    this.started = true;
    log.info(`Jail '${this.name}' started`);
    this.#deps.events.publish({ type: 'jail.start', time: this.#now(), jail: this.name });
  }

  /** `cursor`: where a restarted journal reader goes on (default: the stored cursor). */
  #startSource(cursor?: string): void {
    const def = this.def;
    const store = this.#deps.store;
    const log = this.#deps.log.filter;
    const srcLog = {
      debug: (m: string) => log.debug(`[${this.name}] ${m}`),
      info: (m: string) => log.info(`[${this.name}] ${m}`),
      notice: (m: string) => log.notice(`[${this.name}] ${m}`),
      warning: (m: string) => log.warning(`[${this.name}] ${m}`),
      error: (m: string) => {
        this.#lastError = m;
        log.error(`[${this.name}] ${m}`);
      },
    };
    if (def.backend.toLowerCase().startsWith('systemd')) {
      const stored = store?.getJournalCursor(this.name) ?? null;
      // no `jail` tag: srcLog already prefixes every line with the jail name
      this.source = new JournalSource({
        journalmatch: def.journalmatch,
        backendOptions: def.backendOptions,
        findtime: def.findtime,
        logencoding: def.logencoding,
        cursor: cursor ?? stored?.cursor ?? null,
        setCursor: (cursor, time) => store?.setJournalCursor(this.name, cursor, time),
        onEntries: (entries, ctx) => this.processJournal(entries, ctx),
        logger: srcLog,
      });
    } else {
      this.source = new FileSource({
        jail: this.name,
        logpaths: def.logpaths.map((p) => ({ glob: p.glob, start: p.start })),
        backend: def.backend,
        logencoding: def.logencoding,
        positions: store
          ? {
              get: (path) => {
                const p = store.getLogPosition(this.name, path);
                return p ? { hash: p.hash, pos: p.pos } : undefined;
              },
              set: (path, hash, pos) => store.setLogPosition(this.name, path, hash, pos),
            }
          : undefined,
        onLines: (lines, ctx) => this.processLines(lines, ctx),
        logger: srcLog,
      } as ConstructorParameters<typeof FileSource>[0]);
    }
    this.source.start();
  }

  async stop(): Promise<void> {
    this.source?.stop();
    this.source = null;
    this.#restoreStopped = true; // a restore still handing pages to actions ends after its current page
    this.banManager.unbanAll('stop');
    await this.#settleActions();
    for (const a of this.actions) {
      try {
        await a.stop();
      } catch (e) {
        this.#error(`Failed to stop action '${a.name}': ${(e as Error).message}`);
      }
    }
    this.banManager.close();
    this.#deps.store?.flush();
    this.#deps.store?.untrackFailures(this.name, this.failManager);
    this.started = false;
    this.#deps.log.jail.info(`Jail '${this.name}' stopped`);
    this.#deps.events.publish({ type: 'jail.stop', time: this.#now(), jail: this.name });
  }

  #actionWork = new Set<Promise<unknown>>();
  /** Set by stop(): a restore going on in the background stops reading pages. */
  #restoreStopped = false;
  #track(p: Promise<unknown>): void {
    this.#actionWork.add(p);
    p.finally(() => this.#actionWork.delete(p)).catch(() => {});
  }
  async #settleActions(): Promise<void> {
    while (this.#actionWork.size) await Promise.allSettled([...this.#actionWork]);
  }

  // ---------------------------------------------------------------- lines → failures

  processLines(lines: SourceLine[], ctx: SourceContext): void {
    if (this.idle) return;
    this.filter.inOperation = ctx.mode === 'operation';
    for (const line of lines) this.#processLine(line.text);
    this.#maybeCleanup();
  }

  processJournal(entries: JournalLine[], ctx: SourceContext): void {
    if (this.idle) return;
    this.filter.inOperation = ctx.mode === 'operation';
    // one date record for the whole batch: the filter copies what it needs from it
    const given = { time: 0, dateText: '' };
    for (const e of entries) {
      given.time = e.time;
      given.dateText = e.datePart;
      this.#processLine(e.text, given);
    }
    this.#maybeCleanup();
  }

  #processLine(text: string, given?: { time: number; dateText: string }): void {
    let matches: FilterMatch[];
    try {
      matches = this.filter.processLine(text, given);
    } catch (e) {
      this.#error(`Failed to process line: ${JSON.stringify(text)}, caught exception: ${(e as Error).message}`);
      return;
    }
    if (!matches.length) return;
    const now = this.#now();
    for (const m of matches) {
      if (m.id === null || m.nofail) continue;
      const failure = Filter.toFailure(m, m.id, now);
      // a failure from the future is counted as happening now
      if (failure.time > now) failure.time = now;
      this.handleFailure(failure, m.needsDns);
    }
  }

  /** Counts one failure: ignore checks, FailManager, and the ban in the same turn when maxretry is reached. */
  handleFailure(failure: Failure, needsDns = false): void {
    if (this.#pending.length || needsDns) {
      this.#pending.push({ failure, needsDns });
      this.#drain();
      return;
    }
    const verdict = this.ignore.isIgnoredSync(subjectOf(failure));
    if (verdict === undefined) {
      this.#pending.push({ failure, needsDns: false });
      this.#drain();
      return;
    }
    this.#count(failure, verdict);
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    void (async () => {
      try {
        while (this.#pending.length) {
          const head = this.#pending[0]!;
          const failures = head.needsDns ? await this.#resolve(head.failure) : [head.failure];
          for (const f of failures) {
            const verdict = this.ignore.isIgnoredSync(subjectOf(f)) ?? (await this.ignore.isIgnored(subjectOf(f)));
            this.#count(f, verdict);
          }
          this.#pending.shift();
        }
      } catch (e) {
        this.#error(`ignore check failed: ${(e as Error).message}`);
        this.#pending = [];
      } finally {
        this.#draining = false;
      }
    })();
  }

  /** usedns yes/warn: a host name becomes one failure per address. */
  async #resolve(f: Failure): Promise<Failure[]> {
    try {
      const addrs = await lookup(f.id, { all: true });
      const ips = [...new Set(addrs.map((a) => canonicalIp(a.address)).filter((x): x is string => !!x))];
      if (this.def.usedns !== 'yes' && ips.length) {
        this.#deps.log.filter.warning(`[${this.name}] Determined IP using DNS Lookup: ${f.id} = ${JSON.stringify(ips)}`);
      }
      return ips.map((ip) => ({ ...f, id: ip, family: parseIp(ip)?.family ?? null }));
    } catch {
      this.#deps.log.filter.warning(`[${this.name}] Unable to find a corresponding IP address for ${f.id}`);
      return [];
    }
  }

  #count(failure: Failure, verdict: IgnoreVerdict): void {
    const log = this.#deps.log.filter;
    if (verdict.ignored) {
      if (!verdict.cached) log.info(`[${this.name}] Ignore ${failure.id} by ${verdict.source}`);
      return;
    }
    log.info(`[${this.name}] Found ${failure.id} - ${formatTime(failure.time)}`);
    const res = this.failManager.addFailure(failure);
    this.#deps.events.publish({
      type: 'found',
      time: failure.time,
      jail: this.name,
      ip: failure.id,
      failures: Math.floor(res.retry),
      matches: failure.matches,
    });
    if (res.banReady) {
      this.#ban(res.ticket);
      return;
    }
    // known offenders need fewer failures (bantime.increment)
    if (this.def.bantimeIncrement.enabled) {
      const extra = this.banManager.failureFound(failure.id, failure.time, this.failManager.maxRetry);
      if (extra > 0) {
        const r = this.failManager.addExtraRetries(failure.id, extra);
        if (r?.banReady) this.#ban(r.ticket);
      }
    }
  }

  #ban(t: FailTicket): BanOutcome {
    const outcome = this.banManager.ban({
      id: t.id,
      ip: t.ip,
      family: t.family,
      time: t.lastTime,
      failures: t.failures,
      matches: t.matches,
      data: t.data,
    });
    if (outcome.kind === 'already') this.#alreadyBanned(outcome);
    return outcome;
  }

  #alreadyBanned(outcome: Extract<BanOutcome, { kind: 'already' }>): void {
    // a failure long after the ban means the firewall may have lost it: check (at most every 3 s)
    const now = this.#now();
    if (outcome.sinceBan > 3 && now - this.#lastCheckAt > 3) {
      this.#lastCheckAt = now;
      for (const a of this.actions) {
        const work = a.consistencyCheck().then(async (ok) => {
          if (ok && a.banEpoch > 0) await a.reban(outcome.ticket);
        });
        this.#track(work.catch((e) => this.#error(`consistency check of '${a.name}' failed: ${(e as Error).message}`)));
      }
    }
  }

  // ---------------------------------------------------------------- bans → actions

  /**
   * Restores the store's active bans (§4.6) page by page, with bounded work in flight: each page of
   * tickets goes into the ban list and to the actions, and the next page is read once the actions
   * are done with it, so a million bans never become a million tickets or promises at once. An
   * action whose ban command is empty gets one ticket per family and page (what it keeps as state:
   * started, has bans), not one no-op per ticket.
   *
   * With one native nftables action the restore has two passes: first the ids and ends alone, straight
   * from the store into ONE nft transaction (nft reads all its input before it parses, so the sooner
   * its input ends the sooner the kernel has the bans), then, while nft parses and commits, the full
   * tickets into the ban list and to the other actions. When the transaction fails, the restored bans
   * go to nft one by one through the batcher (which isolates bad elements).
   *
   * Returns what `start` waits for: everything, unless an action runs a command per ticket (then
   * only the nft transaction; the rest goes on in the background, tracked for `stop`).
   */
  #restoreBans(): Promise<unknown> {
    if (!this.#deps.store) return Promise.resolve();
    const bulk = this.actions.filter((a): a is NftAction => a instanceof NftAction && !a.norestored);
    const nft = bulk.length === 1 ? bulk[0]! : null;
    const ignored = this.ignore.bulkCheck();
    let scan: RestoreScan | null = null;
    let committed: Promise<boolean> | null = null;
    let inputEnd: Promise<unknown> = Promise.resolve();
    if (nft) {
      scan = { skipped: new Set(), upTo: 0, complete: false };
      let ended!: () => void;
      inputEnd = new Promise<void>((resolve) => (ended = resolve));
      const pages = this.banManager.restoreScan({ skip: ignored }, scan);
      const input = function* () {
        yield* pages;
        ended();
      };
      committed = nft.restoreEnds(input()).then(
        (r) => {
          this.#deps.log.actions.info(`[${this.name}] Restored ${r.loaded} ban(s) with ${nft.name}${r.skipped ? ` (${r.skipped} skipped)` : ''}`);
          return true;
        },
        (e: unknown) => {
          this.#error(`Failed to restore bans of jail '${this.name}' with action '${nft.name}' in one transaction: ${(e as Error).message}`);
          return false;
        },
      );
      // nft may fail before it read all its input: the second pass must not wait for an end that never comes
      inputEnd = Promise.race([inputEnd, committed]);
    }
    const work = (async () => {
      await inputEnd;
      if (this.#restoreStopped) return;
      // the second pass restores exactly what went to nft: the rows the first pass read, minus what it skipped
      const bounded = scan?.complete === true;
      const chunks = this.banManager.restoreChunks({
        maxMatches: this.def.maxmatches,
        pageSize: RESTORE_PAGE,
        skip: bounded ? (t) => scan!.skipped.has(t.id) : (t) => ignored(t.id),
        ...(bounded ? { upTo: scan!.upTo } : {}),
      });
      let restored = 0;
      try {
        for (const page of chunks) {
          restored += page.length;
          this.#publishBans(page);
          await this.#restorePage(page, nft);
          if (this.#restoreStopped) break;
        }
      } catch (e) {
        this.#error(`Failed to restore bans of jail '${this.name}': ${(e as Error).message}`);
      }
      if (nft && committed && !(await committed) && !this.#restoreStopped) await this.#banOneByOne(nft);
      // a big restore leaves its garbage behind: collect it once the daemon is up, not whenever V8 gets to it
      if (restored >= BIG_RESTORE) collectGarbageSoon();
    })();
    this.#track(work);
    const perTicket = this.actions.some((a) => a !== nft && !a.norestored && !(a instanceof NftAction) && !runsNothing(a, 'actionban'));
    return perTicket ? (committed ?? Promise.resolve()) : work;
  }

  /** Hands one page of restored tickets to the actions (all but `except`) and waits until they are done with it. */
  async #restorePage(tickets: BanTicket[], except: JailAction | null): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const a of this.actions) {
      if (a === except || a.norestored) continue;
      if (a instanceof NftAction) {
        // one transaction per page; one by one when it fails
        work.push(
          a.restore(tickets).catch(async (e: unknown) => {
            this.#error(`Failed to restore bans of jail '${this.name}' with action '${a.name}' in one transaction: ${(e as Error).message}`);
            await Promise.allSettled(tickets.map((t) => this.#banWith(a, t)));
          }),
        );
      } else if (runsNothing(a, 'actionban')) {
        // nothing runs per ticket: one ticket per family keeps the action's state (start on demand, has bans)
        const seen = new Set<string | null>();
        for (const t of tickets) {
          if (seen.has(t.family)) continue;
          seen.add(t.family);
          work.push(this.#banWith(a, t));
        }
      } else {
        for (const t of tickets) work.push(this.#banWith(a, t));
      }
    }
    if (work.length) await Promise.allSettled(work);
    // a turn of the event loop between pages: the control socket answers, the log is written
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** The fallback of a failed one-transaction restore: the restored bans through the batcher, a page at a time. */
  async #banOneByOne(nft: NftAction): Promise<void> {
    let page: BanTicket[] = [];
    const flush = async () => {
      await Promise.allSettled(page.map((t) => this.#banWith(nft, t)));
      page = [];
    };
    for (const t of this.banManager.tickets()) {
      if (!t.restored) continue;
      page.push(t);
      if (page.length >= RESTORE_FALLBACK_PAGE) await flush();
      if (this.#restoreStopped) return;
    }
    await flush();
  }

  #banWith(a: JailAction, t: BanTicket): Promise<void> {
    return a.ban(t).catch((e) => this.#error(`Failed to execute ban jail '${this.name}' action '${a.name}' info '${t.id}': ${(e as Error).message}`));
  }

  #publishBans(tickets: BanTicket[]): void {
    if (!this.#deps.events.size) return; // nobody watches: no event object per ban (a restore has millions)
    for (const t of tickets) {
      this.#deps.events.publish({
        type: t.restored ? 'restore' : 'ban',
        time: t.time,
        jail: this.name,
        ip: t.id,
        bantime: t.bantime,
        banCount: t.banCount,
      });
    }
  }

  #onBan(tickets: BanTicket[]): void {
    this.#publishBans(tickets);
    for (const a of this.actions) {
      for (const t of tickets) {
        if (t.restored && a.norestored) continue;
        this.#track(this.#banWith(a, t));
      }
    }
  }

  #onUnban(tickets: BanTicket[], reason: UnbanReason): void {
    const log = this.#deps.log.actions;
    const useFlush = reason === 'flush' || reason === 'stop';
    for (const t of tickets) {
      this.#deps.events.publish({
        type: 'unban',
        time: this.#now(),
        jail: this.name,
        ip: t.id,
        reason: reason === 'flush' ? 'manual' : reason,
      });
    }
    for (const a of this.actions) {
      if (useFlush && a.hasFlush && tickets.length) {
        log.notice(`[${this.name}] Flush ticket(s) with ${a.name}`);
        this.#track(a.flush().catch((e) => this.#error(`Failed to flush '${a.name}': ${(e as Error).message}`)));
        continue;
      }
      // nothing runs per ticket (and an unban keeps no state): no promise per ticket for a million bans
      if (runsNothing(a, 'actionunban')) continue;
      for (const t of tickets) {
        this.#track(
          a.unban(t).catch((e) =>
            this.#error(`Failed to execute unban jail '${this.name}' action '${a.name}' info '${t.id}': ${(e as Error).message}`),
          ),
        );
      }
    }
  }

  // ---------------------------------------------------------------- runtime changes (set JAIL ...)

  /**
   * Makes `def` the jail's definition after building its filter; a regex or date pattern that
   * does not compile throws and leaves the running filter as it was. The line buffer and the
   * multi-line session cache start empty.
   */
  replaceFilter(def: JailDefinition): void {
    const filter = this.#makeFilter(def, { section: this.name });
    filter.inOperation = this.filter.inOperation;
    this.filter = filter;
    this.def = def;
  }

  /** Re-creates the log source from `def` (journal: resumes at its cursor; files: at the stored positions). */
  async restartSource(): Promise<void> {
    const old = this.source;
    if (!old) return;
    this.source = null;
    await old.stop();
    this.#startSource(old instanceof JournalSource ? old.cursor : undefined);
  }

  /** `set JAIL addaction`: adds an action; it starts at once when the jail runs. */
  async addAction(def: ActionDefinition): Promise<JailAction> {
    const action = this.addActionDefinition(def);
    if (this.started) {
      try {
        await action.start();
      } catch (e) {
        this.#error(`Failed to start action '${action.name}': ${(e as Error).message}`);
      }
    }
    return action;
  }

  /** `set JAIL delaction`: the action lifts its current bans (flush or per ticket), runs actionstop and is dropped. */
  async removeAction(name: string): Promise<boolean> {
    const i = this.actions.findIndex((a) => a.name === name);
    if (i < 0) return false;
    const [action] = this.actions.splice(i, 1);
    if (!this.started) return true;
    const tickets = [...this.banManager.tickets()];
    try {
      if (action!.hasFlush && tickets.length) await action!.flush();
      else for (const t of tickets) await action!.unban(t);
    } catch (e) {
      this.#error(`Failed to unban with removed action '${name}': ${(e as Error).message}`);
    }
    try {
      await action!.stop();
    } catch (e) {
      this.#error(`Failed to stop action '${name}': ${(e as Error).message}`);
    }
    return true;
  }

  // ---------------------------------------------------------------- commands

  /** `set JAIL banip IP...`: bans now, bypassing counting and ignore lists. */
  banIps(ips: string[]): number {
    const ids = ips.map((ip) => canonicalIp(ip) ?? ip);
    return this.banManager.banManual(ids);
  }

  unbanIps(ips: string[]): { unbanned: number; absent: string[] } {
    const r = this.banManager.unban(ips);
    for (const ip of ips) {
      // fail2ban deletes the history even when not banned
      this.#deps.store?.removeBans(this.name, canonicalIp(ip) ?? ip);
    }
    return { unbanned: r.unbanned.length, absent: r.absent };
  }

  attempt(ip: string, lines: string[]): number {
    const id = canonicalIp(ip) ?? ip;
    const now = this.#now();
    this.#deps.log.filter.info(`[${this.name}] Attempt ${id} - ${formatTime(now)}`);
    const res = this.failManager.attempt(id, lines, now, { ip: null, family: parseIp(id)?.family ?? null });
    this.#deps.events.publish({ type: 'found', time: now, jail: this.name, ip: id, failures: Math.floor(res.retry), matches: lines });
    if (res.banReady) this.#ban(res.ticket);
    return 1;
  }

  health(): JailHealth {
    const st = this.source?.status();
    const lastError = this.#lastError ?? st?.lastError ?? null;
    return { ok: st ? st.healthy : false, lastError };
  }

  sourceStatus(): FileSourceStatus | JournalSourceStatus | null {
    return this.source?.status() ?? null;
  }

  get logFiles(): string[] {
    return this.source instanceof FileSource ? this.source.files : [];
  }

  /**
   * Drops tickets whose last failure left findtime, at most every CLEANUP_EVERY_S (as fail2ban):
   * a scan of every open ticket per batch of lines was ~10 % of the daemon's CPU at 10k lines/s.
   */
  #maybeCleanup(): void {
    const now = this.#now();
    if (now < this.#nextCleanupAt) return;
    this.#nextCleanupAt = now + CLEANUP_EVERY_S;
    this.failManager.cleanup(now);
  }

  #error(message: string): void {
    this.#lastError = message;
    this.#deps.log.jail.error(`[${this.name}] ${message}`);
    this.#deps.events.publish({ type: 'error', time: this.#now(), code: 'MOAT_ERR_JAIL', message, jail: this.name });
  }
}

/** Seconds between two scans for expired failure tickets. */
const CLEANUP_EVERY_S = 5;
/**
 * Tickets per page of a restore: the work in flight at once, and the garbage a page leaves (small
 * pages die young; 10k-ticket pages pushed the peak RSS of a 1M restore up by ~60 MB).
 */
const RESTORE_PAGE = 2000;
/** Restored bans from which the restore's garbage is worth a full collection afterwards. */
const BIG_RESTORE = 100_000;
/** Restored bans handed to the batcher per page when the one-transaction restore failed. */
const RESTORE_FALLBACK_PAGE = 10_000;

/** A shell action whose `op` command is empty: it runs nothing per ticket (a ban still starts it on demand). */
function runsNothing(a: JailAction, op: 'actionban' | 'actionunban'): boolean {
  return a instanceof CommandAction && !(a.definition.commands[op] ?? '').trim();
}

function subjectOf(f: Failure) {
  return { id: f.id, ip: f.ip, family: f.family, time: f.time, failures: f.attempts, matches: f.matches, data: f.data };
}
