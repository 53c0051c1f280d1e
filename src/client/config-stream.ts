/**
 * LoadedConfig → fail2ban's configuration command stream (§1.9, §1.10, §6.7): what
 * `moat -d` prints and what a fail2ban-style `server-stream` / `reload` would carry.
 *
 * Order: global settings, then per jail `add`, filter-derived commands, the jail's own
 * options, log paths, actions; `config-error` for broken jails; finally one `start` per jail.
 * Differences from fail2ban (the reader hands us parsed values): time values are sent in
 * seconds (600, not '10m'), ignore lists/caches in their parsed form.
 */
import type { Command, CommandWord } from '../server/protocol.ts';
import type { ActionDefinition, JailDefinition, LoadedConfig } from '../config/types.ts';
import { ACTION_COMMANDS, DEFAULT_ACTION_TIMEOUT, DEFAULT_BANTIME_FORMULA } from '../config/types.ts';
import { expandGlob } from '../sources/glob.ts';
import { pyRepr } from './py-repr.ts';

export interface ConfigStream {
  commands: Command[];
  /** Messages for stderr (missing log files...). */
  warnings: string[];
}

export interface ConfigStreamOptions {
  /** Expand log globs against the file system (default true). Off: the globs are sent as written. */
  expandLogPaths?: boolean;
}

export function globalCommands(cfg: LoadedConfig): Command[] {
  const d = cfg.daemon;
  const out: Command[] = [
    ['set', 'syslogsocket', d.syslogsocket],
    ['set', 'loglevel', d.loglevel],
    ['set', 'logtarget', d.logtarget],
    ['set', 'allowipv6', d.allowipv6 === 'auto' ? 'auto' : d.allowipv6 ? 'yes' : 'no'],
    ['set', 'dbfile', d.dbfile ?? 'None'],
  ];
  if (d.dbmaxmatches !== null) out.push(['set', 'dbmaxmatches', d.dbmaxmatches]);
  out.push(['set', 'dbpurgeage', d.dbpurgeage]);
  return out;
}

function backendText(jail: JailDefinition): string {
  const opts = Object.entries(jail.backendOptions ?? {});
  if (opts.length === 0) return jail.backend;
  return `${jail.backend}[${opts.map(([k, v]) => `${k}=${/[,\]"]/.test(v) ? JSON.stringify(v) : v}`).join(', ')}]`;
}

/** `set` for one value, `multi-set` with a list for several (fail2ban's form for regex lists). */
function regexCommands(jail: string, option: string, regexes: string[]): Command[] {
  if (regexes.length === 0) return [];
  if (regexes.length === 1) return [['set', jail, option, regexes[0] as string]];
  return [['multi-set', jail, option, regexes]];
}

export function actionCommands(jail: string, action: ActionDefinition): Command[] {
  const pairs: CommandWord[] = [];
  for (const name of ACTION_COMMANDS) {
    const text = action.commands[name];
    if (text) pairs.push([name, text]);
  }
  if (action.timeout !== DEFAULT_ACTION_TIMEOUT) pairs.push(['timeout', String(action.timeout)]);
  if (action.actionstartOnDemand !== null) pairs.push(['actionstart_on_demand', action.actionstartOnDemand ? 'true' : 'false']);
  if (action.actionrepairOnUnban) pairs.push(['actionrepair_on_unban', 'true']);
  if (action.norestored) pairs.push(['norestored', 'true']);
  for (const [k, v] of Object.entries(action.properties)) pairs.push([k, v]);
  return [
    ['set', jail, 'addaction', action.name],
    ['multi-set', jail, 'action', action.name, pairs],
  ];
}

export function jailCommands(jail: JailDefinition, opts: ConfigStreamOptions = {}, warnings: string[] = []): Command[] {
  const j = jail.name;
  const f = jail.filter;
  const out: Command[] = [['add', j, backendText(jail)]];
  out.push(['set', j, 'usedns', jail.usedns]);
  if (f.prefregex !== null) out.push(['set', j, 'prefregex', f.prefregex]);
  if (f.maxlines !== null) out.push(['set', j, 'maxlines', f.maxlines]);
  out.push(...regexCommands(j, 'addfailregex', f.failregex));
  out.push(...regexCommands(j, 'addignoreregex', f.ignoreregex));
  if (f.datepattern !== null) out.push(['set', j, 'datepattern', f.datepattern]);
  for (const match of jail.journalmatch) out.push(['set', j, 'addjournalmatch', ...match]);
  out.push(['set', j, 'maxretry', jail.maxretry]);
  out.push(['set', j, 'maxmatches', jail.maxmatches]);
  out.push(['set', j, 'findtime', jail.findtime]);
  out.push(['set', j, 'bantime', jail.bantime]);
  const inc = jail.bantimeIncrement;
  if (inc.enabled) out.push(['set', j, 'bantime.increment', true]);
  if (inc.factor !== '1') out.push(['set', j, 'bantime.factor', inc.factor]);
  if (inc.formula !== DEFAULT_BANTIME_FORMULA) out.push(['set', j, 'bantime.formula', inc.formula]);
  if (inc.multipliers.length > 0) out.push(['set', j, 'bantime.multipliers', inc.multipliers.join(' ')]);
  if (inc.maxtime !== null) out.push(['set', j, 'bantime.maxtime', inc.maxtime]);
  if (inc.rndtime !== null) out.push(['set', j, 'bantime.rndtime', inc.rndtime]);
  if (inc.overalljails) out.push(['set', j, 'bantime.overalljails', true]);
  if (jail.ignorecommand !== null) out.push(['set', j, 'ignorecommand', jail.ignorecommand]);
  out.push(['set', j, 'ignoreself', jail.ignoreself]);
  if (jail.ignoreip.length > 0) out.push(['set', j, 'addignoreip', ...jail.ignoreip]);
  if (jail.ignorecache !== null) {
    const c = jail.ignorecache;
    out.push(['set', j, 'ignorecache', `key=${JSON.stringify(c.key)}, max-count=${c.maxCount}, max-time=${c.maxTime}`]);
  }
  out.push(['set', j, 'logencoding', jail.logencoding]);
  if (jail.logtimezone !== null) out.push(['set', j, 'logtimezone', jail.logtimezone]);
  if (!jail.backend.startsWith('systemd')) {
    let found = 0;
    for (const lp of jail.logpaths) {
      const files = opts.expandLogPaths === false ? [lp.glob] : expandGlob(lp.glob).files;
      for (const file of files) out.push(['set', j, 'addlogpath', file, lp.start]);
      found += files.length;
    }
    if (found === 0) warnings.push(`Have not found any log file for ${j} jail`);
  }
  for (const action of jail.actions) out.push(...actionCommands(j, action));
  return out;
}

export function configStream(cfg: LoadedConfig, opts: ConfigStreamOptions = {}): ConfigStream {
  const warnings = [...cfg.warnings];
  const commands = globalCommands(cfg);
  for (const jail of cfg.jails) commands.push(...jailCommands(jail, opts, warnings));
  for (const err of cfg.errors) {
    const jail = err.section;
    commands.push([
      'config-error',
      jail ? `Jail '${jail}' skipped, because of wrong configuration: ${err.message}` : err.message,
    ]);
  }
  for (const jail of cfg.jails) commands.push(['start', jail.name]);
  return { commands, warnings };
}

/** `-d`: one Python repr per line. */
export function dumpStream(commands: readonly Command[]): string {
  return commands.map((c) => pyRepr(c) + '\n').join('');
}

/** `--dp`: one command per line, nested lists (action properties) one entry per line. */
export function dumpStreamPretty(commands: readonly Command[]): string {
  return commands
    .map((c) => {
      const nested = c.findIndex((w) => Array.isArray(w) && w.length > 0 && w.every(Array.isArray));
      if (nested < 0) return pyRepr(c);
      const head = c.slice(0, nested).map(pyRepr).join(', ');
      const inner = (c[nested] as CommandWord[]).map((p) => '   ' + pyRepr(p)).join(',\n');
      return `[${head},\n  [\n${inner}\n  ]]`;
    })
    .join('\n')
    .concat('\n');
}
