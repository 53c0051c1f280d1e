/**
 * sd_notify without a hard native dependency. Node core cannot send unix datagrams, so:
 *  1. the optional `unix-dgram` module is used when it is installed (path sockets only);
 *  2. otherwise `systemd-notify --pid=<our pid> MSG...` relays each message. As root it sends
 *     SCM_CREDENTIALS naming our pid, so systemd attributes the message to the main process
 *     (NotifyAccess=all in moat.service covers the unprivileged case). It also handles abstract
 *     (`@name`) sockets, which unix-dgram cannot.
 * Messages go out one at a time, in order: a READY=1 overtaking its RELOADING=1 would leave the
 * unit "reloading" forever. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';

type DgramSocket = {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  close(): void;
};

export interface Notifier {
  readonly enabled: boolean;
  /** `systemd-notify` or `unix-dgram`; null when disabled. */
  readonly transport: 'systemd-notify' | 'unix-dgram' | null;
  /** Queues one notification ("KEY=value" lines separated by \n). */
  notify(message: string): void;
  /** Starts WATCHDOG=1 pings at half WATCHDOG_USEC, from the event loop (a wedged loop stops them). */
  startWatchdog(): void;
  /** Stops the watchdog; resolves once every queued message has been handed to systemd. */
  stop(): Promise<void>;
}

export interface NotifierOptions {
  /** Program used when unix-dgram is missing (tests point it elsewhere). */
  systemdNotify?: string;
  /** Set false to ignore an installed unix-dgram module. */
  useUnixDgram?: boolean;
}

/**
 * Reads NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID from `env` and removes them, so firewall
 * actions started later do not inherit them and talk to systemd on our behalf.
 */
export function createNotifier(env: NodeJS.ProcessEnv = process.env, opts: NotifierOptions = {}): Notifier {
  const socketPath = env.NOTIFY_SOCKET;
  const watchdogUsec = Number(env.WATCHDOG_USEC ?? 0);
  const watchdogPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (!socketPath) {
    return { enabled: false, transport: null, notify() {}, startWatchdog() {}, stop: async () => {} };
  }
  const dgram = opts.useUnixDgram === false || socketPath.startsWith('@') ? null : loadUnixDgram();
  const program = opts.systemdNotify ?? 'systemd-notify';

  const sendOne = (message: string): Promise<void> =>
    new Promise((resolve) => {
      if (dgram) {
        const buf = Buffer.from(message);
        dgram.send(buf, 0, buf.length, socketPath, () => resolve());
        return;
      }
      const args = [`--pid=${process.pid}`, ...message.split('\n').filter(Boolean)];
      // failures are not fatal: a daemon must run on even if systemd stopped listening
      execFile(program, args, { env: { ...process.env, NOTIFY_SOCKET: socketPath }, timeout: 10_000 }, () => resolve());
    });

  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const notify = (message: string) => {
    chain = chain.then(() => sendOne(message));
  };
  return {
    enabled: true,
    transport: dgram ? 'unix-dgram' : 'systemd-notify',
    notify,
    startWatchdog() {
      if (!watchdogUsec || watchdogPid !== process.pid || timer) return;
      const interval = Math.max(100, Math.floor(watchdogUsec / 2000));
      timer = setInterval(() => notify('WATCHDOG=1'), interval);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await chain;
      dgram?.close();
    },
  };
}

function loadUnixDgram(): DgramSocket | null {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('unix-dgram') as { createSocket(type: string): DgramSocket };
    return mod.createSocket('unix_dgram');
  } catch {
    return null;
  }
}
