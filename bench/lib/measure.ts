/**
 * Runs one command to completion and measures it as a whole process: wall time (hrtime around
 * the spawn), user+system CPU time and peak RSS. GNU time (`/usr/bin/time -f`) reports CPU and
 * peak RSS (its %M is the child's ru_maxrss, i.e. VmHWM); without it, /proc/PID/status is polled.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunSpec {
  /** Label for messages. */
  label: string;
  command: string;
  args: string[];
  /** File fed to stdin (else stdin is empty). */
  stdinFile?: string;
  /** File stdout is written to (else it is discarded). */
  stdoutFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (by its PID) after this many seconds. */
  timeoutSeconds?: number;
}

export interface RunMeasurement {
  label: string;
  exitCode: number | null;
  signal: string | null;
  wallSeconds: number;
  /** user + system CPU seconds; null when GNU time is not available. */
  cpuSeconds: number | null;
  peakRssKiB: number | null;
  stderrTail: string;
  timedOut: boolean;
}

const GNU_TIME = '/usr/bin/time';

function readHwmKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function measureProcess(spec: RunSpec): Promise<RunMeasurement> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = join(tmpdir(), `moat-bench-time-${process.pid}-${Date.now()}`);
  const command = useTime ? GNU_TIME : spec.command;
  // %e is only 10 ms precise; wall time comes from hrtime below, GNU time gives CPU and peak RSS.
  const args = useTime ? ['-f', '%U %S %M', '-o', timeFile, spec.command, ...spec.args] : spec.args;
  const stdin = spec.stdinFile ? openSync(spec.stdinFile, 'r') : 'ignore';
  const stdout = spec.stdoutFile ? openSync(spec.stdoutFile, 'w') : 'ignore';
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: [stdin, stdout, 'pipe'],
      // Its own process group, so a timeout can end the measured command together with GNU time.
      detached: true,
    });
    if (typeof stdin === 'number') closeSync(stdin);
    if (typeof stdout === 'number') closeSync(stdout);
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    let polledHwm: number | null = null;
    const poll = useTime
      ? null
      : setInterval(() => {
          const v = child.pid !== undefined ? readHwmKiB(child.pid) : null;
          if (v !== null) polledHwm = Math.max(polledHwm ?? 0, v);
        }, 20);
    let timedOut = false;
    const timer =
      spec.timeoutSeconds !== undefined
        ? setTimeout(() => {
            timedOut = true;
            // The group was created by this spawn: it holds only GNU time and the command we started.
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          }, spec.timeoutSeconds * 1000)
        : null;
    child.on('error', (e) => {
      if (poll) clearInterval(poll);
      if (timer) clearTimeout(timer);
      reject(new Error(`${spec.label}: cannot run ${spec.command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (poll) clearInterval(poll);
      if (timer) clearTimeout(timer);
      let cpuSeconds: number | null = null;
      let peakRssKiB: number | null = polledHwm;
      if (useTime && existsSync(timeFile)) {
        // GNU time writes "Command exited with non-zero status N" before the format line.
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const [u, s, m] = last.split(' ').map(Number);
        if (u !== undefined && s !== undefined && Number.isFinite(u) && Number.isFinite(s)) cpuSeconds = Math.round((u + s) * 100) / 100;
        if (m !== undefined && Number.isFinite(m)) peakRssKiB = m;
        rmSync(timeFile, { force: true });
      }
      resolve({
        label: spec.label,
        exitCode: code,
        signal,
        wallSeconds,
        cpuSeconds,
        peakRssKiB,
        stderrTail: stderr.trim().split('\n').slice(-5).join('\n'),
        timedOut,
      });
    });
  });
}

export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
