/**
 * A config unit (§1.1): `U.conf`, `U.d/*.conf`, `U.local`, `U.d/*.local`, each
 * expanded with its `[INCLUDES] before/after` files and sibling `.local`, parsed
 * file by file and merged in order. Before an option of a section is
 * overridden, its previous raw value is kept in the hidden section
 * `KNOWN/<section>` (for `%(known/opt)s`). `[Name?cond]` sections merge into
 * `Name` with keys renamed `key?cond` (§1.4).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigNotFoundError, ConfigSyntaxError, MoatError } from '../errors.ts';
import { DEFAULT_SECTION, parseIni, type IniFile } from './ini-parser.ts';
import { interpolate, type InterpolationSource, type RawValue } from './interpolate.ts';

export const INCLUDES_SECTION = 'INCLUDES';
export const KNOWN_PREFIX = 'KNOWN/';
const CONDITIONAL_SECTION_RE = /^(\w+)(\?.+)$/;
const SECTION_OPTION_RE = /^([\w-]+)\/([^\s>]+)$/;

/** A merged option: its raw value and where it was written (file/line absent for injected values). */
export interface StoredOption extends RawValue {
  name: string;
}

/** Parsed files, shared by all units read for one configuration load. */
export class ConfigFileCache {
  private readonly parsed = new Map<string, IniFile | MoatError | null>();

  /** The parsed file, or null when it does not exist / is not a regular file. */
  get(file: string): IniFile | null {
    let entry = this.parsed.get(file);
    if (entry === undefined) {
      entry = this.load(file);
      this.parsed.set(file, entry);
    }
    if (entry instanceof MoatError) throw entry;
    return entry;
  }

  private load(file: string): IniFile | MoatError | null {
    if (!isFile(file)) return null;
    try {
      return parseIni(readFileSync(file, 'utf8'), file);
    } catch (err) {
      if (err instanceof MoatError) return err;
      return new ConfigSyntaxError(`cannot read file: ${(err as Error).message}`, { file });
    }
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function sortedGlob(dir: string, ext: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  // Python sorted(): code-point order, not locale order
  return names
    .filter((n) => n.endsWith(ext) && !n.startsWith('.'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => join(dir, n));
}

/** The existing top-level files of unit `name` under `baseDir`, in read order. */
export function unitFiles(baseDir: string, name: string): string[] {
  const base = isAbsolute(name) ? name : join(baseDir, name);
  const candidates = [`${base}.conf`, ...sortedGlob(`${base}.d`, '.conf'), `${base}.local`, ...sortedGlob(`${base}.d`, '.local')];
  return candidates.filter(isFile);
}

/** Expands includes and sibling `.local` files (§1.1) into the final read order. */
export function expandIncludes(files: string[], cache: ConfigFileCache, chain: string[] = []): string[] {
  const withLocal: string[] = [];
  for (const file of files) {
    withLocal.push(file);
    const local = file.replace(/\.[^./]*$/, '') + '.local';
    if (local !== file && !files.includes(local) && isFile(local)) withLocal.push(local);
  }
  const out: string[] = [];
  for (const file of withLocal) out.push(...expandOne(file, cache, chain));
  return out;
}

function expandOne(file: string, cache: ConfigFileCache, chain: string[]): string[] {
  const parsed = cache.get(file);
  if (!parsed) return []; // missing include targets read as nothing
  const includes = parsed.sections.find((s) => s.name === INCLUDES_SECTION);
  const lists: Record<'before' | 'after', string[]> = { before: [], after: [] };
  if (includes) {
    for (const which of ['before', 'after'] as const) {
      const value = includes.options.get(which)?.value;
      if (!value) continue;
      for (const entry of value.split('\n')) {
        const name = entry.trim();
        if (!name) continue;
        const target = isAbsolute(name) ? name : join(dirname(file), name);
        // loop protection: skip files already on the include chain
        if (target === file || chain.includes(target)) continue;
        lists[which].push(...expandIncludes([target], cache, [...chain, file]));
      }
    }
  }
  return [...lists.before, file, ...lists.after];
}

export interface SectionOrigin {
  file: string;
  line: number;
}

/** The merged view of one unit, with ConfigParser-style fetching. */
export class ConfigUnit implements InterpolationSource {
  /** Every file read, in merge order. */
  readonly files: string[] = [];
  readonly defaults = new Map<string, StoredOption>();
  private readonly sections = new Map<string, Map<string, StoredOption>>();
  private readonly origins = new Map<string, SectionOrigin>();

  /** Reads unit `name` (e.g. `jail`, `filter.d/sshd`) or null when none of its files exist. */
  static read(baseDir: string, name: string, cache = new ConfigFileCache()): ConfigUnit | null {
    const files = unitFiles(baseDir, name);
    if (files.length === 0) return null;
    return ConfigUnit.fromFiles(expandIncludes(files, cache), cache);
  }

  /** Like read() but a unit without files is a ConfigNotFoundError. */
  static require(baseDir: string, name: string, cache = new ConfigFileCache()): ConfigUnit {
    if (!existsSync(baseDir)) throw new ConfigNotFoundError(`base configuration directory ${baseDir} does not exist`);
    const unit = ConfigUnit.read(baseDir, name, cache);
    if (!unit) throw new ConfigNotFoundError(`found no accessible config files for '${name}' under ${baseDir}`);
    return unit;
  }

  /** Merges already expanded files (no further include processing). */
  static fromFiles(files: string[], cache = new ConfigFileCache()): ConfigUnit {
    const unit = new ConfigUnit();
    for (const file of files) {
      const parsed = cache.get(file);
      if (parsed) unit.mergeFile(parsed);
    }
    return unit;
  }

  private mergeFile(parsed: IniFile): void {
    this.files.push(parsed.file);
    if (parsed.defaults) {
      for (const [k, o] of parsed.defaults.options) this.defaults.set(k, { ...o });
    }
    for (const section of parsed.sections) {
      let name = section.name;
      let suffix = '';
      const cond = CONDITIONAL_SECTION_RE.exec(name);
      if (cond) {
        name = cond[1]!;
        suffix = cond[2]!;
      }
      const incoming = new Map<string, StoredOption>();
      for (const [k, o] of section.options) incoming.set(k + suffix, { ...o, name: k + suffix });
      const existing = this.sections.get(name);
      if (existing) {
        const known = this.ensureSection(KNOWN_PREFIX + name);
        for (const k of incoming.keys()) {
          const prev = existing.get(k);
          if (prev) known.set(k, prev);
        }
        for (const [k, o] of incoming) existing.set(k, o);
      } else {
        this.sections.set(name, incoming);
        this.origins.set(name, { file: section.file, line: section.line });
      }
    }
  }

  private ensureSection(name: string): Map<string, StoredOption> {
    let s = this.sections.get(name);
    if (!s) {
      s = new Map();
      this.sections.set(name, s);
    }
    return s;
  }

  /** Section names in definition order, without hidden KNOWN/ sections. */
  sectionNames(): string[] {
    return [...this.sections.keys()].filter((n) => !n.startsWith(KNOWN_PREFIX));
  }

  hasSection(name: string): boolean {
    return this.sections.has(name);
  }

  /** Where the section was first defined. */
  sectionOrigin(name: string): SectionOrigin | undefined {
    return this.origins.get(name);
  }

  /** Option names of the section itself (not DEFAULT), in order. */
  ownOptions(section: string): string[] {
    return [...(this.sections.get(section)?.keys() ?? [])];
  }

  hasOption(section: string, option: string, withDefault = true): boolean {
    const name = option.toLowerCase();
    if (this.sections.get(section)?.has(name)) return true;
    return withDefault && this.defaults.has(name);
  }

  /** Raw option of the section, falling back to DEFAULT. */
  getRaw(section: string, option: string): StoredOption | undefined {
    const name = option.toLowerCase();
    if (section === DEFAULT_SECTION) return this.defaults.get(name);
    return this.sections.get(section)?.get(name) ?? this.defaults.get(name);
  }

  /**
   * Interpolated value of `option` in `section` (vars → section → DEFAULT),
   * or undefined when the option is not defined anywhere in that chain.
   */
  get(section: string, option: string, vars?: Readonly<Record<string, string>>): string | undefined {
    const varMap = toVarMap(vars);
    const name = option.toLowerCase();
    const raw = this.lookup(section, name, varMap);
    if (raw === undefined) return undefined;
    return interpolate(this, section, name, raw, varMap);
  }

  /**
   * get() that also understands `sec/opt`, `known/opt` and `default/opt` option
   * names (fail2ban's get_ex, used as the `<tag>` fallback).
   */
  getEx(section: string, option: string, vars?: Readonly<Record<string, string>>): string | undefined {
    const ref = option.includes('/') ? SECTION_OPTION_RE.exec(option) : null;
    if (ref) {
      const sec = ref[1]!;
      const opt = ref[2]!;
      const lower = sec.toLowerCase();
      const candidates = lower === 'known' ? [KNOWN_PREFIX + section, section] : [lower === 'default' ? DEFAULT_SECTION : sec];
      for (const candidate of candidates) {
        if (candidate !== DEFAULT_SECTION && !this.sections.has(candidate)) continue;
        const v = this.get(candidate, opt);
        if (v !== undefined) return v;
      }
    }
    if (section !== DEFAULT_SECTION && !this.sections.has(section)) return undefined;
    return this.get(section, option, vars);
  }

  /** Adds options to a section (later wins); with a prefix, names are prefixed (`known/`). */
  mergeSection(section: string, options: Readonly<Record<string, string>>, prefix = ''): void {
    const target = this.ensureSection(section);
    for (const [k, value] of Object.entries(options)) {
      if (prefix && k.startsWith(prefix)) continue;
      const name = (prefix + k).toLowerCase();
      target.set(name, { name, value });
    }
  }

  /** Adds/overrides DEFAULT options (e.g. fail2ban_version). */
  mergeDefaults(options: Readonly<Record<string, string>>): void {
    for (const [k, value] of Object.entries(options)) this.defaults.set(k.toLowerCase(), { name: k.toLowerCase(), value });
  }

  // InterpolationSource

  lookup(section: string, name: string, vars: ReadonlyMap<string, RawValue>): RawValue | undefined {
    const v = vars.get(name);
    if (v !== undefined) return v;
    if (section !== DEFAULT_SECTION) {
      const own = this.sections.get(section)?.get(name);
      if (own !== undefined) return own;
    }
    return this.defaults.get(name);
  }

  lookupReference(section: string, sectionPart: string, option: string): RawValue | undefined {
    const lower = sectionPart.toLowerCase();
    if (lower === 'default') return this.defaults.get(option);
    if (lower === 'known') return this.sections.get(KNOWN_PREFIX + section)?.get(option) ?? this.defaults.get(option);
    const other = this.sections.get(sectionPart);
    if (!other) return undefined;
    return other.get(option) ?? this.defaults.get(option);
  }
}

function toVarMap(vars: Readonly<Record<string, string>> | undefined): Map<string, RawValue> {
  const map = new Map<string, RawValue>();
  if (vars) for (const [k, v] of Object.entries(vars)) map.set(k.toLowerCase(), { value: v });
  return map;
}
