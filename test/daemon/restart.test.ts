/**
 * Bans and log positions survive `kill -9`: the ban is restored at the next start, and a line
 * written while moatd was down is read exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { append, createSshdEnv, readOr, sshFail, totalFailed, waitFor } from './harness.ts';

/** The store has the log read to its end and eve's open ticket (read through SQLite, as moatd wrote them). */
function stored(dbFile: string, logPath: string): boolean {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const pos = db.prepare('SELECT lastfilepos FROM logs WHERE path = ?').get(logPath) as { lastfilepos: number } | undefined;
    const eve = db.prepare("SELECT count(*) AS n FROM failures WHERE id = '203.0.113.50'").get() as { n: number };
    return pos?.lastfilepos === statSync(logPath).size && eve.n === 1;
  } finally {
    db.close();
  }
}

test('kill -9 and restart: ban restored, positions and failure counts kept, a line written while down counted once', async () => {
  const { e, auth, dummy } = createSshdEnv('restart', 'backend = auto\nmaxretry = 3\nbantime = 1h\n');
  try {
    await e.start();
    append(auth, sshFail('root', '203.0.113.4').repeat(3));
    append(auth, sshFail('eve', '203.0.113.50'));
    await waitFor('ban', () => readOr(dummy).includes('+203.0.113.4'), 10_000, () => e.log());
    await waitFor('4 failures', () => totalFailed(e.moat(['status', 'sshd']).stdout) === 4, 10_000, () => e.log());
    // the position and eve's open ticket are written behind (within 5 s): wait until they are
    // in the database, then kill (a kill before that loses them consistently: the lines would be read again)
    await waitFor('position and failure ticket written behind', () => stored(e.db, auth), 10_000, () => e.log());
    await e.kill('SIGKILL');
    assert.equal(e.proc!.signalCode, 'SIGKILL');

    append(auth, sshFail('eve', '203.0.113.50'));
    const logBefore = e.log().length;
    await e.start();
    await waitFor('ban restored in the log', () => /Restore Ban 203\.0\.113\.4/.test(e.log().slice(logBefore)), 10_000, () => e.log());
    await waitFor('dummy file shows the ban again', () => readOr(dummy).split('\n').filter((l) => l === '+203.0.113.4').length === 2, 10_000, () => readOr(dummy));
    await waitFor('the new line counted', () => totalFailed(e.moat(['status', 'sshd']).stdout) >= 1, 10_000, () => e.log());
    // give a re-read of old lines the chance to show up
    await new Promise((r) => setTimeout(r, 1500));
    const st = e.moat(['status', 'sshd']).stdout;
    assert.equal(totalFailed(st), 1, `only the line written while down is new:\n${st}\n${e.log().slice(logBefore)}`);
    assert.match(st, /Currently banned:\t1\n/);
    // eve's failure from before the kill was stored with the position: her ticket goes on at 2
    assert.match(st, /Currently failed:\t1\n/);
    assert.match(st, /Banned IP list:\t203\.0\.113\.4\n/);
    assert.equal(e.moat(['get', 'sshd', 'banip']).stdout.trim(), '203.0.113.4');
    const banAfter = e.moat(['set', 'sshd', 'attempt', '203.0.113.50']);
    assert.equal(banAfter.code, 0, banAfter.stderr);
    await waitFor('eve banned by her third failure (2 stored + 1 new)', () => e.moat(['get', 'sshd', 'banned', '203.0.113.50']).stdout.trim() === '1', 10_000, () => e.log());
  } finally {
    await e.cleanup();
  }
});
