import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ControlServer, SocketInUseError, SocketSetupError } from '../../src/server/control-socket.ts';
import { EventHub } from '../../src/server/events.ts';
import { Transmitter } from '../../src/server/transmitter.ts';
import { sampleDaemon } from './fake-daemon.ts';

const root = mkdtempSync(join(tmpdir(), 'moat-ctl-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `d${++n}`);

/** A raw line-oriented connection for poking the server. */
class Raw {
  readonly socket: Socket;
  readonly lines: string[] = [];
  #buf = '';
  #waiters: (() => void)[] = [];
  closed = false;
  constructor(path: string) {
    this.socket = connect(path);
    this.socket.on('data', (d) => {
      this.#buf += d.toString('utf8');
      let i;
      while ((i = this.#buf.indexOf('\n')) >= 0) {
        this.lines.push(this.#buf.slice(0, i));
        this.#buf = this.#buf.slice(i + 1);
      }
      this.#wake();
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }
  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
  async next(timeoutMs = 5000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timeout waiting for a line');
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return JSON.parse(this.lines.shift() as string);
  }
  send(text: string | Buffer): void {
    this.socket.write(text);
  }
  async request(cmd: unknown[], id = 1): Promise<Record<string, any>> {
    this.send(JSON.stringify({ id, cmd }) + '\n');
    return this.next();
  }
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(this.closed, true, 'connection should be closed');
  }
  close(): void {
    this.socket.destroy();
  }
}

async function startServer(extra: Partial<Parameters<typeof ControlServer.listen>[0]> = {}) {
  const dir = freshDir();
  const socketPath = join(dir, 'moat.sock');
  const daemon = sampleDaemon();
  const transmitter = new Transmitter(daemon);
  const server = await ControlServer.listen({ socketPath, handler: (cmd) => transmitter.proceed(cmd), env: {}, ...extra });
  return { server, socketPath, dir, daemon };
}

test('request/reply round trip on a fresh socket; directory 0750, socket 0600', async () => {
  const { server, socketPath, dir } = await startServer();
  try {
    assert.equal(statSync(dir).mode & 0o777, 0o750);
    assert.ok(lstatSync(socketPath).isSocket());
    assert.equal(lstatSync(socketPath).mode & 0o777, 0o600);
    const c = new Raw(socketPath);
    assert.deepEqual(await c.request(['ping'], 1), { id: 1, ok: true, result: 'pong' });
    assert.deepEqual(await c.request(['status'], 2), { id: 2, ok: true, result: [['Number of jail', 1], ['Jail list', 'sshd']] });
    assert.deepEqual(await c.request(['set', 'sshd', 'banip', '192.0.2.77'], 3), { id: 3, ok: true, result: 1 });
    const err = await c.request(['status', 'nosuch'], 4);
    assert.equal(err.ok, false);
    assert.equal(err.error.code, 'MOAT_ERR_UNKNOWN_JAIL');
    c.close();
  } finally {
    await server.close();
  }
  assert.equal(existsSync(socketPath), false, 'socket file removed on close');
});

test('malformed JSON, unknown command, wrong types, binary garbage → error replies, connection kept', async () => {
  const { server, socketPath } = await startServer();
  try {
    const c = new Raw(socketPath);
    c.send('{"id": 1, "cmd": \n');
    assert.equal((await c.next()).error.code, 'MOAT_ERR_PROTOCOL');
    assert.equal((await c.request(['frobnicate'], 2)).error.code, 'MOAT_ERR_INVALID_COMMAND');
    c.send('{"id": 3, "cmd": "ping"}\n');
    const wrong = await c.next();
    assert.equal(wrong.id, 3);
    assert.equal(wrong.error.code, 'MOAT_ERR_PROTOCOL');
    c.send(Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x81, 0xc3, 0x28, 0x80, 0x05, 0x95]), Buffer.from('\n')]));
    assert.equal((await c.next()).error.code, 'MOAT_ERR_PROTOCOL');
    assert.deepEqual(await c.request(['ping'], 5), { id: 5, ok: true, result: 'pong' });
    c.close();
  } finally {
    await server.close();
  }
});

test('a 1 MB line gets an error reply and the connection is closed; the server stays up', async () => {
  const { server, socketPath } = await startServer();
  try {
    const c = new Raw(socketPath);
    c.send(JSON.stringify({ id: 1, cmd: ['echo', 'x'.repeat(1024 * 1024)] }) + '\n');
    const reply = await c.next();
    assert.equal(reply.ok, false);
    assert.equal(reply.error.code, 'MOAT_ERR_PROTOCOL');
    assert.match(reply.error.message, /exceeds 65536 bytes/);
    await c.waitClosed();
    const d = new Raw(socketPath);
    assert.equal((await d.request(['ping'])).result, 'pong');
    d.close();
  } finally {
    await server.close();
  }
});

test('a watch subscriber that does not read blocks neither the publisher nor other clients', async () => {
  const events = new EventHub();
  const { server, socketPath } = await startServer({ events, subscriberQueueLimit: 100 });
  try {
    const slow = new Raw(socketPath);
    assert.deepEqual(await slow.request(['watch', 'type=log'], 1), { id: 1, ok: true, result: 'watching' });
    slow.socket.pause(); // never read again (until the end)

    const fast = new Raw(socketPath);
    assert.equal((await fast.request(['watch', 'type=ban'], 1)).result, 'watching');

    const message = 'y'.repeat(2048);
    const started = Date.now();
    for (let i = 0; i < 5000; i++) events.publish({ type: 'log', time: i, level: 'INFO', logger: 'test', message: `${i} ${message}` });
    events.publish({ type: 'ban', time: 1, jail: 'sshd', ip: '192.0.2.1', bantime: 600, banCount: 1 });
    assert.ok(Date.now() - started < 2000, 'publishing 10 MB to a stuck subscriber must not block');

    assert.equal((await fast.next()).event.type, 'ban');
    const other = new Raw(socketPath);
    assert.equal((await other.request(['ping'])).result, 'pong');
    other.close();

    // Let the subscriber read: it gets what fitted in the buffers, an overflow marker, then the newest events.
    slow.socket.resume();
    const seen: Record<string, any>[] = [];
    for (;;) {
      const m = await slow.next(5000);
      seen.push(m.event);
      if (m.event.type === 'log' && m.event.time === 4999) break;
    }
    const overflow = seen.find((e) => e.type === 'overflow');
    assert.ok(overflow, 'an overflow marker is sent');
    assert.ok(overflow.dropped > 0);
    assert.equal(seen.filter((e) => e.type === 'log').length + overflow.dropped, 5000, 'every event is either delivered or counted as dropped');
    const afterMarker = seen.slice(seen.indexOf(overflow) + 1);
    assert.ok(afterMarker.length <= 100, 'at most the queue limit follows the marker');
    slow.close();
    fast.close();
  } finally {
    await server.close();
  }
});

test('stale socket: removed when nothing listens; a live one is refused unless forced; a regular file is refused', async () => {
  const dir = freshDir();
  const socketPath = join(dir, 'moat.sock');
  spawnSync('mkdir', ['-p', dir]);
  // A bound-but-not-listening socket file = what a crashed daemon leaves behind.
  const py = spawnSync('python3', ['-c', `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(socketPath)})`]);
  assert.equal(py.status, 0);
  assert.ok(lstatSync(socketPath).isSocket());
  const handler = () => 'pong';
  const s1 = await ControlServer.listen({ socketPath, handler, env: {} });

  await assert.rejects(ControlServer.listen({ socketPath, handler, env: {} }), SocketInUseError);
  const forced = await ControlServer.listen({ socketPath, handler, env: {}, force: true });
  const c = new Raw(socketPath);
  assert.equal((await c.request(['ping'])).result, 'pong');
  c.close();
  await forced.close();
  await s1.close();

  const filePath = join(dir, 'file.sock');
  writeFileSync(filePath, 'not a socket');
  await assert.rejects(ControlServer.listen({ socketPath: filePath, handler, env: {} }), SocketSetupError);
  const s3 = await ControlServer.listen({ socketPath: filePath, handler, env: {}, force: true });
  await s3.close();
});

test('read-only socket: <socket>.ro 0660 with the group; write commands refused there', async () => {
  const { server, socketPath, daemon } = await startServer({ socketGroup: 'root' });
  try {
    const ro = `${socketPath}.ro`;
    assert.equal(server.readOnlyPath, ro);
    const st = lstatSync(ro);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, 0);
    assert.equal(lstatSync(socketPath).mode & 0o777, 0o600);
    const c = new Raw(ro);
    assert.equal((await c.request(['status'], 1)).ok, true);
    assert.deepEqual((await c.request(['get', 'sshd', 'banip'], 2)).result, ['192.0.2.10']);
    const refused = await c.request(['set', 'sshd', 'banip', '203.0.113.5'], 3);
    assert.equal(refused.error.code, 'MOAT_ERR_READ_ONLY');
    assert.equal((await c.request(['stop'], 4)).error.code, 'MOAT_ERR_READ_ONLY');
    assert.equal(daemon.shutdownRequested, false);
    assert.equal(daemon.jails.get('sshd')?.bans.has('203.0.113.5'), false);
    c.close();
  } finally {
    await server.close();
  }
  assert.equal(existsSync(`${socketPath}.ro`), false);
});

test('an unknown socketgroup is a clear error', async () => {
  await assert.rejects(
    ControlServer.listen({ socketPath: join(freshDir(), 'x.sock'), handler: () => null, env: {}, socketGroup: 'no-such-group-moat' }),
    /socketgroup 'no-such-group-moat' does not exist/,
  );
});

test('LISTEN_* for another pid are ignored and cleared', async () => {
  const env: NodeJS.ProcessEnv = { LISTEN_PID: '1', LISTEN_FDS: '1' };
  const socketPath = join(freshDir(), 'moat.sock');
  const s = await ControlServer.listen({ socketPath, handler: () => 'pong', env });
  assert.equal(s.adopted, false);
  assert.equal(env.LISTEN_PID, undefined);
  assert.equal(env.LISTEN_FDS, undefined);
  assert.ok(existsSync(socketPath));
  await s.close();
});

test('adopts a systemd socket (systemd-socket-activate, fd 3) and clears LISTEN_*', { timeout: 30_000 }, async (t) => {
  if (spawnSync('which', ['systemd-socket-activate']).status !== 0) {
    t.skip('systemd-socket-activate not installed');
    return;
  }
  const dir = freshDir();
  spawnSync('mkdir', ['-p', dir]);
  const socketPath = join(dir, 'activated.sock');
  const child = join(import.meta.dirname, 'fixtures', 'adopt-child.ts');
  const proc = spawn('systemd-socket-activate', ['-l', socketPath, process.execPath, '--import', 'tsx', child, socketPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  try {
    const deadline = Date.now() + 10_000;
    while (!existsSync(socketPath) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const c = new Raw(socketPath);
    // The first connection makes systemd-socket-activate start the child, which then accepts it.
    const pong = await c.request(['ping'], 1).catch((e) => {
      throw new Error(`${e.message}; child stderr: ${stderr}`);
    });
    assert.equal(pong.result, 'pong');
    assert.deepEqual((await c.request(['env'], 2)).result, { adopted: true, LISTEN_FDS: null, LISTEN_PID: null });
    await c.request(['stop'], 3);
    c.close();
    await new Promise((r) => proc.once('exit', r));
  } finally {
    proc.kill();
  }
});

test('closing the server drops connected clients', async () => {
  const { server, socketPath } = await startServer();
  const c = new Raw(socketPath);
  assert.equal((await c.request(['ping'])).result, 'pong');
  assert.equal(server.connectionCount, 1);
  await server.close();
  await c.waitClosed();
});



