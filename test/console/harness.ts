/**
 * Runs the console app headless: blessed writes into a PassThrough that feeds a real terminal
 * emulator (@xterm/headless), and the screen is read back from the emulator's buffer.
 */
import { PassThrough } from 'node:stream';
import xterm from '@xterm/headless';
import { ConsoleApp, type SessionLike } from '../../src/console/app.ts';
import { ConsoleState } from '../../src/console/state.ts';
import type { ConnectionInfo } from '../../src/console/view.ts';
import type { Command } from '../../src/server/protocol.ts';

const { Terminal } = xterm;

type FakeTty = PassThrough & { isTTY: boolean; columns: number; rows: number; setRawMode: (b: boolean) => FakeTty };

function tty(cols: number, rows: number): FakeTty {
  const s = new PassThrough() as FakeTty;
  s.isTTY = true;
  s.columns = cols;
  s.rows = rows;
  s.setRawMode = () => s;
  return s;
}

/** A session stand-in: records requests, answers with `reply`. */
export class StubSession implements SessionLike {
  info: ConnectionInfo = { socket: '/run/moat/moat.sock', connected: true, error: null, retryIn: null, mode: 'full' };
  readonly requests: Command[] = [];
  reply: (cmd: Command) => Promise<unknown> = async () => 1;
  start(): void {}
  stop(): void {}
  refreshRetry(): void {}
  request(cmd: Command): Promise<unknown> {
    this.requests.push(cmd);
    return this.reply(cmd);
  }
}

export interface Harness {
  app: ConsoleApp;
  term: InstanceType<typeof Terminal>;
  session: StubSession;
  /** Draws a frame and returns the emulator's screen as lines (trailing blanks trimmed). */
  snapshot(): Promise<string>;
  resize(cols: number, rows: number): Promise<void>;
  close(): void;
}

export async function startHarness(opts: {
  cols: number;
  rows: number;
  state: ConsoleState;
  now: () => number;
  noColor?: boolean;
  terminal?: string;
  session?: StubSession;
}): Promise<Harness> {
  const input = tty(opts.cols, opts.rows);
  const output = tty(opts.cols, opts.rows);
  const term = new Terminal({ cols: opts.cols, rows: opts.rows, allowProposedApi: true });
  output.on('data', (d: Buffer) => term.write(d));
  const session = opts.session ?? new StubSession();
  const app = new ConsoleApp({
    input,
    output,
    terminal: opts.terminal ?? 'xterm-256color',
    noColor: opts.noColor ?? true,
    state: opts.state,
    session,
    now: opts.now,
    tickMs: 0,
  });
  app.start();
  const flush = async (): Promise<void> => {
    await new Promise((r) => setImmediate(r));
    await new Promise<void>((r) => term.write('', r));
  };
  return {
    app,
    term,
    session,
    async snapshot() {
      app.frame();
      await flush();
      const buf = term.buffer.active;
      const lines: string[] = [];
      for (let y = 0; y < term.rows; y++) {
        const line = buf.getLine(y);
        let inverse = false;
        if (line) for (let x = 0; x < term.cols; x++) if (line.getCell(x)?.isInverse()) inverse = true;
        // A leading '>' marks rows holding inverse cells (selection bars, the prompt cursor).
        lines.push(`${inverse ? '>' : ' '}${(line?.translateToString(true) ?? '')}`.trimEnd());
      }
      return lines.join('\n') + '\n';
    },
    async resize(cols, rows) {
      output.columns = cols;
      output.rows = rows;
      term.resize(cols, rows);
      output.emit('resize');
      await new Promise((r) => setTimeout(r, 350)); // blessed debounces resize (300 ms)
      await flush();
    },
    close() {
      app.destroy(0);
    },
  };
}
