import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleState, perMinuteSeries, type ConsoleStateReply } from '../../src/console/state.ts';
import { initialUiState } from '../../src/console/view-state.ts';
import { banList, failureList, jailList, renderBans, renderFailures, renderJails, renderReport, renderStatus, reportText } from '../../src/console/view.ts';

process.env.TZ = 'UTC';
const T = 1_700_000_000;

function snapshot(): ConsoleStateReply {
  return {
    version: '0.1.0',
    startedAt: T - 100,
    now: T,
    jails: [
      {
        name: 'sshd', backend: 'polling', filter: 'sshd', maxretry: 3, findtime: 600, bantime: 600,
        currentlyFailed: 1, totalFailed: 4, currentlyBanned: 1, totalBanned: 2, health: null,
        failures: [{ ip: '192.0.2.7', count: 1, lastTime: T - 10 }],
        bans: [{ ip: '203.0.113.5', start: T - 60, end: T + 540, banCount: 2 }],
      },
    ],
  };
}

test('events update counters, failures and bans; a ban consumes the failures of its id', () => {
  const s = new ConsoleState();
  s.applySnapshot(snapshot(), T);
  const j = s.jails.get('sshd')!;
  s.applyEvent({ type: 'found', time: T, jail: 'sshd', ip: '192.0.2.7', failures: 2, matches: [] });
  assert.equal(j.failures.get('192.0.2.7')?.count, 2);
  assert.equal(j.totalFailed, 5);
  s.applyEvent({ type: 'ban', time: T, jail: 'sshd', ip: '192.0.2.7', bantime: 600, banCount: 1 });
  assert.equal(j.failures.has('192.0.2.7'), false);
  assert.deepEqual(j.bans.get('192.0.2.7'), { jail: 'sshd', ip: '192.0.2.7', start: T, end: T + 600, banCount: 1 });
  assert.equal(j.totalBanned, 3);
  s.applyEvent({ type: 'ban', time: T, jail: 'sshd', ip: '198.51.100.1', bantime: -1, banCount: 4 });
  assert.equal(j.bans.get('198.51.100.1')?.end, null);
  s.applyEvent({ type: 'unban', time: T + 1, jail: 'sshd', ip: '203.0.113.5', reason: 'manual' });
  assert.equal(j.bans.has('203.0.113.5'), false);
  assert.deepEqual(s.report.map(reportText), [
    'Nov 14 22:13:20 [sshd] Found 192.0.2.7 - 2/3',
    'Nov 14 22:13:20 [sshd] Ban 192.0.2.7',
    'Nov 14 22:13:20 [sshd] Ban 198.51.100.1 (ban #4)',
    'Nov 14 22:13:21 [sshd] Unban 203.0.113.5 (manual)',
  ]);
  assert.deepEqual(perMinuteSeries(s.bansPerMinute, T, 3), [0, 0, 2]);
  assert.deepEqual(perMinuteSeries(s.failuresPerMinute, T + 60, 3), [0, 1, 0]);
});

test('replayed events (received before the snapshot) do not count twice', () => {
  const s = new ConsoleState();
  s.applySnapshot(snapshot(), T);
  s.applyEvent({ type: 'ban', time: T - 60, jail: 'sshd', ip: '203.0.113.5', bantime: 600, banCount: 2 }, true);
  const j = s.jails.get('sshd')!;
  assert.equal(j.totalBanned, 2);
  assert.equal(j.bans.size, 1);
  assert.equal(s.report.length, 0);
});

test('failures expire after findtime; failure counters read N/maxretry', () => {
  const s = new ConsoleState();
  s.applySnapshot(snapshot(), T);
  const ui = initialUiState();
  const jails = jailList(s);
  assert.equal(failureList(s, ui, jails, T).length, 1);
  assert.equal(failureList(s, ui, jails, T + 600).length, 0);
  const rows = renderFailures(s, failureList(s, ui, jails, T), ui.failures, 40, 5, false, T);
  assert.match(rows[1]!.text, /^192\.0\.2\.7\s+1\/3\s+10s$/);
  assert.equal(rows[1]!.selected, true);
});

test('bans render a countdown computed from the end time, soonest first, permanent last', () => {
  const s = new ConsoleState();
  s.applySnapshot(snapshot(), T);
  s.applyEvent({ type: 'ban', time: T, jail: 'sshd', ip: '198.51.100.1', bantime: -1, banCount: 1 });
  s.applyEvent({ type: 'ban', time: T, jail: 'sshd', ip: '198.51.100.2', bantime: 7200, banCount: 1 });
  const ui = initialUiState();
  const list = banList(s, ui, jailList(s));
  const text = (now: number) => renderBans(list, ui.bans, 40, 10, false, now).slice(1).map((r) => r.text.replace(/\s+/g, ' ').trim());
  assert.deepEqual(text(T), ['203.0.113.5 09:00 ×2', '198.51.100.2 2:00:00 1', '198.51.100.1 ∞ 1']);
  assert.deepEqual(text(T + 61), ['203.0.113.5 07:59 ×2', '198.51.100.2 1:58:59 1', '198.51.100.1 ∞ 1']);
});

test('lists are virtualized: 10,000 bans render only the visible window', () => {
  const s = new ConsoleState();
  const snap = snapshot();
  snap.jails[0]!.bans = Array.from({ length: 10_000 }, (_, i) => ({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, start: T, end: T + i, banCount: 1 }));
  s.applySnapshot(snap, T);
  const ui = initialUiState();
  ui.bans = { index: 9_999, top: 9_990 };
  const list = banList(s, ui, jailList(s));
  const rows = renderBans(list, ui.bans, 60, 11, false, T);
  assert.equal(list.length, 10_000);
  assert.equal(rows.length, 11);
  assert.match(rows[10]!.text, /^10\.0\.39\.15 .* 2:46:39/);
});

test('jails table, report window and status line', () => {
  const s = new ConsoleState();
  s.applySnapshot(snapshot(), T);
  const rows = renderJails(s, jailList(s), { index: 0, top: 0 }, 78, 5, T);
  assert.match(rows[0]!.text, /^Jail\s+Backend\s+Filter\s+Failed\s+Banned\s+Max\s+Find\s+Ban\s+Health/);
  assert.match(rows[1]!.text, /^sshd\s+polling\s+sshd\s+1\/4\s+1\/2\s+3\s+10m\s+10m\s+\?/);
  for (let i = 0; i < 30; i++) s.note(T + i, 'info', `line ${i}`);
  const report = renderReport(s.report, 0, 60, 4);
  assert.deepEqual(report.map((r) => r.text.slice(16)), ['line 26', 'line 27', 'line 28', 'line 29']);
  assert.deepEqual(renderReport(s.report, 10, 60, 2).map((r) => r.text.slice(16)), ['line 18', 'line 19']);
  const conn = { socket: '/s', connected: true, error: null, retryIn: null, mode: 'full' as const };
  assert.equal(renderStatus(s, conn, 200, T).text, 'moatd 0.1.0 │ connected │ up 0:01:40 │ 1 jail │ /s');
  assert.equal(
    renderStatus(s, { ...conn, connected: false, error: 'Connection reset by peer', retryIn: 1.2 }, 200, T).text,
    'moatd UNREACHABLE │ retrying in 2s │ Connection reset by peer │ /s',
  );
});
