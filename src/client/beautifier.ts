/**
 * Human output of `moat`, laid out exactly like fail2ban-client's (§6.3), so that
 * scripts and eyes used to fail2ban read the same text. The layout is chosen from
 * the command words, the text from the reply value. The returned string has no
 * trailing newline (the caller prints it as one line, like Python's print).
 */
import type { WireError } from '../server/protocol.ts';
import { pyRepr, pyStr } from './py-repr.ts';

const LEVEL_NAMES: Record<number, string> = {
  50: 'CRITICAL',
  40: 'ERROR',
  30: 'WARNING',
  25: 'NOTICE',
  20: 'INFO',
  18: 'MSG',
  10: 'DEBUG',
  7: 'TRACEDEBUG',
  5: 'HEAVYDEBUG',
  0: 'NOTSET',
};

const BRANCH = '|- ';
const LAST = '`- ';

/** `|- a` / `` `- b`` lines under a heading. */
function tree(items: readonly string[]): string {
  return items.map((item, i) => (i === items.length - 1 ? LAST : BRANCH) + item).join('\n');
}

/** Python's `" ".join(map(str, v))` for lists, str(v) otherwise. */
function statusValue(v: unknown): string {
  return Array.isArray(v) ? v.map(pyStr).join(' ') : pyStr(v);
}

function asPairs(v: unknown): [string, unknown][] {
  return Array.isArray(v) ? (v.filter((p) => Array.isArray(p) && p.length >= 2) as [string, unknown][]) : [];
}

function statusTree(cmd: readonly string[], result: unknown): string {
  if (cmd.length > 1) {
    const lines = [`Status for the jail: ${cmd[1]}`];
    const sections = asPairs(result);
    sections.forEach(([title, entries], n) => {
      const lastSection = n === sections.length - 1;
      lines.push(`${lastSection ? '`-' : '|-'} ${pyStr(title)}`);
      const indent = lastSection ? '   ' : '|  ';
      const rows = asPairs(entries);
      rows.forEach(([key, value], m) => {
        const mark = m === rows.length - 1 ? '`-' : '|-';
        lines.push(`${indent}${mark} ${pyStr(key)}:\t${statusValue(value)}`);
      });
    });
    return lines.join('\n');
  }
  const rows = asPairs(result);
  return ['Status', ...rows.map(([key, value], n) => `${n === rows.length - 1 ? '`-' : '|-'} ${pyStr(key)}:\t${statusValue(value)}`)].join(
    '\n',
  );
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Formats a successful reply for command `cmd` (the words as typed). */
export function beautify(cmd: readonly string[], result: unknown): string {
  const [c0, c1, c2] = cmd;
  switch (c0) {
    case 'ping':
      return `Server replied: ${pyStr(result)}`;
    case 'version':
      return pyStr(result);
    case 'start':
      return 'Jail started';
    case 'stop':
      if (result === null || result === undefined) return cmd.length === 1 ? 'Shutdown successful' : 'Jail stopped';
      return pyStr(result);
    case 'add':
      return `Added jail ${pyStr(result)}`;
    case 'flushlogs':
      return `logs: ${pyStr(result)}`;
    case 'echo':
      return list(result).map(pyStr).join(' ');
    case 'status':
      return statusTree(cmd, result);
  }
  if (cmd.length >= 2) {
    switch (c1) {
      case 'syslogsocket':
        return `Current syslog socket is:\n${LAST}${pyStr(result)}`;
      case 'logtarget':
        return `Current logging target is:\n${LAST}${pyStr(result)}`;
      case 'loglevel':
        return `Current logging level is ${pyRepr(typeof result === 'number' ? (LEVEL_NAMES[result] ?? `Level ${result}`) : result)}`;
      case 'dbfile':
        return result === null || result === undefined ? 'Database currently disabled' : `Current database file is:\n${LAST}${pyStr(result)}`;
      case 'dbpurgeage':
        return result === null || result === undefined
          ? 'Database currently disabled'
          : `Current database purge age is:\n${LAST}${Math.trunc(Number(result))}seconds`;
    }
  }
  if (cmd.length >= 3) {
    switch (c2) {
      case 'logpath':
      case 'addlogpath':
      case 'dellogpath': {
        const paths = list(result).map(pyStr);
        return paths.length === 0 ? 'No file is currently monitored' : `Current monitored log file(s):\n${tree(paths)}`;
      }
      case 'logencoding':
        return `Current log encoding is set to:\n${pyStr(result)}`;
      case 'journalmatch':
      case 'addjournalmatch':
      case 'deljournalmatch': {
        const groups = list(result);
        return groups.length === 0
          ? 'No journal match filter set'
          : `Current match filter:\n${groups.map((g) => list(g).map(pyStr).join(' ')).join(' + ')}`;
      }
      case 'datepattern': {
        const prefix = 'Current date pattern set to: ';
        if (result === null || result === undefined) return prefix + 'Not set/required';
        const [pattern, name] = list(result);
        return pattern === null || pattern === undefined ? prefix + pyStr(name) : `${prefix}${pyStr(pattern)} (${pyStr(name)})`;
      }
      case 'ignoreip':
      case 'addignoreip':
      case 'delignoreip': {
        const ips = list(result).map(pyStr);
        return ips.length === 0 ? 'No IP address/network is ignored' : `These IP addresses/networks are ignored:\n${tree(ips)}`;
      }
      case 'failregex':
      case 'addfailregex':
      case 'delfailregex':
      case 'ignoreregex':
      case 'addignoreregex':
      case 'delignoreregex': {
        if (!Array.isArray(result)) break; // multi-set answers True
        const regexes = result.map((r, i) => `[${i}]: ${pyStr(r)}`);
        return regexes.length === 0 ? 'No regular expression is defined' : `The following regular expression are defined:\n${tree(regexes)}`;
      }
      case 'actions': {
        const names = list(result).map(pyStr);
        return names.length === 0 ? `No actions for jail ${c1}` : `The jail ${c1} has the following actions:\n${names.join(', ')}`;
      }
      case 'actionproperties':
      case 'actionmethods': {
        const what = c2 === 'actionproperties' ? 'properties' : 'methods';
        const names = list(result).map(pyStr);
        return names.length === 0
          ? `No ${what} for jail ${c1} action ${cmd[3]}`
          : `The jail ${c1} action ${cmd[3]} has the following ${what}:\n${names.join(', ')}`;
      }
      case 'banip':
        if (c0 === 'get' && Array.isArray(result)) {
          const sep = cmd.length <= 3 ? ' ' : cmd[3] === '--with-time' ? '\n' : (cmd[3] as string);
          return result.map(pyStr).join(sep);
        }
        break;
    }
  }
  return pyStr(result);
}

/** What fail2ban-client prints on stdout for a failed command. */
export function beautifyError(error: WireError): string {
  switch (error.code) {
    case 'MOAT_ERR_UNKNOWN_JAIL':
      return typeof error.jail === 'string' ? `Sorry but the jail '${error.jail}' does not exist` : error.message;
    case 'MOAT_ERR_MISSING_ARGUMENT':
      return 'Sorry but the command is invalid';
    case 'MOAT_ERR_DUPLICATE_JAIL':
      return typeof error.jail === 'string' ? `The jail '${error.jail}' already exists` : error.message;
    default:
      return error.message;
  }
}
