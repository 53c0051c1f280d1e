import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { FileSource, resolveFileBackend, type FileSourceOptions } from '../../src/sources/file-source.ts';
import { MemoryPositionStore } from '../../src/sources/types.ts';
import { LineAssembler } from '../../src/sources/line-assembler.ts';
import { Collector, LogCapture, delay, tempDir, waitFor } from './helpers.ts';

const WRITER = new URL('./fixtures/log-writer.mjs', import.meta.url).pathname;

/** Starts a FileSource whose stat loop is too slow to matter unless `polling` is asked for. */
function startSource(opts: Partial<FileSourceOptions> & { logpaths: FileSourceOptions['logpaths'] }) {
  const collector = new Collector();
  const logger = new LogCapture();
  const source = new FileSource({
    pollIntervalMs: 60_000,
    logger,
    onLines: collector.onLines,
    ...opts,
  });
  source.start();
  return { source, collector, logger };
}

/** A log file `name` holding `content`, in a temp dir removed after the test. */
function tempLog(t: TestContext, name: string, content: string | Buffer = ''): string {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const log = join(dir, name);
  writeFileSync(log, content);
  return log;
}

test('backend names: aliases, systemd and unknown names', () => {
  assert.equal(resolveFileBackend('auto'), 'auto');
  assert.equal(resolveFileBackend('pyinotify'), 'inotify');
  assert.equal(resolveFileBackend('gamin'), 'inotify');
  assert.equal(resolveFileBackend('polling[]'), 'polling');
  assert.throws(() => resolveFileBackend('systemd'), /journal/);
  assert.throws(() => resolveFileBackend('bogus'), { code: 'MOAT_ERR_CONFIG_VALUE', message: /option 'backend'.*Unknown backend 'bogus'/ });
});

test('inotify: appended lines are delivered once, in order, as operation mode after the initial read', async (t) => {
  const log = tempLog(t, 'auth.log', 'old 1\nold 2\n');
  const { source, collector } = startSource({ logpaths: [{ glob: log }], backend: 'inotify' });
  t.after(() => source.stop());
  await collector.waitCount(2);
  assert.equal(source.backend, 'inotify');
  assert.deepEqual(collector.batches[0]!.ctx, { mode: 'restore', path: log });
  for (let i = 0; i < 50; i++) appendFileSync(log, `new ${i}\n`);
  await collector.waitCount(52);
  await delay(30);
  assert.deepEqual(collector.texts, ['old 1', 'old 2', ...Array.from({ length: 50 }, (_, i) => `new ${i}`)]);
  assert.ok(collector.batches.slice(1).every((b) => b.ctx.mode === 'operation'));
  // positions are byte offsets after each line
  assert.equal(collector.lines[1]!.pos, 12);
  const st = source.status();
  assert.equal(st.files[0]!.pos, readFileSync(log).length);
  assert.equal(st.healthy, true);
});

test('a partial last line waits for its newline; CRLF is stripped', async (t) => {
  const log = tempLog(t, 'x.log');
  const { source, collector } = startSource({ logpaths: [{ glob: log }] });
  t.after(() => source.stop());
  appendFileSync(log, 'first half');
  await delay(50);
  assert.equal(collector.lines.length, 0);
  appendFileSync(log, ' second half\r\nnext\r\r\n');
  await collector.waitCount(2);
  assert.deepEqual(collector.texts, ['first half second half', 'next']);
});

test('a log that does not exist yet: the source waits and reads it from the start once created', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const log = join(dir, 'later.log');
  const { source, collector } = startSource({ logpaths: [{ glob: log, start: 'tail' }] });
  t.after(() => source.stop());
  await delay(30);
  assert.equal(source.status().files[0]!.state, 'missing');
  writeFileSync(log, 'a\nb\n');
  await collector.waitCount(2);
  assert.deepEqual(collector.texts, ['a', 'b']);
  assert.equal(collector.batches[0]!.ctx.mode, 'operation');
});

test('a missing directory is picked up by the stat loop once it exists', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const log = join(dir, 'sub', 'x.log');
  const { source, collector } = startSource({ logpaths: [{ glob: log }], pollIntervalMs: 30 });
  t.after(() => source.stop());
  mkdirSync(join(dir, 'sub'));
  writeFileSync(log, 'hello\n');
  await collector.waitCount(1);
  appendFileSync(log, 'again\n');
  await collector.waitCount(2);
  assert.deepEqual(collector.texts, ['hello', 'again']);
});

test('wildcard logpath picks up a file created after start', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'a.log'), 'a1\n');
  writeFileSync(join(dir, 'ignored.txt'), 'no\n');
  const { source, collector } = startSource({ logpaths: [{ glob: join(dir, '*.log') }] });
  t.after(() => source.stop());
  await collector.waitCount(1);
  writeFileSync(join(dir, 'b.log'), 'b1\n');
  await collector.waitCount(2);
  appendFileSync(join(dir, 'b.log'), 'b2\n');
  appendFileSync(join(dir, 'ignored.txt'), 'still no\n');
  await collector.waitCount(3);
  await delay(30);
  assert.deepEqual(collector.texts, ['a1', 'b1', 'b2']);
  assert.deepEqual(source.files.sort(), [join(dir, 'a.log'), join(dir, 'b.log')]);
  assert.equal(collector.lines[1]!.path, join(dir, 'b.log'));
});

function expectedLines(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `line ${String(i).padStart(6, '0')} ${'x'.repeat(i % 40)}`);
}

/** A source following an empty `app.log` that a child process writes `count` lines to. */
function followWriter(t: TestContext, count: number) {
  const log = tempLog(t, 'app.log');
  const started = startSource({ logpaths: [{ glob: log }] });
  t.after(() => started.source.stop());
  const child = spawn(process.execPath, [WRITER, log, String(count), '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  const done = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
  return { log, writer: { child, done }, ...started };
}

test('rotation by rename + create while a writer appends: every line exactly once', async (t) => {
  const count = 3000;
  const { log, writer, collector, logger } = followWriter(t, count);
  // Rotate twice, logrotate style: rename, create the new file, then HUP the writer
  // a little later (it keeps writing into the renamed file until then).
  for (const [at, n] of [[800, 1], [1900, 2]] as const) {
    await collector.waitCount(at, 10_000);
    renameSync(log, `${log}.${n}`);
    writeFileSync(log, '');
    await delay(15);
    writer.child.kill('SIGHUP');
  }
  await writer.done;
  await collector.waitCount(count, 10_000);
  await delay(50);
  assert.deepEqual(collector.texts, expectedLines(count));
  assert.ok(logger.has('notice', /Log rotation detected for .*inode/));
});

test('copytruncate while a writer appends: no duplicates, nothing lost but what logrotate itself moved', async (t) => {
  const count = 3000;
  const { log, writer, collector, logger } = followWriter(t, count);
  const copies: string[] = [];
  for (const at of [700, 1800]) {
    await collector.waitCount(at, 10_000);
    const copy = `${log}.${copies.length + 1}`;
    // Lines written between logrotate's copy and its truncate are lost by
    // copytruncate itself; freeze the writer over that window so only the
    // reader's part is measured (the reader keeps running).
    writer.child.kill('SIGSTOP');
    copyFileSync(log, copy);
    truncateSync(log, 0);
    writer.child.kill('SIGCONT');
    copies.push(copy);
  }
  await writer.done;
  await waitFor(() => collector.texts.at(-1) === expectedLines(count).at(-1), 10_000, 'last line');
  await delay(50);
  const expected = expectedLines(count);
  const known = new Set(expected);
  const got = collector.texts.filter((l) => known.has(l));
  // A writer frozen between the two halves of a line leaves a fragment across the truncate.
  assert.ok(collector.texts.length - got.length <= copies.length, 'unexpected garbage lines');
  assert.equal(new Set(got).size, got.length, 'a line was delivered twice');
  assert.deepEqual([...got].sort(), got, 'lines out of order');
  const inCopies = new Set(copies.flatMap((c) => readFileSync(c, 'utf8').split('\n')));
  const delivered = new Set(got);
  const lost = expected.filter((l) => !delivered.has(l) && !inCopies.has(l));
  assert.deepEqual(lost, []);
  // Lines only in a copy were written after our last read, just before the copy: a handful at most.
  assert.ok(count - got.length < 200, `lost ${count - got.length} lines`);
  assert.ok(logger.has('notice', /Log rotation detected/));
});

test('copytruncate done between reads (nothing in flight): every line exactly once', async (t) => {
  const log = tempLog(t, 'app.log');
  const { source, collector } = startSource({ logpaths: [{ glob: log }] });
  t.after(() => source.stop());
  // Truncate from inside the delivery callback: the file holds exactly what was read.
  collector.onLine = (line) => {
    if (line.text === 'line 000050') {
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
    }
  };
  let i = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (let k = 0; k < 3 && i < 120; k++, i++) appendFileSync(log, `line ${String(i).padStart(6, '0')}\n`);
      if (i >= 120) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await collector.waitCount(120);
  await delay(30);
  assert.deepEqual(collector.texts, Array.from({ length: 120 }, (_, k) => `line ${String(k).padStart(6, '0')}`));
});

test('restart with stored positions: no re-read, no skip; a changed first line re-reads from the start', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const log = join(dir, 'x.log');
  const positions = new MemoryPositionStore();
  writeFileSync(log, 'one\ntwo\n');
  const first = startSource({ logpaths: [{ glob: log }], positions });
  await first.collector.waitCount(2);
  appendFileSync(log, 'three\n');
  await first.collector.waitCount(3);
  first.source.stop();
  const stored = positions.get(log)!;
  assert.equal(stored.pos, 14);
  // firstlinemd5 is the SHA-1 of the first line including its newline (§4.6)
  assert.equal(stored.hash, createHash('sha1').update('one\n').digest('hex'));

  appendFileSync(log, 'four\nfive\n');
  const second = startSource({ logpaths: [{ glob: log }], positions });
  await second.collector.waitCount(2);
  await delay(30);
  second.source.stop();
  assert.deepEqual(second.collector.texts, ['four', 'five']);
  assert.equal(second.collector.batches[0]!.ctx.mode, 'restore');

  writeFileSync(log, 'ONE\ntwo\nthree\nfour\nfive\nsix\n');
  const third = startSource({ logpaths: [{ glob: log }], positions });
  t.after(() => third.source.stop());
  await third.collector.waitCount(6);
  assert.deepEqual(third.collector.texts, ['ONE', 'two', 'three', 'four', 'five', 'six']);
});

test('tail start ignores existing content (and a stored position) and follows from the end', async (t) => {
  const log = tempLog(t, 'x.log', 'old\nhalf-writ');
  const positions = new MemoryPositionStore();
  positions.set(log, createHash('sha1').update('old\n').digest('hex'), 0);
  const { source, collector } = startSource({ logpaths: [{ glob: log, start: 'tail' }], positions });
  t.after(() => source.stop());
  await delay(30);
  appendFileSync(log, 'ten\nnew\n');
  await collector.waitCount(1);
  await delay(20);
  // The line that was being written at start is skipped, not delivered as a fragment.
  assert.deepEqual(collector.texts, ['new']);
  assert.equal(collector.batches[0]!.ctx.mode, 'operation');
});

test('latin-1 log encoding; invalid UTF-8 warns once and is replaced', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const latin = join(dir, 'latin.log');
  const utf = join(dir, 'utf.log');
  writeFileSync(latin, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x80, 0x0a]));
  writeFileSync(utf, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0x0a, 0xc3, 0xa9, 0x0a]));
  const a = startSource({ logpaths: [{ glob: latin }], logencoding: 'latin-1' });
  const b = startSource({ logpaths: [{ glob: utf }], logencoding: 'auto' });
  t.after(() => (a.source.stop(), b.source.stop()));
  await a.collector.waitCount(1);
  await b.collector.waitCount(3);
  assert.deepEqual(a.collector.texts, ['café \u0080']);
  assert.deepEqual(b.collector.texts, ['caf\ufffd', '\ufffd', 'é']);
  assert.equal(b.logger.messages.filter((m) => /Error decoding line from '.*utf\.log' with 'utf-8'/.test(m.message)).length, 1);
  assert.throws(() => new FileSource({ logpaths: [], logencoding: 'klingon', onLines() {} }), {
    code: 'MOAT_ERR_CONFIG_VALUE',
    message: /logencoding.*klingon/,
  });
});

test('a 1 MB line is cut to the cap, a warning is logged and memory stays bounded', async (t) => {
  const log = tempLog(t, 'x.log');
  const { source, collector, logger } = startSource({ logpaths: [{ glob: log }], maxLineBytes: 64 * 1024 });
  t.after(() => source.stop());
  const big = 'A'.repeat(1024 * 1024);
  appendFileSync(log, `${big}\nafter\n`);
  await collector.waitCount(2);
  assert.equal(collector.texts[0]!.length, 64 * 1024);
  assert.equal(collector.texts[1], 'after');
  assert.equal(collector.lines[0]!.pos, big.length + 1);
  assert.ok(logger.has('warning', /longer than 65536 bytes; 983040 bytes dropped/));

  // Without a newline, the assembler never holds more than the cap.
  const asm = new LineAssembler(64 * 1024);
  const chunk = Buffer.alloc(64 * 1024, 0x42);
  for (let i = 0; i < 16; i++) asm.push(chunk, i * chunk.length, () => assert.fail('no line expected'));
  assert.equal(asm.pendingBytes, 64 * 1024);
});

test('polling backend works with fs.watch unavailable; auto falls back to polling', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const log = join(dir, 'x.log');
  writeFileSync(log, 'start\n');
  let watchCalls = 0;
  const noWatch = (() => {
    watchCalls++;
    throw new Error('inotify unavailable');
  }) as unknown as FileSourceOptions['watch'];
  const polling = startSource({ logpaths: [{ glob: log }], backend: 'polling', pollIntervalMs: 20, watch: noWatch });
  const auto = startSource({ logpaths: [{ glob: join(dir, '*.log') }], backend: 'auto', pollIntervalMs: 20, watch: noWatch });
  t.after(() => (polling.source.stop(), auto.source.stop()));
  assert.equal(polling.source.backend, 'polling');
  assert.equal(auto.source.backend, 'polling');
  await polling.collector.waitCount(1);
  appendFileSync(log, 'polled\n');
  writeFileSync(join(dir, 'new.log'), 'fresh\n');
  await polling.collector.waitCount(2);
  await auto.collector.waitCount(3);
  assert.deepEqual(polling.collector.texts, ['start', 'polled']);
  assert.deepEqual(auto.collector.texts.sort(), ['fresh', 'polled', 'start']);
  // polling never asked for a watch; auto asked once (the probe) and then stopped trying
  assert.equal(watchCalls, 1);
  // rotation is seen by the stat loop too
  renameSync(log, `${log}.1`);
  writeFileSync(log, 'rotated\n');
  await polling.collector.waitCount(3);
  assert.equal(polling.collector.texts[2], 'rotated');
});

test('a throwing consumer does not stall the file and is reported in status', async (t) => {
  const log = tempLog(t, 'x.log', 'a\n');
  const seen: string[] = [];
  const source = new FileSource({
    logpaths: [{ glob: log }],
    pollIntervalMs: 60_000,
    onLines(lines) {
      for (const l of lines) seen.push(l.text);
      if (seen.length === 1) throw new Error('boom');
    },
  });
  source.start();
  t.after(() => source.stop());
  await waitFor(() => seen.length === 1);
  assert.equal(source.status().healthy, false);
  assert.match(source.status().lastError ?? '', /boom/);
  appendFileSync(log, 'b\n');
  await waitFor(() => seen.length === 2);
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(source.status().healthy, true);
});

test('a large initial read is spread over turns, in order, all in restore mode', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const log = join(dir, 'big.log');
  const lines = Array.from({ length: 20_000 }, (_, i) => `entry ${i}`);
  writeFileSync(log, lines.join('\n') + '\n');
  const { source, collector } = startSource({ logpaths: [{ glob: log }], turnBudgetBytes: 16 * 1024, readChunkBytes: 4096 });
  t.after(() => source.stop());
  // After the first turn of reading, only one budget's worth has been delivered.
  await new Promise((r) => setImmediate(r));
  const firstTurn = collector.lines.length;
  assert.ok(firstTurn > 0 && firstTurn < 2000, `first turn delivered ${firstTurn} lines`);
  await collector.waitCount(lines.length);
  assert.deepEqual(collector.texts, lines);
  assert.ok(collector.batches.every((b) => b.ctx.mode === 'restore'));
  appendFileSync(log, 'live\n');
  await collector.waitCount(lines.length + 1);
  assert.equal(collector.batches.at(-1)!.ctx.mode, 'operation');
});
