/**
 * The README's first command, `./scripts/demo.sh`, without a terminal: it starts moatd on moat's own
 * config with a generated attack log and the dummy action, prints the jail's status every 2 s, and
 * stops everything it started on Ctrl-C.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = join(import.meta.dirname, '..', '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('scripts/demo.sh: attackers banned by moatd, the legitimate user never counted, Ctrl-C stops the daemon once', async () => {
  const demo = spawn('bash', [join(root, 'scripts', 'demo.sh')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  demo.stdout.on('data', (b: Buffer) => (out += b.toString()));
  demo.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  let dir: string | null = null;
  let daemonLog = '';
  try {
    // 7 addresses take turns failing once a second, maxretry 3: the first ban comes after ~15 s
    for (let i = 0; i < 300 && !/Currently banned:\t[1-9]/.test(out); i++) await sleep(100);
    assert.match(out, /Currently banned:\t[1-9]/, out.slice(-2000));
    assert.match(out, /Banned IP list:\t203\.0\.113\.\d+/);
    assert.match(out, /INFO {4}\[sshd\] Found 203\.0\.113\.\d+/);
  } finally {
    demo.kill('SIGINT');
    const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
    dir = /demo files kept in (\S+)/.exec(out)?.[1] ?? null;
    const pidFile = dir ? join(dir, 'moatd.pid') : null;
    const pid = pidFile && existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : null;
    if (code === 'timeout') demo.kill('SIGKILL');
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGKILL');
      assert.fail(`moatd (pid ${pid}) still running after the demo's Ctrl-C`);
    }
    if (dir?.startsWith('/tmp/moat-demo.')) {
      daemonLog = readFileSync(join(dir, 'moat.log'), 'utf8');
      rmSync(dir, { recursive: true, force: true });
    }
  }
  assert.ok(dir, `the demo names its directory on exit:\n${out.slice(-500)}`);
  // one clean-up on Ctrl-C (the signal exits, the exit cleans up), and no screen clearing without a terminal
  assert.equal(out.match(/demo files kept in/g)?.length, 1, out.slice(-500));
  assert.doesNotMatch(out, /\x1b/, 'escape sequences in output that is not a terminal');
  assert.match(daemonLog, /NOTICE +\[sshd\] Ban 203\.0\.113\.\d+/);
  assert.doesNotMatch(daemonLog, /Found 198\.51\.100\.2/, 'alice logs in with a key on her own connection: never a failure');
});
