/**
 * FakeDaemon (test/server) extended with what the console needs: per-ip failure counters, bans with
 * real start/end times and ban counts, `watch` events, and the `console-state` command of
 * src/console/PROTOCOL.md. Used by the session tests and by the e2e fixture server.
 */
import { ControlServer } from '../../src/server/control-socket.ts';
import { EventHub } from '../../src/server/events.ts';
import type { Command } from '../../src/server/protocol.ts';
import { Transmitter } from '../../src/server/transmitter.ts';
import { FakeDaemon } from '../server/fake-daemon.ts';

export class ConsoleFakeDaemon extends FakeDaemon {
  readonly hub = new EventHub();
  readonly startedAt: number;
  readonly failures = new Map<string, Map<string, { count: number; lastTime: number }>>();
  readonly banCounts = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  now: () => number;

  constructor(now: () => number = () => Date.now() / 1000) {
    super();
    this.now = now;
    this.startedAt = now();
  }

  addConsoleJail(name: string, opts: { maxretry?: number; findtime?: number; bantime?: number; backend?: string } = {}): void {
    const j = this.add(name, opts.backend ?? 'polling');
    j.options.set('maxretry', opts.maxretry ?? 3);
    j.options.set('findtime', opts.findtime ?? 600);
    j.options.set('bantime', opts.bantime ?? 600);
    j.logPaths.push(`/var/log/${name}.log`);
    this.failures.set(name, new Map());
  }

  override attempt(jail: string, ip: string, lines: string[]): number {
    const j = this.jail(jail);
    j.failed.total++;
    const per = this.failures.get(jail) ?? new Map<string, { count: number; lastTime: number }>();
    this.failures.set(jail, per);
    const time = this.now();
    const entry = { count: (per.get(ip)?.count ?? 0) + 1, lastTime: time };
    per.set(ip, entry);
    j.failed.current = per.size;
    this.hub.publish({ type: 'found', time, jail, ip, failures: entry.count, matches: lines });
    if (entry.count >= Number(j.options.get('maxretry'))) this.banIps(jail, [ip]);
    return 1;
  }

  override banIps(jail: string, ips: string[]): number {
    const j = this.jail(jail);
    let n = 0;
    for (const ip of ips) {
      if (j.bans.has(ip)) continue;
      const start = this.now();
      const bantime = Number(j.options.get('bantime'));
      const key = `${jail}|${ip}`;
      const banCount = (this.banCounts.get(key) ?? 0) + 1;
      this.banCounts.set(key, banCount);
      j.bans.set(ip, { start, bantime });
      j.totalBanned++;
      this.failures.get(jail)?.delete(ip);
      j.failed.current = this.failures.get(jail)?.size ?? 0;
      this.hub.publish({ type: 'ban', time: start, jail, ip, bantime, banCount });
      if (bantime > 0) {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          if (j.bans.delete(ip)) this.hub.publish({ type: 'unban', time: this.now(), jail, ip, reason: 'expired' });
        }, bantime * 1000);
        t.unref();
        this.#timers.add(t);
      }
      n++;
    }
    return n;
  }

  override unbanIps(jail: string, ips: string[], reportAbsent: boolean): number {
    const present = ips.filter((ip) => this.jail(jail).bans.has(ip));
    const n = super.unbanIps(jail, ips, reportAbsent);
    for (const ip of present) this.hub.publish({ type: 'unban', time: this.now(), jail, ip, reason: 'manual' });
    return n;
  }

  consoleStateReply(only?: string): unknown {
    const names = only !== undefined ? [this.jail(only) && only] : [...this.jails.keys()];
    return {
      version: this.version(),
      startedAt: this.startedAt,
      now: this.now(),
      jails: names.map((name) => {
        const j = this.jail(name);
        const per = this.failures.get(name) ?? new Map();
        return {
          name,
          backend: j.backend,
          filter: name,
          maxretry: Number(j.options.get('maxretry')),
          findtime: Number(j.options.get('findtime')),
          bantime: Number(j.options.get('bantime')),
          currentlyFailed: per.size,
          totalFailed: j.failed.total,
          currentlyBanned: j.bans.size,
          totalBanned: j.totalBanned,
          health: { ok: true, sources: j.logPaths.map((p) => ({ name: p, reachable: true, error: null })), lastError: null },
          failures: [...per].map(([ip, f]) => ({ ip, count: f.count, lastTime: f.lastTime })),
          bans: [...j.bans].map(([ip, b]) => ({
            ip,
            start: b.start,
            end: b.bantime < 0 ? null : b.start + b.bantime,
            banCount: this.banCounts.get(`${name}|${ip}`) ?? 1,
          })),
        };
      }),
    };
  }

  /** The command handler of a moatd that knows `console-state`. */
  handler(): (cmd: Command) => unknown {
    const transmitter = new Transmitter(this);
    return (cmd) => {
      if (cmd[0] === 'console-state') return this.consoleStateReply(typeof cmd[1] === 'string' ? cmd[1] : undefined);
      return transmitter.proceed(cmd);
    };
  }

  /** Listens on `socketPath` like moatd would. `withConsoleState: false` mimics an older moatd. */
  listen(socketPath: string, withConsoleState = true): Promise<ControlServer> {
    const handler = withConsoleState ? this.handler() : ((t: Transmitter) => (cmd: Command) => t.proceed(cmd))(new Transmitter(this));
    return ControlServer.listen({ socketPath, handler, events: this.hub, env: {}, force: true });
  }

  stopTimers(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
