/**
 * moat control protocol: newline-delimited JSON over a unix stream socket.
 *
 *   request  {"id": 1, "cmd": ["set", "sshd", "banip", "192.0.2.1"]}
 *   reply    {"id": 1, "ok": true, "result": 1}
 *            {"id": 1, "ok": false, "error": {"code": "MOAT_ERR_UNKNOWN_JAIL", "message": "..."}}
 *   watch    {"id": 2, "cmd": ["watch", "type=ban,unban"]}  → {"id": 2, "ok": true, "result": "watching"}
 *            then {"event": {...}} lines until the client closes.
 *
 * `cmd` holds fail2ban's command words exactly as fail2ban-client sends them;
 * stream commands (`server-stream`, `reload`, `multi-set`) nest lists.
 * One line = one message, at most MAX_LINE_BYTES bytes (newline excluded).
 */
import { MoatError, ProtocolError } from '../errors.ts';
import type { StreamEvent } from './events.ts';

export const MAX_LINE_BYTES = 64 * 1024;

/** A word of a command: fail2ban sends strings, ints, bools, None and nested lists. */
export type CommandWord = string | number | boolean | null | CommandWord[];
export type Command = CommandWord[];
export type RequestId = number | string | null;

export interface Request {
  id: RequestId;
  cmd: Command;
}

export interface WireError {
  code: string;
  message: string;
  /** Extra details (jail name for unknown/duplicate jail...). */
  [key: string]: unknown;
}

export type Reply =
  | { id: RequestId; ok: true; result: unknown }
  | { id: RequestId; ok: false; error: WireError };

export interface EventMessage {
  event: StreamEvent;
}

export type ServerMessage = Reply | EventMessage;

const MAX_DEPTH = 8;

function isCommandWord(v: unknown, depth: number): v is CommandWord {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return depth < MAX_DEPTH && v.every((x) => isCommandWord(x, depth + 1));
  return false;
}

/**
 * Parses one request line. Throws ProtocolError; `id` is recovered when possible
 * so the error reply can still be matched by the client.
 */
export function parseRequest(line: string): Request {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch (err) {
    throw new RequestError(null, new ProtocolError(`malformed JSON request: ${(err as Error).message}`));
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new RequestError(null, new ProtocolError('request must be a JSON object {"id": n, "cmd": [...]}'));
  }
  const obj = data as Record<string, unknown>;
  const id = obj.id;
  const validId: RequestId = typeof id === 'number' || typeof id === 'string' ? id : null;
  if (id !== undefined && id !== null && validId === null) {
    throw new RequestError(null, new ProtocolError('request "id" must be a number or a string'));
  }
  const cmd = obj.cmd;
  if (!Array.isArray(cmd) || cmd.length === 0) {
    throw new RequestError(validId, new ProtocolError('request "cmd" must be a non-empty array of command words'));
  }
  if (typeof cmd[0] !== 'string') {
    throw new RequestError(validId, new ProtocolError('request "cmd" must start with a command name (string)'));
  }
  if (!cmd.every((w) => isCommandWord(w, 0))) {
    throw new RequestError(
      validId,
      new ProtocolError('command words must be strings, numbers, booleans, null or lists of them'),
    );
  }
  return { id: validId, cmd: cmd as Command };
}

/** A protocol error that knows which request id it answers. */
export class RequestError extends Error {
  readonly id: RequestId;
  readonly error: MoatError;
  constructor(id: RequestId, error: MoatError) {
    super(error.message);
    this.id = id;
    this.error = error;
  }
}

/** Turns anything thrown by a handler into the wire form; unexpected errors keep their message. */
export function toWireError(err: unknown): WireError {
  if (err instanceof MoatError) {
    const out: WireError = { code: err.code, message: err.message };
    for (const key of ['file', 'line', 'section', 'option', 'jail'] as const) {
      const v = (err as unknown as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = v;
    }
    return out;
  }
  if (err instanceof Error) return { code: 'MOAT_ERR_INTERNAL', message: err.message };
  return { code: 'MOAT_ERR_INTERNAL', message: String(err) };
}

export function encodeReply(id: RequestId, result: unknown): string {
  return JSON.stringify({ id, ok: true, result: result === undefined ? null : result }) + '\n';
}

export function encodeError(id: RequestId, err: unknown): string {
  return JSON.stringify({ id, ok: false, error: toWireError(err) }) + '\n';
}

export function encodeEvent(event: StreamEvent): string {
  return JSON.stringify({ event }) + '\n';
}

/**
 * Splits a byte stream into lines of at most `maxBytes`. Works on bytes so that
 * a multi-byte character split across chunks is reassembled before decoding.
 * Once a line exceeds the limit, `oversized` is set and nothing more is returned.
 */
export class LineSplitter {
  readonly maxBytes: number;
  #parts: Buffer[] = [];
  #size = 0;
  oversized = false;

  constructor(maxBytes = MAX_LINE_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Feeds a chunk; returns the complete lines it finished (without the newline). */
  push(chunk: Buffer): string[] {
    if (this.oversized) return [];
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.#size + piece.length > this.maxBytes) {
        this.#overflow();
        return lines;
      }
      this.#parts.push(piece);
      lines.push(Buffer.concat(this.#parts).toString('utf8').replace(/\r$/, ''));
      this.#parts = [];
      this.#size = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (this.#size + rest.length > this.maxBytes) {
      this.#overflow();
      return lines;
    }
    if (rest.length > 0) {
      // Copy: the caller may reuse the chunk's memory.
      this.#parts.push(Buffer.from(rest));
      this.#size += rest.length;
    }
    return lines;
  }

  /** Bytes received after the last newline. */
  get pending(): number {
    return this.#size;
  }

  #overflow(): void {
    this.oversized = true;
    this.#parts = [];
    this.#size = 0;
  }
}

/** Client side: parses one server line. Throws ProtocolError on anything unexpected. */
export function parseServerMessage(line: string): ServerMessage {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch (err) {
    throw new ProtocolError(`malformed reply from server: ${(err as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ProtocolError('malformed reply from server: not an object');
  }
  const obj = data as Record<string, unknown>;
  if ('event' in obj && obj.event !== null && typeof obj.event === 'object') return { event: obj.event as StreamEvent };
  if (obj.ok === true) return { id: obj.id as RequestId, ok: true, result: obj.result };
  if (obj.ok === false && obj.error !== null && typeof obj.error === 'object') {
    const e = obj.error as Record<string, unknown>;
    return {
      id: obj.id as RequestId,
      ok: false,
      error: { ...e, code: String(e.code ?? 'MOAT_ERR_INTERNAL'), message: String(e.message ?? '') },
    };
  }
  throw new ProtocolError('malformed reply from server: missing "ok"/"event"');
}
