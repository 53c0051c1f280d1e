/**
 * The console's link to moatd: one control connection carrying a `watch` subscription and the
 * state requests (PROTOCOL.md). Reconnects by itself with a capped backoff when moatd goes away.
 *
 * Ordering: the subscription starts BEFORE the snapshot request, and events received while the
 * snapshot is in flight are replayed on top of it, so nothing that happens in between is lost.
 */
import { ProtocolError } from '../errors.ts';
import { CommandFailedError, ControlClient } from '../client/connection.ts';
import type { DaemonEvent, StreamEvent } from '../server/events.ts';
import type { Command } from '../server/protocol.ts';
import type { ConsoleState, ConsoleStateReply, JailHealth } from './state.ts';
import type { ConnectionInfo } from './view.ts';

export interface SessionOptions {
  socket: string;
  state: ConsoleState;
  /** Local clock, epoch seconds. */
  now?: () => number;
  /** Called after every change of state or connection (the app throttles redraws). */
  onChange: () => void;
  /** Backoff bounds between connection attempts, ms. */
  retryMinMs?: number;
  retryMaxMs?: number;
  connect?: (path: string) => Promise<ControlClient>;
}

export class ConsoleSession {
  readonly info: ConnectionInfo;
  readonly #opts: SessionOptions;
  readonly #now: () => number;
  #client: ControlClient | null = null;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryMs: number;
  #nextAttemptAt: number | null = null;
  #resyncPending = false;
  #everConnected = false;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => Date.now() / 1000);
    this.#retryMs = opts.retryMinMs ?? 500;
    this.info = { socket: opts.socket, connected: false, error: 'connecting…', retryIn: null, mode: 'full' };
  }

  start(): void {
    void this.#attempt();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#client?.close();
    this.#client = null;
  }

  /** Seconds until the next attempt (for the status line). */
  refreshRetry(): void {
    this.info.retryIn = this.#nextAttemptAt === null ? null : Math.max(0, this.#nextAttemptAt - this.#now());
  }

  /** Sends a command on the live connection. */
  async request(cmd: Command): Promise<unknown> {
    if (!this.#client || !this.info.connected) throw new Error('moatd is unreachable');
    return this.#client.request(cmd, 60_000);
  }

  async #attempt(): Promise<void> {
    if (this.#stopped) return;
    this.#nextAttemptAt = null;
    const { state } = this.#opts;
    let client: ControlClient;
    try {
      client = await (this.#opts.connect ?? ((p) => ControlClient.connect(p, 5000)))(this.#opts.socket);
    } catch (err) {
      this.#scheduleRetry((err as Error).message);
      return;
    }
    if (this.#stopped) {
      client.close();
      return;
    }
    this.#client = client;
    const pending: DaemonEvent[] = [];
    let buffering = true;
    try {
      await client.watch([], (e) => {
        if (buffering) {
          if (e.type !== 'overflow') pending.push(e);
        } else {
          this.#onEvent(e);
        }
      });
      await this.#loadSnapshot(client);
      for (const e of pending) state.applyEvent(e, true);
      buffering = false;
    } catch (err) {
      client.close();
      this.#client = null;
      this.#scheduleRetry((err as Error).message);
      return;
    }
    this.#retryMs = this.#opts.retryMinMs ?? 500;
    this.info.connected = true;
    this.info.error = null;
    this.info.retryIn = null;
    state.note(this.#now(), 'info', this.#everConnected ? 'reconnected to moatd' : `connected to moatd ${state.version}`);
    this.#everConnected = true;
    this.#opts.onChange();
    void client.closed().then(() => {
      if (this.#client !== client) return;
      this.#client = null;
      this.info.connected = false;
      if (!this.#stopped) state.note(this.#now(), 'error', 'lost the connection to moatd');
      this.#scheduleRetry('connection closed');
    });
  }

  #scheduleRetry(reason: string): void {
    if (this.#stopped) return;
    this.info.connected = false;
    this.info.error = reason;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#opts.retryMaxMs ?? 5000, this.#retryMs * 2);
    this.#nextAttemptAt = this.#now() + delay / 1000;
    this.refreshRetry();
    this.#opts.onChange();
    this.#retryTimer = setTimeout(() => void this.#attempt(), delay);
  }

  #onEvent(e: StreamEvent): void {
    if (e.type === 'overflow') {
      this.#opts.state.note(this.#now(), 'error', `events dropped by moatd (${e.dropped}); reloading state`);
      this.#resync();
    } else {
      this.#opts.state.applyEvent(e);
      if ((e.type === 'reload' && e.phase === 'end') || e.type === 'jail.start' || e.type === 'jail.stop') this.#resync();
    }
    this.#opts.onChange();
  }

  /** Re-reads the snapshot after events we cannot apply incrementally; coalesces bursts. */
  #resync(): void {
    if (this.#resyncPending) return;
    this.#resyncPending = true;
    setTimeout(() => {
      this.#resyncPending = false;
      const client = this.#client;
      if (!client) return;
      this.#loadSnapshot(client).then(
        () => this.#opts.onChange(),
        (err: Error) => {
          this.#opts.state.note(this.#now(), 'error', `state refresh failed: ${err.message}`);
          this.#opts.onChange();
        },
      );
    }, 200);
  }

  async #loadSnapshot(client: ControlClient): Promise<void> {
    let reply: ConsoleStateReply;
    try {
      reply = parseConsoleState(await client.request(['console-state'], 30_000));
      this.info.mode = 'full';
    } catch (err) {
      if (!(err instanceof CommandFailedError) || err.code !== 'MOAT_ERR_INVALID_COMMAND') throw err;
      reply = await fallbackSnapshot(client, this.#now());
      this.info.mode = 'fallback';
    }
    this.#opts.state.applySnapshot(reply, this.#now());
  }
}

// ---------------------------------------------------------------------------------------------
// Reply validation: the daemon is trusted, but a malformed reply must give a clear error, not a crash.

function bad(what: string): never {
  throw new ProtocolError(`malformed console-state reply: ${what}`);
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) bad(`${what} must be a number`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') bad(`${what} must be a string`);
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) bad(`${what} must be a list`);
  return v;
}

function parseHealth(v: unknown, where: string): JailHealth | null {
  if (v === null || v === undefined) return null;
  const h = obj(v, where);
  const last = h.lastError === null || h.lastError === undefined ? null : obj(h.lastError, `${where}.lastError`);
  return {
    ok: h.ok !== false,
    sources: arr(h.sources ?? [], `${where}.sources`).map((s, i) => {
      const o = obj(s, `${where}.sources[${i}]`);
      return {
        name: str(o.name, `${where}.sources[${i}].name`),
        reachable: o.reachable !== false,
        error: o.error === null || o.error === undefined ? null : String(o.error),
      };
    }),
    lastError: last ? { time: num(last.time, `${where}.lastError.time`), message: String(last.message ?? '') } : null,
  };
}

export function parseConsoleState(v: unknown): ConsoleStateReply {
  const r = obj(v, 'reply');
  return {
    version: str(r.version, 'version'),
    startedAt: r.startedAt === null || r.startedAt === undefined ? null : num(r.startedAt, 'startedAt'),
    now: num(r.now, 'now'),
    jails: arr(r.jails, 'jails').map((jv, i) => {
      const j = obj(jv, `jails[${i}]`);
      const w = `jails[${i}]`;
      const bans = arr(j.bans ?? [], `${w}.bans`).map((bv, k) => {
        const b = obj(bv, `${w}.bans[${k}]`);
        return {
          ip: str(b.ip, `${w}.bans[${k}].ip`),
          start: num(b.start, `${w}.bans[${k}].start`),
          end: b.end === null ? null : num(b.end, `${w}.bans[${k}].end`),
          banCount: typeof b.banCount === 'number' ? b.banCount : 1,
        };
      });
      return {
        name: str(j.name, `${w}.name`),
        backend: String(j.backend ?? '?'),
        filter: String(j.filter ?? '?'),
        maxretry: num(j.maxretry, `${w}.maxretry`),
        findtime: num(j.findtime, `${w}.findtime`),
        bantime: num(j.bantime, `${w}.bantime`),
        currentlyFailed: num(j.currentlyFailed ?? 0, `${w}.currentlyFailed`),
        totalFailed: num(j.totalFailed ?? 0, `${w}.totalFailed`),
        currentlyBanned: num(j.currentlyBanned ?? bans.length, `${w}.currentlyBanned`),
        totalBanned: num(j.totalBanned ?? 0, `${w}.totalBanned`),
        health: parseHealth(j.health, `${w}.health`),
        failures:
          j.failures === null || j.failures === undefined
            ? null
            : arr(j.failures, `${w}.failures`).map((fv, k) => {
                const f = obj(fv, `${w}.failures[${k}]`);
                return { ip: str(f.ip, `${w}.failures[${k}].ip`), count: num(f.count, `${w}.failures[${k}].count`), lastTime: num(f.lastTime, `${w}.failures[${k}].lastTime`) };
              }),
        bans,
      };
    }),
  };
}

/** Reads `status JAIL` pairs: [["Filter", [[k, v]...]], ["Actions", [[k, v]...]]]. */
function statusValue(pairs: unknown, section: string, key: string): unknown {
  for (const s of Array.isArray(pairs) ? pairs : []) {
    if (!Array.isArray(s) || s[0] !== section || !Array.isArray(s[1])) continue;
    for (const kv of s[1] as unknown[]) if (Array.isArray(kv) && kv[0] === key) return kv[1];
  }
  return undefined;
}

/** A reduced snapshot from fail2ban's own commands, for a moatd without `console-state`. */
export async function fallbackSnapshot(client: ControlClient, now: number): Promise<ConsoleStateReply> {
  const version = String(await client.request(['version']));
  const status = await client.request(['status']);
  const list = statusValue([['S', status]], 'S', 'Jail list');
  const names = typeof list === 'string' ? list.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
  const jails: ConsoleStateReply['jails'] = [];
  for (const name of names) {
    const [st, maxretry, findtime, bantime, ips] = await Promise.all([
      client.request(['status', name, 'short']),
      client.request(['get', name, 'maxretry']),
      client.request(['get', name, 'findtime']),
      client.request(['get', name, 'bantime']),
      client.request(['get', name, 'banip']),
    ]);
    jails.push({
      name,
      backend: '?',
      filter: '?',
      maxretry: Number(maxretry),
      findtime: Number(findtime),
      bantime: Number(bantime),
      currentlyFailed: Number(statusValue(st, 'Filter', 'Currently failed') ?? 0),
      totalFailed: Number(statusValue(st, 'Filter', 'Total failed') ?? 0),
      currentlyBanned: Number(statusValue(st, 'Actions', 'Currently banned') ?? 0),
      totalBanned: Number(statusValue(st, 'Actions', 'Total banned') ?? 0),
      health: null,
      failures: null,
      bans: (Array.isArray(ips) ? ips : []).map((ip) => ({ ip: String(ip), start: now, end: undefined, banCount: 1 })),
    });
  }
  return { version, startedAt: null, now, jails };
}
