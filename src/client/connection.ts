/**
 * Client side of the control protocol: one connection, requests matched to replies by id,
 * optional event stream (`watch`).
 */
import { connect, type Socket } from 'node:net';
import { MoatError, ProtocolError } from '../errors.ts';
import type { StreamEvent } from '../server/events.ts';
import { LineSplitter, parseServerMessage, type Command, type WireError } from '../server/protocol.ts';

/** The server could not be reached (no socket, nobody listening, permission denied, timeout). */
export class ServerUnreachableError extends MoatError {
  override name = 'ServerUnreachableError';
  readonly reason: 'missing' | 'refused' | 'permission' | 'timeout' | 'closed';
  constructor(reason: ServerUnreachableError['reason'], message: string) {
    super('MOAT_ERR_UNREACHABLE', message);
    this.reason = reason;
  }
}

/** The server answered ok=false. */
export class CommandFailedError extends MoatError {
  override name = 'CommandFailedError';
  readonly wire: WireError;
  constructor(wire: WireError) {
    super(wire.code, wire.message);
    this.wire = wire;
  }
}

/** Messages printed for unreachable sockets (fail2ban's wording, moat's names). */
export function unreachableMessage(path: string, err: NodeJS.ErrnoException): ServerUnreachableError {
  switch (err.code) {
    case 'ENOENT':
      return new ServerUnreachableError('missing', `Failed to access socket path: ${path}. Is moatd running?`);
    case 'EACCES':
    case 'EPERM':
      return new ServerUnreachableError('permission', `Permission denied to socket: ${path}, (you must be root)`);
    default:
      return new ServerUnreachableError('refused', `[${err.code ?? err.message}] Unable to contact server. Is it running?`);
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class ControlClient {
  readonly path: string;
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #splitter = new LineSplitter(64 * 1024 * 1024); // replies (ban lists) may be large
  #nextId = 1;
  #onEvent: ((e: StreamEvent) => void) | null = null;
  #closedError: Error | null = null;
  #timeoutMs: number;

  private constructor(path: string, socket: Socket, timeoutMs: number) {
    this.path = path;
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new ServerUnreachableError('closed', 'Connection reset by peer')));
  }

  static connect(path: string, timeoutMs = 30_000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ServerUnreachableError('timeout', `Timeout connecting to ${path}. Is moatd running?`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(unreachableMessage(path, err));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient(path, socket, timeoutMs));
      });
    });
  }

  set timeoutMs(ms: number) {
    this.#timeoutMs = ms;
  }

  /** Sends a command; resolves with the result, rejects with CommandFailedError or a transport error. */
  request(cmd: Command, timeoutMs = this.#timeoutMs): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0 && Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              this.#pending.delete(id);
              reject(new ServerUnreachableError('timeout', `timed out after ${timeoutMs / 1000}s waiting for the server`));
            }, timeoutMs)
          : null;
      this.#pending.set(id, {
        resolve: (v) => {
          if (timer) clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      });
      this.#socket.write(JSON.stringify({ id, cmd }) + '\n');
    });
  }

  /** Subscribes to events; `onEvent` is called for each until close(). */
  async watch(filters: string[], onEvent: (e: StreamEvent) => void): Promise<void> {
    this.#onEvent = onEvent;
    await this.request(['watch', ...filters], 0);
  }

  /** Resolves when the connection closes (for `watch`). */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) resolve();
      else this.#socket.once('close', () => resolve());
    });
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    for (const line of this.#splitter.push(chunk)) {
      if (line === '') continue;
      let msg;
      try {
        msg = parseServerMessage(line);
      } catch (err) {
        this.#fail(err as Error);
        this.#socket.destroy();
        return;
      }
      if ('event' in msg) {
        this.#onEvent?.(msg.event);
        continue;
      }
      const pending = typeof msg.id === 'number' ? this.#pending.get(msg.id) : undefined;
      if (!pending) {
        // An error without id answers the request the server could not parse: fail the oldest.
        if (!msg.ok && msg.id === null && this.#pending.size > 0) {
          const [firstId, first] = this.#pending.entries().next().value as [number, Pending];
          this.#pending.delete(firstId);
          first.reject(new CommandFailedError(msg.error));
        }
        continue;
      }
      this.#pending.delete(msg.id as number);
      if (msg.ok) pending.resolve(msg.result);
      else pending.reject(new CommandFailedError(msg.error));
    }
    if (this.#splitter.oversized) this.#fail(new ProtocolError('reply from server too large'));
  }

  #fail(err: Error): void {
    if (!this.#closedError) this.#closedError = err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
