/**
 * NftBatcher's coalescing, with a runner that records scripts instead of running nft: a burst of
 * submits in one event-loop turn is one transaction; submits while a transaction runs go into the
 * next one. No nft and no namespace needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NftBatcher, nftElement, nftTimeout, type NftOp } from '../../src/actions/nft/batcher.ts';
import { NftRunner } from '../../src/actions/nft/runner.ts';
import type { RunResult } from '../../src/actions/command.ts';

/** Records every script; each transaction stays open until the test releases it. */
class RecordingRunner extends NftRunner {
  readonly scripts: string[] = [];
  private releases: (() => void)[] = [];
  private started: (() => void)[] = [];

  override apply(script: string | Iterable<string> | AsyncIterable<string>): Promise<RunResult> {
    assert.equal(typeof script, 'string');
    this.scripts.push(script as string);
    for (const s of this.started.splice(0)) s();
    return new Promise((resolve) => this.releases.push(() => resolve({ code: 0, signal: null, timedOut: false, stdout: '', stderr: '', truncated: false, durationMs: 0 })));
  }

  /** Resolves when a transaction has been started (immediately if one is open). */
  transactionStarted(): Promise<void> {
    if (this.releases.length) return Promise.resolve();
    return new Promise((r) => this.started.push(r));
  }

  /** Finishes the open transaction(s) successfully. */
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

function ban(ip: string): NftOp {
  return { kind: 'ban', table: 'inet f2b-table', set: 'addr-set-sshd', element: nftElement(ip), timeout: 600 };
}

function elementsOf(script: string): string[] {
  // the final "add element … { a timeout 600s, b timeout 600s }" line of a ban group
  const last = script.trim().split('\n').filter((l) => l.includes('timeout')).join(' ');
  return [...last.matchAll(/(\d+\.\d+\.\d+\.\d+) timeout/g)].map((m) => m[1]!);
}

test('batcher: a burst of submits in one event-loop turn is one transaction', async () => {
  const runner = new RecordingRunner();
  const batcher = new NftBatcher(runner);
  const ips = Array.from({ length: 20 }, (_, i) => `198.51.100.${i + 1}`);
  const done = Promise.all(ips.map((ip) => batcher.submit(ban(ip))));
  // nothing runs synchronously inside submit: the transaction starts at the end of this turn
  assert.equal(runner.scripts.length, 0);
  await runner.transactionStarted();
  assert.equal(batcher.transactions, 1);
  assert.deepEqual(elementsOf(runner.scripts[0]!), ips);
  runner.release();
  await done;
  assert.equal(batcher.transactions, 1);
  assert.equal(runner.scripts.length, 1);
});

test('batcher: submits while a transaction runs are coalesced into the next one', async () => {
  const runner = new RecordingRunner();
  const batcher = new NftBatcher(runner);
  const first = batcher.submit(ban('192.0.2.1'));
  await runner.transactionStarted();
  assert.equal(batcher.transactions, 1);
  // the first transaction is still running: these wait, whatever the event loop does meanwhile
  const later = [batcher.submit(ban('192.0.2.2')), batcher.submit(ban('192.0.2.3'))];
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 20));
  const later2 = batcher.submit(ban('192.0.2.4'));
  await new Promise((r) => setImmediate(r));
  assert.equal(batcher.transactions, 1, 'no second transaction while the first runs');
  runner.release();
  await first;
  await runner.transactionStarted();
  assert.equal(batcher.transactions, 2);
  assert.deepEqual(elementsOf(runner.scripts[1]!), ['192.0.2.2', '192.0.2.3', '192.0.2.4']);
  runner.release();
  await Promise.all([...later, later2]);
  assert.equal(batcher.transactions, 2);
  // idle again: the next submit starts a transaction of its own
  const next = batcher.submit(ban('192.0.2.5'));
  await runner.transactionStarted();
  assert.equal(batcher.transactions, 3);
  assert.deepEqual(elementsOf(runner.scripts[2]!), ['192.0.2.5']);
  runner.release();
  await next;
});

test('batcher: windowMs > 0 still puts a burst into one transaction', async () => {
  const runner = new RecordingRunner();
  const batcher = new NftBatcher(runner, { windowMs: 3 });
  const ips = ['203.0.113.1', '203.0.113.2', '203.0.113.3'];
  const done = Promise.all(ips.map((ip) => batcher.submit(ban(ip))));
  await runner.transactionStarted();
  assert.deepEqual(elementsOf(runner.scripts[0]!), ips);
  runner.release();
  await done;
  assert.equal(batcher.transactions, 1);
});

test('nftTimeout: seconds below a day, days beyond (nft refuses 10^8 plain seconds), capped below the kernel limit', () => {
  assert.equal(nftTimeout(600), '600s');
  assert.equal(nftTimeout(86399), '86399s');
  assert.equal(nftTimeout(86400), '1d');
  assert.equal(nftTimeout(630_720_000), '7300d');
  assert.equal(nftTimeout(100_000_001), '1157d35201s');
  assert.equal(nftTimeout(1e15), '200000d');
});
