/**
 * `moat -h`: options and the command catalogue. The command syntaxes are fail2ban-client's
 * (same 95 entries and section headings, §6.2) plus moat's own commands; descriptions are moat's.
 * Layout: 4-space indent, syntax padded to 41 columns, description wrapped at 34 columns.
 */
export const VERSION_COMPAT = '1.0.2';

type Entry = [syntax: string, description: string] | [heading: string];

export const COMMANDS: readonly Entry[] = [
  ['BASIC'],
  ['start', 'start moatd and its jails'],
  ['restart', 'stop moatd, then start it again'],
  ['restart [--unban] [--if-exists] <JAIL>', "fully restart <JAIL> (same as 'reload --restart ... <JAIL>')"],
  ['reload [--restart] [--unban] [--all]', 're-read the configuration and apply it without stopping moatd; --restart restarts the affected jails, --unban also lifts their bans'],
  ['reload [--restart] [--unban] [--if-exists] <JAIL>', 'reload the jail <JAIL>, or restart it with --restart'],
  ['stop', 'stop every jail and shut moatd down'],
  ['unban --all', 'lift every ban (all jails and the database)'],
  ['unban <IP> ... <IP>', 'lift the bans of <IP> (all jails and the database)'],
  ['banned', 'list the banned IPs of each jail'],
  ['banned <IP> ... <IP>]', 'for each <IP>, list the jails that ban it'],
  ['status', 'show the running jails'],
  ['ping', 'check that moatd answers'],
  ['echo', 'send words to moatd and print what comes back'],
  ['help', 'print this text'],
  ['version', 'print the version'],
  ['LOGGING'],
  ['set loglevel <LEVEL>', 'set the log level: CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG, TRACEDEBUG, HEAVYDEBUG or a number from 50 to 5'],
  ['get loglevel', 'show the log level'],
  ['set logtarget <TARGET>', 'log to STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL or a file'],
  ['get logtarget', 'show the log target'],
  ['set syslogsocket auto|<SOCKET>', 'syslog socket used when the target is SYSLOG'],
  ['get syslogsocket', 'show the syslog socket'],
  ['flushlogs', 'reopen the log file (after log rotation)'],
  ['DATABASE'],
  ['set dbfile <FILE>', 'use <FILE> as the ban database; "None" disables it'],
  ['get dbfile', 'show the ban database file'],
  ['set dbmaxmatches <INT>', 'matched lines stored per ban in the database'],
  ['get dbmaxmatches', 'show how many matched lines are stored per ban'],
  ['set dbpurgeage <SECONDS>', 'how long ban history is kept in the database'],
  ['get dbpurgeage', 'show how long ban history is kept'],
  ['JAIL CONTROL'],
  ['add <JAIL> <BACKEND>', 'create the jail <JAIL> reading logs with <BACKEND>'],
  ['start <JAIL>', 'start the jail <JAIL>'],
  ['stop <JAIL>', 'stop the jail <JAIL> and remove it'],
  ['status <JAIL> [FLAVOR]', 'show the counters of <JAIL>; FLAVOR is basic, short or cymru'],
  ['JAIL CONFIGURATION'],
  ['set <JAIL> idle on|off', 'pause or resume <JAIL>'],
  ['set <JAIL> ignoreself true|false', "whether the host's own addresses are ignored"],
  ['set <JAIL> addignoreip <IP>', 'never ban <IP> (address, network or name) in <JAIL>'],
  ['set <JAIL> delignoreip <IP>', 'remove <IP> from the ignore list of <JAIL>'],
  ['set <JAIL> ignorecommand <VALUE>', 'command deciding whether an IP is ignored'],
  ['set <JAIL> ignorecache <VALUE>', 'cache settings for ignorecommand results'],
  ["set <JAIL> addlogpath <FILE> ['tail']", "watch <FILE> in <JAIL>, from its start (default) or from its 'tail'"],
  ['set <JAIL> dellogpath <FILE>', 'stop watching <FILE> in <JAIL>'],
  ['set <JAIL> logencoding <ENCODING>', 'encoding of the log files of <JAIL>'],
  ['set <JAIL> addjournalmatch <MATCH>', 'add <MATCH> to the journal filter of <JAIL>'],
  ['set <JAIL> deljournalmatch <MATCH>', 'remove <MATCH> from the journal filter of <JAIL>'],
  ['set <JAIL> addfailregex <REGEX>', 'add a failure pattern to <JAIL>'],
  ['set <JAIL> delfailregex <INDEX>', 'remove the failure pattern number <INDEX>'],
  ['set <JAIL> addignoreregex <REGEX>', 'add a pattern whose lines <JAIL> never counts'],
  ['set <JAIL> delignoreregex <INDEX>', 'remove the ignore pattern number <INDEX>'],
  ['set <JAIL> findtime <TIME>', 'window in which failures are counted'],
  ['set <JAIL> bantime <TIME>', 'how long an IP stays banned'],
  ['set <JAIL> datepattern <PATTERN>', 'date format of the log lines of <JAIL>'],
  ['set <JAIL> usedns <VALUE>', 'DNS use for host names: yes, warn, no or raw'],
  ['set <JAIL> attempt <IP> [<failure1> ... <failureN>]', 'report a failure of <IP> by hand'],
  ['set <JAIL> banip <IP> ... <IP>', 'ban <IP> in <JAIL> now'],
  ['set <JAIL> unbanip [--report-absent] <IP> ... <IP>', 'lift the ban of <IP> in <JAIL>'],
  ['set <JAIL> maxretry <RETRY>', 'failures within findtime that lead to a ban'],
  ['set <JAIL> maxmatches <INT>', 'matched lines kept in memory per IP'],
  ['set <JAIL> maxlines <LINES>', 'lines buffered for multi-line patterns'],
  ['set <JAIL> addaction <ACT>[ <PYTHONFILE> <JSONKWARGS>]', 'add the action <ACT> to <JAIL> (Python actions are not supported by moat)'],
  ['set <JAIL> delaction <ACT>', 'remove the action <ACT> from <JAIL>'],
  ['COMMAND ACTION CONFIGURATION'],
  ['set <JAIL> action <ACT> actionstart <CMD>', 'command run when <ACT> starts'],
  ['set <JAIL> action <ACT> actionstop <CMD>', 'command run when <ACT> stops'],
  ['set <JAIL> action <ACT> actioncheck <CMD>', 'command checking that <ACT> is in place'],
  ['set <JAIL> action <ACT> actionban <CMD>', 'command that bans an IP'],
  ['set <JAIL> action <ACT> actionunban <CMD>', 'command that lifts a ban'],
  ['set <JAIL> action <ACT> timeout <TIMEOUT>', 'seconds an action command may run'],
  ['GENERAL ACTION CONFIGURATION'],
  ['set <JAIL> action <ACT> <PROPERTY> <VALUE>', 'set a property of the action <ACT>'],
  ['set <JAIL> action <ACT> <METHOD>[ <JSONKWARGS>]', 'call a method of the action <ACT>'],
  ['JAIL INFORMATION'],
  ['get <JAIL> banned', 'list the IPs banned in <JAIL>'],
  ['get <JAIL> banned <IP> ... <IP>]', '1 when <IP> is banned in <JAIL>, else 0 (a list for several IPs)'],
  ['get <JAIL> logpath', 'list the files watched by <JAIL>'],
  ['get <JAIL> logencoding', 'show the log encoding of <JAIL>'],
  ['get <JAIL> journalmatch', 'show the journal filter of <JAIL>'],
  ['get <JAIL> ignoreself', "show whether the host's own addresses are ignored"],
  ['get <JAIL> ignoreip', 'list the ignored addresses of <JAIL>'],
  ['get <JAIL> ignorecommand', 'show the ignorecommand of <JAIL>'],
  ['get <JAIL> failregex', 'list the failure patterns of <JAIL>'],
  ['get <JAIL> ignoreregex', 'list the ignore patterns of <JAIL>'],
  ['get <JAIL> findtime', 'show the findtime of <JAIL>'],
  ['get <JAIL> bantime', 'show the bantime of <JAIL>'],
  ['get <JAIL> datepattern', 'show the date pattern of <JAIL>'],
  ['get <JAIL> usedns', 'show the usedns setting of <JAIL>'],
  ['get <JAIL> banip [<SEP>|--with-time]', 'list the banned IPs of <JAIL> by end of ban, separated by <SEP> (default a space), or one per line with ban times (--with-time)'],
  ['get <JAIL> maxretry', 'show the maxretry of <JAIL>'],
  ['get <JAIL> maxmatches', 'show the maxmatches of <JAIL>'],
  ['get <JAIL> maxlines', 'show the maxlines of <JAIL>'],
  ['get <JAIL> actions', 'list the actions of <JAIL>'],
  ['COMMAND ACTION INFORMATION'],
  ['get <JAIL> action <ACT> actionstart', 'show the start command of <ACT>'],
  ['get <JAIL> action <ACT> actionstop', 'show the stop command of <ACT>'],
  ['get <JAIL> action <ACT> actioncheck', 'show the check command of <ACT>'],
  ['get <JAIL> action <ACT> actionban', 'show the ban command of <ACT>'],
  ['get <JAIL> action <ACT> actionunban', 'show the unban command of <ACT>'],
  ['get <JAIL> action <ACT> timeout', 'show the command timeout of <ACT>'],
  ['GENERAL ACTION INFORMATION'],
  ['get <JAIL> actionproperties <ACT>', 'list the properties of the action <ACT>'],
  ['get <JAIL> actionmethods <ACT>', 'list the methods of the action <ACT>'],
  ['get <JAIL> action <ACT> <PROPERTY>', 'show a property of the action <ACT>'],
  ['MOAT'],
  ['watch [type=<TYPES>] [jail=<JAILS>]', 'stream events (found, ban, unban, restore, jail.start, jail.stop, reload, log, error) until interrupted'],
  ['regex [OPTIONS] <LOG> <REGEX> [IGNOREREGEX]', 'test patterns against a log (like fail2ban-regex)'],
  ['console', 'full-screen live view of the jails'],
];

const INDENT = 4;
const MARGIN = 41;
const WIDTH = 34;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ' ' + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

export function formatCommandList(): string {
  const out: string[] = [];
  let first = true;
  for (const entry of COMMANDS) {
    if (entry.length === 1) {
      if (!first) out.push('');
      out.push(' '.repeat(INDENT) + entry[0]);
      first = false;
      continue;
    }
    const [syntax, description] = entry;
    const lines = wrap(description, WIDTH);
    if (syntax.length >= MARGIN) out.push(' '.repeat(INDENT) + syntax);
    else out.push(' '.repeat(INDENT) + syntax.padEnd(MARGIN) + (lines.shift() ?? ''));
    for (const l of lines) out.push(' '.repeat(INDENT + MARGIN) + l);
  }
  return out.join('\n');
}

export function usage(): string {
  return [
    'Usage: moat [OPTIONS] <COMMAND>',
    '',
    `moat ${VERSION_COMPAT}-compatible client of moatd, which reads log files, finds repeated failures`,
    'and bans the offending IP addresses with firewall rules.',
    '',
    'Options:',
    '    -c, --conf <DIR>        configuration directory (reads `socket` from moat.conf)',
    '    -s, --socket <FILE>     socket path (default /run/moat/moat.sock)',
    '    -p, --pidfile <FILE>    pidfile path (passed to moatd by `start`)',
    '    --loglevel <LEVEL>      logging level (passed to moatd by `start`)',
    '    --logtarget <TARGET>    logging target (passed to moatd by `start`)',
    '    --syslogsocket auto|<FILE>',
    '    -d                      dump the configuration as a command stream',
    '    --dp, --dump-pretty     dump the configuration, pretty-printed',
    '    -t, --test              test the configuration (can be combined with a command)',
    '    -i                      interactive mode',
    '    -v                      increase verbosity',
    '    -q                      decrease verbosity',
    '    -x                      force: remove a stale socket when starting moatd',
    '    --timeout <TIME>        how long to wait for the server (default 30s)',
    '    --str2sec <STRING>      convert a time abbreviation to seconds',
    '    --json                  print results as JSON',
    '    -h, --help              display this help message',
    '    -V, --version           print the version (-V prints the short form)',
    '',
    'Command:',
    formatCommandList(),
    '',
  ].join('\n');
}
