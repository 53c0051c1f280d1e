/**
 * Golden screens: the real app (blessed) renders into @xterm/headless and the emulator's screen is
 * compared with test/console/golden/*.txt. A leading '>' marks rows holding inverse cells.
 * Update after an intended change: MOAT_UPDATE_GOLDEN=1 npm test -- console/golden
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConsoleState, type ConsoleStateReply } from '../../src/console/state.ts';
import { startHarness, StubSession } from './harness.ts';

process.env.TZ = 'UTC';
const T = 1_700_000_000;
const GOLDEN = join(import.meta.dirname, 'golden');
const UPDATE = process.env.MOAT_UPDATE_GOLDEN === '1';

function sampleState(): ConsoleState {
  const reply: ConsoleStateReply = {
    version: '0.1.0',
    startedAt: T - 3723,
    now: T,
    jails: [
      {
        name: 'sshd', backend: 'polling', filter: 'sshd', maxretry: 3, findtime: 600, bantime: 600,
        currentlyFailed: 2, totalFailed: 41, currentlyBanned: 3, totalBanned: 12,
        health: { ok: true, sources: [{ name: '/var/log/auth.log', reachable: true, error: null }], lastError: null },
        failures: [
          { ip: '192.0.2.7', count: 2, lastTime: T - 12 },
          { ip: '198.51.100.3', count: 1, lastTime: T - 300 },
        ],
        bans: [
          { ip: '203.0.113.5', start: T - 100, end: T + 500, banCount: 1 },
          { ip: '203.0.113.77', start: T - 10, end: T + 3590 + 3600, banCount: 3 },
          { ip: '2001:db8::dead:beef', start: T - 5, end: null, banCount: 7 },
        ],
      },
      {
        name: 'nginx-http-auth', backend: 'systemd', filter: 'nginx-http-auth', maxretry: 5, findtime: 3600, bantime: 86400,
        currentlyFailed: 0, totalFailed: 0, currentlyBanned: 0, totalBanned: 0,
        health: { ok: false, sources: [{ name: 'journal', reachable: false, error: 'journalctl exited 1' }], lastError: null },
        failures: [], bans: [],
      },
      {
        name: 'postfix', backend: 'pyinotify', filter: 'postfix[mode=aggressive]', maxretry: 5, findtime: 600, bantime: -1,
        currentlyFailed: 0, totalFailed: 3, currentlyBanned: 0, totalBanned: 1,
        health: { ok: true, sources: [{ name: '/var/log/mail.log', reachable: true, error: null }], lastError: { time: T - 50, message: 'actionban failed: exit status 1' } },
        failures: [], bans: [],
      },
    ],
  };
  const s = new ConsoleState();
  s.applySnapshot(reply, T);
  s.note(T - 200, 'info', 'connected to moatd 0.1.0');
  s.applyEvent({ type: 'found', time: T - 130, jail: 'sshd', ip: '203.0.113.5', failures: 3, matches: [] });
  s.applyEvent({ type: 'ban', time: T - 100, jail: 'sshd', ip: '203.0.113.5', bantime: 600, banCount: 1 });
  s.applyEvent({ type: 'found', time: T - 12, jail: 'sshd', ip: '192.0.2.7', failures: 2, matches: [] });
  s.applyEvent({ type: 'unban', time: T - 8, jail: 'sshd', ip: '198.51.100.200', reason: 'expired' });
  s.applyEvent({ type: 'restore', time: T - 5, jail: 'sshd', ip: '2001:db8::dead:beef', bantime: -1, banCount: 7 });
  s.applyEvent({ type: 'error', time: T - 50, jail: 'postfix', code: 'MOAT_ERR_ACTION', message: 'actionban failed: exit status 1' });
  return s;
}

async function check(name: string, screen: string): Promise<void> {
  const file = join(GOLDEN, `${name}.txt`);
  if (UPDATE || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, screen);
    if (!UPDATE) assert.fail(`golden ${name}.txt did not exist: written, check it and run again`);
    return;
  }
  assert.equal(screen, readFileSync(file, 'utf8'), `screen differs from golden/${name}.txt (MOAT_UPDATE_GOLDEN=1 to accept)`);
}

for (const [cols, rows] of [
  [80, 24],
  [120, 40],
] as const) {
  const size = `${cols}x${rows}`;

  test(`main view ${size}: jails, failures N/M, bans with countdowns, report, sparklines, status`, async () => {
    let now = T;
    const h = await startHarness({ cols, rows, state: sampleState(), now: () => now });
    try {
      h.app.key({ name: 'down', full: 'down' });
      h.app.key({ name: 'down', full: 'down' }); // sshd (jails are sorted by name)
      await check(`main-${size}`, await h.snapshot());
      now = T + 61; // countdowns move with the clock alone
      const later = await h.snapshot();
      assert.match(later, /203\.0\.113\.5\s+│?\s*07:19/);
      assert.match(later, /203\.0\.113\.77\s+│?\s*1:58:49/);
    } finally {
      h.close();
    }
  });

  test(`help, detail and ban prompt ${size}`, async () => {
    const h = await startHarness({ cols, rows, state: sampleState(), now: () => T });
    try {
      h.app.key({ ch: '?', full: '?' });
      await check(`help-${size}`, await h.snapshot());
      h.app.key({ name: 'escape', full: 'escape' });
      h.app.key({ name: 'end', full: 'end' }); // sshd
      h.app.key({ name: 'enter', full: 'enter' });
      await check(`detail-${size}`, await h.snapshot());
      h.app.key({ name: 'escape', full: 'escape' });
      h.app.key({ name: 'b', full: 'b', ch: 'b' });
      for (const ch of '192.0.2.') h.app.key({ ch, full: ch });
      await check(`ban-prompt-${size}`, await h.snapshot());
    } finally {
      h.close();
    }
  });

  test(`all jails + filter, and daemon unreachable ${size}`, async () => {
    const session = new StubSession();
    const h = await startHarness({ cols, rows, state: sampleState(), now: () => T, session });
    try {
      h.app.key({ name: 'a', full: 'a', ch: 'a' });
      h.app.key({ ch: '/', full: '/' });
      for (const ch of '203.0.113') h.app.key({ ch, full: ch });
      h.app.key({ name: 'enter', full: 'enter' });
      await check(`filter-all-${size}`, await h.snapshot());
      session.info = { ...session.info, connected: false, error: 'Connection reset by peer', retryIn: 2 };
      await check(`unreachable-${size}`, await h.snapshot());
    } finally {
      h.close();
    }
  });
}

test('redraws on resize (80x24 → 120x40)', async () => {
  const h = await startHarness({ cols: 80, rows: 24, state: sampleState(), now: () => T });
  try {
    h.app.key({ name: 'end', full: 'end' });
    await h.snapshot();
    await h.resize(120, 40);
    const screen = await h.snapshot();
    assert.equal(screen.split('\n')[1]!.length, 121, 'the top border spans the new width');
    await check('main-120x40', screen.replace(/^>│/m, '>│')); // same layout as a fresh 120x40 screen
  } finally {
    h.close();
  }
});

test('keyboard ban, unban and reload send the right commands and show the result', async () => {
  const session = new StubSession();
  session.reply = async (cmd) => {
    if (cmd[0] === 'reload') throw Object.assign(new Error("option 'maxretry' must be an integer"), { wire: { file: '/etc/moat/jail.local', line: 12 } });
    return 1;
  };
  const h = await startHarness({ cols: 80, rows: 24, state: sampleState(), now: () => T, session });
  try {
    h.app.key({ name: 'end', full: 'end' });
    h.app.key({ name: 'b', full: 'b', ch: 'b' });
    for (const ch of '192.0.2.99') h.app.key({ ch, full: ch });
    h.app.key({ name: 'enter', full: 'enter' });
    await new Promise((r) => setTimeout(r, 10));
    assert.match(await h.snapshot(), /banned 192\.0\.2\.99 in sshd/);
    h.app.key({ name: 'tab', full: 'tab' });
    h.app.key({ name: 'tab', full: 'tab' });
    h.app.key({ name: 'u', full: 'u', ch: 'u' });
    assert.match(await h.snapshot(), /Unban IP in sshd: 203\.0\.113\.5/);
    h.app.key({ name: 'enter', full: 'enter' });
    h.app.key({ name: 'r', full: 'r', ch: 'r' });
    await new Promise((r) => setTimeout(r, 10));
    assert.match(await h.snapshot(), /reload failed: option 'maxretry' must be an integer \(\/etc\/moat\/jail\.local:12\)/);
    assert.deepEqual(session.requests, [
      ['set', 'sshd', 'banip', '192.0.2.99'],
      ['set', 'sshd', 'unbanip', '--report-absent', '203.0.113.5'],
      ['reload', '--all', [], []],
    ]);
  } finally {
    h.close();
  }
});

for (const terminal of ['xterm-256color', 'screen', 'linux']) {
  test(`TERM=${terminal}: renders the same screen text; NO_COLOR emits no colour`, async () => {
    const plain = await startHarness({ cols: 80, rows: 24, state: sampleState(), now: () => T, terminal, noColor: true });
    let bytes = '';
    try {
      (plain.app.screen.program.output as unknown as NodeJS.ReadableStream).on('data', (d: Buffer) => (bytes += d.toString('latin1')));
      plain.app.key({ name: 'end', full: 'end' });
      const screen = await plain.snapshot();
      assert.match(screen, /sshd\s+polling\s+sshd\s+2\/43\s+3\/13/);
      assert.ok(bytes.length > 100, 'the selection move was drawn');
      assert.doesNotMatch(bytes, /\x1b\[[0-9;]*(3[0-7]|38;5;\d+|9[0-7])m/, 'no foreground colour with NO_COLOR');
    } finally {
      plain.close();
    }
    const colour = await startHarness({ cols: 80, rows: 24, state: sampleState(), now: () => T, terminal, noColor: false });
    let cbytes = '';
    try {
      (colour.app.screen.program.output as unknown as NodeJS.ReadableStream).on('data', (d: Buffer) => (cbytes += d.toString('latin1')));
      await colour.snapshot();
      assert.match(cbytes, /\x1b\[[0-9;]*(3[0-7]|38;5;\d+|9[0-7])m/, 'colour is used without NO_COLOR');
    } finally {
      colour.close();
    }
  });
}
