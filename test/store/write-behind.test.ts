import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Store } from '../../src/store/index.ts';
import { StoreError } from '../../src/errors.ts';
import type { BanTicket } from '../../src/bans/ticket.ts';

// moatd opens its store with writeBehindMs: bans, positions and failure counts go in one
// transaction a short time after they changed, instead of one transaction per ban / per read.

function tempFile(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-store-wb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'moat.sqlite3');
}

function ticket(id: string, over: Partial<BanTicket> = {}): BanTicket {
  return {
    jail: 'sshd',
    id,
    ip: id,
    family: 'inet4',
    time: 1_000_000,
    bantime: 600,
    banCount: 1,
    failures: 3,
    matches: ['m'],
    data: {},
    restored: false,
    ...over,
  };
}

/** What another connection (a crash: nothing more gets written) sees in the file. */
function onDisk(file: string): { bans: number; bips: number; positions: number } {
  const db = new Database(file, { readonly: true });
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return { bans: n('SELECT count(*) AS n FROM bans'), bips: n('SELECT count(*) AS n FROM bips'), positions: n('SELECT count(*) AS n FROM logs') };
  } finally {
    db.close();
  }
}

test('write-behind: bans and positions are buffered, then written together by the timer', async (t) => {
  const file = tempFile(t);
  const s = Store.open(file, { writeBehindMs: 50, now: () => 1_000_100 });
  t.after(() => s.close());
  s.addJail('sshd');
  s.addBans([ticket('192.0.2.1'), ticket('192.0.2.2')]);
  s.setLogPosition('sshd', '/var/log/auth.log', 'h', 1234);
  assert.equal(s.pendingWrites, 3);
  assert.deepEqual(onDisk(file), { bans: 0, bips: 0, positions: 0 }, 'nothing written yet');
  // at most 10x writeBehindMs (a busy loop defers the flush up to that)
  for (let i = 0; i < 40 && s.pendingWrites; i++) await sleep(50);
  assert.equal(s.pendingWrites, 0);
  assert.deepEqual(onDisk(file), { bans: 2, bips: 2, positions: 1 });
});

test('write-behind: a timer that fires late (busy event loop) defers the flush, at most 10x writeBehindMs', async (t) => {
  const file = tempFile(t);
  const s = Store.open(file, { writeBehindMs: 50, now: () => 1_000_100 });
  t.after(() => s.close());
  s.addJail('sshd');
  s.addBans([ticket('192.0.2.1')]);
  // an idle loop: written after writeBehindMs
  for (let i = 0; i < 40 && s.pendingWrites; i++) await sleep(25);
  assert.equal(s.pendingWrites, 0);
  assert.equal(onDisk(file).bans, 1);
  // turns of 40 ms (a burst of lines): the flush waits for a quiet turn, but not longer than
  // until the oldest buffered change is 10x writeBehindMs old
  const busyFrom = performance.now();
  s.addBans([ticket('192.0.2.2')]);
  let flushedAt = 0;
  while (performance.now() - busyFrom < 3000 && !flushedAt) {
    const until = performance.now() + 40;
    while (performance.now() < until); // every turn 40 ms long: every timer fires late
    await sleep(0);
    if (!s.pendingWrites) flushedAt = performance.now() - busyFrom;
  }
  assert.ok(flushedAt > 0, 'flushed in the end');
  assert.ok(flushedAt >= 500 - 50, `deferred up to the limit: flushed after ${flushedAt.toFixed(0)} ms`);
});

test('write-behind: reading or changing ban rows writes the buffered bans first', (t) => {
  const file = tempFile(t);
  const s = Store.open(file, { writeBehindMs: 60_000, now: () => 1_000_100 });
  t.after(() => s.close());
  s.addJail('sshd');
  s.addBans([ticket('192.0.2.1', { banCount: 2 })]);
  assert.equal(onDisk(file).bans, 0);
  // lastBan (bantime.increment) and banHistory (<ipmatches>) must see the ban being acted on
  assert.deepEqual(s.lastBan('192.0.2.1', 'sshd'), { banCount: 2, timeOfBan: 1_000_000, banTime: 600 });
  assert.equal(onDisk(file).bans, 1);

  s.addBans([ticket('192.0.2.2')]);
  assert.equal(s.banHistory('192.0.2.2', 'sshd').bans, 1);

  // a buffered ban must not come back after an unban removed its rows
  s.addBans([ticket('192.0.2.3')]);
  assert.equal(s.removeBans('sshd', '192.0.2.3'), 1);
  s.flush();
  assert.deepEqual(s.currentBans('sshd', 1_000_100, { jailBantime: 600, increment: false }).map((b) => b.id), ['192.0.2.1', '192.0.2.2']);

  // prolongation of a buffered ban lands on its row, and is itself buffered
  s.addBans([ticket('192.0.2.4')]);
  s.setBanTime('sshd', '192.0.2.4', 7200);
  assert.equal(s.lastBan('192.0.2.4', 'sshd')?.banTime, 7200);
  s.setBanTime('sshd', '192.0.2.4', 9000);
  assert.equal(s.pendingWrites, 1);
  assert.equal(s.lastBan('192.0.2.4', 'sshd')?.banTime, 9000);
  assert.equal(s.pendingWrites, 0);
});

test('write-behind: close writes what is buffered; a closed store refuses a ban at once', (t) => {
  const file = tempFile(t);
  const s = Store.open(file, { writeBehindMs: 60_000 });
  s.addJail('sshd');
  s.addBans([ticket('192.0.2.1')]);
  s.close();
  assert.equal(onDisk(file).bans, 1);
  assert.throws(() => s.addBans([ticket('192.0.2.2')]), StoreError);
});

test('without write-behind a ban is committed before addBans returns', (t) => {
  const file = tempFile(t);
  const s = Store.open(file, { flushIntervalSeconds: 3600 });
  t.after(() => s.close());
  s.addJail('sshd');
  s.addBans([ticket('192.0.2.1')]);
  assert.equal(onDisk(file).bans, 1);
});

test('background checkpoints: commits leave the database file alone, the worker copies the WAL into it', async (t) => {
  const file = tempFile(t);
  const logs: string[] = [];
  const s = Store.open(file, { writeBehindMs: 10, backgroundCheckpointMs: 50, log: (_l, m) => logs.push(m) });
  t.after(() => s.close());
  s.addJail('sshd');
  const before = statSync(file).size;
  s.addBans(Array.from({ length: 3000 }, (_, i) => ticket(`10.0.${i >> 8}.${i & 255}`)));
  s.flush();
  // no checkpoint inside the commit: the rows are only in the WAL so far
  assert.equal(statSync(file).size, before);
  assert.ok(statSync(`${file}-wal`).size > 100_000);
  for (let i = 0; i < 40 && statSync(file).size === before; i++) await sleep(50);
  assert.ok(statSync(file).size > before + 100_000, `database file ${before} → ${statSync(file).size}`);
  assert.deepEqual(logs.filter((m) => /checkpoint/.test(m)), []);
  assert.equal(onDisk(file).bans, 3000);
});

test('background checkpoints: the worker ends when nothing is written and comes back with the next write', async (t) => {
  const file = tempFile(t);
  const s = Store.open(file, { writeBehindMs: 10, backgroundCheckpointMs: 30, backgroundCheckpointIdleTicks: 3 });
  t.after(() => s.close());
  assert.equal(s.checkpointing, false, 'no worker before the first write');
  s.addJail('sshd');
  s.addBans([ticket('192.0.2.1')]);
  s.flush();
  assert.equal(s.checkpointing, true);
  for (let i = 0; i < 100 && s.checkpointing; i++) await sleep(20);
  assert.equal(s.checkpointing, false, 'idle: the worker ended');
  const size = statSync(file).size;
  s.addBans(Array.from({ length: 2000 }, (_, i) => ticket(`10.1.${i >> 8}.${i & 255}`)));
  s.flush();
  assert.equal(s.checkpointing, true, 'back with the next write');
  for (let i = 0; i < 100 && statSync(file).size === size; i++) await sleep(20);
  assert.ok(statSync(file).size > size, 'the new worker checkpoints');
});

test('write-behind: positions and failure counts wait for progressWriteMs; a ban does not wait for them', async (t) => {
  const file = tempFile(t);
  const s = Store.open(file, { writeBehindMs: 20, progressWriteMs: 60_000, now: () => 1_000_100 });
  t.after(() => s.close());
  s.addJail('sshd');
  // a position first: its timer is due in a minute; the ban brings it forward
  s.setLogPosition('sshd', '/var/log/auth.log', 'h', 10);
  s.addBans([ticket('192.0.2.1')]);
  for (let i = 0; i < 80 && onDisk(file).bans === 0; i++) await sleep(25);
  assert.deepEqual(onDisk(file), { bans: 1, bips: 1, positions: 0 }, 'the ban is written, the position waits');
  assert.equal(s.pendingWrites, 1);
  s.flush(); // an explicit flush (jail stop, close) writes everything
  assert.deepEqual(onDisk(file), { bans: 1, bips: 1, positions: 1 });
});

test('write-behind: buffered positions are written once progressWriteMs has passed', async (t) => {
  const file = tempFile(t);
  const s = Store.open(file, { writeBehindMs: 10, progressWriteMs: 100, now: () => 1_000_100 });
  t.after(() => s.close());
  s.addJail('sshd');
  const from = performance.now();
  s.setLogPosition('sshd', '/var/log/auth.log', 'h', 10);
  for (let i = 0; i < 200 && s.pendingWrites; i++) await sleep(10);
  assert.equal(s.pendingWrites, 0, 'written by the timer');
  assert.ok(performance.now() - from >= 100 - 5, 'not before progressWriteMs');
  assert.equal(onDisk(file).positions, 1);
});
