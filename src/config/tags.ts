/**
 * Recursive `<tag>` substitution (§1.5, §5.3 pass 1). A tag is `<` + chars
 * other than space, `<`, `>` + `>`, so the innermost tag of a nested one
 * (`<lt_<logtype>/__prefix_line>`) resolves first. Unknown tags stay as they
 * are (`<HOST>`, `<ip>`, `<F-USER>` must survive). A tag referring to its own
 * option, or replaced more than 25 times in one value, is an error.
 *
 * Used by the config readers on filter/action option sets, and by the actions
 * engine on action properties at execution time (with a family condition).
 */
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

export const MAX_TAG_REPLACE_COUNT = 25;
const TAG_RE = /<([^ <>]+)>/g;
const CONDITIONAL_KEY_RE = /^(\w+)\?(.+)$/;

export interface TagSubstitutionOptions {
  /** Condition such as `family=inet6`: `tag?family=inet6` is preferred over `tag`. */
  conditional?: string;
  /** Options neither substituted nor used as replacements (e.g. `matches`, `timeout`). */
  ignore?: Iterable<string>;
  /** Fallback lookup for tags that are not keys of the set (e.g. `sec/opt` in the file). */
  fallback?: (tag: string) => string | undefined;
  /** Location used in error messages. */
  where?: ErrorLocation;
}

/** Names of options that have a conditional variant (`x` for `x?family=inet6`). */
export function conditionalBaseNames(names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const n of names) {
    const m = CONDITIONAL_KEY_RE.exec(n);
    if (m) out.add(m[1]!);
  }
  return out;
}

/**
 * Substitutes tags in every value of `tags` using the other values (and the
 * fallback), repeating until no value changes; returns a new object.
 */
export function substituteRecursiveTags(
  tags: Readonly<Record<string, string>>,
  options: TagSubstitutionOptions = {},
): Record<string, string> {
  const ignore = new Set(options.ignore ?? []);
  const values: Record<string, string> = { ...tags };
  const done = new Set<string>();
  const counts = new Map<string, Map<string, number>>();
  const lookup = (tag: string): string | undefined => {
    let repl: string | undefined;
    if (options.conditional) repl = own(values, `${tag}?${options.conditional}`);
    if (repl === undefined) repl = own(values, tag);
    if (repl === undefined && options.fallback) repl = options.fallback(tag);
    return repl;
  };
  for (;;) {
    let again = false;
    for (const name of Object.keys(values)) {
      if (ignore.has(name) || done.has(name)) continue;
      const original = values[name]!;
      const replaced = counts.get(name) ?? new Map<string, number>();
      const value = substituteInValue(name, original, lookup, ignore, replaced, options.where);
      if (value !== original) {
        values[name] = value;
        if (hasTag(value)) {
          counts.set(name, replaced);
          again = true;
        }
      }
      if (!value.includes('<')) done.add(name);
    }
    if (!again) return values;
  }
}

/**
 * Substitutes tags in one string from a lookup (recursively through the
 * replaced text). `selfName` is the option holding the value, for the
 * self-reference check; pass '' when the value is not itself an option.
 */
export function substituteTags(
  value: string,
  lookup: (tag: string) => string | undefined,
  options: { selfName?: string; ignore?: Iterable<string>; where?: ErrorLocation } = {},
): string {
  const ignore = new Set(options.ignore ?? []);
  const replaced = new Map<string, number>();
  let current = value;
  for (;;) {
    const next = substituteInValue(options.selfName ?? '', current, lookup, ignore, replaced, options.where);
    // a replacement can complete an outer tag left of it: rescan until stable
    if (next === current || !hasTag(next)) return next;
    current = next;
  }
}

function substituteInValue(
  name: string,
  input: string,
  lookup: (tag: string) => string | undefined,
  ignore: ReadonlySet<string>,
  replaced: Map<string, number>,
  where: ErrorLocation | undefined,
): string {
  let value = input;
  let from = 0;
  for (;;) {
    TAG_RE.lastIndex = from;
    const m = TAG_RE.exec(value);
    if (!m) return value;
    const tag = m[1]!;
    if (ignore.has(tag)) {
      from = m.index + m[0].length;
      continue;
    }
    if (tag === name || (replaced.get(tag) ?? 1) > MAX_TAG_REPLACE_COUNT) {
      throw new ConfigValueError(
        `properties contain self referencing definitions and cannot be resolved: tag <${tag}> in ${name ? `'${name}'` : 'value'} ${JSON.stringify(value.slice(0, 200))}`,
        where ?? (name ? { option: name } : {}),
      );
    }
    const repl = lookup(tag);
    if (repl === undefined) {
      from = m.index + m[0].length; // unknown tags are left in place
      continue;
    }
    value = value.split(`<${tag}>`).join(repl);
    replaced.set(tag, (replaced.get(tag) ?? 0) + 1);
    from = m.index; // the replacement may form a new (outer) tag here
  }
}

function hasTag(value: string): boolean {
  TAG_RE.lastIndex = 0;
  return TAG_RE.test(value);
}

function own(obj: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}
