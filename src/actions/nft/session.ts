/**
 * A long-running `nft -i` that applies small transactions without a process
 * start each: fork + exec + nft's own start-up cost ~1 ms of CPU per ban batch
 * (a third of moatd's CPU at 10k log lines/s) and 2–3 ms of latency.
 *
 * Protocol (nft 1.0.x interactive mode, stdin a pipe): one input line is one
 * netlink transaction (commands joined with `;` are atomic). After each
 * transaction line we send `moat-ack-N`, a line nft rejects with a syntax error
 * that echoes it on stderr: errors of the transaction come before it on the
 * same stream, so everything on stderr before the ack's "Error:" line belongs
 * to the transaction. A dead or stuck session fails the transaction (the
 * caller's operations are idempotent and retried) and the next one starts a
 * new process. The process is replaced after `recycleAfterTransactions`
 * transactions or `recycleAfterBytes` of input: nft keeps every input line in
 * its line-editor history (libedit) and each line costs nft more the longer
 * that history is (measured, nft 1.0.6: 8,000 transactions take 1.8× the CPU in
 * one process that they take in processes of 1,000; 16,000 take 4.5×).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../command.ts';

export interface NftSessionOptions {
  /** argv that runs nft (`-i` is appended). */
  command: readonly string[];
  /** Input bytes after which the process is replaced (default 8 MiB). */
  recycleAfterBytes?: number;
  /** Transactions after which the process is replaced (default 1000). */
  recycleAfterTransactions?: number;
}

/** Longest script sent through the session; bigger ones (restores, bursts) go to `nft -f`. */
export const SESSION_MAX_SCRIPT = 64 * 1024;

/**
 * The script as one input line, or null when it cannot be one: multi-line blocks
 * (`{` closed on a later line), comments, or too long.
 */
export function sessionLine(script: string): string | null {
  if (script.length > SESSION_MAX_SCRIPT || script.includes('#')) return null;
  const commands: string[] = [];
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    let depth = 0;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === 0x7b) depth++;
      else if (c === 0x7d) depth--;
    }
    if (depth !== 0 || line.includes(';')) return null;
    commands.push(line);
  }
  return commands.length ? commands.join('; ') : null;
}

interface Waiter {
  token: string;
  started: number;
  resolve: (r: RunResult) => void;
  timer: NodeJS.Timeout | undefined;
}

export class NftSession {
  readonly #command: readonly string[];
  readonly #recycleAfter: number;
  readonly #recycleAfterTransactions: number;
  #child: ChildProcessWithoutNullStreams | null = null;
  /** Private HOME for the child: nft -i writes its history file there on exit. */
  #home: string | null = null;
  #stderr = '';
  #stdout = '';
  #written = 0;
  /** Transactions sent to the running process. */
  #transactions = 0;
  #seq = 0;
  #waiter: Waiter | null = null;
  /** Processes started (for tests and metrics). */
  starts = 0;

  /** The private HOME of the running process (removed when it ends). */
  get home(): string | null {
    return this.#home;
  }

  /** PID of the running `nft -i`, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  constructor(opts: NftSessionOptions) {
    this.#command = opts.command;
    this.#recycleAfter = opts.recycleAfterBytes ?? 8 * 1024 * 1024;
    this.#recycleAfterTransactions = opts.recycleAfterTransactions ?? 1000;
  }

  /** Applies one transaction line (see `sessionLine`). One at a time: the caller serialises. Never rejects. */
  apply(line: string, timeoutSeconds: number): Promise<RunResult> {
    if (this.#waiter) throw new Error('NftSession.apply: a transaction is already running');
    // a due process was replaced when its last transaction settled (#checkAck); failures end it
    const child = this.#child ?? this.#start();
    const token = `moat-ack-${++this.#seq}`;
    const started = Date.now();
    return new Promise((resolve) => {
      const waiter: Waiter = { token, started, resolve, timer: undefined };
      if (timeoutSeconds > 0) {
        waiter.timer = setTimeout(() => this.#fail(`timed out after ${timeoutSeconds} seconds`, true), timeoutSeconds * 1000);
      }
      this.#waiter = waiter;
      const text = `${line}\n${token}\n`;
      this.#written += text.length;
      this.#transactions++;
      child.stdin.write(text);
    });
  }

  /** Ends the process (stdin closed, then killed if it lingers). */
  close(): void {
    const child = this.#child;
    this.#child = null;
    if (this.#waiter) this.#fail('nft session closed', false);
    if (child) {
      child.stdin.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
      kill.unref();
      child.once('exit', () => clearTimeout(kill));
    }
    if (this.#home) {
      const home = this.#home;
      this.#home = null;
      // after exit: nft writes its history file into HOME when it ends
      if (child && child.exitCode === null && child.signalCode === null) child.once('exit', () => rmSync(home, { recursive: true, force: true }));
      else rmSync(home, { recursive: true, force: true });
    }
  }

  #start(): ChildProcessWithoutNullStreams {
    this.#home = mkdtempSync(join(tmpdir(), 'moat-nft-session-'));
    const [cmd, ...args] = this.#command;
    const child = spawn(cmd!, [...args, '-i'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, HOME: this.#home },
    });
    this.starts++;
    this.#child = child;
    this.#stderr = '';
    this.#stdout = '';
    this.#written = 0;
    this.#transactions = 0;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (this.#child !== child) return; // a replaced process's last output
      // transactions of element adds/deletes print nothing; keep a bounded tail for diagnostics
      this.#stdout = (this.#stdout + d).slice(-4096);
    });
    child.stderr.on('data', (d: string) => {
      if (this.#child !== child) return;
      this.#stderr += d;
      this.#checkAck();
    });
    // EPIPE when the process died: reported through 'exit'
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      if (this.#child === child) this.#child = null;
      this.#fail(`nft session could not start: ${e.message}`, false, e);
    });
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = null;
      this.#fail(`nft session ended (${signal ?? `exit ${code}`})`, false);
    });
    return child;
  }

  #checkAck(): void {
    this.#stderr = dropAckTail(this.#stderr);
    const w = this.#waiter;
    if (!w) return;
    const at = this.#stderr.indexOf(`\n${w.token}\n`);
    if (at < 0) return;
    // the ack's own error: "Error: syntax error...\nmoat-ack-N\n^^^^\n"
    const errorStart = this.#stderr.lastIndexOf('Error:', at);
    const mine = this.#stderr.slice(0, errorStart < 0 ? 0 : errorStart).trim();
    this.#stderr = dropAckTail(this.#stderr.slice(at + w.token.length + 2));
    this.#settle(w, {
      code: mine ? 1 : 0,
      signal: null,
      timedOut: false,
      stdout: '',
      stderr: mine ? mine + '\n' : '',
      truncated: false,
      durationMs: Date.now() - w.started,
    });
    // replaced now, between transactions, so that the next one does not wait for nft to start
    if (this.#recycleDue()) {
      this.close();
      try {
        this.#start();
      } catch {
        // (no temporary HOME possible) the next apply tries again and reports it
      }
    }
  }

  #recycleDue(): boolean {
    return this.#written > this.#recycleAfter || this.#transactions >= this.#recycleAfterTransactions;
  }

  #fail(message: string, timedOut: boolean, spawnError?: Error): void {
    const w = this.#waiter;
    if (!w) return;
    if (timedOut) {
      const child = this.#child;
      this.#child = null;
      child?.kill('SIGKILL');
    }
    const r: RunResult = {
      code: timedOut ? null : 1,
      signal: null,
      timedOut,
      stdout: this.#stdout,
      stderr: `${this.#stderr}${message}\n`,
      truncated: false,
      durationMs: Date.now() - w.started,
    };
    if (spawnError) r.spawnError = spawnError;
    this.#stderr = '';
    this.#settle(w, r);
  }

  #settle(w: Waiter, r: RunResult): void {
    if (w.timer) clearTimeout(w.timer);
    this.#waiter = null;
    w.resolve(r);
  }
}

/** The caret line under the previous ack may arrive after it: a leading line of only `^` and blanks is not an error. */
function dropAckTail(s: string): string {
  return /^[ \t^]*\n/.test(s) ? s.slice(s.indexOf('\n') + 1) : s;
}
