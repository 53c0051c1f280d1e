/**
 * Public API of the configuration reader (see ARCHITECTURE.md, config → everyone).
 */
export * from './types.ts';
export { loadConfig, FAIL2BAN_COMPAT_VERSION, type LoadConfigOptions } from './load-config.ts';
export { readFilter, buildFilterDefinition, definitionUnitName, FILTER_OPTIONS, DEFAULT_CONFIG_DIR, type ReadFilterOptions } from './filter-reader.ts';
export {
  readAction,
  actionNames,
  ACTION_OPTIONS,
  ACTION_EXECUTION_TIME_TAGS,
  type ReadActionOptions,
} from './action-reader.ts';
export { readJail, parseLogpaths, parseIgnoreCache, JAIL_OPTIONS } from './jail-reader.ts';
export { readDaemonSettings, daemonUnitName, DEFAULT_DAEMON_SETTINGS, MOAT_DAEMON_SETTINGS } from './daemon-reader.ts';
export { parseTimeValue, timeValueToExpression } from './time-value.ts';
export { parseIni, DEFAULT_SECTION, type IniFile, type IniSection, type IniOption } from './ini-parser.ts';
export { ConfigUnit, ConfigFileCache, unitFiles, expandIncludes, KNOWN_PREFIX, INCLUDES_SECTION, type StoredOption } from './config-unit.ts';
export { interpolate, MAX_INTERPOLATION_DEPTH, type RawValue, type InterpolationSource } from './interpolate.ts';
export {
  substituteRecursiveTags,
  substituteTags,
  conditionalBaseNames,
  MAX_TAG_REPLACE_COUNT,
  type TagSubstitutionOptions,
} from './tags.ts';
export { parseReference, parseOptionList, splitReferences, type Reference } from './references.ts';
export { DefinitionReader } from './definition-reader.ts';
export { parseConfigBool, parseConfigInt, splitWords } from './convert.ts';
export { shellSplit } from './shlex.ts';
export { compilePyExpr, evaluatePyExpr, type CompiledPyExpr, type PyScope, type PyValue } from '../util/py-expr.ts';
