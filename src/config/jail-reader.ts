/**
 * One jail section of the merged jail unit → JailDefinition (§1.6, §1.9).
 * Follows fail2ban's order: enabled/backend/filter first, the filter's options
 * merged into the jail as `known/<opt>` (so `failregex = %(known/failregex)s`
 * works), then every jail option, then the filter again with the jail's
 * options as vars, then each action.
 */
import { ConfigValueError, MoatError, type ErrorLocation } from '../errors.ts';
import { compilePyExpr } from '../util/py-expr.ts';
import { buildActionDefinition, openAction } from './action-reader.ts';
import type { ConfigFileCache, ConfigUnit } from './config-unit.ts';
import { parseConfigBool, parseConfigInt, splitWords } from './convert.ts';
import { applyLogtype, buildFilterDefinition, FILTER_OPTIONS, openFilter } from './filter-reader.ts';
import { parseOptionList, parseReference, splitReferences } from './references.ts';
import { parseTimeValue } from './time-value.ts';
import {
  DEFAULT_BANTIME_FORMULA,
  type ActionDefinition,
  type BantimeIncrement,
  type FilterDefinition,
  type IgnoreCacheSettings,
  type JailDefinition,
  type LogPath,
} from './types.ts';

/** Jail options read from the section (DEFAULT fallback), in fail2ban's order. */
export const JAIL_OPTIONS = [
  'enabled',
  'backend',
  'maxretry',
  'maxmatches',
  'findtime',
  'bantime',
  'bantime.increment',
  'bantime.factor',
  'bantime.formula',
  'bantime.multipliers',
  'bantime.maxtime',
  'bantime.rndtime',
  'bantime.overalljails',
  'ignorecommand',
  'ignoreself',
  'ignoreip',
  'ignorecache',
  'filter',
  'logtimezone',
  'logencoding',
  'logpath',
  'action',
  ...FILTER_OPTIONS,
];

const USEDNS_VALUES = ['yes', 'warn', 'no', 'raw'];
/** iptables chain names are limited; fail2ban warns from this length on. */
const LONG_JAIL_NAME = 26;

export interface JailReadContext {
  baseDir: string;
  cache: ConfigFileCache;
  warnings: string[];
}

/** Location of a jail option (where its raw value was written). */
export function optionLocation(unit: ConfigUnit, jail: string, option: string): ErrorLocation {
  const where: ErrorLocation = { section: jail, option };
  const raw = unit.getRaw(jail, option);
  if (raw?.file !== undefined) where.file = raw.file;
  if (raw?.line !== undefined) where.line = raw.line;
  if (where.file === undefined) {
    const origin = unit.sectionOrigin(jail);
    if (origin) {
      where.file = origin.file;
      where.line = origin.line;
    }
  }
  return where;
}

/** Reads the jail's `enabled` option (errors are located). */
export function isJailEnabled(unit: ConfigUnit, jail: string): boolean {
  const v = unit.get(jail, 'enabled');
  return v !== undefined && parseConfigBool(v);
}

/** Re-throws an error raised inside a filter/action file as an error of the jail option that referenced it. */
function inJailContext<T>(unit: ConfigUnit, jail: string, option: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MoatError && err.section === jail) throw err;
    const inner = err instanceof Error ? err.message : String(err);
    const code = err instanceof MoatError ? err.code : 'MOAT_ERR_CONFIG_VALUE';
    throw new MoatError(code, `${what}: ${inner}`, optionLocation(unit, jail, option), { cause: err });
  }
}

export function readJail(unit: ConfigUnit, jail: string, ctx: JailReadContext): JailDefinition {
  const at = (option: string) => optionLocation(unit, jail, option);
  const get = (option: string, vars?: Record<string, string>) => unit.get(jail, option, vars);

  // 1. what the filter needs first
  const enabled = parseConfigBool(get('enabled') ?? 'false');
  const backendRaw = get('backend') ?? 'auto';
  const filterRef = get('filter') ?? '';
  const firstVars: Record<string, string> = { enabled: enabled ? 'True' : 'False', backend: backendRaw, filter: filterRef };

  // 2. the filter, merged back into the jail as known/<opt>
  const filterReader = filterRef
    ? inJailContext(unit, jail, 'filter', `error in filter '${filterRef}'`, () => {
        const ref = parseReference(filterRef, at('filter'));
        const reader = openFilter(ctx.baseDir, ref, ctx.cache, at('filter'));
        applyLogtype(reader, backendRaw);
        reader.readOptions(firstVars, true);
        return { ref, reader, extra: reader.combined() };
      })
    : null;
  if (filterReader) unit.mergeSection(jail, filterReader.extra, 'known/');
  else ctx.warnings.push(`No filter set for jail ${jail}`);

  // 3. every jail option (string form, as fail2ban passes them as vars)
  const raw: Record<string, string> = {};
  for (const option of JAIL_OPTIONS) {
    const v = get(option);
    if (v !== undefined) raw[option] = v;
  }
  const int = (option: string, dflt: number) => (raw[option] === undefined ? dflt : parseConfigInt(raw[option]!, at(option)));
  const bool = (option: string, dflt: boolean) => (raw[option] === undefined ? dflt : parseConfigBool(raw[option]!));
  const time = (option: string) => (raw[option] === undefined || raw[option] === '' ? null : parseTimeValue(raw[option]!, at(option)));

  const maxretry = int('maxretry', 3);
  const maxmatches = int('maxmatches', 5);
  const jailVars: Record<string, string> = { ...raw, enabled: enabled ? 'True' : 'False' };
  if (raw.maxretry !== undefined) jailVars.maxretry = String(maxretry);
  if (raw.maxmatches !== undefined) jailVars.maxmatches = String(maxmatches);
  for (const b of ['bantime.increment', 'bantime.overalljails', 'ignoreself']) {
    if (raw[b] !== undefined) jailVars[b] = parseConfigBool(raw[b]!) ? 'True' : 'False';
  }

  // 4. the filter again, now with all jail options as vars
  const overrides: Record<string, string> = {};
  for (const k of FILTER_OPTIONS) if (raw[k] !== undefined) overrides[k] = raw[k]!;
  let filter: FilterDefinition;
  if (filterReader) {
    filter = inJailContext(unit, jail, 'filter', `error in filter '${filterRef}'`, () => {
      filterReader.reader.readOptions(jailVars);
      const combined = { ...filterReader.extra, ...filterReader.reader.combined() };
      return buildFilterDefinition(filterReader.ref.name, filterReader.reader.unit.files, combined, overrides, at('filter'));
    });
  } else {
    filter = buildFilterDefinition('', [], {}, overrides, at('filter'));
  }

  // 5. actions
  const actions: ActionDefinition[] = [];
  for (const entry of splitReferences(raw.action ?? '')) {
    const action = inJailContext(unit, jail, 'action', `error in action '${entry.replace(/\s+/g, ' ')}'`, () => {
      const ref = parseReference(entry, at('action'));
      const { reader, actname } = openAction(ctx.baseDir, ref, jail, ctx.cache, at('action'));
      reader.readOptions(jailVars);
      return buildActionDefinition(ref.name, actname, reader);
    });
    if (actions.some((a) => a.name === action.name)) {
      throw new ConfigValueError(`action '${action.name}' already exists in jail '${jail}' (give it another name with actname=...)`, at('action'));
    }
    actions.push(action);
  }
  if (actions.length === 0) ctx.warnings.push(`No actions were defined for ${jail}`);
  if (jail.length >= LONG_JAIL_NAME) {
    ctx.warnings.push(`jail name '${jail}' is ${jail.length} characters long: firewall chain names built from it may be too long`);
  }

  // 6. typed jail options
  const backendRef = parseReference(backendRaw, at('backend'));
  const backend = backendRef.name;
  const usednsRaw = (raw.usedns ?? 'warn').trim().toLowerCase();
  let usedns = usednsRaw;
  if (!USEDNS_VALUES.includes(usednsRaw)) {
    ctx.warnings.push(`Incorrect value ${JSON.stringify(raw.usedns)} specified for usedns in jail ${jail}. Using safe "no"`);
    usedns = 'no';
  }
  filter.usedns = usedns;

  const bantime = time('bantime');
  const findtime = time('findtime');
  return {
    name: jail,
    enabled,
    backend,
    backendOptions: backendRef.options,
    filter,
    actions,
    logpaths: backend.startsWith('systemd') ? [] : parseLogpaths(raw.logpath, at('logpath')),
    logencoding: raw.logencoding || 'auto',
    logtimezone: raw.logtimezone || null,
    maxretry,
    maxmatches,
    findtime: findtime ?? 600,
    bantime: bantime === null ? 600 : Math.trunc(bantime),
    bantimeIncrement: readBantimeIncrement(raw, at, bool, time),
    ignoreip: splitWords(raw.ignoreip),
    ignoreself: bool('ignoreself', true),
    ignorecommand: raw.ignorecommand ? raw.ignorecommand : null,
    ignorecache: raw.ignorecache ? parseIgnoreCache(raw.ignorecache, at('ignorecache')) : null,
    usedns,
    journalmatch: filter.journalmatch,
    source: unit.sectionOrigin(jail) ?? { file: '', line: 0 },
  };
}

/** `logpath` lines, each split at its last space into glob + head|tail (§1.9). */
export function parseLogpaths(value: string | undefined, where: ErrorLocation = {}): LogPath[] {
  const out: LogPath[] = [];
  for (const line of (value ?? '').split('\n')) {
    if (line.trim() === '') continue;
    const cut = line.lastIndexOf(' ');
    if (cut === -1) {
      out.push({ glob: line, start: 'head' });
      continue;
    }
    const glob = line.slice(0, cut);
    const start = line.slice(cut + 1);
    if (start !== 'head' && start !== 'tail') {
      throw new ConfigValueError(`file option must be 'head' or 'tail', got ${JSON.stringify(start)} in logpath line ${JSON.stringify(line)}`, where);
    }
    out.push({ glob, start });
  }
  return out;
}

/** `key="<ip>", max-count=100, max-time=5m` (defaults 100 entries, 5 minutes). */
export function parseIgnoreCache(value: string, where: ErrorLocation = {}): IgnoreCacheSettings {
  const opts = parseOptionList(value, where);
  if (!opts.key) throw new ConfigValueError(`ignorecache needs a key= option`, where);
  return {
    key: opts.key,
    maxCount: opts['max-count'] === undefined ? 100 : parseConfigInt(opts['max-count'], where),
    maxTime: opts['max-time'] === undefined ? 300 : parseTimeValue(opts['max-time'], where),
  };
}

function readBantimeIncrement(
  raw: Record<string, string>,
  at: (option: string) => ErrorLocation,
  bool: (option: string, dflt: boolean) => boolean,
  time: (option: string) => number | null,
): BantimeIncrement {
  const factor = raw['bantime.factor'] || '1';
  const formula = raw['bantime.formula'] || DEFAULT_BANTIME_FORMULA;
  // compile now so a bad expression disables the jail at load time, not at the first ban
  compilePyExpr(factor, at('bantime.factor'));
  compilePyExpr(formula, at('bantime.formula'));
  const multipliers = (raw['bantime.multipliers'] ?? '')
    .split(' ')
    .filter((m) => m !== '')
    .map((m) => parseConfigInt(m, at('bantime.multipliers')));
  return {
    enabled: bool('bantime.increment', false),
    factor,
    formula,
    multipliers,
    maxtime: time('bantime.maxtime'),
    rndtime: time('bantime.rndtime'),
    overalljails: bool('bantime.overalljails', false),
  };
}
