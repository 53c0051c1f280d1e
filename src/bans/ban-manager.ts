/**
 * Per-jail ban list (§4.3–4.6): who is banned until when, ban-time increment,
 * unbanning when due, manual ban/unban, restore from the store.
 *
 * The ban manager decides; it does not run actions. New bans and unbans are
 * reported in batches through `onBan(tickets)` / `onUnban(tickets, reason)`,
 * which the jail wires to its actions. A new ban is written to the store (and
 * committed) before it is reported.
 *
 * One timer per jail, set for the earliest end of ban; it unbans everything
 * due when it fires and re-arms itself for the next end. Bans are kept in
 * typed arrays indexed by a slot number plus one Map id → slot, so a million
 * bans need no per-ban object, closure or timer (see `test/bans`).
 */
import type { BanTicket } from './ticket.ts';
import type { Family } from '../net/ip.ts';
import { parseIp, canonicalIp, networkContains } from '../net/ip.ts';
import type { BanEndPage, RestoreOptions, Store } from '../store/store.ts';
import { EndHeap } from './end-heap.ts';
import { compileBanTimeFunction, type BanTimeIncrementOptions, type BanTimeFunction } from './increment.ts';
import { seconds2str, time2str } from './format.ts';

export type BanLogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';
export type BanLog = (level: BanLogLevel, message: string) => void;

/** Time source and timers, injectable so tests do not sleep. */
export interface BanClock {
  /** Epoch seconds (fractional). */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: BanClock = {
  now: () => Date.now() / 1000,
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** What to ban: usually built from a FailTicket (`time` = time of the last counted failure). */
export interface BanRequest {
  id: string;
  ip?: string | null;
  family?: Family | null;
  time: number;
  failures?: number;
  matches?: string[];
  data?: Record<string, unknown>;
  /** Preset ban time (seconds, -1 permanent): skips the increment. */
  bantime?: number;
}

export type BanOutcome =
  | { kind: 'banned'; ticket: BanTicket }
  | { kind: 'expired'; id: string }
  | {
      kind: 'already';
      ticket: BanTicket;
      /** The end of ban moved later. */
      prolonged: boolean;
      /** Seconds between the ban and this failure (log level and consistency checks use it). */
      sinceBan: number;
    };

export type UnbanReason = 'expired' | 'manual' | 'flush' | 'stop';

export interface BanManagerOptions {
  jail: string;
  /** Jail bantime in seconds (-1 permanent); default 600. */
  bantime?: number;
  increment?: BanTimeIncrementOptions | null;
  store?: Store | null;
  clock?: BanClock;
  onBan?: (tickets: BanTicket[]) => void;
  onUnban?: (tickets: BanTicket[], reason: UnbanReason) => void;
  log?: BanLog;
  /** For bantime.rndtime. */
  random?: () => number;
  /** Most tickets unbanned per timer turn (the rest follow in the next turn). */
  unbanBatch?: number;
}

/** What the first pass of a two-pass restore (`restoreScan`) leaves for the second (`restoreChunks`). */
export interface RestoreScan {
  /** Ids the ignore check dropped. */
  skipped: Set<string>;
  /** Last store row read (the second pass reads up to it). */
  upTo: number;
  /** The store was read to its end. */
  complete: boolean;
}

const FAMILY_CODE: Record<Family, number> = { inet4: 1, inet6: 2 };
const CODE_FAMILY: (Family | null)[] = [null, 'inet4', 'inet6'];
const RESTORED = 4;
/** "Restore Ban" lines logged at NOTICE per restore; the rest at DEBUG. */
const RESTORE_LOG_LINES = 10_000;
/** Longest delay Node timers accept; longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Extra {
  matches: string[];
  data: Record<string, unknown>;
}

export class BanManager {
  readonly jail: string;
  bantime: number;

  #store: Store | null;
  #clock: BanClock;
  #log: BanLog;
  #onBan: (tickets: BanTicket[]) => void;
  #onUnban: (tickets: BanTicket[], reason: UnbanReason) => void;
  #increment: BanTimeIncrementOptions | null = null;
  #banTimeFn: BanTimeFunction | null = null;
  #random: () => number;
  #unbanBatch: number;
  #warnedNoStore = false;

  // Ban list: slot-indexed columns.
  #slotOf = new Map<string, number>();
  #ids: (string | undefined)[] = [];
  #time = new Float64Array(0);
  #bantime = new Float64Array(0);
  #banCount = new Int32Array(0);
  #failures = new Int32Array(0);
  #flags = new Uint8Array(0); // bits 0-1 family code, bit 2 restored
  #ipOverride = new Map<number, string | null>(); // only when ip is not derived from id
  #extra = new Map<number, Extra>(); // only when matches/data are not empty
  #free: number[] = [];
  #capacity = 0;
  #heap: EndHeap;
  #total = 0;

  #timer: unknown = null;
  #timerDue = Infinity;

  constructor(opts: BanManagerOptions) {
    this.jail = opts.jail;
    this.bantime = opts.bantime ?? 600;
    this.#store = opts.store ?? null;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.log ?? (() => {});
    this.#onBan = opts.onBan ?? (() => {});
    this.#onUnban = opts.onUnban ?? (() => {});
    this.#random = opts.random ?? Math.random;
    this.#unbanBatch = opts.unbanBatch ?? 10_000;
    this.#heap = new EndHeap((slot) => this.#end(slot));
    this.setIncrement(opts.increment ?? null);
  }

  /** Sets `bantime.*` options (compiles factor/formula; throws ConfigValueError when invalid). */
  setIncrement(increment: BanTimeIncrementOptions | null): void {
    this.#increment = increment?.enabled ? increment : null;
    this.#banTimeFn = this.#increment ? compileBanTimeFunction(this.#increment, this.#random) : null;
    this.#warnedNoStore = false;
  }

  /** Ban time of a repeated ban: f(bantime, previous ban count) per the increment options (or unchanged). */
  calcBanTime(banTime: number, banCount: number): number {
    return this.#banTimeFn ? this.#banTimeFn(banTime, banCount) : banTime;
  }

  // ---- status -------------------------------------------------------------

  /** "Currently banned". */
  get size(): number {
    return this.#slotOf.size;
  }

  /** "Total banned" since start (restored bans included, like fail2ban). */
  get totalBanned(): number {
    return this.#total;
  }

  has(id: string): boolean {
    return this.#slotOf.has(id);
  }

  get(id: string): BanTicket | undefined {
    const slot = this.#slotOf.get(id);
    return slot === undefined ? undefined : this.#ticket(slot);
  }

  /** End of ban of `id` in epoch seconds (Infinity for permanent), or undefined. */
  endOf(id: string): number | undefined {
    const slot = this.#slotOf.get(id);
    return slot === undefined ? undefined : this.#end(slot);
  }

  /** Banned IDs ordered by end of ban (earliest first, permanent last). */
  bannedIds(): string[] {
    const slots = [...this.#slotOf.values()];
    slots.sort((a, b) => this.#end(a) - this.#end(b) || (this.#ids[a]! < this.#ids[b]! ? -1 : 1));
    return slots.map((s) => this.#ids[s]!);
  }

  *tickets(): IterableIterator<BanTicket> {
    for (const slot of this.#slotOf.values()) yield this.#ticket(slot);
  }

  // ---- banning ------------------------------------------------------------

  /** Bans one ticket; see `banMany`. */
  ban(request: BanRequest): BanOutcome {
    return this.banMany([request])[0]!;
  }

  /**
   * Bans tickets now (§4.3): expired ones are ignored, already banned ones may
   * be prolonged, new ones get their increment, are committed to the store in
   * one transaction and reported in one `onBan` call.
   */
  banMany(requests: readonly BanRequest[]): BanOutcome[] {
    const now = this.#clock.now();
    const outcomes: BanOutcome[] = [];
    const banned: BanTicket[] = [];
    const toStore: BanTicket[] = [];
    const messages: [BanLogLevel, string][] = [];
    for (const req of requests) {
      const preset = req.bantime !== undefined;
      let bantime = preset ? req.bantime! : this.bantime;
      const end = bantime < 0 ? Infinity : req.time + bantime;
      if (end < now) {
        this.#log('info', `[${this.jail}] Ignore ${req.id}, expired bantime`);
        outcomes.push({ kind: 'expired', id: req.id });
        continue;
      }
      const existing = this.#slotOf.get(req.id);
      if (existing !== undefined) {
        outcomes.push(this.#already(existing, req, bantime, end));
        continue;
      }
      // New ban: ban count and increment from the store (§4.5 "ban found").
      let banCount = 1;
      let writeToStore = true;
      const incrMessages: [BanLogLevel, string][] = [];
      if (this.#increment && !preset && bantime > 0) {
        if (!this.#store) this.#warnNoStore();
        else {
          const last = this.#store.lastBan(req.id, this.#increment.overalljails ? null : this.jail);
          if (last) {
            banCount = last.banCount + 1;
            const old = bantime;
            if (last.banCount > 0) bantime = this.calcBanTime(bantime, last.banCount);
            if (req.time > last.timeOfBan) {
              incrMessages.push([
                'info',
                `[${this.jail}] IP ${req.id} is bad: ${last.banCount} # last ${time2str(last.timeOfBan)} - incr ${seconds2str(old)} to ${seconds2str(bantime)}`,
              ]);
            } else {
              // The failure was read again (log re-read after restart): already in the store.
              writeToStore = false;
            }
            if (bantime !== old) {
              const endText = bantime < 0 ? 'permanent -> infinite' : `${seconds2str(bantime)} -> ${time2str(req.time + bantime)}`;
              incrMessages.push(['notice', `[${this.jail}] Increase Ban ${req.id} (${banCount} # ${endText})`]);
            }
          }
        }
      }
      const slot = this.#insert(req, bantime, banCount, false);
      const ticket = this.#ticket(slot);
      banned.push(ticket);
      if (writeToStore) toStore.push(ticket);
      outcomes.push({ kind: 'banned', ticket });
      messages.push(['notice', `[${this.jail}] Ban ${req.id}`], ...incrMessages);
    }
    if (this.#store && toStore.length) this.#store.addBans(toStore); // committed before it is reported
    for (const [level, msg] of messages) this.#log(level, msg);
    this.#arm();
    if (banned.length) this.#onBan(banned);
    return outcomes;
  }

  /** "Already banned": prolong when the new end is later (§4.3); the store's latest row follows. */
  #already(slot: number, req: BanRequest, bantime: number, end: number): BanOutcome {
    const oldTime = this.#time[slot]!;
    const sinceBan = req.time - oldTime;
    let prolonged = false;
    if (end > this.#end(slot)) {
      prolonged = true;
      const newBantime = bantime < 0 ? -1 : bantime + Math.max(0, sinceBan);
      this.#bantime[slot] = newBantime;
      if (newBantime < 0) this.#heap.remove(slot);
      else this.#heap.update(slot);
      if (this.#store) this.#store.setBanTime(this.jail, req.id, newBantime);
    }
    const level: BanLogLevel = sinceBan < 3 ? 'debug' : sinceBan < 60 ? 'notice' : 'warning';
    this.#log(level, `[${this.jail}] ${req.id} already banned`);
    return { kind: 'already', ticket: this.#ticket(slot), prolonged, sinceBan };
  }

  #warnNoStore(): void {
    if (this.#warnedNoStore) return;
    this.#warnedNoStore = true;
    this.#log('warning', 'ban time increment is not available as long jail database is not set');
  }

  /**
   * Manual `banip`: bans each address/network/ID at now, bypassing failure
   * counting and ignore lists. Returns how many were newly banned.
   */
  banManual(ids: readonly string[]): number {
    const now = this.#clock.now();
    const requests = ids.map((raw): BanRequest => {
      const id = canonicalIp(raw) ?? raw;
      const ip = parseIp(id);
      return { id, ip: ip ? id : null, family: ip?.family ?? null, time: now, failures: 0 };
    });
    return this.banMany(requests).filter((o) => o.kind === 'banned').length;
  }

  /**
   * Restores the jail's active bans from the store (§4.6) as one batch (oldest ban first): no new
   * store rows, no increment; `skip(ticket)` (the ignore check) may drop some.
   * Returns the restored tickets (also reported through one onBan call).
   */
  restore(opts: { maxMatches?: number; skip?: (ticket: BanTicket) => boolean } = {}): BanTicket[] {
    // one page: the sorted query, so everything reaches onBan at once
    const pages = this.#restorePages(opts, (store, now, q) => [store.currentBans(this.jail, now, q)]);
    const restored = [...pages].flat();
    if (restored.length) this.#onBan(restored);
    return restored;
  }

  /**
   * Like `restore`, for big stores: reads the store page by page and yields each page's restored
   * tickets as soon as they are in the ban list, WITHOUT calling onBan: the caller hands them to
   * the actions (the jail streams them into one nftables transaction while later pages are read).
   * The unban timer is armed when the generator finishes (or is abandoned by `return()`).
   */
  *restoreChunks(
    opts: { maxMatches?: number; skip?: (ticket: BanTicket) => boolean; pageSize?: number; upTo?: number } = {},
  ): Generator<BanTicket[]> {
    yield* this.#restorePages(opts, (store, now, q) => store.currentBanPages(this.jail, now, q, opts.pageSize, opts.upTo));
  }

  /**
   * The lean first pass of a two-pass restore (native nftables: the kernel gets its elements before
   * the ban list is filled): the ids and ends of the bans `restoreChunks` would restore, page by
   * page, WITHOUT inserting them, logging or reporting. Already banned ids and those `skip` (the
   * ignore check) drops are left out; `scan` collects what the second pass needs to restore exactly
   * the same bans: `restoreChunks({ upTo: scan.upTo, skip: (t) => scan.skipped.has(t.id) })`.
   * `scan.complete` is set when the store was read to its end.
   */
  *restoreScan(opts: { skip?: (id: string) => boolean; pageSize?: number }, scan: RestoreScan): Generator<BanEndPage> {
    if (!this.#store) {
      scan.complete = true;
      return;
    }
    const progress = { lastRowid: 0 };
    const skip = opts.skip;
    for (const page of this.#store.currentBanEnds(this.jail, this.#clock.now(), this.#restoreOptions(), opts.pageSize, progress)) {
      scan.upTo = progress.lastRowid;
      const { ids, ends } = page;
      let n = 0;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (this.#slotOf.has(id)) continue;
        if (skip?.(id)) {
          scan.skipped.add(id);
          continue;
        }
        ids[n] = id;
        ends[n++] = ends[i]!;
      }
      ids.length = n;
      ends.length = n;
      if (n) yield page;
    }
    scan.upTo = progress.lastRowid;
    scan.complete = true;
  }

  #restoreOptions(maxMatches?: number): RestoreOptions {
    return {
      jailBantime: this.bantime,
      increment: this.#increment !== null,
      maxtime: this.#increment?.maxtime ?? null,
      ...(maxMatches !== undefined ? { maxMatches } : {}),
    };
  }

  /** Inserts the tickets of each page `read` returns; the summary line and the timer follow the last page. */
  *#restorePages(
    opts: { maxMatches?: number; skip?: (ticket: BanTicket) => boolean },
    read: (store: Store, now: number, q: RestoreOptions) => Iterable<BanTicket[]>,
  ): Generator<BanTicket[]> {
    if (!this.#store) return;
    const pages = read(this.#store, this.#clock.now(), this.#restoreOptions(opts.maxMatches));
    const count = { n: 0 };
    try {
      for (const page of pages) {
        const restored = this.#restoreTickets(page, opts.skip, count);
        if (restored.length) yield restored;
      }
    } finally {
      this.#restoreSummary(count.n);
      this.#arm();
    }
  }

  /**
   * Inserts the store's tickets not yet banned (and not skipped); they are reported as they are.
   * Like fail2ban, each gets a NOTICE "Restore Ban" line, but only the first RESTORE_LOG_LINES of
   * a restore: the rest go to DEBUG (formatting a million lines cost more than loading them into nftables).
   */
  #restoreTickets(rows: BanTicket[], skip: ((ticket: BanTicket) => boolean) | undefined, count: { n: number }): BanTicket[] {
    const restored: BanTicket[] = [];
    for (const t of rows) {
      if (this.#slotOf.has(t.id) || skip?.(t)) continue;
      this.#insert(t, t.bantime, t.banCount, true);
      restored.push(t);
      this.#log(++count.n <= RESTORE_LOG_LINES ? 'notice' : 'debug', `[${this.jail}] Restore Ban ${t.id}`);
    }
    return restored;
  }

  #restoreSummary(n: number): void {
    if (n > RESTORE_LOG_LINES) {
      this.#log('notice', `[${this.jail}] Restored ${n} bans (${n - RESTORE_LOG_LINES} "Restore Ban" lines beyond the first ${RESTORE_LOG_LINES} at DEBUG level)`);
    }
  }

  // ---- "Failure found" hook of the increment (§4.5) -----------------------

  /**
   * For a failure of a known offender: how many extra retries to add (0 when
   * none). `retry = 2^min(bancount, 20) / 2 + 1`, capped at maxretry; failures
   * not later than the last ban are ignored (already accounted). The jail adds
   * the result with `FailManager.addExtraRetries` and bans if that reaches
   * maxretry, in the same turn.
   */
  failureFound(id: string, time: number, maxRetry: number): number {
    if (!this.#increment || !this.#store) return 0;
    const last = this.#store.lastBan(id, this.jail);
    if (!last) return 0;
    if (time <= last.timeOfBan) return 0;
    const banCount = last.banCount;
    const retry = Math.min(2 ** Math.min(banCount, 20) / 2 + 1, maxRetry);
    if (retry <= 1) return 0;
    const text = Number.isInteger(retry) ? `${retry}.0` : String(retry);
    this.#log(
      'info',
      `[${this.jail}] Found ${id}, bad - ${time2str(time)}, ${banCount} # -> ${text}${retry >= maxRetry ? ', Ban' : ''}`,
    );
    return retry - 1;
  }

  // ---- unbanning ----------------------------------------------------------

  /**
   * Manual unban (`unbanip`, `unban`): each argument's store rows are deleted
   * even if it is not banned; a network argument unbans every banned ID inside.
   * Returns the unbanned tickets and the arguments that matched nothing.
   */
  unban(args: readonly string[]): { unbanned: BanTicket[]; absent: string[] } {
    const slots = new Set<number>();
    const absent: string[] = [];
    for (const raw of args) {
      const id = canonicalIp(raw) ?? raw;
      this.#store?.removeBans(this.jail, id);
      const slot = this.#slotOf.get(id);
      if (slot !== undefined) {
        slots.add(slot);
        continue;
      }
      const net = parseIp(id);
      let found = false;
      if (net && net.prefix < (net.family === 'inet4' ? 32 : 128)) {
        for (const [bannedId, s] of this.#slotOf) {
          const addr = parseIp(bannedId);
          if (addr && networkContains(net, addr) && !slots.has(s)) {
            slots.add(s);
            this.#store?.removeBans(this.jail, bannedId);
            found = true;
          }
        }
      }
      if (!found) {
        absent.push(raw);
        this.#log('info', `${raw} is not banned`);
      }
    }
    const unbanned = this.#removeSlots([...slots]);
    if (unbanned.length) this.#onUnban(unbanned, 'manual');
    return { unbanned, absent };
  }

  /**
   * Unbans everything: `flush` (unban --all, reload --unban) also deletes the
   * jail's store rows; `stop` (jail/server stop) keeps them for the next start.
   */
  unbanAll(reason: 'flush' | 'stop' = 'flush'): BanTicket[] {
    const tickets = this.#removeSlots([...this.#slotOf.values()]);
    if (reason === 'flush') this.#store?.removeBans(this.jail);
    this.#disarm();
    if (tickets.length) this.#onUnban(tickets, reason);
    return tickets;
  }

  /** Unbans whatever is due now (the timer calls this; callable directly). Returns the tickets. */
  unbanExpired(): BanTicket[] {
    const now = this.#clock.now();
    const due: number[] = [];
    while (due.length < this.#unbanBatch) {
      const slot = this.#heap.peek();
      if (slot < 0 || this.#end(slot) > now) break;
      this.#heap.remove(slot);
      due.push(slot);
    }
    const tickets = this.#removeSlots(due);
    if (tickets.length) this.#onUnban(tickets, 'expired');
    return tickets;
  }

  /** Stops the timer (jail stop); bans stay in memory. */
  close(): void {
    this.#disarm();
  }

  // ---- timer --------------------------------------------------------------

  #arm(): void {
    const slot = this.#heap.peek();
    const due = slot < 0 ? Infinity : this.#end(slot);
    if (due === this.#timerDue && this.#timer !== null) return;
    this.#disarm();
    if (due === Infinity) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil((due - this.#clock.now()) * 1000)));
    this.#timerDue = due;
    this.#timer = this.#clock.setTimer(() => this.#onTimer(), delay);
  }

  #disarm(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerDue = Infinity;
  }

  #onTimer(): void {
    this.#timer = null;
    this.#timerDue = Infinity;
    try {
      this.unbanExpired();
    } finally {
      this.#arm();
    }
  }

  // ---- slot storage -------------------------------------------------------

  #end(slot: number): number {
    const bt = this.#bantime[slot]!;
    return bt < 0 ? Infinity : this.#time[slot]! + bt;
  }

  #grow(): void {
    const cap = Math.max(1024, Math.ceil(this.#capacity * 1.5));
    const f64 = (a: Float64Array) => {
      const n = new Float64Array(cap);
      n.set(a);
      return n;
    };
    const i32 = (a: Int32Array) => {
      const n = new Int32Array(cap);
      n.set(a);
      return n;
    };
    this.#time = f64(this.#time);
    this.#bantime = f64(this.#bantime);
    this.#banCount = i32(this.#banCount);
    this.#failures = i32(this.#failures);
    const flags = new Uint8Array(cap);
    flags.set(this.#flags);
    this.#flags = flags;
    this.#heap.grow(cap);
    this.#capacity = cap;
  }

  #insert(req: BanRequest, bantime: number, banCount: number, restored: boolean): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#ids.length;
      if (slot >= this.#capacity) this.#grow();
      this.#ids.push(undefined);
    }
    const family = req.family ?? null;
    this.#ids[slot] = req.id;
    this.#time[slot] = req.time;
    this.#bantime[slot] = bantime;
    this.#banCount[slot] = banCount;
    this.#failures[slot] = req.failures ?? 0;
    this.#flags[slot] = (family ? FAMILY_CODE[family] : 0) | (restored ? RESTORED : 0);
    const derivedIp = family ? req.id : null;
    const ip = req.ip === undefined ? derivedIp : req.ip;
    if (ip !== derivedIp) this.#ipOverride.set(slot, ip);
    const matches = req.matches ?? [];
    const data = req.data ?? {};
    if (matches.length || !isEmpty(data)) this.#extra.set(slot, { matches, data });
    this.#slotOf.set(req.id, slot);
    if (bantime >= 0) this.#heap.push(slot);
    this.#total += 1;
    return slot;
  }

  #ticket(slot: number): BanTicket {
    const flags = this.#flags[slot]!;
    const family = CODE_FAMILY[flags & 3] ?? null;
    const id = this.#ids[slot]!;
    const extra = this.#extra.get(slot);
    return {
      jail: this.jail,
      id,
      ip: this.#ipOverride.has(slot) ? this.#ipOverride.get(slot)! : family ? id : null,
      family,
      time: this.#time[slot]!,
      bantime: this.#bantime[slot]!,
      banCount: this.#banCount[slot]!,
      failures: this.#failures[slot]!,
      matches: extra ? extra.matches : [],
      data: extra ? extra.data : {},
      restored: (flags & RESTORED) !== 0,
    };
  }

  /** Removes slots from the list, logs "Unban", returns their tickets. */
  #removeSlots(slots: number[]): BanTicket[] {
    const tickets: BanTicket[] = [];
    for (const slot of slots) {
      const id = this.#ids[slot];
      if (id === undefined) continue;
      tickets.push(this.#ticket(slot));
      this.#heap.remove(slot);
      this.#slotOf.delete(id);
      this.#ids[slot] = undefined;
      this.#ipOverride.delete(slot);
      this.#extra.delete(slot);
      this.#free.push(slot);
      this.#log('notice', `[${this.jail}] Unban ${id}`);
    }
    return tickets;
  }
}

/** True for `{}` (without allocating a key array: restores check a million of them). */
function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false;
  return true;
}
