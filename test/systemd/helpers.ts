/**
 * Shared pieces of the systemd tests: a notify-socket receiver (python3, since node core cannot
 * receive unix datagrams), a moatd launcher that takes an environment and a command prefix, and
 * export-format journal fixtures written into real journal files with systemd-journal-remote.
 * Every process started here is tracked by PID and killed by `stopAll()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { waitFor } from '../daemon/harness.ts';

export const repoRoot = resolve(new URL('../..', import.meta.url).pathname);
export const moatdEntry = join(repoRoot, 'src/bin/moatd.ts');
export const moatEntry = join(repoRoot, 'src/bin/moat.ts');
export const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';

export function have(program: string): boolean {
  if (program.startsWith('/')) return existsSync(program);
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program]).status === 0;
}

const started: ChildProcess[] = [];

export async function stopAll(): Promise<void> {
  for (const p of started.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGKILL');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    }
  }
}

export interface NotifyMessage {
  /** Receive time, ms since the epoch. */
  t: number;
  /** Sender pid from SCM_CREDENTIALS. */
  pid: number | null;
  fields: Record<string, string>;
  raw: string;
}

const RECEIVER = String.raw`
import json, os, socket, struct, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({"bound": True}), flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(64))
    pid = None
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for i in range(len(data) // 4):
                os.close(struct.unpack_from("i", data, i * 4)[0])
    print(json.dumps({"t": time.time() * 1000, "pid": pid, "raw": msg.decode("utf-8", "replace")}), flush=True)
`;

/** Binds a datagram socket at `path` and records every notification sent to it. */
export async function notifyReceiver(path: string): Promise<{ messages: NotifyMessage[]; close(): Promise<void> }> {
  const messages: NotifyMessage[] = [];
  const p = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(p);
  let bound = false;
  let buf = '';
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  p.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const rec = JSON.parse(buf.slice(0, nl)) as { bound?: boolean; t: number; pid: number | null; raw: string };
      buf = buf.slice(nl + 1);
      if (rec.bound) {
        bound = true;
        continue;
      }
      // systemd-notify (≥ 252) follows each message with a BARRIER=1 handshake: not ours
      if (rec.raw === 'BARRIER=1') continue;
      const fields: Record<string, string> = {};
      for (const line of rec.raw.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
      }
      messages.push({ t: rec.t, pid: rec.pid, fields, raw: rec.raw });
    }
  });
  await waitFor('the notify receiver to bind', () => {
    if (p.exitCode !== null) throw new Error(`receiver died: ${stderr}`);
    return bound;
  });
  return {
    messages,
    async close() {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        await gone;
      }
    },
  };
}

export interface MoatdPaths {
  conf: string;
  sock: string;
  pidfile: string;
  db: string;
  logfile: string;
}

/** Runs the real client against `sock`. */
export function moat(sock: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', moatEntry, '-s', sock, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Starts moatd with an extra environment and an optional command prefix; waits for `moat ping`. */
export async function startMoatd(
  paths: MoatdPaths,
  opts: { env?: Record<string, string>; prefix?: string[]; extraArgs?: string[] } = {},
): Promise<{ proc: ChildProcess; stderr: () => string }> {
  const argv = [
    ...(opts.prefix ?? []),
    process.execPath, '--import', 'tsx', moatdEntry,
    '-f', '-c', paths.conf, '-s', paths.sock, '-p', paths.pidfile, '--dbfile', paths.db,
    '--logtarget', paths.logfile, '--loglevel', 'DEBUG', ...(opts.extraArgs ?? []),
  ];
  const env = { ...process.env, ...opts.env };
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_PID', 'LISTEN_FDS', 'JOURNAL_STREAM']) {
    if (!opts.env || !(k in opts.env)) delete env[k];
  }
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  proc.stdout!.on('data', () => {});
  await waitFor(
    'moatd to answer ping',
    () => {
      if (proc.exitCode !== null) throw new Error(`moatd exited early (${proc.exitCode}): ${stderr}`);
      return moat(paths.sock, ['ping']).code === 0;
    },
    30_000,
    () => `stderr: ${stderr}`,
  );
  return { proc, stderr: () => stderr };
}

/** Sends `signal` and waits for the process to exit; returns its exit code. */
export async function terminate(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  const gone = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill(signal);
  return Promise.race([gone, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
}

// ------------------------------------------------------------------ journal fixtures

export interface JournalEntry {
  message: string;
  /** µs since the epoch; default now. */
  realtimeUsec?: number;
  identifier?: string;
  pid?: number;
  hostname?: string;
}

const bootId = randomBytes(16).toString('hex');
let monotonic = 1_000_000;

/** Journal export format (one entry per blank-line-separated block). */
export function toExport(entries: JournalEntry[]): string {
  return entries
    .map((e) => {
      const ident = e.identifier ?? 'sshd';
      const fields = [
        `__REALTIME_TIMESTAMP=${e.realtimeUsec ?? Date.now() * 1000}`,
        `__MONOTONIC_TIMESTAMP=${monotonic++}`,
        `_BOOT_ID=${bootId}`,
        `_HOSTNAME=${e.hostname ?? 'host'}`,
        `SYSLOG_IDENTIFIER=${ident}`,
        `_COMM=${ident}`,
        `_SYSTEMD_UNIT=${ident}.service`,
        `_PID=${e.pid ?? 4242}`,
        `PRIORITY=6`,
        `MESSAGE=${e.message}`,
      ];
      return `${fields.join('\n')}\n\n`;
    })
    .join('');
}

/** Appends entries to (or creates) the journal file `file` with systemd-journal-remote. */
export function writeJournal(file: string, entries: JournalEntry[]): void {
  const r = spawnSync(JOURNAL_REMOTE, [`--output=${file}`, '-'], { input: toExport(entries), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`systemd-journal-remote failed (${r.status}): ${r.stderr}`);
}

export function sshFailure(ip: string, user = 'root'): JournalEntry {
  return { message: `Failed password for ${user} from ${ip} port 22 ssh2` };
}
