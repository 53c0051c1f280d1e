/**
 * What the console knows about the daemon: a snapshot from `console-state` (PROTOCOL.md) kept current
 * by `watch` events. Pure data, no I/O: the session feeds it, the views read it.
 *
 * Countdowns are never stored: bans keep their end time and views compute the rest from the clock,
 * so a second passing costs nothing but a redraw.
 */
import type { ConsoleJailState } from '../server/console-state.ts';
import type { DaemonEvent } from '../server/events.ts';

export type JailHealth = ConsoleJailState['health'];

export interface FailureEntry {
  jail: string;
  ip: string;
  count: number;
  lastTime: number;
}

export interface BanEntry {
  jail: string;
  ip: string;
  start: number;
  /** Epoch seconds; null = permanent; undefined = unknown (ban older than our watch, fallback mode). */
  end: number | null | undefined;
  banCount: number;
}

/** Jail settings and counters shown as the daemon sent them. */
type JailSettings = Pick<ConsoleJailState, 'name' | 'backend' | 'filter' | 'maxretry' | 'findtime' | 'bantime' | 'totalFailed' | 'totalBanned'>;

export interface JailState extends JailSettings {
  /** Only used when the daemon does not send per-ip failures (fallback mode). */
  reportedFailed: number | null;
  health: JailHealth | null;
  failures: Map<string, FailureEntry>;
  bans: Map<string, BanEntry>;
}

/** One line of the live report pane. */
export interface ReportLine {
  time: number;
  kind: 'found' | 'ban' | 'unban' | 'restore' | 'error' | 'info';
  jail: string | null;
  text: string;
}

/**
 * Wire shape of `console-state` (see PROTOCOL.md), loosened for the fallback snapshot built from
 * plain fail2ban commands: no start time, health or per-ip failures, ban ends unknown.
 */
export interface ConsoleStateReply {
  version: string;
  startedAt: number | null;
  now: number;
  jails: (Omit<ConsoleJailState, 'health' | 'failures' | 'bans'> & {
    health: JailHealth | null;
    failures: ConsoleJailState['failures'] | null;
    bans: (Omit<ConsoleJailState['bans'][number], 'end'> & { end: number | null | undefined })[];
  })[];
}

export const REPORT_LIMIT = 1000;
/** Minutes kept for the per-minute sparklines. */
export const HISTORY_MINUTES = 120;

export class ConsoleState {
  readonly jails = new Map<string, JailState>();
  readonly report: ReportLine[] = [];
  version = '';
  startedAt: number | null = null;
  /** daemon clock − local clock, seconds. */
  clockOffset = 0;
  /** Per-minute counts keyed by epoch minute. */
  readonly failuresPerMinute = new Map<number, number>();
  readonly bansPerMinute = new Map<number, number>();
  /** Bumped on every change: the UI redraws when it moved. */
  revision = 0;

  /** Replaces everything the snapshot covers; report and history are kept. */
  applySnapshot(reply: ConsoleStateReply, localNow: number): void {
    this.version = reply.version;
    this.startedAt = reply.startedAt;
    this.clockOffset = Math.abs(reply.now - localNow) < 2 ? 0 : reply.now - localNow;
    this.jails.clear();
    for (const j of reply.jails) {
      const jail: JailState = {
        name: j.name,
        backend: j.backend,
        filter: j.filter,
        maxretry: j.maxretry,
        findtime: j.findtime,
        bantime: j.bantime,
        totalFailed: j.totalFailed,
        totalBanned: j.totalBanned,
        reportedFailed: j.failures === null ? j.currentlyFailed : null,
        health: j.health,
        failures: new Map(),
        bans: new Map(),
      };
      for (const f of j.failures ?? []) jail.failures.set(f.ip, { jail: j.name, ...f });
      for (const b of j.bans) jail.bans.set(b.ip, { jail: j.name, ...b });
      this.jails.set(j.name, jail);
    }
    this.revision++;
  }

  /**
   * Applies one event. `replay` is set for events that arrived before the snapshot they are replayed on:
   * set-like effects are applied again (harmless), counters are not incremented twice.
   */
  applyEvent(event: DaemonEvent, replay = false): void {
    this.revision++;
    const jail = 'jail' in event && typeof event.jail === 'string' ? this.jails.get(event.jail) : undefined;
    switch (event.type) {
      case 'found':
        if (!replay) {
          this.#bump(this.failuresPerMinute, event.time);
          this.#log(event.time, 'found', event.jail, `Found ${event.ip} - ${event.failures}/${jail?.maxretry ?? '?'}`);
        }
        if (jail) {
          if (!replay) jail.totalFailed++;
          jail.failures.set(event.ip, { jail: jail.name, ip: event.ip, count: event.failures, lastTime: event.time });
        }
        return;
      case 'ban':
      case 'restore': {
        if (!replay) {
          if (event.type === 'ban') this.#bump(this.bansPerMinute, event.time);
          const repeat = event.banCount > 1 ? ` (ban #${event.banCount})` : '';
          const verb = event.type === 'ban' ? 'Ban' : 'Restore Ban';
          this.#log(event.time, event.type, event.jail, `${verb} ${event.ip}${repeat}`);
        }
        if (jail) {
          if (!replay && event.type === 'ban') jail.totalBanned++;
          // A ban consumes the id's failures (the fail manager forgets them).
          jail.failures.delete(event.ip);
          jail.bans.set(event.ip, {
            jail: jail.name,
            ip: event.ip,
            start: event.time,
            end: event.bantime < 0 ? null : event.time + event.bantime,
            banCount: event.banCount,
          });
        }
        return;
      }
      case 'unban':
        if (!replay) this.#log(event.time, 'unban', event.jail, `Unban ${event.ip}${event.reason === 'expired' ? '' : ` (${event.reason})`}`);
        jail?.bans.delete(event.ip);
        return;
      case 'error':
        if (!replay) this.#log(event.time, 'error', event.jail ?? null, `ERROR ${event.message} [${event.code}]`);
        if (jail) {
          const health = jail.health ?? { ok: true, sources: [], lastError: null };
          jail.health = { ...health, ok: false, lastError: { time: event.time, message: event.message } };
        }
        return;
      case 'jail.start':
      case 'jail.stop':
        if (!replay) this.#log(event.time, 'info', event.jail, event.type === 'jail.start' ? 'Jail started' : 'Jail stopped');
        if (event.type === 'jail.stop') this.jails.delete(event.jail);
        return;
      case 'reload':
        if (!replay) this.#log(event.time, 'info', event.jail, `Reload ${event.phase === 'begin' ? 'started' : 'done'}`);
        return;
      case 'log':
        return;
    }
  }

  /** A line the console itself adds (connection changes, action results). */
  note(time: number, kind: ReportLine['kind'], text: string, jail: string | null = null): void {
    this.#log(time, kind, jail, text);
    this.revision++;
  }

  /** Current failure entries of a jail that are still inside findtime. */
  liveFailures(jail: JailState, now: number): FailureEntry[] {
    const out: FailureEntry[] = [];
    for (const f of jail.failures.values()) if (f.lastTime + jail.findtime >= now) out.push(f);
    return out;
  }

  currentlyFailed(jail: JailState, now: number): number {
    return jail.reportedFailed ?? this.liveFailures(jail, now).length;
  }

  /** Daemon time now, from the local clock. */
  daemonNow(localNow: number): number {
    return localNow + this.clockOffset;
  }

  #bump(map: Map<number, number>, time: number): void {
    const minute = Math.floor(time / 60);
    map.set(minute, (map.get(minute) ?? 0) + 1);
    if (map.size > HISTORY_MINUTES * 2) {
      const oldest = minute - HISTORY_MINUTES;
      for (const k of map.keys()) if (k < oldest) map.delete(k);
    }
  }

  #log(time: number, kind: ReportLine['kind'], jail: string | null, text: string): void {
    this.report.push({ time, kind, jail, text });
    if (this.report.length > REPORT_LIMIT) this.report.splice(0, this.report.length - REPORT_LIMIT);
  }
}

/** Per-minute counts for the last `n` minutes ending at `now` (oldest first). */
export function perMinuteSeries(map: Map<number, number>, now: number, n: number): number[] {
  const last = Math.floor(now / 60);
  const out: number[] = [];
  for (let m = last - n + 1; m <= last; m++) out.push(map.get(m) ?? 0);
  return out;
}
