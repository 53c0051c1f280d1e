/**
 * The `console-state` reply: everything `moat console` shows in one request
 * (shape documented in src/console/PROTOCOL.md).
 */
import { banEnd } from '../bans/ticket.ts';
import type { Jail } from '../jail/jail.ts';
import { MOAT_VERSION } from '../version.ts';

export interface ConsoleJailState {
  name: string;
  backend: string;
  filter: string;
  maxretry: number;
  findtime: number;
  bantime: number;
  currentlyFailed: number;
  totalFailed: number;
  currentlyBanned: number;
  totalBanned: number;
  health: {
    ok: boolean;
    sources: { name: string; reachable: boolean; error: string | null }[];
    lastError: { time: number; message: string } | null;
  };
  failures: { ip: string; count: number; lastTime: number }[];
  bans: { ip: string; start: number; end: number | null; banCount: number }[];
}

export function jailConsoleState(j: Jail, now: number): ConsoleJailState {
  const failures: ConsoleJailState['failures'] = [];
  for (const id of j.failManager.ids()) {
    const t = j.failManager.get(id);
    if (t) failures.push({ ip: id, count: Math.floor(t.retry), lastTime: t.lastTime });
  }
  const bans: ConsoleJailState['bans'] = [];
  for (const id of j.banManager.bannedIds()) {
    const t = j.banManager.get(id);
    if (!t) continue;
    const end = banEnd(t);
    bans.push({ ip: id, start: t.time, end: Number.isFinite(end) ? end : null, banCount: t.banCount });
  }
  const st = j.sourceStatus() as
    | { kind: 'file'; files: { path: string; state: string; lastError?: string }[]; healthy: boolean; lastError?: string }
    | { kind: 'journal'; running: boolean; healthy: boolean; lastError?: string; command: string[] }
    | null;
  const sources: ConsoleJailState['health']['sources'] = [];
  if (st?.kind === 'file') {
    for (const f of st.files) {
      sources.push({ name: f.path, reachable: !f.lastError && f.state !== 'missing', error: f.lastError ?? null });
    }
  } else if (st?.kind === 'journal') {
    sources.push({ name: 'systemd-journal', reachable: st.running && st.healthy, error: st.lastError ?? null });
  }
  const health = j.health();
  return {
    name: j.name,
    backend: j.def.backend,
    filter: j.def.filter.name,
    maxretry: j.failManager.maxRetry,
    findtime: j.failManager.findTime,
    bantime: j.banManager.bantime,
    currentlyFailed: j.failManager.size,
    totalFailed: j.failManager.totalFailed,
    currentlyBanned: j.banManager.size,
    totalBanned: j.banManager.totalBanned,
    health: {
      ok: health.ok,
      sources,
      lastError: health.lastError ? { time: now, message: health.lastError } : null,
    },
    failures,
    bans,
  };
}

export function consoleState(jails: Iterable<Jail>, startedAt: number, now: number) {
  return {
    version: MOAT_VERSION,
    startedAt,
    now,
    jails: [...jails].map((j) => jailConsoleState(j, now)),
  };
}
