import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailManager, pyRound } from '../../src/failures/index.ts';
import type { Failure } from '../../src/filter/failure.ts';

function failure(time: number, over: Partial<Failure> = {}): Failure {
  return {
    id: '192.0.2.1',
    family: 'inet4',
    ip: null,
    time,
    matches: [`line at ${time}`],
    attempts: 1,
    data: {},
    regexIndex: 0,
    ...over,
  };
}

test('pyRound rounds half to even like Python', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4999, 2.5001, 7].map(pyRound), [0, 2, 2, 4, 0, -2, 2, 3, 7]);
});

test('rescaling example of §4.1: failures at 0, 400, 800 with findtime 600 → 3', () => {
  const fm = new FailManager({ maxRetry: 5, findTime: 600 });
  assert.equal(fm.addFailure(failure(0)).retry, 1);
  assert.equal(fm.addFailure(failure(400)).retry, 2);
  const r = fm.addFailure(failure(800));
  // round(2 / 800 * 600) = round(1.5) = 2 (half to even), then + 1
  assert.equal(r.retry, 3);
  assert.equal(r.ticket.firstTime, 200);
  assert.equal(r.ticket.lastTime, 800);
  assert.equal(r.ticket.failures, 3);
  assert.equal(r.banReady, false);
});

test('rescaling rounds half to even, not up', () => {
  // 1 failure in 1200 s scaled to 600 s: round(0.5) = 0 (Math.round would give 1)
  const fm = new FailManager({ maxRetry: 5, findTime: 600 });
  fm.addFailure(failure(0));
  assert.equal(fm.addFailure(failure(1200)).retry, 1);
});

test('maxretry is reached exactly at the maxretry-th failure; the ticket leaves the list', () => {
  const fm = new FailManager({ maxRetry: 3, findTime: 600 });
  assert.equal(fm.addFailure(failure(10)).banReady, false);
  assert.equal(fm.addFailure(failure(11)).banReady, false);
  const r = fm.addFailure(failure(12));
  assert.equal(r.banReady, true);
  assert.equal(r.retry, 3);
  assert.deepEqual(r.ticket.matches, ['line at 10', 'line at 11', 'line at 12']);
  assert.equal(fm.size, 0);
  // the next failure starts a new ticket
  assert.equal(fm.addFailure(failure(13)).retry, 1);
  assert.equal(fm.size, 1);
  assert.equal(fm.totalFailed, 4);
});

test('different ids count separately; multi-attempt failures', () => {
  const fm = new FailManager({ maxRetry: 3 });
  fm.addFailure(failure(1, { id: '192.0.2.1' }));
  fm.addFailure(failure(1, { id: '192.0.2.2' }));
  assert.equal(fm.size, 2);
  // a failure carrying 3 attempts starts with retry 3 → ban
  const r = fm.addFailure(failure(2, { id: '192.0.2.3', attempts: 3 }));
  assert.equal(r.banReady, true);
  assert.equal(r.ticket.failures, 3);
});

test('maxmatches truncates to the last N, 0 keeps none', () => {
  const fm = new FailManager({ maxRetry: 10, maxMatches: 2 });
  for (let t = 0; t < 5; t++) fm.addFailure(failure(t));
  assert.deepEqual(fm.get('192.0.2.1')!.matches, ['line at 3', 'line at 4']);
  const none = new FailManager({ maxRetry: 10, maxMatches: 0 });
  none.addFailure(failure(0));
  none.addFailure(failure(1));
  assert.deepEqual(none.get('192.0.2.1')!.matches, []);
});

test('cleanup drops tickets whose last failure is findtime old', () => {
  const fm = new FailManager({ maxRetry: 10, findTime: 600 });
  fm.addFailure(failure(0, { id: 'a' }));
  fm.addFailure(failure(100, { id: 'b' }));
  assert.equal(fm.cleanup(599), 0);
  assert.equal(fm.cleanup(600), 1); // last <= now - findtime
  assert.deepEqual([...fm.ids()], ['b']);
  assert.equal(fm.cleanup(10_000), 1);
  assert.equal(fm.size, 0);
});

test('older failure does not move the window back', () => {
  const fm = new FailManager({ maxRetry: 10, findTime: 600 });
  fm.addFailure(failure(1000));
  const r = fm.addFailure(failure(500));
  assert.equal(r.ticket.lastTime, 1000);
  assert.equal(r.retry, 2);
});

test('attempt counts the given lines and bans at maxretry', () => {
  const fm = new FailManager({ maxRetry: 3 });
  const r1 = fm.attempt('192.0.2.5', [], 100);
  assert.equal(r1.retry, 1);
  const r2 = fm.attempt('192.0.2.5', ['x', 'y'], 101);
  assert.equal(r2.retry, 3);
  assert.equal(r2.banReady, true);
  assert.deepEqual(r2.ticket.matches, ['x', 'y']);
});

test('extra retries from ban-time increment; nothing counted for unknown ids', () => {
  const fm = new FailManager({ maxRetry: 3 });
  fm.addFailure(failure(1));
  const r = fm.addExtraRetries('192.0.2.1', 1.0);
  assert.equal(r!.retry, 2);
  assert.equal(r!.ticket.failures, 2);
  assert.equal(fm.addExtraRetries('192.0.2.1', 1)!.banReady, true);
  assert.equal(fm.addExtraRetries('192.0.2.1', 1), null);
  assert.equal(fm.totalFailed, 3);
});

test('tracked changes: a ticket opened and banned between two drains is never written; a stored one is deleted', () => {
  const fm = new FailManager({ maxRetry: 2, findTime: 600, trackChanges: true });
  const fail = (id: string, time: number) => failure(time, { id });
  const drained = () => {
    const ch = fm.drainChanges();
    return { upsert: ch.upsert.map((t) => t.id).sort(), remove: [...ch.remove].sort() };
  };
  // opened and banned in one window: nothing to write or delete
  fm.addFailure(fail('10.0.0.1', 1));
  assert.equal(fm.addFailure(fail('10.0.0.1', 2)).banReady, true);
  fm.addFailure(fail('10.0.0.2', 2));
  assert.deepEqual(drained(), { upsert: ['10.0.0.2'], remove: [] });
  // stored (drained) ticket banned: its row goes
  assert.equal(fm.addFailure(fail('10.0.0.2', 3)).banReady, true);
  assert.deepEqual(drained(), { upsert: [], remove: ['10.0.0.2'] });
  // stored ticket banned, opened again and banned again in the same window: the stored row still goes
  fm.addFailure(fail('10.0.0.3', 4));
  assert.deepEqual(drained(), { upsert: ['10.0.0.3'], remove: [] });
  fm.addFailure(fail('10.0.0.3', 5)); // banned
  fm.addFailure(fail('10.0.0.3', 6)); // new ticket
  fm.addFailure(fail('10.0.0.3', 7)); // banned again
  assert.deepEqual(drained(), { upsert: [], remove: ['10.0.0.3'] });
  // stored ticket banned and opened again: the new ticket replaces the row
  fm.addFailure(fail('10.0.0.4', 8));
  drained();
  fm.addFailure(fail('10.0.0.4', 9));
  fm.addFailure(fail('10.0.0.4', 10));
  assert.deepEqual(drained(), { upsert: ['10.0.0.4'], remove: [] });
  // cleanup: an unwritten ticket just goes, a stored one is deleted
  fm.addFailure(fail('10.0.0.5', 11));
  assert.equal(fm.cleanup(10_000), 2);
  assert.deepEqual(drained(), { upsert: [], remove: ['10.0.0.4'] });
});

test("a ticket's data is its first failure's without empty values; later failures add attempts and matches only (fail2ban's Ticket)", () => {
  const fm = new FailManager({ maxRetry: 3, findTime: 600, maxMatches: 5 });
  const first = { user: 'root', ip4: '192.0.2.1', ip6: null, dns: undefined, mlfid: ' h sshd[1]: ' };
  fm.addFailure(failure(10, { data: first }));
  const r = fm.addFailure(failure(20, { data: { user: 'admin', extra: 'x', ip6: null } }));
  assert.equal(r.banReady, false);
  assert.deepEqual(fm.get('192.0.2.1')!.data, { user: 'root', ip4: '192.0.2.1', mlfid: ' h sshd[1]: ' });
  assert.notEqual(fm.get('192.0.2.1')!.data, first, 'a copy: the filter may reuse its record');
  const ban = fm.addFailure(failure(30, { data: { user: 'guest' } }));
  assert.equal(ban.banReady, true);
  assert.equal(ban.ticket.data.user, 'root');
  assert.deepEqual(ban.ticket.matches, ['line at 10', 'line at 20', 'line at 30']);
  assert.equal(ban.ticket.failures, 3);
});
