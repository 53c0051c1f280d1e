/**
 * Runs `nft` scripts: one `nft -f /dev/stdin` invocation is one atomic
 * transaction. All invocations of a runner are serialised, so a teardown's
 * "list, then delete if empty" cannot interleave with another jail's setup.
 */
import { Readable } from 'node:stream';
import { ActionError } from '../../errors.ts';
import { describeFailure, KeyedSerialQueue, resultOk, runCommand, type RunResult } from '../command.ts';
import { NftSession, sessionLine } from './session.ts';

/** Bytes of a streamed script produced ahead of what nft has read. */
const STREAM_AHEAD = 1 << 20;

export interface NftRunnerOptions {
  /** argv that runs nft (default ['nft']); tests use ['ip', 'netns', 'exec', NS, 'nft']. */
  command?: string[];
  /** Seconds per invocation (default 60; restores of large sets get `restoreTimeout`). */
  timeout?: number;
  /** Small one-line-per-command scripts go through one long-running `nft -i` (see session.ts); call `close()`. */
  session?: boolean;
}

export class NftRunner {
  readonly command: string[];
  readonly timeout: number;
  private readonly queue = new KeyedSerialQueue();

  readonly session: NftSession | null;

  constructor(opts: NftRunnerOptions = {}) {
    this.command = opts.command ?? ['nft'];
    this.timeout = opts.timeout ?? 60;
    this.session = opts.session ? new NftSession({ command: this.command }) : null;
  }

  /** Ends the `nft -i` session, if any. */
  close(): void {
    this.session?.close();
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
    if (this.session && typeof script === 'string') {
      const line = sessionLine(script);
      if (line) return this.session.apply(line, timeout ?? this.timeout);
    }
    // a restore's statements are ~100 KB each: let the source run ahead of nft by a few of them
    // instead of one 16 KiB high-water mark (nft reads all of its input before it parses)
    const stdin = typeof script === 'string' ? script : Readable.from(script, { objectMode: false, highWaterMark: STREAM_AHEAD });
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
