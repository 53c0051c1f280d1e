/**
 * `socketgroup` in the daemon settings: moatd opens a second socket `<socket>.ro` (0660, that
 * group) where operators may read state and watch events, and where bans, unbans and reloads are
 * refused. Without the option there is no second socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDaemonEnv } from './harness.ts';

const moatEntry = resolve(new URL('../../src/bin/moat.ts', import.meta.url).pathname);

function client(sock: string, args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', moatEntry, '-s', sock, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test('socketgroup opens a read-only socket for operators; write commands are refused there', { timeout: 90_000 }, async () => {
  const e = createDaemonEnv('rosock');
  try {
    // the stock tree's fail2ban.conf takes the option too (a .local beside it, as a user would)
    writeFileSync(join(e.conf, 'fail2ban.local'), '[Definition]\nsocketgroup = 0\n');
    const auth = join(e.dir, 'auth.log');
    writeFileSync(auth, '');
    e.jailLocal(`[sshd]\nenabled = true\nbackend = polling\nlogpath = ${auth}\nbanaction = dummy\n`);
    await e.start();
    const ro = `${e.sock}.ro`;
    assert.ok(existsSync(ro), 'the read-only socket exists');
    assert.equal(statSync(ro).mode & 0o777, 0o660);
    assert.equal(statSync(ro).gid, 0);
    assert.equal(statSync(e.sock).mode & 0o777, 0o600);

    assert.equal(client(ro, ['ping']).stdout.trim(), 'Server replied: pong');
    const st = client(ro, ['status', 'sshd']);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /Status for the jail: sshd/);

    for (const args of [['set', 'sshd', 'banip', '203.0.113.4'], ['reload'], ['unban', '--all'], ['stop']]) {
      const r = client(ro, args);
      assert.equal(r.code, 255, `${args.join(' ')} must be refused: ${r.stdout}`);
      assert.match(r.stderr, /not allowed on the read-only socket/);
    }
    assert.equal(client(ro, ['get', 'sshd', 'banned', '203.0.113.4']).stdout.trim(), '0', 'nothing was banned');
    // the main socket still bans
    assert.equal(e.moat(['set', 'sshd', 'banip', '203.0.113.4']).code, 0);
    assert.equal(client(ro, ['get', 'sshd', 'banned', '203.0.113.4']).stdout.trim(), '1');
  } finally {
    await e.kill();
    await e.cleanup();
  }
});

test('without socketgroup there is no read-only socket', { timeout: 60_000 }, async () => {
  const e = createDaemonEnv('nosock');
  try {
    e.jailLocal('');
    await e.start();
    assert.equal(existsSync(`${e.sock}.ro`), false);
  } finally {
    await e.kill();
    await e.cleanup();
  }
});
