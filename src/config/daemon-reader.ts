/**
 * Daemon settings (§1.10): `moat.conf` (+ `moat.d/`, `moat.local`), or
 * fail2ban's `fail2ban.conf` when the directory has no `moat.conf` (so
 * `-c /etc/fail2ban` works). Options are looked up in [Definition], then
 * [DEFAULT] (the stock fail2ban.conf keeps them in [DEFAULT]).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigValueError, type ErrorLocation } from '../errors.ts';
import { ConfigFileCache, ConfigUnit } from './config-unit.ts';
import { parseConfigBool, parseConfigInt } from './convert.ts';
import { DEFAULT_SECTION } from './ini-parser.ts';
import { parseTimeValue } from './time-value.ts';
import type { DaemonSettings } from './types.ts';

export const DEFAULT_DAEMON_SETTINGS: Readonly<DaemonSettings> = Object.freeze({
  loglevel: 'INFO',
  logtarget: 'STDERR',
  syslogsocket: 'auto',
  socket: '/var/run/fail2ban/fail2ban.sock',
  pidfile: '/var/run/fail2ban/fail2ban.pid',
  dbfile: '/var/lib/fail2ban/fail2ban.sqlite3',
  dbpurgeage: 86400,
  dbmaxmatches: null,
  allowipv6: 'auto',
  socketgroup: null,
  files: [],
});

/** moat's own defaults, used for moat.conf trees and when no settings file exists. */
export const MOAT_DAEMON_SETTINGS: Readonly<DaemonSettings> = Object.freeze({
  ...DEFAULT_DAEMON_SETTINGS,
  socket: '/run/moat/moat.sock',
  pidfile: '/run/moat/moatd.pid',
  dbfile: '/var/lib/moat/moat.sqlite3',
  files: [],
});

/** Which unit holds the daemon settings in `dir`: `moat`, else `fail2ban`, else null. */
export function daemonUnitName(dir: string): 'moat' | 'fail2ban' | null {
  for (const name of ['moat', 'fail2ban'] as const) {
    if (existsSync(join(dir, `${name}.conf`))) return name;
  }
  // a unit may also consist of .local / .d files only
  for (const name of ['moat', 'fail2ban'] as const) {
    if (existsSync(join(dir, `${name}.local`)) || existsSync(join(dir, `${name}.d`))) return name;
  }
  return null;
}

export function readDaemonSettings(dir: string, cache = new ConfigFileCache(), warnings: string[] = []): DaemonSettings {
  const name = daemonUnitName(dir);
  const unit = name ? ConfigUnit.read(dir, name, cache) : null;
  if (!unit) {
    warnings.push(`no moat.conf or fail2ban.conf in ${dir}: using default daemon settings`);
    return { ...MOAT_DAEMON_SETTINGS, files: [] };
  }
  const section = unit.hasSection('Definition') ? 'Definition' : DEFAULT_SECTION;
  const where = (option: string): ErrorLocation => {
    const raw = unit.getRaw(section, option);
    const w: ErrorLocation = { section, option };
    if (raw?.file) w.file = raw.file;
    if (raw?.line) w.line = raw.line;
    return w;
  };
  const get = (option: string): string | undefined => {
    const v = unit.get(section, option);
    return v === undefined || v === '' ? undefined : v;
  };
  // a fail2ban tree keeps fail2ban's defaults (drop-in); moat.conf gets moat's
  const d = name === 'fail2ban' ? DEFAULT_DAEMON_SETTINGS : MOAT_DAEMON_SETTINGS;
  const dbfile = get('dbfile');
  const purge = get('dbpurgeage');
  const maxMatches = get('dbmaxmatches');
  const allow = get('allowipv6');
  if (allow === undefined) warnings.push(`'allowipv6' not defined in 'Definition'. Using default one: 'auto'`);
  const loglevel = get('loglevel') ?? d.loglevel;
  if (!/^(CRITICAL|ERROR|WARNING|NOTICE|INFO|DEBUG|TRACEDEBUG|HEAVYDEBUG|MSG|\d+)$/i.test(loglevel.trim())) {
    throw new ConfigValueError(`invalid loglevel ${JSON.stringify(loglevel)}`, where('loglevel'));
  }
  return {
    loglevel,
    logtarget: get('logtarget') ?? d.logtarget,
    syslogsocket: get('syslogsocket') ?? d.syslogsocket,
    socket: get('socket') ?? d.socket,
    pidfile: get('pidfile') ?? d.pidfile,
    dbfile: dbfile === undefined ? d.dbfile : dbfile.toLowerCase() === 'none' ? null : dbfile,
    dbpurgeage: purge === undefined ? d.dbpurgeage : parseTimeValue(purge, where('dbpurgeage')),
    dbmaxmatches: maxMatches === undefined ? null : parseConfigInt(maxMatches, where('dbmaxmatches')),
    allowipv6: allow === undefined || allow.trim().toLowerCase() === 'auto' ? 'auto' : parseConfigBool(allow),
    socketgroup: get('socketgroup')?.trim() || null,
    files: unit.files,
  };
}
