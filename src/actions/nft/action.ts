/**
 * Native nftables action: serves a jail whose banaction is a stock
 * nftables*.conf without running shell commands. Bans and unbans go through
 * the shared NftBatcher; `restore` streams any number of bans into one
 * transaction. Implements the same JailAction contract as CommandAction.
 */
import type { BanTicket } from '../../bans/ticket.ts';
import type { BanEndPage } from '../../store/store.ts';
import { banEnd } from '../../bans/ticket.ts';
import type { ActionLogger, BanEpoch, JailAction } from '../action.ts';
import { NftBatcher, nftElement, nftTimeout, plainAddressFamily, type NftElement, type NftOp } from './batcher.ts';
import { allSets, flushScript, setName, setupScript, teardownScript, type NftRuleset } from './ruleset.ts';
import { assertNftOk, NftRunner } from './runner.ts';

export interface NftActionContext {
  jail: string;
  runner: NftRunner;
  /** Shared between the nft actions of all jails so their operations coalesce. */
  batcher?: NftBatcher;
  epoch?: BanEpoch;
  logger?: ActionLogger;
  norestored?: boolean;
  /** Clock in epoch seconds (tests). */
  now?: () => number;
}

/** Elements per `add element` statement in a restore (keeps nft's parser input lines moderate). */
const RESTORE_CHUNK = 5000;

export class NftAction implements JailAction {
  readonly name: string;
  readonly ruleset: NftRuleset;
  readonly prolongable = true;
  readonly hasFlush = true;
  readonly norestored: boolean;
  private readonly ctx: NftActionContext;
  private readonly batcher: NftBatcher;
  private ownEpoch = 0;
  private started = false;

  constructor(name: string, ruleset: NftRuleset, ctx: NftActionContext) {
    this.name = name;
    this.ruleset = ruleset;
    this.ctx = ctx;
    this.norestored = ctx.norestored ?? false;
    this.batcher = ctx.batcher ?? new NftBatcher(ctx.runner);
  }

  get banEpoch(): number {
    return this.ownEpoch;
  }
  get isStarted(): boolean {
    return this.started;
  }

  private get table(): string {
    return `${this.ruleset.tableFamily} ${this.ruleset.table}`;
  }
  private now(): number {
    return this.ctx.now ? this.ctx.now() : Date.now() / 1000;
  }

  async start(): Promise<void> {
    if (!this.started) {
      const repair = async () => {
        this.ctx.logger?.('error', `nft transaction failed for ${this.ctx.jail}; re-creating table, chain and sets`);
        this.invalidateBanEpoch();
        await this.start();
      };
      for (const s of allSets(this.ruleset)) this.batcher.setRepair(this.table, s.name, repair);
    }
    assertNftOk(await this.ctx.runner.apply(setupScript(this.ruleset)), `start ${this.ctx.jail}`);
    this.started = true;
  }

  async stop(): Promise<void> {
    await this.ctx.runner.exclusive(async () => {
      const r = await this.ctx.runner.applyNow(teardownScript(this.ruleset));
      // already gone (e.g. flushed by an admin) is fine for a stop
      if (r.code !== 0 && !/No such file or directory/.test(r.stderr)) assertNftOk(r, `stop ${this.ctx.jail}`);
      const left = await this.ctx.runner.jsonNow(['list', 'table', ...this.table.split(' ')]);
      const inUse = (left ?? []).some((o) => typeof o === 'object' && o !== null && ('chain' in o || 'set' in o));
      if (left && !inUse) await this.ctx.runner.applyNow(`delete table ${this.table}\n`);
    });
    this.started = false;
    // a stopped jail must not be resurrected by a late batch
    for (const s of allSets(this.ruleset)) this.batcher.setRepair(this.table, s.name, null);
  }

  private op(kind: 'ban' | 'unban', ticket: BanTicket, fresh = false): NftOp {
    const element: NftElement = nftElement(ticket.ip ?? ticket.id);
    const set = setName(this.ruleset, element.family, element.isNetwork ? 'net' : 'addr');
    let timeout = 0;
    if (kind === 'ban' && ticket.bantime >= 0) {
      // the remaining part of the ban: a restored ban keeps its original end
      timeout = Math.max(1, Math.ceil(banEnd(ticket) - this.now()));
    }
    return { kind, table: this.table, set, element, timeout, fresh };
  }

  ban(ticket: BanTicket): Promise<void> {
    // a restored ban's element may still be in the kernel (moatd restarted without a flush)
    return this.batcher.submit(this.op('ban', ticket, !ticket.restored));
  }
  reban(ticket: BanTicket): Promise<void> {
    return this.batcher.submit(this.op('ban', ticket));
  }
  prolong(ticket: BanTicket): Promise<void> {
    return this.batcher.submit(this.op('ban', ticket));
  }
  unban(ticket: BanTicket): Promise<void> {
    return this.batcher.submit(this.op('unban', ticket));
  }

  async flush(): Promise<boolean> {
    assertNftOk(await this.ctx.runner.apply(flushScript(this.ruleset)), `flush ${this.ctx.jail}`);
    return true;
  }

  async reload(): Promise<void> {
    await this.start();
  }

  /** Checks chain and sets exist; re-creates them (new ban epoch) when not. */
  async consistencyCheck(beforeRepair?: () => boolean): Promise<boolean> {
    if (!this.started) return true;
    // one terse listing (-t: no elements; this runs while an attack goes on, with big sets)
    const doc = await this.ctx.runner.json(['-t', 'list', 'table', ...this.table.split(' ')]);
    const names = new Set<string>();
    for (const o of doc ?? []) {
      const x = o as { chain?: { name: string }; set?: { name: string } };
      if (x.chain) names.add(`chain ${x.chain.name}`);
      if (x.set) names.add(`set ${x.set.name}`);
    }
    const ok = names.has(`chain ${this.ruleset.chain}`) && allSets(this.ruleset).every((s) => names.has(`set ${s.name}`));
    if (ok) return true;
    if (beforeRepair && !beforeRepair()) return false;
    this.ctx.logger?.('error', 'Invariant check failed. Trying to restore a sane environment');
    this.invalidateBanEpoch();
    try {
      await this.start();
      return true;
    } catch (e) {
      this.ctx.logger?.('critical', `Unable to restore environment: ${(e as Error).message}`);
      return false;
    }
  }

  invalidateBanEpoch(): void {
    if (this.ctx.epoch) {
      this.ctx.epoch.value += 1;
      this.ownEpoch = this.ctx.epoch.value;
    } else this.ownEpoch += 1;
  }

  /**
   * Loads bans in ONE transaction, streaming the script into nft's stdin while
   * `tickets` is still being produced (a lazy iterable lets the caller read
   * its store while nft parses). Tickets whose ban already ended, or whose id
   * is not an address, are skipped (counted). The action must be started.
   */
  restore(
    tickets: Iterable<BanTicket> | AsyncIterable<BanTicket>,
    opts: { timeout?: number } = {},
  ): Promise<{ loaded: number; skipped: number }> {
    return this.restoreEnds(Symbol.iterator in tickets ? ticketPages(tickets) : asyncTicketPages(tickets), opts);
  }

  /**
   * `restore` for bans given as pages of ids and ends (epoch seconds, Infinity: permanent): no
   * object per ban. nft reads its whole input before it parses, so the sooner the last page
   * comes, the sooner the kernel has the bans; statements are written as pages arrive.
   */
  async restoreEnds(
    pages: Iterable<BanEndPage> | AsyncIterable<BanEndPage>,
    opts: { timeout?: number } = {},
  ): Promise<{ loaded: number; skipped: number }> {
    let loaded = 0;
    let skipped = 0;
    const now = this.now();
    const table = this.table;
    const rs = this.ruleset;
    // per element kind (inet4 address, inet4 network, inet6 address, inet6 network): its set and buffer
    const sets = [setName(rs, 'inet4', 'addr'), setName(rs, 'inet4', 'net'), setName(rs, 'inet6', 'addr'), setName(rs, 'inet6', 'net')];
    const buffers: string[][] = [[], [], [], []];
    const statement = (kind: number) => {
      const buf = buffers[kind]!;
      const line = `add element ${table} ${sets[kind]} { ${buf.join(', ')} }\n`;
      buf.length = 0;
      return line;
    };
    /** The statements of one page (each set's buffer written when it reached RESTORE_CHUNK). */
    const add = (page: BanEndPage): string => {
      let out = '';
      const { ids, ends } = page;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        let kind: number;
        let text = id;
        const plain = plainAddressFamily(id);
        if (plain) kind = plain === 'inet4' ? 0 : 2;
        else {
          let el: NftElement;
          try {
            el = nftElement(id);
          } catch {
            skipped++;
            continue;
          }
          kind = (el.family === 'inet4' ? 0 : 2) + (el.isNetwork ? 1 : 0);
          text = el.text;
        }
        const end = ends[i]!;
        if (end !== Infinity) {
          const left = Math.ceil(end - now);
          if (left <= 0) {
            skipped++;
            continue;
          }
          text = `${text} timeout ${nftTimeout(left)}`;
        }
        const buf = buffers[kind]!;
        buf.push(text);
        loaded++;
        if (buf.length >= RESTORE_CHUNK) out += statement(kind);
      }
      return out;
    };
    function* rest(): Generator<string> {
      for (let kind = 0; kind < 4; kind++) if (buffers[kind]!.length) yield statement(kind);
    }
    // A source that throws ends the script early (nft commits what it got: valid bans) and the
    // error is rethrown below; an errored stream would leave nft waiting on an open stdin.
    let failure: { error: unknown } | null = null;
    // a sync source stays sync: no promise per page
    const script =
      Symbol.iterator in pages
        ? (function* (): Generator<string> {
            try {
              for (const page of pages) {
                const text = add(page);
                if (text) yield text;
              }
            } catch (error) {
              failure = { error };
            }
            yield* rest();
          })()
        : (async function* (): AsyncGenerator<string> {
            try {
              for await (const page of pages) {
                const text = add(page);
                if (text) yield text;
              }
            } catch (error) {
              failure = { error };
            }
            yield* rest();
          })();
    const r = await this.ctx.runner.apply(script, opts.timeout ?? Math.max(this.ctx.runner.timeout, 600));
    assertNftOk(r, `restore ${this.ctx.jail}`);
    if (failure) throw (failure as { error: unknown }).error;
    return { loaded, skipped };
  }

  /** Elements currently in this jail's sets (canonical text), from `nft -j list set`. */
  async elements(): Promise<string[]> {
    const out: string[] = [];
    for (const s of allSets(this.ruleset)) {
      const doc = await this.ctx.runner.json(['list', 'set', ...this.table.split(' '), s.name]);
      for (const o of doc ?? []) {
        const set = (o as { set?: { elem?: unknown[] } }).set;
        for (const e of set?.elem ?? []) out.push(elementText(e));
      }
    }
    return out;
  }
}

/** nft JSON element → text: `"1.2.3.4"`, `{elem:{val:...}}`, `{prefix:{addr,len}}`. */
function elementText(e: unknown): string {
  if (typeof e === 'string') return e;
  const o = e as { elem?: { val?: unknown }; prefix?: { addr: string; len: number } };
  if (o.elem) return elementText(o.elem.val);
  if (o.prefix) return `${o.prefix.addr}/${o.prefix.len}`;
  return JSON.stringify(e);
}

/** Collects tickets into pages of ids and ends for `restoreEnds`: `add` returns a full page. */
function ticketPager(): { add(t: BanTicket): BanEndPage | null; rest(): BanEndPage | null } {
  let page: BanEndPage = { ids: [], ends: [] };
  return {
    add(t) {
      page.ids.push(t.ip ?? t.id);
      page.ends.push(banEnd(t));
      if (page.ids.length < RESTORE_CHUNK) return null;
      const full = page;
      page = { ids: [], ends: [] };
      return full;
    },
    rest: () => (page.ids.length ? page : null),
  };
}

function* ticketPages(tickets: Iterable<BanTicket>): Generator<BanEndPage> {
  const pager = ticketPager();
  for (const t of tickets) {
    const full = pager.add(t);
    if (full) yield full;
  }
  const rest = pager.rest();
  if (rest) yield rest;
}

async function* asyncTicketPages(tickets: AsyncIterable<BanTicket>): AsyncGenerator<BanEndPage> {
  const pager = ticketPager();
  for await (const t of tickets) {
    const full = pager.add(t);
    if (full) yield full;
  }
  const rest = pager.rest();
  if (rest) yield rest;
}
