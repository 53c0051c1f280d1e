/**
 * `moat`: the command-line client of moatd (fail2ban-client compatible, §6).
 *
 * runClient(argv) parses the options, handles what needs no server (-h, -V, --str2sec, -d, -t),
 * the commands the client drives itself (start, restart, reload, watch, -i) and sends everything
 * else to the daemon as fail2ban command words, printing replies like fail2ban-client (or as JSON
 * with --json). Exit status: 0 on success, 255 on any failure, with one line on stderr.
 */
import { createInterface } from 'node:readline';
import { time2str } from '../bans/format.ts';
import { MoatError } from '../errors.ts';
import type { LoadedConfig } from '../config/types.ts';
import { shellSplit } from '../config/shlex.ts';
import { parseTimeValue } from '../config/time-value.ts';
import type { StreamEvent } from '../server/events.ts';
import type { Command, WireError } from '../server/protocol.ts';
import { defaultConfigDir, MOAT_VERSION } from '../version.ts';
import { beautify, beautifyError } from './beautifier.ts';
import { configStream, dumpStream, dumpStreamPretty } from './config-stream.ts';
import { CommandFailedError, ControlClient } from './connection.ts';
import { defaultDaemonCommand, launchDaemon, pingServer, waitForShutdown } from './daemon-launcher.ts';
import { usage, VERSION_COMPAT } from './help.ts';
import { DEFAULT_SOCKET, parseClientArgs, type ClientOptions } from './options.ts';
import { pyFloatRepr } from './py-repr.ts';

export interface ClientIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env?: NodeJS.ProcessEnv;
  /** Interactive mode input/output (default process.stdin/stdout). */
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** argv launching moatd (default: this install's bin/moatd with the same node). */
  daemonCommand?: string[];
  /** Config loader (default: src/config's loadConfig). */
  loadConfig?: (dir: string) => LoadedConfig | Promise<LoadedConfig>;
  /** Resolves to stop a `watch` (default: SIGINT/SIGTERM). */
  stopSignal?: Promise<void>;
}

const processIo: ClientIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

const FAILURE = 255;

/** Loads src/config lazily: most commands never need it. */
async function defaultLoadConfig(dir: string): Promise<LoadedConfig> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const specifier = new URL(`../config/index${ext}`, import.meta.url).href;
  const mod = (await import(specifier)) as { loadConfig: (d: string) => LoadedConfig };
  return mod.loadConfig(dir);
}

class Session {
  readonly o: ClientOptions;
  readonly io: ClientIo;
  #config: LoadedConfig | null = null;

  constructor(o: ClientOptions, io: ClientIo) {
    this.o = o;
    this.io = io;
  }

  out(text: string): void {
    this.io.stdout(text + '\n');
  }

  /** The one stderr line of a failure. */
  fail(message: string): number {
    this.io.stderr(`ERROR   ${message}\n`);
    return FAILURE;
  }

  get confDir(): string {
    return this.o.conf ?? defaultConfigDir();
  }

  async config(): Promise<LoadedConfig> {
    if (!this.#config) this.#config = await (this.io.loadConfig ?? defaultLoadConfig)(this.confDir);
    return this.#config;
  }

  /** -s, else `socket` of the config given with -c, else /run/moat/moat.sock. */
  async socketPath(): Promise<string> {
    if (this.o.socket) return this.o.socket;
    if (this.o.conf) return (await this.config()).daemon.socket || DEFAULT_SOCKET;
    return DEFAULT_SOCKET;
  }

  /** --timeout in ms, or `fallback` when not given. */
  timeoutMs(fallback: number): number {
    if (this.o.timeout === null) return fallback;
    return parseTimeValue(this.o.timeout) * 1000;
  }

  /** Sends one command and prints its reply. */
  async send(words: string[], cmd: Command = words, timeoutMs = this.timeoutMs(0)): Promise<number> {
    const socket = await this.socketPath();
    let client: ControlClient;
    try {
      client = await ControlClient.connect(socket, this.timeoutMs(30_000));
    } catch (err) {
      return this.fail((err as Error).message);
    }
    try {
      const result = await client.request(cmd, timeoutMs);
      this.out(this.o.json ? JSON.stringify(result ?? null) : beautify(words, result));
      return 0;
    } catch (err) {
      if (err instanceof CommandFailedError) return this.printNok(err.wire);
      return this.fail((err as Error).message);
    } finally {
      client.close();
    }
  }

  printNok(error: WireError): number {
    if (this.o.json) this.out(JSON.stringify({ error }));
    else this.out(beautifyError(error));
    return this.fail(`NOK: ${error.message} [${error.code}]`);
  }

  async run(words: string[]): Promise<number> {
    const [name, ...args] = words;
    switch (name) {
      case undefined:
        this.io.stdout(usage());
        return FAILURE;
      case 'help':
        this.io.stdout(usage());
        return 0;
      case 'start':
        return args.length === 0 ? this.start() : this.send(words);
      case 'restart':
        return args.length === 0 ? this.restart() : this.reload(args, true);
      case 'reload':
        return this.reload(args, false);
      case 'watch':
        return this.watch(args);
      case 'ping': {
        const seconds = args[0] !== undefined ? parseTimeValue(args[0]) : null;
        return this.send(words, ['ping'], seconds !== null ? seconds * 1000 : this.timeoutMs(0));
      }
      case 'regex': {
        const mod = (await import('../cli/regex.ts')) as { runRegex: (argv: string[]) => Promise<number> };
        return mod.runRegex(args);
      }
      case 'console': {
        const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
        const mod = (await import(new URL(`../console/index${ext}`, import.meta.url).href)) as {
          runConsole: (opts: { socket: string; args: string[] }) => Promise<number>;
        };
        return mod.runConsole({ socket: await this.socketPath(), args });
      }
      default:
        return this.send(words);
    }
  }

  async start(): Promise<number> {
    const socket = await this.socketPath();
    if (await pingServer(socket, 1000)) return this.fail('Server already running');
    try {
      const cfg = await this.config();
      for (const e of cfg.errors) this.io.stderr(`ERROR   ${e.message}\n`);
    } catch (err) {
      return this.fail(`Failed during configuration: ${(err as Error).message}`);
    }
    const args = ['-c', this.confDir, '-s', socket];
    if (this.o.pidfile) args.push('-p', this.o.pidfile);
    if (this.o.force) args.push('-x');
    if (this.o.foreground) args.push('-f');
    if (this.o.loglevel) args.push('--loglevel', this.o.loglevel);
    if (this.o.logtarget) args.push('--logtarget', this.o.logtarget);
    if (this.o.syslogsocket) args.push('--syslogsocket', this.o.syslogsocket);
    for (let v = this.o.verbose; v > 1; v--) args.push('-v');
    try {
      await launchDaemon({
        command: this.io.daemonCommand ?? defaultDaemonCommand(),
        args,
        socket,
        timeoutMs: this.timeoutMs(30_000),
        foreground: this.o.foreground,
        ...(this.io.env ? { env: this.io.env } : {}),
      });
    } catch (err) {
      return this.fail(`Could not start moatd: ${(err as Error).message}`);
    }
    if (this.o.foreground) return 0;
    return this.send(['server-status']);
  }

  async restart(): Promise<number> {
    const socket = await this.socketPath();
    if (await pingServer(socket, 1000)) {
      const code = await this.send(['stop']);
      if (code !== 0) return code;
      if (!(await waitForShutdown(socket, this.timeoutMs(30_000)))) return this.fail('moatd did not stop in time');
    }
    return this.start();
  }

  /** `reload [--restart] [--unban] [--if-exists] [JAIL|--all]`; restart=true for `restart ... JAIL`. */
  async reload(args: string[], restart: boolean): Promise<number> {
    const opts: string[] = restart ? ['--restart'] : [];
    let target: string | null = null;
    for (const a of args) {
      if (a === '--restart' || a === '--unban' || a === '--if-exists') {
        if (!opts.includes(a)) opts.push(a);
      } else if (a === '--all' || !a.startsWith('-')) {
        if (target !== null) return this.fail(`reload: only one jail can be given (got '${target}' and '${a}')`);
        target = a;
      } else {
        return this.fail(`reload: unknown option '${a}'`);
      }
    }
    const socket = await this.socketPath();
    if (!(await pingServer(socket, 1000))) return this.fail('Could not find server');
    return this.send(['reload', ...args], ['reload', target ?? '--all', opts, []]);
  }

  async watch(filters: string[]): Promise<number> {
    const socket = await this.socketPath();
    let client: ControlClient;
    try {
      client = await ControlClient.connect(socket, this.timeoutMs(30_000));
    } catch (err) {
      return this.fail((err as Error).message);
    }
    try {
      await client.watch(filters, (e) => this.out(this.o.json ? JSON.stringify(e) : formatEvent(e)));
    } catch (err) {
      client.close();
      if (err instanceof CommandFailedError) return this.printNok(err.wire);
      return this.fail((err as Error).message);
    }
    const stop = this.io.stopSignal ?? signalled();
    await Promise.race([stop, client.closed()]);
    client.close();
    return 0;
  }

  async dump(): Promise<number> {
    let cfg: LoadedConfig;
    try {
      cfg = await this.config();
    } catch (err) {
      return this.fail(`Failed during configuration: ${(err as Error).message}`);
    }
    const stream = configStream(cfg);
    for (const w of stream.warnings) this.io.stderr(`WARNING ${w}\n`);
    for (const e of cfg.errors) this.io.stderr(`ERROR   ${e.message}\n`);
    this.io.stdout(this.o.dumpPretty ? dumpStreamPretty(stream.commands) : dumpStream(stream.commands));
    return 0;
  }

  async testConfig(): Promise<number> {
    let cfg: LoadedConfig;
    try {
      cfg = await this.config();
    } catch (err) {
      this.io.stderr(`ERROR   ${(err as Error).message}\n`);
      return this.fail('test configuration failed');
    }
    const stream = configStream(cfg);
    for (const w of stream.warnings) this.io.stderr(`ERROR   ${w}\n`);
    for (const e of cfg.errors) this.io.stderr(`ERROR   ${e.message}\n`);
    if (cfg.errors.length > 0 || stream.warnings.some((w) => w.startsWith('Have not found any log file'))) {
      return this.fail('test configuration failed');
    }
    this.out('OK: configuration test is successful');
    return 0;
  }

  async interactive(): Promise<number> {
    const rl = createInterface({
      input: this.io.input ?? process.stdin,
      output: this.io.output ?? process.stdout,
      prompt: 'moat> ',
      terminal: (this.io.output ?? process.stdout) === process.stdout && process.stdout.isTTY === true,
    });
    rl.prompt();
    for await (const line of rl) {
      let words: string[];
      try {
        words = shellSplit(line);
      } catch (err) {
        this.io.stderr(`ERROR   ${(err as Error).message}\n`);
        rl.prompt();
        continue;
      }
      if (words[0] === 'exit' || words[0] === 'quit') break;
      if (words.length > 0) {
        if (words[0] === 'start' && words.length === 1) await this.start();
        else await this.run(words);
      }
      rl.prompt();
    }
    rl.close();
    return 0;
  }
}

function signalled(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

/** One human line per event: `TIME TYPE [JAIL] details`. */
export function formatEvent(e: StreamEvent): string {
  switch (e.type) {
    case 'overflow':
      return `-- ${e.dropped} event(s) dropped: this client read too slowly --`;
    case 'found':
      return `${time2str(e.time)} found   [${e.jail}] ${e.ip} (${e.failures} failure(s))`;
    case 'ban':
    case 'restore':
      return `${time2str(e.time)} ${e.type.padEnd(7)} [${e.jail}] ${e.ip} for ${e.bantime < 0 ? 'ever' : `${e.bantime}s`} (ban #${e.banCount})`;
    case 'unban':
      return `${time2str(e.time)} unban   [${e.jail}] ${e.ip} (${e.reason})`;
    case 'jail.start':
    case 'jail.stop':
      return `${time2str(e.time)} ${e.type} [${e.jail}]`;
    case 'reload':
      return `${time2str(e.time)} reload  ${e.jail === null ? 'all jails' : `[${e.jail}]`} ${e.phase}`;
    case 'log':
      return `${time2str(e.time)} ${e.logger} ${e.level.padEnd(7)} ${e.message}`;
    case 'error':
      return `${time2str(e.time)} error   ${e.jail ? `[${e.jail}] ` : ''}${e.message} (${e.code})`;
  }
}

export async function runClient(argv: string[], io: ClientIo = processIo): Promise<number> {
  let o: ClientOptions;
  try {
    o = parseClientArgs(argv);
  } catch (err) {
    io.stdout(usage());
    io.stderr(`ERROR   ${(err as Error).message}\n`);
    return FAILURE;
  }
  const s = new Session(o, io);
  try {
    if (o.help) {
      io.stdout(usage());
      return 0;
    }
    if (o.version) {
      s.out(o.version === 'short' ? MOAT_VERSION : `moat v${MOAT_VERSION} (fail2ban ${VERSION_COMPAT} compatible)`);
      return 0;
    }
    if (o.str2sec !== null) {
      s.out(pyFloatRepr(parseTimeValue(o.str2sec)));
      return 0;
    }
    if (o.dump) return await s.dump();
    if (o.test) {
      const code = await s.testConfig();
      if (code !== 0 || o.command.length === 0) return code;
    }
    if (o.interactive) return await s.interactive();
    return await s.run(o.command);
  } catch (err) {
    if (err instanceof MoatError || err instanceof Error) return s.fail(err.message);
    return s.fail(String(err));
  }
}
