/**
 * Coalesces element adds/deletes from all jails into few nft transactions.
 * An operation arriving while no transaction runs starts one at the end of the
 * current event-loop turn (setImmediate): every ban decided while handling one
 * read batch goes into that ONE `nft -f` run, without waiting any longer. All
 * operations arriving while a transaction runs go into the next one.
 * (`windowMs` > 0 instead waits that long after the first operation.)
 *
 * Each operation is written so it succeeds whatever the kernel state is:
 *   ban   = add e; delete e; add e timeout T   (refreshes an existing element's timeout)
 *   unban = add e; delete e                    (no "No such file" when it already expired)
 * except a `fresh` ban (new to moat, so the element is normally absent), which is tried as
 * `create e timeout T` first: half of nft's work, and an element that is there after all
 * fails the transaction with EEXIST, which is then run again in the safe form.
 * If a transaction fails, the repairers registered for the sets involved
 * (re-creating table/chain/sets) run once
 * and the batch is retried; if that fails too, operations are retried one by
 * one so only the broken ones are rejected.
 */
import { InvalidArgumentError } from '../../errors.ts';
import { ipv6Words, isCanonicalIPv4, isMappedIpv4Words, parseIp, type Family } from '../../net/ip.ts';
import type { RunResult } from '../command.ts';
import { assertNftOk, type NftRunner } from './runner.ts';

/** A validated element: canonical text from src/net/ip.ts only. */
export interface NftElement {
  family: Family;
  /** Canonical address, or `net/prefix` for networks. */
  text: string;
  isNetwork: boolean;
}

const scratchWords = new Uint16Array(8);

/**
 * Restores read millions of ids that are already plain addresses: 'inet4' for a canonical dotted
 * quad, 'inet6' for IPv6 text of hex digits and colons (nft takes any such spelling; an IPv4-mapped
 * one is not plain), null for anything that needs `nftElement`'s full parse. No allocation.
 */
export function plainAddressFamily(ip: string): Family | null {
  if (isCanonicalIPv4(ip)) return 'inet4';
  return ipv6Words(ip, scratchWords) && !isMappedIpv4Words(scratchWords) ? 'inet6' : null;
}

/** Parses and canonicalises an address; anything else is refused before it can reach nft. */
export function nftElement(ip: string): NftElement {
  // a canonical dotted quad is exactly what parseIp would produce
  if (isCanonicalIPv4(ip)) return { family: 'inet4', text: ip, isNetwork: false };
  const p = parseIp(ip);
  if (!p) throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(ip)}`);
  const max = p.family === 'inet4' ? 32 : 128;
  const isNetwork = p.prefix < max;
  return { family: p.family, text: isNetwork ? `${p.address}/${p.prefix}` : p.address, isNetwork };
}

export interface NftOp {
  kind: 'ban' | 'unban';
  /** `inet f2b-table` */
  table: string;
  set: string;
  element: NftElement;
  /** Seconds; 0 = no timeout. Bans only. */
  timeout: number;
  /** A new ban (not a reban, prolongation or restore): tried as `create element` first. */
  fresh?: boolean;
}

interface Pending {
  op: NftOp;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface NftBatcherOptions {
  /**
   * How long to wait for more operations after the first (ms, at most 5). Default 0: start at the
   * end of the current event-loop turn, so a ban reaches the kernel without an added delay.
   */
  windowMs?: number;
}

const MAX_ELEMENT_TIMEOUT_DAYS = 200_000;

/**
 * An element timeout in nft's syntax. nft refuses a plain number of seconds from 10^8 on ("value
 * too large"; bantime.increment without maxtime gets there) but takes days: `3650d`, `1157d3600s`.
 */
export function nftTimeout(seconds: number): string {
  if (seconds < 86400) return `${seconds}s`;
  // the kernel refuses more than ~213,503 days (ERANGE); moat's own timer ends such a ban anyway
  if (seconds > MAX_ELEMENT_TIMEOUT_DAYS * 86400) return `${MAX_ELEMENT_TIMEOUT_DAYS}d`;
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  return rest ? `${days}d${rest}s` : `${days}d`;
}

const FRESH = ' fresh';

function elementItem(o: NftOp): string {
  return o.timeout > 0 ? `${o.element.text} timeout ${nftTimeout(o.timeout)}` : o.element.text;
}

/** Script text for a list of operations (used for batches and single retries). */
export function opsScript(ops: readonly NftOp[]): string {
  const lines: string[] = [];
  // group so that each element appears once per group; a repeat starts a new group (order kept)
  let group = new Map<string, NftOp[]>();
  let seen = new Set<string>();
  const emit = () => {
    for (const [gk, list] of group) {
      const { table, set } = list[0]!;
      if (gk.endsWith(FRESH)) {
        lines.push(`create element ${table} ${set} { ${list.map(elementItem).join(', ')} }`);
        continue;
      }
      const all = list.map((o) => o.element.text).join(', ');
      lines.push(`add element ${table} ${set} { ${all} }`, `delete element ${table} ${set} { ${all} }`);
      const bans = list.filter((o) => o.kind === 'ban');
      if (bans.length) {
        lines.push(`add element ${table} ${set} { ${bans.map(elementItem).join(', ')} }`);
      }
    }
    group = new Map();
    seen = new Set();
  };
  for (const op of ops) {
    const key = `${op.table} ${op.set} ${op.element.text}`;
    if (seen.has(key)) emit();
    seen.add(key);
    const gk = op.fresh && op.kind === 'ban' ? `${op.table} ${op.set}${FRESH}` : `${op.table} ${op.set}`;
    const list = group.get(gk);
    if (list) list.push(op);
    else group.set(gk, [op]);
  }
  emit();
  return lines.join('\n') + '\n';
}

export class NftBatcher {
  private pending: Pending[] = [];
  /** A drain is scheduled (immediate or timer) and has not started yet. */
  private scheduled = false;
  private running = false;
  private readonly windowMs: number;
  /** `table set` → function re-creating that set's objects (registered by the owning action). */
  private readonly repairers = new Map<string, () => Promise<void>>();
  /** Transactions run (for tests and metrics). */
  transactions = 0;

  constructor(
    private readonly runner: NftRunner,
    opts: NftBatcherOptions = {},
  ) {
    this.windowMs = Math.min(5, Math.max(0, opts.windowMs ?? 0));
  }

  /** Registers how to re-create `set` when a batch touching it fails. */
  setRepair(table: string, set: string, repair: (() => Promise<void>) | null): void {
    if (repair) this.repairers.set(`${table} ${set}`, repair);
    else this.repairers.delete(`${table} ${set}`);
  }

  submit(op: NftOp): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      // while a transaction runs, drain() picks this up for the next one when it finishes
      if (this.running || this.scheduled) return;
      this.scheduled = true;
      if (this.windowMs > 0) setTimeout(() => void this.drain(), this.windowMs);
      else setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length) {
        const batch = this.pending;
        this.pending = [];
        await this.runBatch(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async apply(ops: NftOp[]): Promise<RunResult> {
    this.transactions++;
    return this.runner.apply(opsScript(ops));
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    let ops = batch.map((p) => p.op);
    let r = await this.apply(ops);
    if (r.code !== 0 && ops.some((o) => o.fresh)) {
      // an element that was there after all (EEXIST): the safe form refreshes it
      ops = ops.map((o) => (o.fresh ? { ...o, fresh: false } : o));
      for (let i = 0; i < batch.length; i++) batch[i]!.op = ops[i]!;
      r = await this.apply(ops);
    }
    if (r.code !== 0) {
      const fixes = new Set<() => Promise<void>>();
      for (const op of ops) {
        const fix = this.repairers.get(`${op.table} ${op.set}`);
        if (fix) fixes.add(fix);
      }
      for (const fix of fixes) {
        try {
          await fix();
        } catch {
          /* the retry below reports the failure */
        }
      }
      if (fixes.size) r = await this.apply(ops);
    }
    if (r.code === 0) {
      for (const p of batch) p.resolve();
      return;
    }
    if (batch.length === 1) {
      try {
        assertNftOk(r, `${batch[0]!.op.kind} ${batch[0]!.op.element.text}`);
      } catch (e) {
        batch[0]!.reject(e);
      }
      return;
    }
    // isolate the failing operations
    for (const p of batch) {
      const one = await this.apply([p.op]);
      try {
        assertNftOk(one, `${p.op.kind} ${p.op.element.text}`);
        p.resolve();
      } catch (e) {
        p.reject(e);
      }
    }
  }
}
