/**
 * Filter files (`filter.d/NAME.conf`, §1.6, §2): resolves a filter reference
 * to a FilterDefinition whose regexes are after `%(x)s` and `<tag>` config
 * substitution but before `<HOST>`/`<F-*>` expansion.
 */
import { isAbsolute, resolve } from 'node:path';
import { ConfigNotFoundError, type ErrorLocation } from '../errors.ts';
import { ConfigFileCache, ConfigUnit } from './config-unit.ts';
import { parseConfigInt } from './convert.ts';
import { DefinitionReader } from './definition-reader.ts';
import { parseReference, type Reference } from './references.ts';
import { shellSplit } from './shlex.ts';
import type { FilterDefinition } from './types.ts';

export const DEFAULT_CONFIG_DIR = '/etc/fail2ban';

/** Options of a filter that reach the filter engine (a jail can override each). */
export const FILTER_OPTIONS = ['usedns', 'prefregex', 'ignoreregex', 'failregex', 'maxlines', 'datepattern', 'journalmatch'] as const;

/**
 * Unit name for a reference: `filter.d/NAME`, or, for a path (`/x/y.conf`,
 * `./y`), the path without its `.conf`/`.local` extension.
 */
export function definitionUnitName(folder: 'filter.d' | 'action.d', name: string): string {
  if (isAbsolute(name) || name.startsWith('./') || name.startsWith('../')) {
    return resolve(name).replace(/\.(conf|local)$/, '');
  }
  return `${folder}/${name}`;
}

/** Opens the filter unit of a reference; ConfigNotFoundError when no file exists. */
export function openFilter(baseDir: string, ref: Reference, cache: ConfigFileCache, where: ErrorLocation = {}): DefinitionReader {
  const unitName = definitionUnitName('filter.d', ref.name);
  const unit = ConfigUnit.read(baseDir, unitName, cache);
  if (!unit) {
    throw new ConfigNotFoundError(`unable to read the filter '${ref.name}': found no accessible config files for '${unitName}' under ${baseDir}`, where);
  }
  return new DefinitionReader(unit, ref.options, FILTER_OPTIONS);
}

/** Sets `logtype` unless the reference or the filter's own [Definition] sets it. */
export function applyLogtype(reader: DefinitionReader, backend: string, logtype?: string): void {
  if (reader.initOptions.logtype || reader.definesOwn('logtype')) return;
  reader.initOptions.logtype = logtype ?? (backend.startsWith('systemd') ? 'journal' : 'file');
}

function lines(value: string | undefined): string[] {
  return value === undefined ? [] : value.split('\n').filter((l) => l !== '');
}

/**
 * Builds the definition from the filter's combined options, with the jail's
 * own filter options (jail-level failregex, maxlines...) taking precedence.
 */
export function buildFilterDefinition(
  name: string,
  files: string[],
  combined: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>>,
  where: ErrorLocation = {},
): FilterDefinition {
  const eff: Record<string, string> = { ...combined };
  for (const k of FILTER_OPTIONS) if (overrides[k] !== undefined) eff[k] = overrides[k]!;
  const at = (option: string): ErrorLocation => ({ ...where, option });
  return {
    name,
    files,
    prefregex: eff.prefregex ?? null,
    failregex: lines(eff.failregex),
    ignoreregex: lines(eff.ignoreregex),
    maxlines: eff.maxlines === undefined ? null : parseConfigInt(eff.maxlines, at('maxlines')),
    datepattern: eff.datepattern ?? null,
    journalmatch: lines(eff.journalmatch).map((l) => shellSplit(l, at('journalmatch'))),
    usedns: eff.usedns ?? null,
    options: eff,
  };
}

export interface ReadFilterOptions {
  /** Base config directory (default /etc/fail2ban). */
  configDir?: string;
  /** Jail options used as interpolation vars (and overriding filter options of the same name). */
  jailVars?: Record<string, string>;
  /** Forces `logtype` (default: `file`, or `journal` with a systemd backend). */
  logtype?: string;
  backend?: string;
  usedns?: string;
  cache?: ConfigFileCache;
}

/** Reads `filter.d/NAME[args]` (or a path to a filter file) on its own, e.g. for `moat regex`. */
export function readFilter(ref: string, opts: ReadFilterOptions = {}): FilterDefinition {
  const baseDir = (opts.configDir ?? DEFAULT_CONFIG_DIR).replace(/(.)\/+$/, '$1');
  const reference = parseReference(ref);
  const reader = openFilter(baseDir, reference, opts.cache ?? new ConfigFileCache());
  const vars: Record<string, string> = { ...(opts.jailVars ?? {}) };
  if (opts.usedns !== undefined) vars.usedns = opts.usedns;
  applyLogtype(reader, opts.backend ?? vars.backend ?? '', opts.logtype);
  reader.readOptions(vars, true);
  return buildFilterDefinition(reference.name, reader.unit.files, reader.combined(), vars, { file: reader.unit.files[0] ?? '' });
}
