/**
 * Runs `nft` scripts: one `nft -f /dev/stdin` invocation is one atomic
 * transaction. All invocations of a runner are serialised, so a teardown's
 * "list, then delete if empty" cannot interleave with another jail's setup.
 */
import { Readable } from 'node:stream';
import { ActionError } from '../../errors.ts';
import { describeFailure, KeyedSerialQueue, resultOk, runCommand, type RunResult } from '../command.ts';

export interface NftRunnerOptions {
  /** argv that runs nft (default ['nft']); tests use ['ip', 'netns', 'exec', NS, 'nft']. */
  command?: string[];
  /** Seconds per invocation (default 60; restores of large sets get `restoreTimeout`). */
  timeout?: number;
}

export class NftRunner {
  readonly command: string[];
  readonly timeout: number;
  private readonly queue = new KeyedSerialQueue();

  constructor(opts: NftRunnerOptions = {}) {
    this.command = opts.command ?? ['nft'];
    this.timeout = opts.timeout ?? 60;
  }

  /** Runs `fn` with exclusive use of nft (nested `run`s inside must use `runNow`). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run('nft', fn);
  }

  /** Applies a script (text or a stream of text chunks) as one transaction, queued. */
  apply(script: string | Iterable<string> | AsyncIterable<string>, timeout?: number): Promise<RunResult> {
    return this.exclusive(() => this.applyNow(script, timeout));
  }

  /** Like apply, for use inside `exclusive`. */
  applyNow(script: string | Iterable<string> | AsyncIterable<string>, timeout?: number): Promise<RunResult> {
    const stdin = typeof script === 'string' ? script : Readable.from(script, { objectMode: false });
    return runCommand([...this.command, '-f', '/dev/stdin'], { stdin, timeout: timeout ?? this.timeout });
  }

  /** `nft -j ARGS...` parsed, for use inside `exclusive`; null when nft fails (e.g. object missing). */
  async jsonNow(args: string[]): Promise<unknown[] | null> {
    const r = await runCommand([...this.command, '-j', ...args], { timeout: this.timeout, maxOutput: 256 * 1024 * 1024 });
    if (!resultOk(r)) return null;
    const doc = JSON.parse(r.stdout) as { nftables?: unknown[] };
    return doc.nftables ?? [];
  }

  json(args: string[]): Promise<unknown[] | null> {
    return this.exclusive(() => this.jsonNow(args));
  }
}

/** Throws an ActionError describing a failed nft run. */
export function assertNftOk(r: RunResult, what: string, timeout?: number): void {
  if (resultOk(r)) return;
  const detail = r.stderr.trim().split('\n').slice(0, 5).join(' | ');
  throw new ActionError(`nft ${what} failed: ${describeFailure(r, timeout)}${detail ? `: ${detail}` : ''}`);
}
