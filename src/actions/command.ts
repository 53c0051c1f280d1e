/**
 * Running one action command: `/bin/sh -c SCRIPT` (or any argv) in its own
 * process group, with a timeout that kills the whole group, bounded output
 * capture and the exit status. Nothing here ever builds shell text: callers
 * pass an argument array and, for values from logs, environment variables.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface RunOptions {
  /** Seconds; the process group gets SIGTERM, then SIGKILL after `killGraceMs`. 0 = no timeout. */
  timeout?: number;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
  /** Bytes kept per stream (the rest is counted, not kept). Default 64 KiB. */
  maxOutput?: number;
  /** Data written to the child's stdin (then closed); a Readable is piped. */
  stdin?: string | Readable;
  killGraceMs?: number;
  cwd?: string;
}

export interface RunResult {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** True when output beyond `maxOutput` was dropped. */
  truncated: boolean;
  /** Set when the program could not be started (ENOENT...). */
  spawnError?: Error;
  durationMs: number;
}

export function resultOk(r: RunResult): boolean {
  return r.code === 0 && !r.timedOut && !r.spawnError;
}

/** One line describing a failed run, for logs and errors. */
export function describeFailure(r: RunResult, timeout?: number): string {
  if (r.spawnError) return `could not start: ${r.spawnError.message}`;
  if (r.timedOut) return `timed out after ${timeout ?? '?'} seconds`;
  if (r.signal) return `killed by ${r.signal}`;
  return `returned ${r.code}`;
}

class BoundedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(b: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = b.length > room ? b.subarray(0, room) : b;
    if (part !== b) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Runs `argv[0]` with `argv.slice(1)` (no shell unless argv says so). Never rejects. */
export function runCommand(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const limit = opts.maxOutput ?? 64 * 1024;
  const out = new BoundedBuffer(limit);
  const err = new BoundedBuffer(limit);
  return new Promise((resolve) => {
    let timedOut = false;
    let spawnError: Error | undefined;
    let timer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(argv[0]!, argv.slice(1), {
      // detached = new session/process group, so a timeout kills the script's children too
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      cwd: opts.cwd,
    });
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* group already gone */
      }
    };
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.stdin!.on('error', () => {
      /* child exited before reading all input: its exit status tells the story */
    });
    child.on('error', (e) => {
      spawnError = e;
    });
    if (opts.timeout && opts.timeout > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        killTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 200);
      }, opts.timeout * 1000);
    }
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      // the shell may have left background children holding nothing we wait for; kill the rest on timeout only
      const result: RunResult = {
        code,
        signal,
        timedOut,
        stdout: out.text(),
        stderr: err.text(),
        truncated: out.truncated || err.truncated,
        durationMs: Date.now() - started,
      };
      if (spawnError) result.spawnError = spawnError;
      resolve(result);
    });
    if (typeof opts.stdin === 'string') child.stdin!.end(opts.stdin);
    else if (opts.stdin) opts.stdin.pipe(child.stdin!);
    else child.stdin!.end();
  });
}

/** `/bin/sh -c SCRIPT` with the given environment — how every action.d command runs. */
export function runShell(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return runCommand(['/bin/sh', '-c', script], opts);
}

/**
 * Serialises work per key: tasks with the same key run one after another in
 * submission order, tasks with different keys run concurrently. fail2ban uses
 * one global lock for all jails; one slow action there stalls every jail.
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Number of keys with queued or running work. */
  get activeKeys(): number {
    return this.tails.size;
  }
}
