/**
 * Per-jail failure counting within findtime (§4.1).
 *
 * This is fail2ban's rate estimate, not an exact sliding window: when a new
 * failure arrives and the ticket's first failure is older than findtime, the
 * count is scaled to the findtime window (rounded half-to-even like Python's
 * round()) before the new failure is added.
 *
 * The caller bans in the same turn: `addFailure` removes a ticket that reached
 * maxretry from the list and returns it with `banReady: true`; there is no
 * queue or timer between that failure and the ban.
 *
 * With `trackChanges` the manager remembers which IDs changed so the store can
 * persist open tickets incrementally (`drainChanges`, written with the read
 * positions) and a restart goes on counting (`restore`).
 */
import type { Family } from '../net/ip.ts';
import type { Failure } from '../filter/failure.ts';
import { pyRound } from './py-round.ts';

export interface FailManagerOptions {
  maxRetry?: number;
  findTime?: number;
  maxMatches?: number;
  /** Remember changed IDs for `drainChanges` (the store persists them). */
  trackChanges?: boolean;
}

/** The failures of one ID inside the current findtime window. */
export interface FailTicket {
  id: string;
  ip: string | null;
  family: Family | null;
  /** Start of the (possibly rescaled) counting window, epoch seconds. */
  firstTime: number;
  /** Time of the last counted failure, epoch seconds. */
  lastTime: number;
  /** Count compared with maxretry; may be fractional after increment hooks. */
  retry: number;
  /** Failures (log attempts) that went into this ticket. */
  failures: number;
  /** Last `maxMatches` matched lines. */
  matches: string[];
  /** Captured values, latest failure wins per key. */
  data: Record<string, unknown>;
}

export interface AddFailureResult {
  ticket: FailTicket;
  /** Count after this failure. */
  retry: number;
  /** maxretry reached: the ticket was removed from the list; ban it now. */
  banReady: boolean;
}

export class FailManager {
  maxRetry: number;
  findTime: number;
  maxMatches: number;
  #tickets = new Map<string, FailTicket>();
  #total = 0;
  /** IDs whose ticket changed or went away since the last drainChanges (null: not tracking). */
  #changed: Set<string> | null;
  /**
   * IDs of tickets opened since the last drainChanges that have no row in the store: when such a
   * ticket goes away (banned after a quick burst of failures) there is nothing to write or delete.
   */
  #unwritten: Set<string> | null;

  constructor(opts: FailManagerOptions = {}) {
    this.maxRetry = opts.maxRetry ?? 3;
    this.findTime = opts.findTime ?? 600;
    this.maxMatches = opts.maxMatches ?? 5;
    this.#changed = opts.trackChanges ? new Set() : null;
    this.#unwritten = opts.trackChanges ? new Set() : null;
  }

  /** Number of changed IDs not yet drained. */
  get pendingChanges(): number {
    return this.#changed?.size ?? 0;
  }

  /** Tickets changed since the last call (to write) and IDs whose ticket is gone (to delete). */
  drainChanges(): { upsert: FailTicket[]; remove: string[] } {
    const upsert: FailTicket[] = [];
    const remove: string[] = [];
    if (this.#changed) {
      for (const id of this.#changed) {
        const t = this.#tickets.get(id);
        if (t) upsert.push(t);
        else remove.push(id);
      }
      this.#changed.clear();
      this.#unwritten!.clear();
    }
    return { upsert, remove };
  }

  /**
   * Puts back tickets saved before a restart. They keep their window and count;
   * "Total failed" counts only failures seen since this start.
   */
  restore(tickets: readonly FailTicket[]): void {
    for (const t of tickets) {
      this.#tickets.set(t.id, { ...t, matches: this.#keepMatches([...t.matches]), data: { ...t.data } });
    }
  }

  /** "Currently failed": IDs with an open ticket. */
  get size(): number {
    return this.#tickets.size;
  }

  /** "Total failed": every counted failure since start (including increment extras). */
  get totalFailed(): number {
    return this.#total;
  }

  get(id: string): FailTicket | undefined {
    return this.#tickets.get(id);
  }

  ids(): IterableIterator<string> {
    return this.#tickets.keys();
  }

  #keepMatches(list: string[]): string[] {
    if (this.maxMatches <= 0) return [];
    return list.length > this.maxMatches ? list.slice(-this.maxMatches) : list;
  }

  /**
   * Counts one failure (`count` adds to the retry count; attempts carried by
   * the failure add to `failures`). Returns the ticket and whether maxretry was
   * reached — in that case the ticket is no longer in the list.
   */
  addFailure(failure: Failure, count = 1): AddFailureResult {
    const attempts = failure.attempts > 0 ? failure.attempts : 1;
    let ticket = this.#tickets.get(failure.id);
    if (ticket) {
      this.#adjustTime(ticket, failure.time);
      ticket.retry += count;
      ticket.failures += attempts;
      // in place: the ticket owns its list (a banned ticket leaves the manager before it is shared)
      const kept = ticket.matches;
      for (const m of failure.matches) kept.push(m);
      const over = kept.length - Math.max(0, this.maxMatches);
      if (over === 1) kept.shift(); // the usual case: no array of removed items
      else if (over > 0) kept.splice(0, over);
      if (failure.ip !== null) ticket.ip = failure.ip;
      if (failure.family !== null) ticket.family = failure.family;
    } else {
      ticket = {
        id: failure.id,
        ip: failure.ip ?? (failure.family ? failure.id : null),
        family: failure.family,
        firstTime: failure.time,
        lastTime: failure.time,
        retry: count > attempts ? count : attempts,
        failures: attempts,
        matches: this.#keepMatches([...failure.matches]),
        data: ticketData(failure.data),
      };
      this.#tickets.set(failure.id, ticket);
      // an ID with a pending change may be a stored row waiting for its delete: not "unwritten"
      if (this.#changed && !this.#changed.has(ticket.id)) this.#unwritten!.add(ticket.id);
    }
    this.#total += 1;
    this.#changed?.add(ticket.id);
    return this.#checkBan(ticket);
  }

  /**
   * Adds extra retries to an open ticket (ban-time increment "Found ... bad",
   * §4.5: a known offender's failure counts more). Counts as one more failure
   * attempt, like fail2ban's observer. Returns null if the ID has no ticket
   * (already banned or cleaned up): nothing is counted then.
   */
  addExtraRetries(id: string, count: number): AddFailureResult | null {
    const ticket = this.#tickets.get(id);
    if (!ticket) return null;
    ticket.retry += count;
    ticket.failures += 1;
    this.#total += 1;
    this.#changed?.add(ticket.id);
    return this.#checkBan(ticket);
  }

  /**
   * Manual `set JAIL attempt IP [line...]`: a failure at `now` whose count is
   * the number of lines (at least 1).
   */
  attempt(id: string, lines: string[], now: number, ip: { ip: string | null; family: Family | null } = { ip: null, family: null }): AddFailureResult {
    const count = Math.max(1, lines.length);
    return this.addFailure(
      { id, ip: ip.ip, family: ip.family, time: now, matches: lines, attempts: count, data: {}, regexIndex: -1 },
      count,
    );
  }

  #adjustTime(ticket: FailTicket, time: number): void {
    if (time <= ticket.lastTime) return;
    if (ticket.firstTime < time - this.findTime) {
      ticket.retry = pyRound((ticket.retry / (time - ticket.firstTime)) * this.findTime);
      ticket.firstTime = time - this.findTime;
    }
    ticket.lastTime = time;
  }

  #checkBan(ticket: FailTicket): AddFailureResult {
    const banReady = ticket.retry >= this.maxRetry;
    if (banReady) this.#forget(ticket.id);
    return { ticket, retry: ticket.retry, banReady };
  }

  /** Removes a ticket; the store deletes its row, unless it never had one. */
  #forget(id: string): void {
    this.#tickets.delete(id);
    if (this.#unwritten?.delete(id)) this.#changed!.delete(id);
    else this.#changed?.add(id);
  }

  /** Drops tickets whose last failure is findtime or more before `now`. Returns how many. */
  cleanup(now: number): number {
    const limit = now - this.findTime;
    let removed = 0;
    for (const [id, t] of this.#tickets) {
      if (t.lastTime <= limit) {
        this.#forget(id);
        removed++;
      }
    }
    return removed;
  }
}

/**
 * A new ticket's data, as fail2ban's Ticket keeps it: the first failure's values without the empty
 * (None) ones. Later failures add attempts and matches only; their values are not merged in.
 */
function ticketData(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in data) {
    const v = data[k];
    if (v !== null && v !== undefined) out[k] = v;
  }
  return out;
}
