/**
 * The part filter and action files share (§1.6): `[Definition]` options read
 * with the jail's options as interpolation vars, `[Init]` defaults (also kept
 * as `known/<opt>`), reference arguments, and the combined, tag-substituted
 * option set. Precedence, highest first: reference argument > [Init] >
 * [Definition].
 */
import { ConfigUnit } from './config-unit.ts';
import { conditionalBaseNames, substituteRecursiveTags } from './tags.ts';

export class DefinitionReader {
  /** Reference arguments, then [Init] values and `known/` copies (mutated by readOptions). */
  readonly initOptions: Record<string, string>;
  private definitionOptions: Record<string, string> = {};
  private vars: Record<string, string> = {};
  private readonly fallbackCache = new Map<string, string | undefined>();

  constructor(
    readonly unit: ConfigUnit,
    initOptions: Readonly<Record<string, string>>,
    private readonly configOptions: readonly string[],
  ) {
    this.initOptions = { ...initOptions };
  }

  /**
   * Reads the recognised `[Definition]` options (skipping those the jail
   * supplies), merges `[Init]`; with `all`, also every other Definition option.
   */
  readOptions(jailOptions: Readonly<Record<string, string>>, all = false): void {
    const unit = this.unit;
    const vars = { ...jailOptions, ...this.initOptions };
    const opts: Record<string, string> = {};
    if (unit.hasSection('Definition')) {
      for (const name of this.configOptions) {
        if (Object.prototype.hasOwnProperty.call(vars, name)) continue;
        const v = unit.get('Definition', name, vars);
        if (v !== undefined) opts[name] = v;
      }
    }
    if (unit.hasSection('Init')) {
      for (const opt of unit.ownOptions('Init')) {
        let v: string | undefined;
        if (!opt.startsWith('known/')) {
          v = unit.get('Init', opt)!;
          this.initOptions[`known/${opt}`] = v;
        }
        if (!Object.prototype.hasOwnProperty.call(this.initOptions, opt)) {
          this.initOptions[opt] = v ?? unit.get('Init', opt)!;
        }
      }
    }
    if (all && unit.hasSection('Definition')) {
      for (const opt of unit.ownOptions('Definition')) {
        if (Object.prototype.hasOwnProperty.call(opts, opt)) continue;
        opts[opt] = unit.get('Definition', opt)!;
      }
    }
    this.definitionOptions = opts;
    this.vars = vars;
    this.fallbackCache.clear();
  }

  /** Has `[Definition]` itself (not DEFAULT) this option? */
  definesOwn(option: string): boolean {
    return this.unit.hasOption('Definition', option, false);
  }

  /**
   * Definition options overlaid by init options, `<tags>` substituted.
   * `ignore` names (and options with a `?family=` variant) are left raw.
   */
  combined(ignore: Iterable<string> = []): Record<string, string> {
    const all = { ...this.definitionOptions, ...this.initOptions };
    const skip = new Set(ignore);
    for (const n of conditionalBaseNames(Object.keys(all))) skip.add(n);
    return substituteRecursiveTags(all, { ignore: skip, fallback: (tag) => this.fallback(tag) });
  }

  /** Tags not in the combined set: `sec/opt`, `known/opt`, `default/opt` or a Definition option. */
  private fallback(tag: string): string | undefined {
    if (this.fallbackCache.has(tag)) return this.fallbackCache.get(tag);
    const v = this.unit.hasSection('Definition') ? this.unit.getEx('Definition', tag, this.vars) : undefined;
    this.fallbackCache.set(tag, v);
    return v;
  }
}
