/**
 * The control socket of moatd: a unix stream socket speaking newline-delimited JSON (protocol.ts).
 *
 * Access control is the socket file's permissions (there is no SO_PEERCRED in node:net):
 *   <socket>      mode 0600, owner = the daemon's user (root): full access.
 *   <socket>.ro   only when `socketGroup` is set: mode 0660, group = socketGroup; connections
 *                 through it may run read commands only (ping, version, echo, status, banned,
 *                 get ..., server-status, watch). The socket directory is created 0750 and, when
 *                 we create it, given to socketGroup so members can reach the .ro socket.
 *
 * Stale sockets: an existing socket file is removed when nothing accepts connections on it, or
 * always with `force` (-x). A live socket means another daemon runs: listen() fails.
 *
 * systemd socket activation: when LISTEN_PID is our pid, fd 3 is adopted as the main socket
 * (and fd 4, when LISTEN_FDS >= 2, as the read-only socket); LISTEN_* are then removed from the
 * environment so child processes (actions) do not see them. Adopted socket files are left to systemd.
 *
 * `watch` subscribers: each has a bounded queue (default 1000 events). A subscriber that does not
 * read never blocks the daemon: when its queue is full the OLDEST events are dropped, and before the
 * next event it receives {"event":{"type":"overflow","dropped":N}}. Subscribers are not disconnected.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { MoatError, ProtocolError } from '../errors.ts';
import { ReadOnlyError } from './daemon-api.ts';
import { eventMatches, parseEventFilter, type DaemonEvent, type EventFilter, type EventHub } from './events.ts';
import {
  encodeError,
  encodeEvent,
  encodeReply,
  LineSplitter,
  MAX_LINE_BYTES,
  parseRequest,
  RequestError,
  type Command,
} from './protocol.ts';
import { isReadOnlyCommand } from './transmitter.ts';

export interface RequestContext {
  /** True for connections through the read-only socket. */
  readOnly: boolean;
}

export type CommandHandler = (cmd: Command, ctx: RequestContext) => unknown;

export interface ControlServerOptions {
  socketPath: string;
  /** Group (name or gid) allowed to use the read-only socket `<socketPath>.ro`; null/undefined = no .ro socket. */
  socketGroup?: string | number | null;
  /** -x: remove an existing socket file even if something answers on it. */
  force?: boolean;
  handler: CommandHandler;
  /** Source of `watch` events. */
  events?: EventHub;
  /** Events kept per slow subscriber before the oldest are dropped. */
  subscriberQueueLimit?: number;
  maxLineBytes?: number;
  /** Environment holding LISTEN_PID/LISTEN_FDS (default process.env); LISTEN_* are deleted from it. */
  env?: NodeJS.ProcessEnv;
  /** Process id compared with LISTEN_PID (default process.pid). */
  pid?: number;
  /** Reports unexpected errors (socket errors, handler crashes); the server keeps running. */
  onError?: (err: unknown) => void;
}

export class SocketInUseError extends MoatError {
  override name = 'SocketInUseError';
  constructor(path: string) {
    super('MOAT_ERR_SOCKET_IN_USE', `moatd seems to be already running: something answers on ${path} (use -x to force)`);
  }
}

export class SocketSetupError extends MoatError {
  override name = 'SocketSetupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('MOAT_ERR_SOCKET', message, {}, options);
  }
}

/** Looks a group up in /etc/group (node has no getgrnam). */
export function resolveGroupId(group: string | number, groupFile = '/etc/group'): number {
  if (typeof group === 'number') return group;
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new SocketSetupError(`socketgroup '${group}' does not exist`);
}

/** True when something accepts connections on the unix socket at `path`. */
export function isSocketAlive(path: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (alive: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(alive);
    };
    const timer = setTimeout(() => done(true), timeoutMs); // accepted-but-silent still counts as alive
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

interface Listener {
  server: Server;
  readOnly: boolean;
  /** File we created and must unlink on close (null for adopted sockets). */
  path: string | null;
}

export class ControlServer {
  readonly socketPath: string;
  readonly readOnlyPath: string | null;
  /** True when the sockets came from systemd. */
  readonly adopted: boolean;
  readonly #opts: ControlServerOptions;
  readonly #listeners: Listener[];
  readonly #connections = new Set<Connection>();
  #unsubscribe: (() => void) | null = null;
  #closed = false;

  private constructor(opts: ControlServerOptions, listeners: Listener[], adopted: boolean, roPath: string | null) {
    this.#opts = opts;
    this.socketPath = opts.socketPath;
    this.readOnlyPath = roPath;
    this.adopted = adopted;
    this.#listeners = listeners;
    for (const l of listeners) l.server.on('connection', (s: Socket) => this.#accept(s, l.readOnly));
    if (opts.events) this.#unsubscribe = opts.events.subscribe((ev) => this.publish(ev));
  }

  /** Binds (or adopts) the socket(s) and starts accepting connections. */
  static async listen(opts: ControlServerOptions): Promise<ControlServer> {
    const env = opts.env ?? process.env;
    const adoptedFds = takeSystemdFds(env, opts.pid ?? process.pid);
    if (adoptedFds.length > 0) {
      const listeners: Listener[] = [];
      for (const [i, fd] of adoptedFds.slice(0, 2).entries()) {
        listeners.push({ server: await listenOn({ fd }), readOnly: i === 1, path: null });
      }
      return new ControlServer(opts, listeners, true, listeners.length > 1 ? `${opts.socketPath}.ro` : null);
    }

    const gid = opts.socketGroup === undefined || opts.socketGroup === null || opts.socketGroup === ''
      ? null
      : resolveGroupId(opts.socketGroup);
    prepareDirectory(dirname(opts.socketPath), gid);
    const roPath = gid === null ? null : `${opts.socketPath}.ro`;
    await clearStaleSocket(opts.socketPath, opts.force ?? false);
    if (roPath) await clearStaleSocket(roPath, opts.force ?? false);

    const listeners: Listener[] = [];
    try {
      listeners.push({ server: await bindPrivate(opts.socketPath, 0o600, null), readOnly: false, path: opts.socketPath });
      if (roPath) listeners.push({ server: await bindPrivate(roPath, 0o660, gid), readOnly: true, path: roPath });
    } catch (err) {
      for (const l of listeners) await closeListener(l);
      throw err;
    }
    return new ControlServer(opts, listeners, false, roPath);
  }

  /** Sends an event to every matching `watch` subscriber; never blocks. */
  publish(event: DaemonEvent): void {
    for (const c of this.#connections) c.offerEvent(event);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Stops listening, closes every connection and removes the socket files we created. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    for (const c of this.#connections) c.destroy();
    this.#connections.clear();
    await Promise.all(this.#listeners.map(closeListener));
  }

  #accept(socket: Socket, readOnly: boolean): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, readOnly, this.#opts);
    this.#connections.add(conn);
    socket.once('close', () => this.#connections.delete(conn));
  }
}

/** Reads and clears LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES; returns the fds passed to us. */
function takeSystemdFds(env: NodeJS.ProcessEnv, pid: number): number[] {
  const listenPid = env.LISTEN_PID;
  const listenFds = env.LISTEN_FDS;
  if (listenPid === undefined && listenFds === undefined) return [];
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (listenPid !== String(pid)) return []; // meant for another process
  const count = Number(listenFds);
  if (!Number.isInteger(count) || count < 1) return [];
  return Array.from({ length: count }, (_, i) => 3 + i);
}

function prepareDirectory(dir: string, gid: number | null): void {
  if (existsSync(dir)) return; // an existing directory (e.g. /run/moat from tmpfiles.d) keeps its owner and mode
  try {
    mkdirSync(dir, { mode: 0o750 });
    chmodSync(dir, 0o750); // mkdir's mode is filtered by the umask
    if (gid !== null) chownSync(dir, process.getuid?.() ?? 0, gid);
  } catch (err) {
    throw new SocketSetupError(`cannot create socket directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

async function clearStaleSocket(path: string, force: boolean): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!force) {
    if (!isSocket) throw new SocketSetupError(`${path} exists and is not a socket; refusing to replace it (use -x to force)`);
    if (await isSocketAlive(path)) throw new SocketInUseError(path);
  }
  try {
    unlinkSync(path);
  } catch (err) {
    throw new SocketSetupError(`cannot remove stale socket ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function listenOn(target: { fd: number } | { path: string }): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: false, pauseOnConnect: false });
    server.once('error', reject);
    server.listen({ ...target, backlog: 64 }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Binds with a restrictive umask so the socket is never reachable with wider permissions, even briefly. */
async function bindPrivate(path: string, mode: number, gid: number | null): Promise<Server> {
  const previous = process.umask(0o177);
  let server: Server;
  try {
    server = await listenOn({ path });
  } catch (err) {
    throw new SocketSetupError(`cannot listen on ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    process.umask(previous);
  }
  try {
    if (gid !== null) chownSync(path, process.getuid?.() ?? 0, gid);
    chmodSync(path, mode);
  } catch (err) {
    server.close();
    throw new SocketSetupError(`cannot set permissions of ${path}: ${(err as Error).message}`, { cause: err });
  }
  return server;
}

function closeListener(l: Listener): Promise<void> {
  return new Promise((resolve) => {
    l.server.close(() => {
      if (l.path) {
        try {
          unlinkSync(l.path);
        } catch {
          // already gone
        }
      }
      resolve();
    });
  });
}

const MAX_PENDING_LINES = 64;

/** One client connection: sequential request handling, optional event subscription. */
class Connection {
  readonly #socket: Socket;
  readonly #readOnly: boolean;
  readonly #opts: ControlServerOptions;
  readonly #splitter: LineSplitter;
  readonly #pending: string[] = [];
  #busy = false;
  #closing = false;
  // watch state
  #filter: EventFilter | null = null;
  readonly #queue: string[] = [];
  #dropped = 0;
  readonly #queueLimit: number;

  constructor(socket: Socket, readOnly: boolean, opts: ControlServerOptions) {
    this.#socket = socket;
    this.#readOnly = readOnly;
    this.#opts = opts;
    this.#splitter = new LineSplitter(opts.maxLineBytes ?? MAX_LINE_BYTES);
    this.#queueLimit = Math.max(1, opts.subscriberQueueLimit ?? 1000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#flushEvents());
    socket.on('error', () => socket.destroy()); // EPIPE/ECONNRESET: the client went away
    socket.on('end', () => socket.end());
  }

  destroy(): void {
    this.#socket.destroy();
  }

  offerEvent(event: DaemonEvent): void {
    if (this.#filter === null || this.#closing || this.#socket.destroyed) return;
    if (!eventMatches(this.#filter, event)) return;
    const line = encodeEvent(event);
    if (this.#queue.length === 0 && this.#dropped === 0 && !this.#socket.writableNeedDrain) {
      this.#socket.write(line);
      return;
    }
    this.#queue.push(line);
    if (this.#queue.length > this.#queueLimit) {
      this.#queue.shift();
      this.#dropped++;
    }
  }

  #flushEvents(): void {
    if (this.#dropped > 0) {
      this.#socket.write(encodeEvent({ type: 'overflow', dropped: this.#dropped }));
      this.#dropped = 0;
    }
    while (this.#queue.length > 0 && !this.#socket.writableNeedDrain) {
      this.#socket.write(this.#queue.shift() as string);
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    const lines = this.#splitter.push(chunk);
    for (const line of lines) if (line.trim() !== '') this.#pending.push(line);
    if (this.#pending.length > MAX_PENDING_LINES) this.#socket.pause(); // a pipelining client waits for us
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#pending.length > 0 && !this.#socket.destroyed) {
        await this.#handle(this.#pending.shift() as string);
        if (this.#pending.length <= MAX_PENDING_LINES / 4 && this.#socket.isPaused()) this.#socket.resume();
      }
      if (this.#splitter.oversized && !this.#closing) {
        // The rest of the line cannot be resynchronised: answer once, then hang up.
        this.#closing = true;
        const limit = this.#splitter.maxBytes;
        this.#socket.end(encodeError(null, new ProtocolError(`request line exceeds ${limit} bytes; closing connection`)));
      }
    } finally {
      this.#busy = false;
    }
  }

  async #handle(line: string): Promise<void> {
    let id: number | string | null = null;
    try {
      const req = parseRequest(line);
      id = req.id;
      if (req.cmd[0] === 'watch') {
        const filter = parseEventFilter(req.cmd.slice(1));
        if (typeof filter === 'string') throw new ProtocolError(filter);
        if (!this.#opts.events) throw new ProtocolError('this server publishes no events');
        this.#filter = filter;
        this.#write(encodeReply(id, 'watching'));
        return;
      }
      if (this.#readOnly && !isReadOnlyCommand(req.cmd)) throw new ReadOnlyError(String(req.cmd[0]));
      const result = await this.#opts.handler(req.cmd, { readOnly: this.#readOnly });
      this.#write(encodeReply(id, result));
    } catch (err) {
      if (err instanceof RequestError) {
        this.#write(encodeError(err.id, err.error));
        return;
      }
      if (!(err instanceof MoatError)) this.#opts.onError?.(err);
      this.#write(encodeError(id, err));
    }
  }

  #write(text: string): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(text);
  }
}
