/**
 * `moat` command line (§6.6): fail2ban-client's options, getopt style — options come first,
 * the first word that is not an option starts the command (so `set sshd addfailregex -x`
 * keeps its `-x`). Short options can be bundled (`-vvx`) and take values attached or next.
 */
import { UsageError } from '../errors.ts';

export const DEFAULT_SOCKET = '/run/moat/moat.sock';

export interface ClientOptions {
  conf: string | null;
  socket: string | null;
  pidfile: string | null;
  loglevel: string | null;
  logtarget: string | null;
  syslogsocket: string | null;
  dump: boolean;
  dumpPretty: boolean;
  test: boolean;
  interactive: boolean;
  verbose: number;
  force: boolean;
  foreground: boolean;
  /** Seconds to wait for the server (start) and for replies. */
  timeout: string | null;
  str2sec: string | null;
  help: boolean;
  /** 'short' = -V, 'long' = --version. */
  version: 'short' | 'long' | null;
  json: boolean;
  command: string[];
}

// defined with the other typed errors; re-exported for the client's callers
export { UsageError };

/** Short options; true = takes a value. */
const SHORT: Record<string, boolean> = {
  h: false, c: true, s: true, p: true, x: false, f: false, b: false, d: false, t: false, v: false, i: false, q: false, V: false,
};

const LONG_WITH_VALUE = new Set(['conf', 'socket', 'pidfile', 'pname', 'loglevel', 'logtarget', 'syslogsocket', 'timeout', 'str2sec']);
const LONG_FLAGS = new Set(['test', 'async', 'dp', 'dump-pretty', 'help', 'version', 'json']);
/** Commands whose words after them are theirs, `--json` included. */
const OWN_WORDS = new Set(['echo', 'regex', 'console']);

export function parseClientArgs(argv: readonly string[]): ClientOptions {
  const o: ClientOptions = {
    conf: null, socket: null, pidfile: null, loglevel: null, logtarget: null, syslogsocket: null,
    dump: false, dumpPretty: false, test: false, interactive: false, verbose: 1, force: false, foreground: false,
    timeout: null, str2sec: null, help: false, version: null, json: false, command: [],
  };
  const apply = (name: string, value: string | null): void => {
    switch (name) {
      case 'h': case 'help': o.help = true; break;
      case 'c': case 'conf': o.conf = value; break;
      case 's': case 'socket': o.socket = value; break;
      case 'p': case 'pidfile': o.pidfile = value; break;
      case 'x': o.force = true; break;
      case 'f': o.foreground = true; break;
      case 'b': o.foreground = false; break;
      case 'd': o.dump = true; break;
      case 'dp': case 'dump-pretty': o.dump = true; o.dumpPretty = true; break;
      case 't': case 'test': o.test = true; break;
      case 'v': o.verbose++; break;
      case 'q': o.verbose--; break;
      case 'i': o.interactive = true; break;
      case 'V': o.version = 'short'; break;
      case 'version': o.version = 'long'; break;
      case 'json': o.json = true; break;
      case 'loglevel': o.loglevel = value; break;
      case 'logtarget': o.logtarget = value; break;
      case 'syslogsocket': o.syslogsocket = value; break;
      case 'timeout': o.timeout = value; break;
      case 'str2sec': o.str2sec = value; break;
      case 'pname': case 'async': break; // server-side options, accepted for compatibility
    }
  };
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      if (LONG_WITH_VALUE.has(name)) {
        let value: string;
        if (eq >= 0) value = arg.slice(eq + 1);
        else {
          if (i + 1 >= argv.length) throw new UsageError(`option --${name} requires argument`);
          value = argv[++i] as string;
        }
        apply(name, value);
      } else if (LONG_FLAGS.has(name)) {
        if (eq >= 0) throw new UsageError(`option --${name} must not have an argument`);
        apply(name, null);
      } else {
        throw new UsageError(`option --${name} not recognized`);
      }
      i++;
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const ch = arg[k] as string;
        if (!(ch in SHORT)) throw new UsageError(`option -${ch} not recognized`);
        if (SHORT[ch]) {
          let value = arg.slice(k + 1);
          if (value === '') {
            if (i + 1 >= argv.length) throw new UsageError(`option -${ch} requires argument`);
            value = argv[++i] as string;
          }
          apply(ch, value);
          break;
        }
        apply(ch, null);
      }
      i++;
      continue;
    }
    break;
  }
  o.command = argv.slice(i);
  // `moat status sshd --json` is how people type it: a last word `--json` is moat's option, not an
  // argument for the server (no fail2ban command takes it); echo's words are its reply, and regex and
  // console read their own options
  if (o.command.length > 1 && o.command[o.command.length - 1] === '--json' && !OWN_WORDS.has(o.command[0]!)) {
    o.command.pop();
    o.json = true;
  }
  return o;
}
