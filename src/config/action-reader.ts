/**
 * Action files (`action.d/NAME.conf`, §1.6, §5.1–5.2): an action reference of a
 * jail → ActionDefinition with substituted operations and raw properties.
 */
import { ConfigNotFoundError, ConfigValueError, type ErrorLocation } from '../errors.ts';
import { ConfigFileCache, ConfigUnit } from './config-unit.ts';
import { parseConfigBool } from './convert.ts';
import { DefinitionReader } from './definition-reader.ts';
import { DEFAULT_CONFIG_DIR, definitionUnitName } from './filter-reader.ts';
import { parseReference, type Reference } from './references.ts';
import { parseTimeValue } from './time-value.ts';
import { ACTION_COMMANDS, DEFAULT_ACTION_TIMEOUT, type ActionCommandName, type ActionDefinition } from './types.ts';

/** Options of an action that are operations/flags rather than properties. */
export const ACTION_OPTIONS: readonly string[] = [...ACTION_COMMANDS, 'actionstart_on_demand', 'actionrepair_on_unban', 'norestored'];

/** Left raw by client-side substitution: resolved per ban at execution time. */
export const ACTION_EXECUTION_TIME_TAGS = ['matches', 'ipmatches', 'ipjailmatches', 'timeout', 'bantime'];

/**
 * `name` defaults to the jail; `actname` to the file name, with a suffix when
 * `name` differs from the jail (`nsd-tcp` → `iptables-multiport-tcp`).
 */
export function actionNames(file: string, jailName: string, args: Readonly<Record<string, string>>): { name: string; actname: string } {
  const name = args.name ?? jailName;
  let actname = args.actname;
  if (actname === undefined) {
    actname = file;
    if (name !== jailName) actname += name.startsWith(jailName) ? name.slice(jailName.length) : `-${name}`;
  }
  return { name, actname };
}

/** Opens `action.d/NAME` for a jail; ConfigNotFoundError when no file exists. */
export function openAction(
  baseDir: string,
  ref: Reference,
  jailName: string,
  cache: ConfigFileCache,
  where: ErrorLocation = {},
): { reader: DefinitionReader; actname: string } {
  if (ref.name.endsWith('.py')) {
    throw new ConfigValueError(
      `python action '${ref.name}' is not supported by moat (fail2ban loads it as Python code); use a .conf action instead`,
      where,
    );
  }
  const { name, actname } = actionNames(ref.name, jailName, ref.options);
  const unitName = definitionUnitName('action.d', ref.name);
  const unit = ConfigUnit.read(baseDir, unitName, cache);
  if (!unit) {
    throw new ConfigNotFoundError(`unable to read action '${ref.name}': found no accessible config files for '${unitName}' under ${baseDir}`, where);
  }
  return { reader: new DefinitionReader(unit, { ...ref.options, name, actname }, ACTION_OPTIONS), actname };
}

/** Turns a read action into its definition (commands substituted, properties raw). */
export function buildActionDefinition(file: string, actname: string, reader: DefinitionReader): ActionDefinition {
  const combined = reader.combined(ACTION_EXECUTION_TIME_TAGS);
  const commands = {} as Record<ActionCommandName, string>;
  for (const c of ACTION_COMMANDS) commands[c] = combined[c] ?? '';
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(reader.initOptions)) {
    if (!ACTION_OPTIONS.includes(k) && !k.startsWith('known/')) properties[k] = v;
  }
  // `<known/opt>` in a property (jail.conf passes `chain="<known/chain>"`) means the action's own
  // default: put it in now, since the known/ values are not kept as properties
  for (const [k, v] of Object.entries(properties)) {
    properties[k] = v.replace(/<known\/([^<>\s]+)>/g, (m, opt: string) => reader.initOptions[`known/${opt}`] ?? m);
  }
  const where: ErrorLocation = { file: reader.unit.files[0] ?? '', option: 'timeout' };
  return {
    name: actname,
    file,
    files: reader.unit.files,
    commands,
    actionstartOnDemand: combined.actionstart_on_demand === undefined ? null : parseConfigBool(combined.actionstart_on_demand),
    actionrepairOnUnban: combined.actionrepair_on_unban === undefined ? false : parseConfigBool(combined.actionrepair_on_unban),
    norestored: combined.norestored === undefined ? false : parseConfigBool(combined.norestored),
    timeout: properties.timeout === undefined || properties.timeout === '' ? DEFAULT_ACTION_TIMEOUT : parseTimeValue(properties.timeout, where),
    properties,
  };
}

export interface ReadActionOptions {
  configDir?: string;
  /** Jail the action belongs to (default `jail`), for `name`/`actname`. */
  jailName?: string;
  /** Jail options used as interpolation vars for [Definition]. */
  jailVars?: Record<string, string>;
  cache?: ConfigFileCache;
}

/** Reads `action.d/NAME[args]` (or a path to an action file) on its own. */
export function readAction(ref: string, opts: ReadActionOptions = {}): ActionDefinition {
  const baseDir = (opts.configDir ?? DEFAULT_CONFIG_DIR).replace(/(.)\/+$/, '$1');
  const reference = parseReference(ref);
  const { reader, actname } = openAction(baseDir, reference, opts.jailName ?? 'jail', opts.cache ?? new ConfigFileCache());
  reader.readOptions(opts.jailVars ?? {});
  return buildActionDefinition(reference.name, actname, reader);
}
