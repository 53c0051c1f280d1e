/**
 * Native nftables action: serves a jail whose banaction is a stock
 * nftables*.conf without running shell commands. Bans and unbans go through
 * the shared NftBatcher; `restore` streams any number of bans into one
 * transaction. Implements the same JailAction contract as CommandAction.
 */
import type { BanTicket } from '../../bans/ticket.ts';
import { banEnd } from '../../bans/ticket.ts';
import type { ActionLogger, BanEpoch, JailAction } from '../action.ts';
import { NftBatcher, nftElement, type NftElement, type NftOp } from './batcher.ts';
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

  private op(kind: 'ban' | 'unban', ticket: BanTicket): NftOp {
    const element: NftElement = nftElement(ticket.ip ?? ticket.id);
    const set = setName(this.ruleset, element.family, element.isNetwork ? 'net' : 'addr');
    let timeout = 0;
    if (kind === 'ban' && ticket.bantime >= 0) {
      // the remaining part of the ban: a restored ban keeps its original end
      timeout = Math.max(1, Math.ceil(banEnd(ticket) - this.now()));
    }
    return { kind, table: this.table, set, element, timeout };
  }

  ban(ticket: BanTicket): Promise<void> {
    return this.batcher.submit(this.op('ban', ticket));
  }
  reban(ticket: BanTicket): Promise<void> {
    return this.ban(ticket);
  }
  prolong(ticket: BanTicket): Promise<void> {
    return this.ban(ticket);
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
    const ok = await this.ctx.runner.exclusive(async () => {
      const chain = await this.ctx.runner.jsonNow(['list', 'chain', ...this.table.split(' '), this.ruleset.chain]);
      if (!chain) return false;
      for (const s of allSets(this.ruleset)) {
        if (!(await this.ctx.runner.jsonNow(['list', 'set', ...this.table.split(' '), s.name]))) return false;
      }
      return true;
    });
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
  async restore(
    tickets: Iterable<BanTicket> | AsyncIterable<BanTicket>,
    opts: { timeout?: number } = {},
  ): Promise<{ loaded: number; skipped: number }> {
    let loaded = 0;
    let skipped = 0;
    const now = this.now();
    const table = this.table;
    const rs = this.ruleset;
    const buffers = new Map<string, string[]>();
    const sets: string[] = [];
    const statement = (set: string, items: string[]) => `add element ${table} ${set} { ${items.join(', ')} }\n`;
    /** Buffers one ticket; returns a full statement when its set's buffer reached RESTORE_CHUNK. */
    const add = (t: BanTicket): string | null => {
      let el: NftElement;
      try {
        el = nftElement(t.ip ?? t.id);
      } catch {
        skipped++;
        return null;
      }
      let item = el.text;
      if (t.bantime >= 0) {
        const left = Math.ceil(banEnd(t) - now);
        if (left <= 0) {
          skipped++;
          return null;
        }
        item += ` timeout ${left}s`;
      }
      const key = el.family === 'inet4' ? (el.isNetwork ? 1 : 0) : el.isNetwork ? 3 : 2;
      const set = (sets[key] ??= setName(rs, el.family, el.isNetwork ? 'net' : 'addr'));
      let buf = buffers.get(set);
      if (!buf) buffers.set(set, (buf = []));
      buf.push(item);
      loaded++;
      if (buf.length < RESTORE_CHUNK) return null;
      const line = statement(set, buf);
      buf.length = 0;
      return line;
    };
    function* rest(): Generator<string> {
      for (const [set, buf] of buffers) if (buf.length) yield statement(set, buf);
    }
    // A source that throws ends the script early (nft commits what it got: valid bans) and the
    // error is rethrown below; an errored stream would leave nft waiting on an open stdin.
    let failure: { error: unknown } | null = null;
    // a sync source stays sync: no promise per ticket
    const script =
      Symbol.iterator in tickets
        ? (function* (): Generator<string> {
            try {
              for (const t of tickets) {
                const line = add(t);
                if (line) yield line;
              }
            } catch (error) {
              failure = { error };
            }
            yield* rest();
          })()
        : (async function* (): AsyncGenerator<string> {
            try {
              for await (const t of tickets) {
                const line = add(t);
                if (line) yield line;
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
