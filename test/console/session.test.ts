import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ControlClient } from '../../src/client/connection.ts';
import { ConsoleSession, parseConsoleState } from '../../src/console/session.ts';
import { ConsoleState } from '../../src/console/state.ts';
import { ConsoleFakeDaemon } from './console-daemon.ts';

const root = mkdtempSync(join(tmpdir(), 'moat-console-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('snapshot + watch: failure counters and bans follow the daemon; reconnects after a restart', async () => {
  const socket = join(root, `s${++n}.sock`);
  const daemon = new ConsoleFakeDaemon();
  daemon.addConsoleJail('sshd', { maxretry: 3, bantime: 600 });
  daemon.attempt('sshd', '192.0.2.1', []);
  let server = await daemon.listen(socket);
  const state = new ConsoleState();
  let changes = 0;
  const session = new ConsoleSession({ socket, state, onChange: () => changes++, retryMinMs: 50, retryMaxMs: 100 });
  session.start();
  try {
    await until('connected', () => session.info.connected);
    assert.equal(session.info.mode, 'full');
    const jail = state.jails.get('sshd')!;
    assert.equal(jail.failures.get('192.0.2.1')?.count, 1);

    const admin = await ControlClient.connect(socket);
    await admin.request(['set', 'sshd', 'attempt', '192.0.2.1']);
    await until('found event', () => jail.failures.get('192.0.2.1')?.count === 2);
    await admin.request(['set', 'sshd', 'attempt', '192.0.2.1']);
    await until('ban event', () => jail.bans.has('192.0.2.1'));
    assert.equal(jail.failures.has('192.0.2.1'), false);
    const ban = jail.bans.get('192.0.2.1')!;
    assert.ok(ban.end !== null && ban.end !== undefined && Math.abs(ban.end - ban.start - 600) < 1e-6);

    // Keyboard actions go through the session.
    assert.equal(await session.request(['set', 'sshd', 'unbanip', '--report-absent', '192.0.2.1']), 1);
    await until('unban event', () => !jail.bans.has('192.0.2.1'));
    await assert.rejects(session.request(['set', 'sshd', 'unbanip', '--report-absent', '192.0.2.1']), /not banned/);
    admin.close();

    // Daemon goes away: the session says so and keeps trying; when it is back, it reconnects.
    await server.close();
    await until('disconnected', () => !session.info.connected);
    assert.ok(session.info.error);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(session.info.connected, false);
    daemon.banIps('sshd', ['198.51.100.9']);
    server = await daemon.listen(socket);
    await until('reconnected', () => session.info.connected, 5000);
    assert.ok(state.jails.get('sshd')!.bans.has('198.51.100.9'), 'state reloaded after reconnect');
    assert.ok(state.report.some((l) => l.text === 'lost the connection to moatd'));
    assert.ok(state.report.some((l) => l.text === 'reconnected to moatd'));
    assert.ok(changes > 0);
  } finally {
    session.stop();
    daemon.stopTimers();
    await server.close();
  }
});

test('an older moatd without console-state: reduced state from fail2ban commands', async () => {
  const socket = join(root, `s${++n}.sock`);
  const daemon = new ConsoleFakeDaemon();
  daemon.addConsoleJail('sshd', { maxretry: 4, bantime: 300 });
  daemon.banIps('sshd', ['203.0.113.9']);
  const server = await daemon.listen(socket, false);
  const state = new ConsoleState();
  const session = new ConsoleSession({ socket, state, onChange: () => {} });
  session.start();
  try {
    await until('connected', () => session.info.connected);
    assert.equal(session.info.mode, 'fallback');
    const jail = state.jails.get('sshd')!;
    assert.equal(jail.maxretry, 4);
    assert.equal(jail.bantime, 300);
    assert.equal(jail.bans.get('203.0.113.9')?.end, undefined, 'end time unknown for bans older than the watch');
    daemon.banIps('sshd', ['203.0.113.10']);
    await until('ban event', () => jail.bans.has('203.0.113.10'));
    assert.equal(typeof jail.bans.get('203.0.113.10')?.end, 'number');
  } finally {
    session.stop();
    daemon.stopTimers();
    await server.close();
  }
});

test('a malformed console-state reply is a clear protocol error', () => {
  assert.throws(() => parseConsoleState({ version: '1', now: 1, jails: [{ name: 'x', maxretry: 'three' }] }), /jails\[0\]\.maxretry must be a number/);
  assert.throws(() => parseConsoleState(null), /reply must be an object/);
});
