/**
 * A real moatd (started inside a network namespace) and the real moat client, on a temp copy of
 * a configuration tree. Adapted from test/daemon/harness.ts; every process is tracked by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exited, run } from './run.ts';

const repoRoot = resolve(new URL('../..', import.meta.url).pathname);
const moatdEntry = join(repoRoot, 'src/bin/moatd.ts');
const moatEntry = join(repoRoot, 'src/bin/moat.ts');

export interface Moatd {
  conf: string;
  logfile: string;
  /** Runs the client over the control socket; returns its exit code and output. */
  moat(args: string[]): { code: number | null; stdout: string; stderr: string };
  log(): string;
  /** SIGTERM, waits for the exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL if still running (cleanup). */
  kill(): Promise<void>;
}

/** Copies `tree` to `dir/conf` and writes `jailLocal` as conf/jail.local. */
export function prepareConfig(dir: string, tree: string, jailLocal: string): string {
  const conf = join(dir, 'conf');
  cpSync(tree, conf, { recursive: true });
  writeFileSync(join(conf, 'jail.local'), jailLocal);
  return conf;
}

export async function startMoatd(opts: { dir: string; conf: string; nsExec: string[] }): Promise<Moatd> {
  const sock = join(opts.dir, 'moat.sock');
  const logfile = join(opts.dir, 'moatd.log');
  const argv = [
    ...opts.nsExec,
    process.execPath, '--import', 'tsx', moatdEntry,
    '-f', '-c', opts.conf, '-s', sock, '-p', join(opts.dir, 'moatd.pid'),
    '--dbfile', join(opts.dir, 'moat.sqlite3'), '--logtarget', logfile, '--loglevel', 'DEBUG',
  ];
  const proc: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const log = () => (existsSync(logfile) ? readFileSync(logfile, 'utf8') : '');
  const d: Moatd = {
    conf: opts.conf,
    logfile,
    log,
    moat(args) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', moatEntry, '-s', sock, ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 30_000,
      });
      return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited(proc, 20_000);
      }
      return proc.exitCode;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited(proc, 5000);
      }
    },
  };
  const end = Date.now() + 45_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`moatd exited early (${proc.exitCode ?? proc.signalCode}): ${stderr}\nlog:\n${log()}`);
    }
    if (d.moat(['ping']).code === 0) break;
    if (Date.now() > end) {
      await d.kill();
      throw new Error(`moatd did not answer ping\nstderr: ${stderr}\nlog:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return d;
}

/** The jail's counters from `moat status JAIL` (fail2ban-client layout). */
export function jailCounters(statusText: string): { currentlyFailed: number; totalFailed: number; currentlyBanned: number; totalBanned: number; bannedIps: string[] } {
  const num = (label: string) => {
    const m = new RegExp(`${label}:\\s+(\\d+)`).exec(statusText);
    if (!m) throw new Error(`no '${label}' in:\n${statusText}`);
    return Number(m[1]);
  };
  const list = /Banned IP list:[ \t]*(.*)$/m.exec(statusText);
  return {
    currentlyFailed: num('Currently failed'),
    totalFailed: num('Total failed'),
    currentlyBanned: num('Currently banned'),
    totalBanned: num('Total banned'),
    bannedIps: list ? list[1]!.trim().split(/\s+/).filter(Boolean) : [],
  };
}
