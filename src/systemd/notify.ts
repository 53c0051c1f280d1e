/**
 * sd_notify without a hard native dependency: node core cannot send unix datagrams, so an
 * optional `unix-dgram` module is used when it is installed; otherwise `systemd-notify
 * --pid=<main pid>` relays the message (systemd ≥ 246 accepts it from root with NotifyAccess=all).
 * Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';

type DgramSocket = { send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void; close(): void };

export interface Notifier {
  readonly enabled: boolean;
  notify(message: string): void;
  /** Starts WATCHDOG=1 pings at half WATCHDOG_USEC, from the event loop (a wedged loop stops them). */
  startWatchdog(): void;
  stop(): void;
}

export function createNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const socketPath = env.NOTIFY_SOCKET;
  const watchdogUsec = Number(env.WATCHDOG_USEC ?? 0);
  const watchdogPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
  // children (actions) must not inherit these
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (!socketPath) {
    return { enabled: false, notify() {}, startWatchdog() {}, stop() {} };
  }
  let dgram: DgramSocket | null = null;
  if (!socketPath.startsWith('@')) {
    try {
      const require = createRequire(import.meta.url);
      const mod = require('unix-dgram') as { createSocket(type: string): DgramSocket };
      dgram = mod.createSocket('unix_dgram');
    } catch {
      dgram = null;
    }
  }
  let timer: NodeJS.Timeout | null = null;
  const send = (message: string) => {
    if (dgram) {
      const buf = Buffer.from(message);
      dgram.send(buf, 0, buf.length, socketPath, () => {});
      return;
    }
    const args = [`--pid=${process.pid}`];
    for (const line of message.split('\n')) if (line) args.push(line);
    execFile('systemd-notify', args, { env: { ...process.env, NOTIFY_SOCKET: socketPath } }, () => {});
  };
  return {
    enabled: true,
    notify: send,
    startWatchdog() {
      if (!watchdogUsec || watchdogPid !== process.pid || timer) return;
      const interval = Math.max(100, Math.floor(watchdogUsec / 2000));
      timer = setInterval(() => send('WATCHDOG=1'), interval);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      dgram?.close();
    },
  };
}
