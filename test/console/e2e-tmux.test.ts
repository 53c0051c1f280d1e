/**
 * End to end: `moat -s SOCK console` in a real tmux pane (send-keys / capture-pane) against a real
 * moatd (src/bin/moatd.ts) on a temporary config, log file and SQLite store. Failures are lines
 * appended to the jail's log, so the whole pipeline (source → filter → failures → bans → watch
 * events) feeds the screen. Skipped when tmux is not installed (scripts/test-deps.sh installs it).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ControlClient } from '../../src/client/connection.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class Tmux {
  readonly server = `moat-console-e2e-${process.pid}`;
  run(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.server, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  screen(): string {
    return this.run('capture-pane', '-p', '-t', 'moat');
  }
  keys(...keys: string[]): void {
    this.run('send-keys', '-t', 'moat', ...keys);
  }
  type(text: string): void {
    this.run('send-keys', '-t', 'moat', '-l', text);
  }
  async waitFor(what: string, pattern: RegExp, ms = 10_000): Promise<string> {
    const end = Date.now() + ms;
    let last = '';
    while (Date.now() < end) {
      last = this.screen();
      if (pattern.test(last)) return last;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what} (${pattern}); screen:\n${last}`);
  }
  kill(): void {
    spawnSync('tmux', ['-L', this.server, 'kill-server']);
  }
}

function writeMoatdConfig(dir: string, log: string): string {
  const conf = join(dir, 'conf');
  mkdirSync(join(conf, 'filter.d'), { recursive: true });
  mkdirSync(join(conf, 'action.d'), { recursive: true });
  writeFileSync(join(conf, 'moat.conf'), `[Definition]\nloglevel = INFO\nlogtarget = ${join(dir, 'moatd.log')}\ndbfile = ${join(dir, 'moat.sqlite3')}\n`);
  writeFileSync(join(conf, 'filter.d', 'e2e.conf'), '[Definition]\nfailregex = ^auth failure from <HOST>$\ndatepattern = {NONE}\n');
  writeFileSync(join(conf, 'action.d', 'noop.conf'), '[Definition]\nactionban = true\nactionunban = true\n');
  writeFileSync(
    join(conf, 'jail.conf'),
    `[sshd]\nenabled = true\nfilter = e2e\naction = noop\nlogpath = ${log}\nbackend = polling\nmaxretry = 3\nfindtime = 600\nbantime = 600\n`,
  );
  return conf;
}

function startDaemon(dir: string, socket: string): ChildProcess {
  const log = join(dir, 'auth.log');
  if (!existsSync(log)) writeFileSync(log, '');
  const args = ['--import', 'tsx', 'src/bin/moatd.ts', '-f', '-x', '-c', writeMoatdConfig(dir, log), '-s', socket, '-p', join(dir, 'moatd.pid')];
  return spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function waitSocket(socket: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    try {
      const c = await ControlClient.connect(socket, 1000);
      await c.request(['ping']);
      c.close();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`daemon did not come up on ${socket}`);
}

async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

test('moat console in tmux against a real moatd: counters, countdown, ban/unban keys, reconnect, clean exit', { skip: !hasTmux && 'tmux not installed', timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-console-e2e-'));
  const socket = join(dir, 'moat.sock');
  const exitFile = join(dir, 'exit');
  const tmux = new Tmux();
  let daemon = startDaemon(dir, socket);
  try {
    await waitSocket(socket);
    const cmd =
      `cd ${ROOT} && env TERM=screen NO_COLOR=1 LANG=C.UTF-8 NCURSES_NO_UTF8_ACS=1 ` +
      `${process.execPath} --import tsx src/bin/moat.ts -s ${socket} console; echo "EXIT=$?" > ${exitFile}; sleep 60`;
    tmux.run('new-session', '-d', '-s', 'moat', '-x', '100', '-y', '30', cmd);
    await tmux.waitFor('the console to connect', /moatd \S+ │ connected/);
    await tmux.waitFor('the sshd jail', /sshd\s+\S+\s+\S+\s+0\/0\s+0\/0\s+3\s+10m\s+10m/);

    // Failure counter N/M, from lines appended to the watched log.
    const fail = (ip: string) => appendFileSync(join(dir, 'auth.log'), `auth failure from ${ip}\n`);
    const admin = await ControlClient.connect(socket);
    fail('203.0.113.50');
    fail('203.0.113.50');
    await tmux.waitFor('the failure counter', /203\.0\.113\.50\s+2\/3/);
    await tmux.waitFor('the Found line in the report', /\[sshd\] Found 203\.0\.113\.50 - 2\/3/);

    // Third failure: banned, with a countdown that moves.
    fail('203.0.113.50');
    const first = await tmux.waitFor('the ban', /203\.0\.113\.50\s+(\d\d:\d\d)\s+1/);
    const t1 = /203\.0\.113\.50\s+(\d\d:\d\d)/.exec(first)![1];
    await sleep(2200);
    const t2 = /203\.0\.113\.50\s+(\d\d:\d\d)/.exec(tmux.screen())![1];
    assert.notEqual(t2, t1, 'the countdown moves');
    assert.match(tmux.screen(), /\[sshd\] Ban 203\.0\.113\.50/);

    // Ban from the keyboard: an invalid address is refused before sending, a valid one is banned.
    tmux.keys('b');
    await tmux.waitFor('the ban prompt', /Ban IP in sshd:/);
    tmux.type('198.51.100.300');
    tmux.keys('Enter');
    await tmux.waitFor('the validation error', /not a valid IP address: 198\.51\.100\.300/);
    tmux.keys('BSpace', 'BSpace', 'BSpace', 'BSpace');
    tmux.type('.7');
    tmux.keys('Enter');
    await tmux.waitFor('the ban result', /banned 198\.51\.100\.7 in sshd/);
    assert.equal(await admin.request(['get', 'sshd', 'banned', '198.51.100.7']), 1);
    await tmux.waitFor('the new ban in the list', /198\.51\.100\.7\s+\d\d:\d\d/);

    // Unban from the keyboard, pre-filled with the selected ban (soonest unban first: 203.0.113.50).
    tmux.keys('Tab', 'Tab');
    await tmux.waitFor('focus on bans', /▶ Bans: sshd/);
    tmux.keys('u');
    await tmux.waitFor('the pre-filled unban prompt', /Unban IP in sshd: 203\.0\.113\.50/);
    tmux.keys('Enter');
    await tmux.waitFor('the unban result', /unbanned 203\.0\.113\.50 in sshd/);
    assert.equal(await admin.request(['get', 'sshd', 'banned', '203.0.113.50']), 0);
    admin.close();

    // Daemon restart: the console says it is unreachable, keeps trying, and reconnects by itself.
    await stopDaemon(daemon);
    await tmux.waitFor('the unreachable status', /moatd UNREACHABLE/);
    daemon = startDaemon(dir, socket);
    await waitSocket(socket);
    await tmux.waitFor('the reconnection', /moatd \S+ │ connected/, 15_000);
    await tmux.waitFor('the reconnect line', /reconnected to moatd/);
    // The keyboard ban was committed to the store, restored by the new moatd and listed again.
    await tmux.waitFor('the restored ban after the restart', /198\.51\.100\.7\s+\d\d:\d\d/);

    // Clean exit: q leaves the alternate screen and exits 0.
    tmux.keys('q');
    const end = Date.now() + 10_000;
    while (!existsSync(exitFile) && Date.now() < end) await sleep(100);
    assert.equal(readFileSync(exitFile, 'utf8').trim(), 'EXIT=0');
    assert.equal(tmux.run('display-message', '-p', '-t', 'moat', '#{alternate_on}').trim(), '0', 'alternate screen left');
    assert.doesNotMatch(tmux.screen(), /moatd \S+ │ connected/, 'the console is gone from the screen');
  } finally {
    tmux.kill();
    await stopDaemon(daemon);
    rmSync(dir, { recursive: true, force: true });
  }
});
