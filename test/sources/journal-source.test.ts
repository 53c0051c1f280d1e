import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bufferedFollower, JournalSource, type JournalSourceOptions } from '../../src/sources/journal-source.ts';
import type { JournalLine } from '../../src/sources/journal-line.ts';
import type { SourceContext } from '../../src/sources/types.ts';
import { appendJournal, haveJournalTools, journalEntry, sshdFailure } from './journal-fixtures.ts';
import { LogCapture, tempDir, waitFor } from './helpers.ts';

const skip = haveJournalTools ? false : 'needs journalctl and systemd-journal-remote (apt-get install systemd-journal-remote)';

class JournalCollector {
  entries: JournalLine[] = [];
  batches: { entries: JournalLine[]; ctx: SourceContext }[] = [];
  cursors: string[] = [];
  readonly onEntries = (entries: JournalLine[], ctx: SourceContext) => {
    this.batches.push({ entries, ctx });
    this.entries.push(...entries);
  };
  readonly setCursor = (cursor: string) => void this.cursors.push(cursor);
  get texts(): string[] {
    return this.entries.map((e) => e.text);
  }
  async waitCount(n: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.entries.length >= n, timeoutMs, `${n} journal entries (have ${this.entries.length})`);
  }
}

function makeSource(dir: string, extra: Partial<JournalSourceOptions> = {}) {
  const collector = new JournalCollector();
  const logger = new LogCapture();
  const source = new JournalSource({
    jail: 'sshd',
    journalmatch: [['SYSLOG_IDENTIFIER=sshd']],
    backendOptions: { journalpath: dir },
    findtime: 600,
    onEntries: collector.onEntries,
    setCursor: collector.setCursor,
    logger,
    backoff: { initialMs: 20, maxMs: 200 },
    ...extra,
  });
  return { source, collector, logger };
}

test('journal: matching entries become lines, restore then operation mode, cursor handed over', { skip }, async (t) => {
  const { dir, cleanup } = tempDir('moat-journal-');
  t.after(cleanup);
  await appendJournal(dir, [
    sshdFailure('192.0.2.1', 3600), // older than findtime: not read without a cursor
    sshdFailure('192.0.2.2', 120),
    journalEntry({ SYSLOG_IDENTIFIER: 'cron', _PID: '1', MESSAGE: 'not for us' }, 100),
    sshdFailure('192.0.2.3', 60),
  ]);
  const { source, collector, logger } = makeSource(dir);
  t.after(() => source.stop());
  await source.start();
  await collector.waitCount(2);
  assert.deepEqual(collector.texts, [
    'testhost sshd[4242]: Failed password for root from 192.0.2.2 port 22 ssh2',
    'testhost sshd[4242]: Failed password for root from 192.0.2.3 port 22 ssh2',
  ]);
  assert.equal(collector.batches[0]!.ctx.mode, 'restore');
  assert.ok(Math.abs(collector.entries[0]!.time - (Date.now() / 1000 - 120)) < 5);
  assert.equal(source.mode, 'operation'); // the newest entry at start was reached
  assert.ok(logger.has('info', /\[sshd\] Jail is in operation now/));

  await appendJournal(dir, [sshdFailure('192.0.2.4'), journalEntry({ SYSLOG_IDENTIFIER: 'cron', MESSAGE: 'x' })]);
  await collector.waitCount(3);
  assert.match(collector.texts[2]!, /from 192\.0\.2\.4 /);
  assert.equal(collector.batches.at(-1)!.ctx.mode, 'operation');
  assert.equal(collector.cursors.at(-1), collector.entries[2]!.cursor);
  const st = source.status();
  assert.equal(st.healthy, true);
  assert.ok(st.command.includes(`--directory=${dir}`));
  assert.ok(st.command.some((a) => a.startsWith('--since=@')));
  // the follower is journalctl itself (stdbuf exec'd it) with a 64 KiB stdout buffer, and the
  // live entry above still came through at once: it flushes before waiting for more
  assert.equal(readFileSync(`/proc/${st.pid}/comm`, 'utf8').trim(), 'journalctl');
  assert.ok(readFileSync(`/proc/${st.pid}/environ`, 'utf8').split('\0').includes('_STDBUF_O=65536'));
});

test('journal: stop, append, start with the stored cursor → only the new entries, once', { skip }, async (t) => {
  const { dir, cleanup } = tempDir('moat-journal-');
  t.after(cleanup);
  await appendJournal(dir, [sshdFailure('198.51.100.1', 30), sshdFailure('198.51.100.2', 20)]);
  const first = makeSource(dir);
  await first.source.start();
  await first.collector.waitCount(2);
  await first.source.stop();
  const stored = first.collector.cursors.at(-1)!;
  assert.equal(stored, first.collector.entries[1]!.cursor);

  // Entries older than findtime written while we were down are still read: the cursor rules.
  await appendJournal(dir, [sshdFailure('198.51.100.3', 7200), sshdFailure('198.51.100.4')]);
  const second = makeSource(dir, { cursor: stored });
  t.after(() => second.source.stop());
  await second.source.start();
  await second.collector.waitCount(2);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    second.collector.texts.map((l) => l.match(/from (\S+)/)![1]),
    ['198.51.100.3', '198.51.100.4'],
  );
  assert.ok(second.source.status().command.includes(`--cursor=${stored}`));
});

test('journal: a killed journalctl is restarted and resumes after the last processed entry', { skip }, async (t) => {
  const { dir, cleanup } = tempDir('moat-journal-');
  t.after(cleanup);
  await appendJournal(dir, [sshdFailure('203.0.113.1', 10)]);
  const { source, collector, logger } = makeSource(dir);
  t.after(() => source.stop());
  await source.start();
  await collector.waitCount(1);
  const firstPid = source.status().pid!;
  process.kill(firstPid, 'SIGKILL');
  await waitFor(() => source.status().restarts === 1 && source.status().pid !== undefined, 5000, 'restart');
  assert.notEqual(source.status().pid, firstPid);
  assert.match(source.status().lastError ?? '', /journalctl exited \(signal SIGKILL\)/);
  assert.ok(logger.has('error', /restarting in \d+ ms/));
  assert.ok(source.status().command.includes(`--cursor=${collector.entries[0]!.cursor}`));

  // Entries written while it was down and after the restart: each exactly once.
  await appendJournal(dir, [sshdFailure('203.0.113.2'), sshdFailure('203.0.113.3')]);
  process.kill(source.status().pid!, 'SIGKILL');
  await appendJournal(dir, [sshdFailure('203.0.113.4')]);
  await collector.waitCount(4);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(
    collector.texts.map((l) => l.match(/from (\S+)/)![1]),
    ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'],
  );
  assert.ok(source.status().restarts >= 2);
  assert.equal(source.status().healthy, true);
});

test('journal: injectable follower command, back-off while it keeps failing', async (t) => {
  // A fake journalctl: --lines=1 prints the newest entry; the follower prints the
  // entries from --cursor on (all of them without one), split across writes, then exits 3.
  const script = `
    const out = Buffer.from(process.env.FAKE_OUT, 'base64');
    const cut = out.indexOf('__CURSOR=cur-2');
    const at = process.argv.find((a) => a.startsWith('--cursor='));
    const body = process.argv.includes('--lines=1') || at === '--cursor=cur-2'
      ? out.subarray(cut) : at ? Buffer.alloc(0) : out;
    process.stdout.write(body.subarray(0, 37));
    setTimeout(() => { process.stdout.write(body.subarray(37)); process.exitCode = process.argv.includes('--lines=1') ? 0 : 3; }, 20);
  `;
  const { toExportFormat } = await import('../../src/sources/journal-export.ts');
  const now = Date.now() * 1000;
  const out = toExportFormat([
    { __CURSOR: 'cur-1', __REALTIME_TIMESTAMP: String(now - 5e6), SYSLOG_IDENTIFIER: 'sshd', MESSAGE: 'one' },
    { __CURSOR: 'cur-2', __REALTIME_TIMESTAMP: String(now - 4e6), SYSLOG_IDENTIFIER: 'sshd', MESSAGE: Buffer.from('two\nlines') },
  ]).toString('base64');
  const calls: { args: string[]; at: number }[] = [];
  const collector = new JournalCollector();
  const source = new JournalSource({
    journalmatch: [],
    findtime: 60,
    onEntries: collector.onEntries,
    setCursor: collector.setCursor,
    backoff: { initialMs: 10, maxMs: 40 },
    journalctl: 'fake-journalctl',
    spawn: (cmd, args) => {
      calls.push({ args: [cmd, ...args], at: Date.now() });
      return spawn(process.execPath, ['-e', script, '--', ...args], { env: { ...process.env, FAKE_OUT: out } });
    },
  });
  t.after(() => source.stop());
  await source.start();
  await waitFor(() => calls.length >= 6, 5000, 'restarts');
  assert.deepEqual(collector.texts, ['sshd: one', 'sshd: two\\nlines']);
  assert.equal(collector.batches[0]!.ctx.mode, 'restore');
  assert.deepEqual(collector.cursors.at(-1), 'cur-2');
  assert.equal(source.mode, 'operation');
  assert.equal(calls[0]!.args[0], 'fake-journalctl');
  assert.ok(calls[0]!.args.includes('--lines=1'));
  assert.ok(calls[1]!.args.some((a) => a.startsWith('--since=@')));
  assert.ok(calls[2]!.args.includes('--cursor=cur-2'));
  // back-off doubles up to the cap (10, 20, 40, 40 ms + process start time)
  const gaps = calls.slice(2).map((c, i) => c.at - calls[i + 1]!.at);
  assert.ok(gaps.every((g) => g >= 10), `gaps ${gaps}`);
  assert.match(source.status().lastError ?? '', /code 3/);
});

// journalctl 252's --after-cursor skips the first match after a cursor entry the matches do not
// select (a cursor stored under another journalmatch); moat starts --cursor and drops that entry.
test('journal: resuming at a cursor whose entry no longer matches loses nothing', { skip }, async (t) => {
  const { dir, cleanup } = tempDir('moat-journal-');
  t.after(cleanup);
  await appendJournal(dir, [journalEntry({ SYSLOG_IDENTIFIER: 'cron', _COMM: 'cron', MESSAGE: 'job ran' }, 20)]);
  // the stored cursor is the cron entry's: a jail that read everything before now reads sshd only
  const all = makeSource(dir, { journalmatch: [] });
  t.after(() => all.source.stop());
  await all.source.start();
  await all.collector.waitCount(1);
  await all.source.stop();
  const cronCursor = all.collector.cursors.at(-1)!;
  await appendJournal(dir, [sshdFailure('198.51.100.21', 10), sshdFailure('198.51.100.22', 5)]);
  const sshd = makeSource(dir, { cursor: cronCursor });
  t.after(() => sshd.source.stop());
  await sshd.source.start();
  await sshd.collector.waitCount(2);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(sshd.collector.texts.map((l) => l.match(/from (\S+)/)![1]), ['198.51.100.21', '198.51.100.22']);
});

test('journal: the follower command with and without a working stdbuf', () => {
  const args = ['--follow', '--output=export', '--', '_COMM=sshd'];
  assert.deepEqual(bufferedFollower('/usr/bin/journalctl', args, true), ['stdbuf', ['-o64K', '/usr/bin/journalctl', ...args]]);
  assert.deepEqual(bufferedFollower('/usr/bin/journalctl', args, false), ['/usr/bin/journalctl', args]);
});
