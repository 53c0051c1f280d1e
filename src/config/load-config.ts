/**
 * A whole configuration directory → daemon settings + every enabled jail.
 * Unlike fail2ban, a jail that fails to resolve (bad `%(x)s`, unknown
 * filter/action, bad int...) is reported in `errors` and left out; the other
 * jails still load. Problems of the directory itself (missing, syntax errors in
 * the daemon or jail files) are thrown.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigNotFoundError, MoatError } from '../errors.ts';
import { ConfigFileCache, ConfigUnit, INCLUDES_SECTION } from './config-unit.ts';
import { readDaemonSettings } from './daemon-reader.ts';
import { isJailEnabled, readJail } from './jail-reader.ts';
import type { JailDefinition, LoadedConfig } from './types.ts';

/** fail2ban version reported by `%(fail2ban_version)s` (the compatibility baseline). */
export const FAIL2BAN_COMPAT_VERSION = '1.0.2';

export interface LoadConfigOptions {
  fail2banVersion?: string;
  /** Only consider these jails (others are not read at all). */
  onlyJails?: string[];
}

export function loadConfig(dir: string, opts: LoadConfigOptions = {}): LoadedConfig {
  const baseDir = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
  if (!existsSync(baseDir) || !statSync(baseDir).isDirectory()) {
    throw new ConfigNotFoundError(`base configuration directory ${baseDir} does not exist`);
  }
  const cache = new ConfigFileCache();
  const warnings: string[] = [];
  const errors: MoatError[] = [];
  const daemon = readDaemonSettings(baseDir, cache, warnings);

  const jails: JailDefinition[] = [];
  const unit = ConfigUnit.read(baseDir, 'jail', cache);
  if (!unit) {
    warnings.push(`found no accessible config files for 'jail' under ${resolve(baseDir)}: no jails`);
    return { dir: baseDir, daemon, jails, errors, warnings };
  }
  unit.mergeDefaults({ fail2ban_version: opts.fail2banVersion ?? FAIL2BAN_COMPAT_VERSION, fail2ban_confpath: baseDir });

  for (const name of unit.sectionNames()) {
    if (name === INCLUDES_SECTION) continue;
    if (opts.onlyJails && !opts.onlyJails.includes(name)) continue;
    try {
      if (!isJailEnabled(unit, name)) continue;
      jails.push(readJail(unit, name, { baseDir, cache, warnings }));
    } catch (err) {
      if (!(err instanceof MoatError)) throw err;
      errors.push(err);
      warnings.push(`Errors in jail '${name}'. Skipping...`);
    }
  }
  return { dir: baseDir, daemon, jails, errors, warnings };
}
