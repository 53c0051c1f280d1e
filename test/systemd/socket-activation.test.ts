/**
 * Socket activation under `systemd-socket-activate`: it binds the socket, then execs moatd with
 * LISTEN_PID/LISTEN_FDS and the socket as fd 3. moatd is told a different -s path on purpose: a
 * `pong` on the activator's path can only come from the inherited descriptor.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDaemonEnv, waitFor } from '../daemon/harness.ts';
import { have, moat, moatdEntry, repoRoot, stopAll, terminate } from './helpers.ts';

after(stopAll);

test('moat ping answers pong on the socket inherited from systemd-socket-activate', {
  skip: have('systemd-socket-activate') ? false : 'needs systemd-socket-activate',
  timeout: 60_000,
}, async () => {
  const d = createDaemonEnv('sockact');
  try {
    const auth = join(d.dir, 'auth.log');
    writeFileSync(auth, '');
    d.jailLocal(`[sshd]\nenabled = true\nbackend = polling\nlogpath = ${auth}\nbanaction = dummy[target=${join(d.dir, 'bans')}]\n`);
    const activated = join(d.dir, 'activated.sock');
    const env = { ...process.env };
    delete env.LISTEN_PID;
    delete env.LISTEN_FDS;
    delete env.NOTIFY_SOCKET;
    const proc = spawn('systemd-socket-activate', [
      '-l', activated,
      process.execPath, '--import', 'tsx', moatdEntry,
      '-f', '-c', d.conf, '-s', d.sock, '-p', d.pidfile, '--dbfile', d.db, '--logtarget', d.logfile,
    ], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (x) => (stderr += x));
    proc.stdout!.on('data', () => {});
    await waitFor('pong on the activated socket', () => {
      if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${stderr}`);
      const r = moat(activated, ['ping']);
      return r.code === 0 && /pong/.test(r.stdout) ? r : null;
    }, 30_000, () => `stderr: ${stderr}\nlog:\n${d.log()}`);
    assert.match(moat(activated, ['ping']).stdout.trim(), /^Server replied: pong$|^pong$/);
    assert.equal(moat(activated, ['status']).code, 0);
    assert.ok(!existsSync(d.sock), 'moatd must not bind its own socket when one is inherited');
    assert.equal(await terminate(proc), 0, stderr);
    // the socket belongs to systemd: moatd leaves the file in place
    assert.ok(lstatSync(activated).isSocket());
  } finally {
    await d.cleanup();
  }
});
