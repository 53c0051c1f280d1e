/**
 * Runs a real moatd and the real moat client against a temp copy of fail2ban's stock
 * configuration. Every process started here is tracked by PID and killed in `cleanup()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';

const repoRoot = resolve(new URL('../..', import.meta.url).pathname);
const moatdEntry = join(repoRoot, 'src/bin/moatd.ts');
const moatEntry = join(repoRoot, 'src/bin/moat.ts');

export interface DaemonEnv {
  dir: string;
  conf: string;
  sock: string;
  pidfile: string;
  db: string;
  logfile: string;
  /** Writes `conf/jail.local`. */
  jailLocal(text: string): void;
  /** Starts moatd (optionally prefixed, e.g. `ip netns exec NS`) and waits until the socket answers. */
  start(prefix?: string[]): Promise<ChildProcess>;
  /** Runs the client; returns its exit code and output. */
  moat(args: string[]): { code: number | null; stdout: string; stderr: string };
  /** The daemon's log so far. */
  log(): string;
  /** Kills the daemon with a signal and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  proc: ChildProcess | null;
  cleanup(): Promise<void>;
}

export function sshFail(user: string, ip: string, when = new Date()): string {
  return `${syslogDate(when)} host sshd[1234]: Failed password for ${user} from ${ip} port 22 ssh2\n`;
}

/** "Mon DD HH:MM:SS" in local time, as syslog writes it. */
export function syslogDate(d: Date): string {
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()]!;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${mon} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function append(file: string, text: string): void {
  appendFileSync(file, text);
}

export function readOr(file: string, fallback = ''): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : fallback;
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, extra?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}${extra ? `\n${extra()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function createDaemonEnv(tag: string): DaemonEnv {
  const dir = mkdtempSync(join(tmpdir(), `moat-d-${tag}-`));
  const conf = join(dir, 'conf');
  cpSync(fail2banPackage().etc, conf, { recursive: true });
  const sock = join(dir, 'moat.sock');
  const pidfile = join(dir, 'moatd.pid');
  const db = join(dir, 'moat.sqlite3');
  const logfile = join(dir, 'moatd.log');
  const started: ChildProcess[] = [];

  const env: DaemonEnv = {
    dir,
    conf,
    sock,
    pidfile,
    db,
    logfile,
    proc: null,
    jailLocal(text) {
      writeFileSync(join(conf, 'jail.local'), text);
    },
    moat(args) {
      const argv = [process.execPath, '--import', 'tsx', moatEntry, '-s', sock, ...args];
      const r = spawnSync(argv[0]!, argv.slice(1), { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
      return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    log() {
      return readOr(logfile);
    },
    async start(prefix = []) {
      const argv = [
        ...prefix,
        process.execPath, '--import', 'tsx', moatdEntry,
        '-f', '-c', conf, '-s', sock, '-p', pidfile, '--dbfile', db, '--logtarget', logfile, '--loglevel', 'DEBUG',
      ];
      const p = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      p.stderr!.on('data', (d) => (stderr += d));
      p.stdout!.on('data', () => {});
      started.push(p);
      env.proc = p;
      let exited = false;
      p.once('exit', () => (exited = true));
      const end = Date.now() + 30_000;
      for (;;) {
        if (exited) throw new Error(`moatd exited early (${p.exitCode}): ${stderr}\nlog:\n${env.log()}`);
        if (env.moat(['ping']).code === 0) break;
        if (Date.now() > end) throw new Error(`moatd did not answer ping\nstderr: ${stderr}\nlog:\n${env.log()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      return p;
    },
    async kill(signal = 'SIGTERM') {
      const p = env.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill(signal);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
    },
    async cleanup() {
      for (const p of started) {
        if (p.exitCode === null && p.signalCode === null) {
          const gone = new Promise<void>((r) => p.once('exit', () => r()));
          p.kill('SIGKILL');
          await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

/**
 * A daemon env whose jail.local holds an `[sshd]` jail that reads `auth` (created empty unless
 * `createLog` is false) and bans with the dummy action into `dummy`; `more` follows in the section
 * (further options, then possibly further sections).
 */
export function createSshdEnv(tag: string, more: string, createLog = true): { e: DaemonEnv; auth: string; dummy: string } {
  const e = createDaemonEnv(tag);
  const auth = join(e.dir, 'auth.log');
  const dummy = join(e.dir, 'd.txt');
  if (createLog) writeFileSync(auth, '');
  e.jailLocal(`[sshd]\nenabled = true\nlogpath = ${auth}\nbanaction = dummy[target=${dummy}]\n${more}`);
  return { e, auth, dummy };
}

/** `Total failed:` from the human status tree. */
export function totalFailed(statusText: string): number {
  const m = /Total failed:\s+(\d+)/.exec(statusText);
  if (!m) throw new Error(`no 'Total failed' in:\n${statusText}`);
  return Number(m[1]);
}
