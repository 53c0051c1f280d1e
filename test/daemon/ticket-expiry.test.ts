/**
 * Failure tickets whose last failure left findtime are dropped by a periodic scan (every 5 s of the
 * jail's clock, as fail2ban's performSvc), whatever the number of lines read: an address that never
 * comes back does not stay in "Currently failed".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { append, createSshdEnv, syslogDate, waitFor } from './harness.ts';
import { setTimeout as sleep } from 'node:timers/promises';

test('an expired failure ticket leaves "Currently failed" with the next periodic scan, after a few lines', async () => {
  const { e, auth } = createSshdEnv('expiry', 'backend = auto\nmaxretry = 5\nfindtime = 1\nbantime = 600\n');
  const current = () => {
    const m = /Currently failed:\s+(\d+)/.exec(e.moat(['status', 'sshd']).stdout);
    return m ? Number(m[1]) : -1;
  };
  try {
    await e.start();
    append(auth, `${syslogDate(new Date())} host sshd[1234]: Failed password for root from 192.0.2.9 port 22 ssh2\n`);
    await waitFor('the failure counted', () => current() === 1, 10_000, () => e.log());
    // lines that are not failures, one every 0.5 s (a few, far from any per-line-count trigger)
    let lines = 0;
    await waitFor(
      'the expired ticket dropped',
      async () => {
        append(auth, `${syslogDate(new Date())} host sshd[1235]: Accepted publickey for bob from 192.0.2.44 port 22 ssh2\n`);
        lines++;
        await sleep(500);
        return current() === 0;
      },
      15_000,
      () => e.log(),
    );
    assert.ok(lines < 40, `${lines} lines`);
    assert.match(e.moat(['status', 'sshd']).stdout, /Total failed:\s+1\b/);
  } finally {
    await e.cleanup();
  }
});
