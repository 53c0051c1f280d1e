/**
 * Small pieces figures 5 and 6 use to run moatd and fail2ban-server inside a network namespace the
 * bench creates: the namespace, a config directory (copy of the stock tree + jail.local +
 * fail2ban.local), starting a daemon in its own process group, watching its log file for a line,
 * /proc memory figures, and stopping exactly the process group the bench started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function sh(argv: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, maxBuffer: 512 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** A network namespace with only `lo` (up); `remove()` deletes it. */
export interface Netns {
  name: string;
  exec: string[];
  remove(): void;
}

// What this process created, so an interrupted bench leaves nothing behind (only these, by PID and name).
const liveGroups = new Set<number>();
const liveNamespaces = new Set<string>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const cleanup = () => {
    for (const pid of liveGroups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of liveNamespaces) spawnSync('ip', ['netns', 'del', ns]);
  };
  process.once('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
}

let nsCounter = 0;
export function createNetns(tag: string): Netns {
  hookExit();
  const name = `moatbench-${process.pid}-${tag}${nsCounter++}`;
  const add = sh(['ip', 'netns', 'add', name]);
  if (add.code !== 0) throw new Error(`cannot create network namespace ${name} (needs root): ${add.stderr.trim()}`);
  liveNamespaces.add(name);
  sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return {
    name,
    exec: ['ip', 'netns', 'exec', name],
    remove: () => {
      sh(['ip', 'netns', 'del', name]);
      liveNamespaces.delete(name);
    },
  };
}

export interface DaemonDir {
  dir: string;
  sock: string;
  pidfile: string;
  db: string;
  log: string;
}

/**
 * Fills `dir` with a copy of the stock configuration tree, `jail.local` and a `fail2ban.local`
 * pointing socket, pid file, database and log into `dir` (both daemons read fail2ban.local).
 */
export function prepareDaemonDir(dir: string, stockEtc: string, jailLocal: string, loglevel = 'INFO'): DaemonDir {
  cpSync(stockEtc, dir, { recursive: true });
  const d: DaemonDir = { dir, sock: join(dir, 'sock'), pidfile: join(dir, 'pid'), db: join(dir, 'db.sqlite3'), log: join(dir, 'daemon.log') };
  writeFileSync(join(dir, 'jail.local'), jailLocal);
  writeFileSync(
    join(dir, 'fail2ban.local'),
    `[Definition]\nloglevel = ${loglevel}\nlogtarget = ${d.log}\nsocket = ${d.sock}\npidfile = ${d.pidfile}\ndbfile = ${d.db}\n`,
  );
  return d;
}

export interface RunningDaemon {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** hrtime (ns) just before the spawn. */
  spawnedAt: bigint;
  stderr(): string;
  /** Stops the process group started by `startDaemon` (TERM, then KILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `argv` (prefixed with the namespace's `ip netns exec`) in its own process group. */
export function startDaemon(name: string, ns: Netns, argv: string[], env: NodeJS.ProcessEnv = process.env): RunningDaemon {
  const spawnedAt = process.hrtime.bigint();
  // `ip netns exec` execs the command, so the PID is the daemon's own.
  const proc = spawn(ns.exec[0]!, [...ns.exec.slice(1), ...argv], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-8000)));
  if (proc.pid === undefined) throw new Error(`${name}: could not spawn ${argv.join(' ')}`);
  const pid = proc.pid;
  liveGroups.add(pid);
  const gone = new Promise<void>((r) =>
    proc.once('exit', () => {
      liveGroups.delete(pid);
      r();
    }),
  );
  return {
    name,
    proc,
    pid,
    spawnedAt,
    stderr: () => err,
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      if ((await Promise.race([gone, timer])) === 'late') {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await gone;
      }
    },
  };
}

/**
 * Follows a log file as it grows (polling its size every `intervalMs`) and resolves with the hrtime
 * at which a line containing `needle` was first seen. Rejects after `timeoutMs` or if `alive()` turns false.
 */
export async function waitForLogLine(
  file: string,
  needle: string | RegExp,
  opts: { timeoutMs: number; intervalMs?: number; from?: number; alive?: () => boolean },
): Promise<{ at: bigint; line: string; offset: number }> {
  const end = Date.now() + opts.timeoutMs;
  let offset = opts.from ?? 0;
  let carry = '';
  const buf = Buffer.alloc(4 * 1024 * 1024);
  for (;;) {
    if (existsSync(file)) {
      const size = statSync(file).size;
      if (size > offset) {
        const fd = openSync(file, 'r');
        try {
          while (offset < size) {
            const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
            if (n <= 0) break;
            offset += n;
            const text = carry + buf.toString('utf8', 0, n);
            const lines = text.split('\n');
            carry = lines.pop() ?? '';
            for (const line of lines) {
              if (typeof needle === 'string' ? line.includes(needle) : needle.test(line)) {
                return { at: process.hrtime.bigint(), line, offset };
              }
            }
          }
        } finally {
          closeSync(fd);
        }
      }
    }
    if (opts.alive && !opts.alive()) throw new Error(`process exited while waiting for ${String(needle)} in ${file}`);
    if (Date.now() > end) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${String(needle)} in ${file}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/** VmRSS / VmHWM / RssAnon of a process in MiB (null when it is gone). */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number; anonMiB: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
    return { rssMiB: kb('VmRSS'), hwmMiB: kb('VmHWM'), anonMiB: kb('RssAnon') };
  } catch {
    return null;
  }
}

/** utime+stime (own) and cutime+cstime (waited-for children) in seconds. */
export function cpuOf(pid: number): { own: number; children: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the command: index 11 = utime (field 14)
    const tick = 100;
    return { own: (Number(f[11]) + Number(f[12])) / tick, children: (Number(f[13]) + Number(f[14])) / tick };
  } catch {
    return null;
  }
}

export const hrSeconds = (from: bigint, to: bigint = process.hrtime.bigint()): number => Number(to - from) / 1e9;
