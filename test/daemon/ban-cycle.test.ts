/**
 * moatd + moat end to end: exact maxretry with the stock sshd filter, the dummy action and the
 * inotify backend; status (tree and --json), unban, banip --with-time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { append, createSshdEnv, readOr, sshFail, waitFor } from './harness.ts';

test('maxretry failures ban with the dummy action (inotify backend); unban and status through moat', async () => {
  const { e, auth, dummy } = createSshdEnv('cycle', 'backend = auto\nmaxretry = 3\nfindtime = 10m\nbantime = 600\n');
  try {
    await e.start();
    // two failures: not banned yet (exactly maxretry is needed)
    append(auth, sshFail('root', '192.0.2.7') + sshFail('root', '192.0.2.7'));
    append(auth, sshFail('bob', '192.0.2.8') + sshFail('bob', '192.0.2.8'));
    await waitFor('4 failures counted', () => /Total failed:\s+4\b/.test(e.moat(['status', 'sshd']).stdout), 10_000, () => e.log());
    assert.doesNotMatch(readOr(dummy), /\+192\.0\.2\.7/);
    append(auth, sshFail('root', '192.0.2.7'));
    await waitFor('ban in the dummy file', () => readOr(dummy).includes('+192.0.2.7'), 10_000, () => e.log());
    assert.match(e.log(), /NOTICE\s+\[sshd\] Ban 192\.0\.2\.7/);

    const st = e.moat(['status', 'sshd']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(
      st.stdout,
      'Status for the jail: sshd\n' +
        '|- Filter\n' +
        '|  |- Currently failed:\t1\n' +
        '|  |- Total failed:\t5\n' +
        `|  \`- File list:\t${auth}\n` +
        '`- Actions\n' +
        '   |- Currently banned:\t1\n' +
        '   |- Total banned:\t1\n' +
        '   `- Banned IP list:\t192.0.2.7\n',
    );
    const js = e.moat(['--json', 'status', 'sshd']);
    assert.equal(js.code, 0, js.stderr);
    assert.deepEqual(JSON.parse(js.stdout), [
      ['Filter', [['Currently failed', 1], ['Total failed', 5], ['File list', [auth]]]],
      ['Actions', [['Currently banned', 1], ['Total banned', 1], ['Banned IP list', ['192.0.2.7']]]],
    ]);
    // the IP below maxretry is not banned
    assert.doesNotMatch(readOr(dummy), /192\.0\.2\.8/);

    const wt = e.moat(['get', 'sshd', 'banip', '--with-time']);
    assert.equal(wt.code, 0, wt.stderr);
    const m = /^192\.0\.2\.7 \t(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+ 600 = (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\n$/.exec(wt.stdout);
    assert.ok(m, `unexpected --with-time output: ${JSON.stringify(wt.stdout)}`);
    assert.equal((Date.parse(m[2]!.replace(' ', 'T')) - Date.parse(m[1]!.replace(' ', 'T'))) / 1000, 600);

    const ub = e.moat(['set', 'sshd', 'unbanip', '192.0.2.7']);
    assert.equal(ub.code, 0, ub.stderr);
    assert.equal(ub.stdout.trim(), '1');
    await waitFor('unban in the dummy file', () => readOr(dummy).includes('-192.0.2.7'), 10_000, () => e.log());
    const after = e.moat(['--json', 'status', 'sshd']);
    assert.deepEqual(JSON.parse(after.stdout)[1], ['Actions', [['Currently banned', 0], ['Total banned', 1], ['Banned IP list', []]]]);
    await e.kill('SIGTERM');
    assert.equal(e.proc!.exitCode, 0);
    assert.match(e.log(), /Exiting moat/);
  } finally {
    await e.cleanup();
  }
});
