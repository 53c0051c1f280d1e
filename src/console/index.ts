/**
 * `moat console`: full-screen operator console for moatd (blessed). See PROTOCOL.md for what it asks
 * the daemon. Entry point called by src/client/index.ts.
 */
import { ConsoleApp } from './app.ts';
import { ConsoleSession } from './session.ts';
import { ConsoleState } from './state.ts';

export interface RunConsoleOptions {
  socket: string;
  /** Words after `console`. */
  args: string[];
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

const USAGE = `Usage: moat [-s SOCKET] console

Full-screen live view of moatd: jails, failure counters, bans with countdowns, live report.
Keys: arrows/j k move, Tab pane, Enter detail, b ban, u unban, r reload, / filter, ? help, q quit.
Honours NO_COLOR. Needs a terminal of at least 80x24.
`;

/** Terminals blessed cannot drive. */
const INCAPABLE_TERMS = new Set(['', 'dumb', 'unknown']);

export async function runConsole(opts: RunConsoleOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  if (opts.args.includes('-h') || opts.args.includes('--help')) {
    output.write(USAGE);
    return 0;
  }
  if (opts.args.length > 0) {
    process.stderr.write(`ERROR   console: unexpected argument '${opts.args[0]}'\n${USAGE}`);
    return 255;
  }
  if (!input.isTTY || !output.isTTY) {
    process.stderr.write('ERROR   moat console needs a terminal (stdin and stdout must be a tty)\n');
    return 255;
  }
  const term = env.TERM ?? '';
  if (INCAPABLE_TERMS.has(term)) {
    process.stderr.write(`ERROR   moat console cannot drive TERM='${term}'; set TERM (e.g. xterm-256color, screen, linux)\n`);
    return 255;
  }

  const state = new ConsoleState();
  let app: ConsoleApp | null = null;
  const session = new ConsoleSession({ socket: opts.socket, state, onChange: () => app?.requestRender() });
  app = new ConsoleApp({
    input,
    output,
    terminal: term,
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
    state,
    session,
  });
  const current = app;

  // Signals: leave the terminal as we found it. blessed only handles a signal when it is the sole
  // listener, so with ours installed the shutdown is ours.
  const onSignal = (signal: NodeJS.Signals): void => current.destroy(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  for (const s of signals) process.on(s, onSignal);
  // A crash anywhere (a bug, an unhandled rejection) restores the terminal before the error prints.
  const onCrash = (err: unknown): void => {
    current.destroy(1);
    process.stderr.write(`moat console crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  try {
    app.start();
    return await app.done;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    input.pause?.();
  }
}
