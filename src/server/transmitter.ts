/**
 * Command dispatcher: fail2ban's command words → DaemonApi calls → fail2ban's reply shapes (§6.2).
 *
 * Same command words, argument forms and return value shapes as fail2ban's server, so that
 * `moat` can print byte-identical output and scripts written for fail2ban-client keep working.
 * Replies that are Python tuples in fail2ban are JSON arrays here.
 *
 * "Quiet" mode (inside `server-stream` and `reload` streams): most `set` commands return null.
 */
import { time2str } from '../bans/format.ts';
import { InvalidArgumentError } from '../errors.ts';
import {
  BANTIME_EXTRA_OPTIONS,
  InvalidCommandError,
  MissingArgumentError,
  type DaemonApi,
  type JailScalarOption,
  type JailStatus,
  type ServerOption,
  type StatusFlavor,
} from './daemon-api.ts';
import type { Command, CommandWord } from './protocol.ts';

const SERVER_OPTIONS: readonly ServerOption[] = [
  'loglevel',
  'logtarget',
  'syslogsocket',
  'allowipv6',
  'thread',
  'dbfile',
  'dbmaxmatches',
  'dbpurgeage',
];

/** Jail options set from a string as given. */
const STRING_JAIL_OPTIONS = new Set<JailScalarOption>([
  'ignoreself',
  'ignorecommand',
  'ignorecache',
  'logencoding',
  'prefregex',
  'usedns',
  'findtime',
  'bantime',
  'datepattern',
  'logtimezone',
  ...BANTIME_EXTRA_OPTIONS.map((o) => `bantime.${o}` as const),
]);
const INT_JAIL_OPTIONS = new Set<JailScalarOption>(['maxretry', 'maxmatches', 'maxlines']);
/** Readable by `get JAIL opt`. */
const GETTABLE_JAIL_OPTIONS = new Set<string>([...STRING_JAIL_OPTIONS, ...INT_JAIL_OPTIONS, 'idle']);

/** Commands allowed on the read-only socket (they change nothing). */
const READ_ONLY_COMMANDS = new Set(['ping', 'version', 'echo', 'status', 'banned', 'get', 'server-status', 'console-state']);

export function isReadOnlyCommand(cmd: Command): boolean {
  return typeof cmd[0] === 'string' && READ_ONLY_COMMANDS.has(cmd[0]);
}

/** Python's str() of a command word (fail2ban passes values around as str). */
export function wordText(w: CommandWord): string {
  if (w === null) return 'None';
  if (w === true) return 'True';
  if (w === false) return 'False';
  if (Array.isArray(w)) return JSON.stringify(w);
  return String(w);
}

/** Words after position `from` as text. */
function rest(cmd: Command, from: number): string[] {
  return cmd.slice(from).map(wordText);
}

/** fail2ban answers a missing argument with IndexError; the client prints "Sorry but the command is invalid". */
function arg(cmd: Command, index: number, what: string): CommandWord {
  if (index >= cmd.length) {
    throw new MissingArgumentError(`missing ${what} in command '${cmd.map(wordText).join(' ')}'`);
  }
  return cmd[index] as CommandWord;
}

function textArg(cmd: Command, index: number, what: string): string {
  return wordText(arg(cmd, index, what));
}

/** Python int(): decimal integer, surrounding blanks allowed. */
export function parseIntArg(w: CommandWord, what: string): number {
  if (typeof w === 'number' && Number.isInteger(w)) return w;
  const text = wordText(w);
  if (!/^\s*[-+]?\d+(?:_\d+)*\s*$/.test(text)) {
    throw new InvalidArgumentError(`invalid literal for int() with base 10: '${text}' (${what})`);
  }
  return Number.parseInt(text.replace(/_/g, ''), 10);
}

function parseJsonArg(w: CommandWord, what: string): unknown {
  if (typeof w !== 'string') return w;
  try {
    return JSON.parse(w);
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

export type StatusPairs = [string, unknown][];

export function jailStatusPairs(status: JailStatus, flavor: StatusFlavor): [string, StatusPairs][] {
  const filter: StatusPairs = [
    ['Currently failed', status.filter.currentlyFailed],
    ['Total failed', status.filter.totalFailed],
  ];
  if (status.filter.journalMatches !== undefined) {
    filter.push(['Journal matches', [status.filter.journalMatches.map((m) => m.join(' ')).join(' + ')]]);
  } else {
    filter.push(['File list', status.filter.fileList ?? []]);
  }
  const actions: StatusPairs = [
    ['Currently banned', status.actions.currentlyBanned],
    ['Total banned', status.actions.totalBanned],
  ];
  if (flavor !== 'short') actions.push(['Banned IP list', status.actions.bannedIps]);
  if (flavor === 'cymru') {
    const c = status.actions.cymru ?? { asn: ['error'], country: ['error'], rir: ['error'] };
    actions.push(['Banned ASN list', c.asn], ['Banned Country list', c.country], ['Banned RIR list', c.rir]);
  }
  return [
    ['Filter', filter],
    ['Actions', actions],
  ];
}

export interface TransmitterOptions {
  /** Called for each command that failed (the daemon logs "Command [...] has failed. Received ..."). */
  onError?: (cmd: Command, err: unknown) => void;
}

export class Transmitter {
  readonly #api: DaemonApi;
  readonly #onError: ((cmd: Command, err: unknown) => void) | undefined;
  #quiet = 0;

  constructor(api: DaemonApi, opts: TransmitterOptions = {}) {
    this.#api = api;
    this.#onError = opts.onError;
  }

  /** Runs one command; throws MoatError (or the daemon's error) on failure. */
  async proceed(cmd: Command): Promise<unknown> {
    try {
      return await this.#dispatch(cmd);
    } catch (err) {
      this.#onError?.(cmd, err);
      throw err;
    }
  }

  /** Runs commands with set-replies suppressed, as fail2ban does for config streams. */
  async #runQuietly(stream: CommandWord): Promise<void> {
    if (!Array.isArray(stream)) throw new InvalidArgumentError('a command stream must be a list of commands');
    this.#quiet++;
    try {
      for (const sub of stream) {
        if (!Array.isArray(sub) || sub.length === 0) {
          throw new InvalidArgumentError(`stream entry must be a non-empty command list, got ${JSON.stringify(sub)}`);
        }
        await this.#dispatch(sub);
      }
    } finally {
      this.#quiet--;
    }
  }

  /** In quiet mode a set returns null instead of the new value. */
  async #quietly(read: () => unknown): Promise<unknown> {
    return this.#quiet > 0 ? null : await read();
  }

  async #dispatch(cmd: Command): Promise<unknown> {
    const api = this.#api;
    const name = cmd[0];
    switch (name) {
      case 'ping':
        return 'pong';
      case 'version':
        return api.version();
      case 'echo':
        return cmd.slice(1);
      case 'server-status':
        return 'Server ready';
      case 'console-state': {
        if (!this.#api.consoleState) throw new InvalidCommandError();
        const jail = cmd.length > 1 ? textArg(cmd, 1, 'jail name') : null;
        return await this.#api.consoleState(jail);
      }
      case 'add': {
        const jail = textArg(cmd, 1, 'jail name');
        if (jail === '--all') throw new InvalidArgumentError(`Reserved name '${jail}'`);
        const backend = cmd.length > 2 ? textArg(cmd, 2, 'backend') : 'auto';
        await api.addJail(jail, backend);
        return jail;
      }
      case 'start':
        await api.startJail(textArg(cmd, 1, 'jail name'));
        return null;
      case 'stop':
        if (cmd.length === 1) await api.shutdown();
        else if (cmd[1] === '--all') await api.stopAllJails();
        else await api.stopJail(textArg(cmd, 1, 'jail name'));
        return null;
      case 'status':
        return this.#status(cmd);
      case 'banned':
        if (cmd.length === 1) {
          const all = await api.bannedByJail();
          return all.map(({ jail, ips }) => ({ [jail]: ips }));
        }
        return Promise.all(rest(cmd, 1).map((ip) => api.jailsBanning(ip)));
      case 'unban': {
        if (cmd.length < 2) break; // fail2ban: bare `unban` is an invalid command
        const ips = rest(cmd, 1);
        if (ips.length === 1 && ips[0] === '--all') return api.unbanAll();
        return api.unbanEverywhere(ips);
      }
      case 'reload':
        return this.#reload(cmd);
      case 'server-stream':
        await this.#runQuietly(arg(cmd, 1, 'command stream'));
        return null;
      case 'sleep': {
        const seconds = Number(textArg(cmd, 1, 'seconds'));
        if (!Number.isFinite(seconds) || seconds < 0) throw new InvalidArgumentError(`invalid sleep time '${wordText(cmd[1] as CommandWord)}'`);
        await new Promise((r) => setTimeout(r, seconds * 1000));
        return null;
      }
      case 'flushlogs':
        return api.flushLogs();
      case 'config-error':
        await api.logConfigError(textArg(cmd, 1, 'message'));
        return null;
      case 'set':
        return this.#set(cmd.slice(1), false);
      case 'multi-set':
        return this.#set(cmd.slice(1), true);
      case 'get':
        return this.#get(cmd.slice(1));
    }
    throw new InvalidCommandError('Invalid command');
  }

  async #status(cmd: Command): Promise<unknown> {
    if (cmd.length === 1) {
      const jails = [...(await this.#api.jailNames())].sort();
      return [
        ['Number of jail', jails.length],
        ['Jail list', jails.join(', ')],
      ];
    }
    if (cmd.length > 3) throw new InvalidCommandError('Invalid command (no status)');
    const jail = textArg(cmd, 1, 'jail name');
    const requested = cmd.length === 3 ? textArg(cmd, 2, 'flavor') : 'basic';
    // Unknown flavors are served like "basic" (fail2ban only warns).
    const flavor: StatusFlavor = requested === 'short' || requested === 'cymru' ? requested : 'basic';
    return jailStatusPairs(await this.#api.jailStatus(jail, flavor), flavor);
  }

  async #reload(cmd: Command): Promise<unknown> {
    const target = textArg(cmd, 1, 'jail name or --all');
    const optWords = cmd.length > 2 ? arg(cmd, 2, 'options') : [];
    const opts = Array.isArray(optWords) ? optWords.map(wordText) : [wordText(optWords)];
    for (const o of opts) {
      if (o !== '--restart' && o !== '--unban' && o !== '--if-exists') {
        throw new InvalidArgumentError(`unknown reload option '${o}' (use --restart, --unban, --if-exists)`);
      }
    }
    const stream = cmd.length > 3 ? arg(cmd, 3, 'command stream') : [];
    if (!Array.isArray(stream)) throw new InvalidArgumentError('reload: the command stream must be a list');
    await this.#api.reload(target === '--all' ? null : target, {
      restart: opts.includes('--restart'),
      unban: opts.includes('--unban'),
      ifExists: opts.includes('--if-exists'),
      ...(stream.length > 0 ? { applyStream: () => this.#runQuietly(stream) } : {}),
    });
    return 'OK';
  }

  async #set(cmd: Command, multiple: boolean): Promise<unknown> {
    const api = this.#api;
    const first = textArg(cmd, 0, 'option or jail name');
    if ((SERVER_OPTIONS as readonly string[]).includes(first)) {
      const option = first as ServerOption;
      let value: CommandWord = arg(cmd, 1, 'value');
      if (option === 'thread') value = parseJsonLike(value);
      if (option === 'dbmaxmatches') value = parseIntArg(value, option);
      const result = await api.setServerOption(option, value);
      // dbfile None is reported even in quiet mode (fail2ban does the same).
      if (option === 'dbfile' && result === null) return null;
      return option === 'thread' ? result : this.#quietly(() => result);
    }
    const jail = first;
    const option = textArg(cmd, 1, 'jail option');
    switch (option) {
      case 'idle': {
        const v = textArg(cmd, 2, 'on|off');
        if (v !== 'on' && v !== 'off') throw new InvalidArgumentError("Invalid idle option, must be 'on' or 'off'");
        await api.setJailOption(jail, 'idle', v === 'on');
        return this.#quietly(() => api.getJailOption(jail, 'idle'));
      }
      case 'addignoreip':
        arg(cmd, 2, 'IP');
        for (const ip of rest(cmd, 2)) await api.addIgnoreIp(jail, ip);
        return this.#quietly(() => api.getIgnoreIps(jail));
      case 'delignoreip':
        await api.delIgnoreIp(jail, textArg(cmd, 2, 'IP'));
        return this.#quietly(() => api.getIgnoreIps(jail));
      case 'addlogpath': {
        const path = textArg(cmd, 2, 'file');
        let tail = false;
        if (cmd.length === 4) {
          const pos = textArg(cmd, 3, 'head|tail').toLowerCase();
          if (pos === 'tail') tail = true;
          else if (pos !== 'head') throw new InvalidArgumentError("File option must be 'head' or 'tail'");
        } else if (cmd.length > 4) {
          throw new InvalidArgumentError('Only one file can be added at a time');
        }
        await api.addLogPath(jail, path, tail);
        return this.#quietly(() => api.getLogPaths(jail));
      }
      case 'dellogpath':
        await api.delLogPath(jail, textArg(cmd, 2, 'file'));
        return this.#quietly(() => api.getLogPaths(jail));
      case 'addjournalmatch':
      case 'deljournalmatch': {
        arg(cmd, 2, 'match');
        const words = rest(cmd, 2);
        if (option === 'addjournalmatch') await api.addJournalMatch(jail, words);
        else await api.delJournalMatch(jail, words);
        return this.#quietly(() => api.getJournalMatches(jail));
      }
      case 'addfailregex':
      case 'addignoreregex': {
        const kind = option === 'addfailregex' ? 'fail' : 'ignore';
        const value = arg(cmd, 2, 'regex');
        const regexes = multiple && Array.isArray(value) ? value.map(wordText) : [wordText(value)];
        await api.addRegexes(jail, kind, regexes);
        if (multiple) return true;
        return this.#quietly(() => api.getRegexes(jail, kind));
      }
      case 'delfailregex':
      case 'delignoreregex': {
        const kind = option === 'delfailregex' ? 'fail' : 'ignore';
        await api.delRegex(jail, kind, parseIntArg(arg(cmd, 2, 'index'), 'index'));
        return this.#quietly(() => api.getRegexes(jail, kind));
      }
      case 'attempt': {
        const ip = textArg(cmd, 2, 'IP');
        if (this.#quiet > 0) return null;
        return api.attempt(jail, ip, rest(cmd, 3));
      }
      case 'banip':
        arg(cmd, 2, 'IP');
        return api.banIps(jail, rest(cmd, 2));
      case 'unbanip': {
        const reportAbsent = textArg(cmd, 2, 'IP') === '--report-absent';
        const ips = rest(cmd, reportAbsent ? 3 : 2);
        if (ips.length === 0) throw new MissingArgumentError(`missing IP in command 'set ${jail} unbanip'`);
        return api.unbanIps(jail, ips, reportAbsent);
      }
      case 'addaction': {
        const action = textArg(cmd, 2, 'action name');
        let name: string | void;
        if (cmd.length > 3) {
          const pyfile = textArg(cmd, 3, 'python file');
          const kwargs = cmd.length > 4 ? parseJsonArg(arg(cmd, 4, 'JSON kwargs'), 'action kwargs') : {};
          name = await api.addAction(jail, action, pyfile, kwargs);
        } else {
          name = await api.addAction(jail, action);
        }
        return this.#quietly(() => name ?? action);
      }
      case 'delaction':
        await api.delAction(jail, textArg(cmd, 2, 'action name'));
        return null;
      case 'action':
        return this.#setAction(jail, cmd, multiple);
    }
    if (INT_JAIL_OPTIONS.has(option as JailScalarOption)) {
      const o = option as JailScalarOption;
      await api.setJailOption(jail, o, parseIntArg(arg(cmd, 2, 'value'), option));
      return this.#quietly(() => api.getJailOption(jail, o));
    }
    if (STRING_JAIL_OPTIONS.has(option as JailScalarOption)) {
      const o = option as JailScalarOption;
      await api.setJailOption(jail, o, textArg(cmd, 2, 'value'));
      return this.#quietly(() => api.getJailOption(jail, o));
    }
    throw new InvalidCommandError(`Invalid command '${option}' (no set action or not yet implemented)`);
  }

  async #setAction(jail: string, cmd: Command, multiple: boolean): Promise<unknown> {
    const api = this.#api;
    const action = textArg(cmd, 2, 'action name');
    const methods = new Set(await api.actionMethods(jail, action));
    const apply = async (key: string, value: CommandWord | undefined): Promise<unknown> => {
      if (methods.has(key)) {
        const kwargs = value === undefined ? {} : parseJsonArg(value, `kwargs of ${key}`);
        if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
          throw new InvalidArgumentError(`kwargs of action method '${key}' must be a JSON object`);
        }
        return api.callActionMethod(jail, action, key, kwargs as Record<string, unknown>);
      }
      if (value === undefined) throw new MissingArgumentError(`missing value for action property '${key}'`);
      await api.setActionProperty(jail, action, key, value);
      return api.getActionProperty(jail, action, key);
    };
    if (multiple) {
      const pairs = arg(cmd, 3, 'list of [property, value]');
      if (!Array.isArray(pairs)) throw new InvalidArgumentError('multi-set action expects a list of [property, value]');
      for (const pair of pairs) {
        if (!Array.isArray(pair) || pair.length === 0) {
          throw new InvalidArgumentError(`multi-set action entry must be [property, value], got ${JSON.stringify(pair)}`);
        }
        await apply(wordText(pair[0] as CommandWord), pair[1]);
      }
      return true;
    }
    const key = textArg(cmd, 3, 'action property or method');
    if (methods.has(key)) {
      if (this.#quiet > 0) return null;
      return apply(key, cmd[4]);
    }
    arg(cmd, 4, 'value');
    const result = await apply(key, cmd[4]);
    return this.#quiet > 0 ? null : result;
  }

  async #get(cmd: Command): Promise<unknown> {
    const api = this.#api;
    const first = textArg(cmd, 0, 'option or jail name');
    if ((SERVER_OPTIONS as readonly string[]).includes(first) && first !== 'allowipv6') {
      return api.getServerOption(first as ServerOption);
    }
    const jail = first;
    const option = textArg(cmd, 1, 'jail option');
    switch (option) {
      case 'banned': {
        if (cmd.length === 2) return api.bannedIn(jail);
        const ips = rest(cmd, 2);
        const flags = await Promise.all(ips.map(async (ip) => ((await api.isBannedIn(jail, ip)) ? 1 : 0)));
        return flags.length === 1 ? flags[0] : flags;
      }
      case 'logpath':
        return api.getLogPaths(jail);
      case 'journalmatch':
        return api.getJournalMatches(jail);
      case 'ignoreip':
        return api.getIgnoreIps(jail);
      case 'failregex':
        return api.getRegexes(jail, 'fail');
      case 'ignoreregex':
        return api.getRegexes(jail, 'ignore');
      case 'banip': {
        const withTime = cmd.length > 2 && cmd[2] === '--with-time';
        const list = await api.banList(jail);
        if (!withTime) return list.map((e) => e.ip);
        return list.map((e) => {
          const end = e.bantime < 0 ? Infinity : e.start + e.bantime;
          return `${e.ip} \t${time2str(e.start)} + ${Math.trunc(e.bantime)} = ${time2str(end)}`;
        });
      }
      case 'actions':
        return api.actionNames(jail);
      case 'action':
        return api.getActionProperty(jail, textArg(cmd, 2, 'action name'), textArg(cmd, 3, 'action property'));
      case 'actionproperties':
        return api.actionProperties(jail, textArg(cmd, 2, 'action name'));
      case 'actionmethods':
        return api.actionMethods(jail, textArg(cmd, 2, 'action name'));
    }
    if (GETTABLE_JAIL_OPTIONS.has(option)) return api.getJailOption(jail, option as JailScalarOption);
    throw new InvalidCommandError('Invalid command (no get action or not yet implemented)');
  }
}

/** `set thread {...}`: the dump sends a dict; over the wire it may come as a JSON string. */
function parseJsonLike(w: CommandWord): CommandWord {
  if (typeof w !== 'string') return w;
  try {
    return JSON.parse(w) as CommandWord;
  } catch {
    return w;
  }
}
