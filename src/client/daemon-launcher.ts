/**
 * `moat start`: launches moatd from the same install (same node, same loader flags) and waits
 * until it answers on its socket. The child is detached: it outlives the client.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isSocketAlive } from '../server/control-socket.ts';
import { ControlClient } from './connection.ts';

/** `node [loader flags] <install>/bin/moatd.(ts|js)`. */
export function defaultDaemonCommand(): string[] {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const script = fileURLToPath(new URL(`../bin/moatd${ext}`, import.meta.url));
  return [process.execPath, ...process.execArgv, script];
}

export interface LaunchOptions {
  command: string[];
  args: string[];
  socket: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** -f: run attached, inherit stdio, wait for exit. */
  foreground?: boolean;
}

/** Answers `ping` within `timeoutMs`? */
export async function pingServer(socket: string, timeoutMs: number): Promise<boolean> {
  let client: ControlClient | null = null;
  try {
    client = await ControlClient.connect(socket, timeoutMs);
    return (await client.request(['ping'], timeoutMs)) === 'pong';
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the daemon; resolves once it answers ping. Rejects with a message when the daemon exits
 * first or does not answer within the timeout.
 */
export async function launchDaemon(o: LaunchOptions): Promise<void> {
  const [cmd, ...pre] = o.command;
  if (!cmd) throw new Error('no daemon command configured');
  if (o.foreground) {
    const child = spawn(cmd, [...pre, ...o.args], { stdio: 'inherit', env: o.env ?? process.env });
    const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 255)));
    if (code !== 0) throw new Error(`moatd exited with code ${code}`);
    return;
  }
  const child = spawn(cmd, [...pre, ...o.args], { detached: true, stdio: 'ignore', env: o.env ?? process.env });
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = signal ? `moatd was killed by ${signal}` : `moatd exited with code ${code}`;
  });
  child.once('error', (err) => {
    exited = `cannot run moatd: ${err.message}`;
  });
  child.unref();
  const deadline = Date.now() + o.timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${exited} before its socket answered (see its log)`);
    if ((await isSocketAlive(o.socket, 200)) && (await pingServer(o.socket, 1000))) return;
    await sleep(50);
  }
  throw new Error(`moatd did not answer on ${o.socket} within ${o.timeoutMs / 1000}s`);
}

/** Waits until nothing answers on the socket any more (restart). */
export async function waitForShutdown(socket: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isSocketAlive(socket, 200))) return true;
    await sleep(50);
  }
  return false;
}
