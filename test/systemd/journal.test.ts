/**
 * The journal backend against real journal files: export-format fixtures are written with
 * systemd-journal-remote into a directory that a jail reads (`backend = systemd[journalpath=]`),
 * while moatd runs, across a restart (cursor resume) and across a rotation.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createDaemonEnv, readOr, waitFor } from '../daemon/harness.ts';
import { have, JOURNAL_REMOTE, moat, sshFailure, startMoatd, stopAll, terminate, writeJournal } from './helpers.ts';

after(stopAll);

const skip = have(JOURNAL_REMOTE) && have('journalctl') ? false : 'needs systemd-journal-remote and journalctl';

const banned = (file: string) => readOr(file).split('\n').filter((l) => l.startsWith('+')).map((l) => l.slice(1));

let resumeRepeats = '';
let failuresLostOnRestart = '';

test('journal backend: bans from appended entries, resume after restart without repeats, rotation', { skip, timeout: 150_000 }, async () => {
  const d = createDaemonEnv('journal');
  try {
    const jdir = join(d.dir, 'journal');
    mkdirSync(jdir);
    const live = join(jdir, 'remote.journal');
    const bans = join(d.dir, 'bans');
    writeFileSync(bans, '');
    d.jailLocal(
      `[sshd]\nenabled = true\nbackend = systemd[journalpath=${jdir}]\njournalmatch = SYSLOG_IDENTIFIER=sshd\n` +
        `maxretry = 3\nfindtime = 600\nbantime = 3600\nbanaction = dummy[target=${bans}]\n`,
    );
    // an unrelated service and a lone failure exist before moatd starts
    writeJournal(live, [{ message: 'started', identifier: 'cron' }, sshFailure('203.0.113.1')]);
    let run = await startMoatd(d);

    // appended while running: two more for .1 → ban; .9 only twice → no ban
    writeJournal(live, [sshFailure('203.0.113.1'), sshFailure('203.0.113.9'), sshFailure('203.0.113.1'), sshFailure('203.0.113.9')]);
    await waitFor('ban of 203.0.113.1', () => banned(bans).includes('203.0.113.1'), 20_000, () => d.log());
    // cron's line is not an sshd failure and not matched at all; .9 stays below maxretry
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(banned(bans), ['203.0.113.1']);

    // stop, append, start: the entries written meanwhile are processed once
    assert.equal(await terminate(run.proc), 0);
    writeJournal(live, [sshFailure('203.0.113.9'), sshFailure('203.0.113.2'), sshFailure('203.0.113.2')]);
    run = await startMoatd(d);
    // failures counted before the restart were stored with the cursor: .9's 2 + 1 reach maxretry
    await waitFor('203.0.113.9 found after the restart', () => d.log().split('\n').some((l) => l.includes('Found 203.0.113.9 ') && l.includes(`[${run.proc.pid}]`)), 20_000, () => d.log());
    await new Promise((r) => setTimeout(r, 1000));
    if (!banned(bans).includes('203.0.113.9')) failuresLostOnRestart = '203.0.113.9 not banned: 2 failures before the stop + 1 while down';
    const st = moat(d.sock, ['status', 'sshd']);
    // .2 failed twice while moatd was down: exactly 2 counted, nothing replayed twice
    assert.match(st.stdout, /Total failed:\s+\d+/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!banned(bans).includes('203.0.113.2'), `203.0.113.2 must not be banned (2 failures): ${banned(bans)}`);
    // the pre-stop entries must not be read again: each of .1's 3 failures is Found exactly once
    const found1 = d.log().split('\n').filter((l) => l.includes('Found 203.0.113.1 ')).length;
    if (found1 !== 3) resumeRepeats = `203.0.113.1 found ${found1} times (3 written)`;

    // rotation mid-stream: the live file is archived and a new one started
    const archived = join(jdir, `remote@${'0'.repeat(32)}-0000000000000001-${Date.now().toString(16).padStart(16, '0')}.journal`);
    renameSync(live, archived);
    writeJournal(live, [sshFailure('203.0.113.2'), sshFailure('203.0.113.3')]);
    assert.ok(readdirSync(jdir).length >= 2);
    await waitFor('ban of 203.0.113.2 after the rotation', () => banned(bans).includes('203.0.113.2'), 20_000, () => d.log());
    writeJournal(live, [sshFailure('203.0.113.3'), sshFailure('203.0.113.3')]);
    await waitFor('ban of 203.0.113.3 in the new file', () => banned(bans).includes('203.0.113.3'), 20_000, () => d.log());
    assert.deepEqual(banned(bans).filter((ip) => ip !== '203.0.113.9').sort(), ['203.0.113.1', '203.0.113.2', '203.0.113.3']);
    assert.equal(await terminate(run.proc), 0);
  } finally {
    await d.cleanup();
  }
});

// The stored cursor is honoured after a restart (the store used to drop it with the jail row).
test('journal backend: entries are processed exactly once across a restart', { skip }, () => {
  assert.equal(resumeRepeats, '');
});

// Known gap: the fail manager's counts are not persisted, so failures that straddle a restart do not add up.
test('journal backend: failures counted before a restart still count after it', { skip }, () => {
  assert.equal(failuresLostOnRestart, '');
});
