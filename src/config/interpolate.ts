/**
 * `%(name)s` interpolation (§1.3), resolved when an option is fetched, in the
 * context of the section being read: the name is looked up (lower-cased) in
 * the caller's vars, then the section, then `[DEFAULT]`; `%(__name__)s` is the
 * section name; `%(sec/opt)s`, `%(default/opt)s` and `%(known/opt)s` insert a
 * foreign raw value which is then interpolated in *this* section's context.
 * `%%` is a literal `%`. Nesting deeper than 10 levels is an error.
 */
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

/** Python's configparser MAX_INTERPOLATION_DEPTH. */
export const MAX_INTERPOLATION_DEPTH = 10;

/** A raw value and where it was written (for error locations). */
export interface RawValue {
  value: string;
  file?: string;
  line?: number;
}

/** What interpolation needs from the merged configuration. */
export interface InterpolationSource {
  /** `name` in the chain vars → section → DEFAULT (name already lower-cased). */
  lookup(section: string, name: string, vars: ReadonlyMap<string, RawValue>): RawValue | undefined;
  /** `sec/opt`: raw foreign value, or undefined (see resolveSectionReference). */
  lookupReference(section: string, sectionPart: string, option: string): RawValue | undefined;
}

const REFERENCE_RE = /^([\w-]+)\/(.+)$/;

/**
 * Interpolates `raw` (the value of `option` in `section`).
 * `origin` is where `raw` was written; errors point at the value that holds
 * the bad reference, which may be a DEFAULT or foreign value.
 */
export function interpolate(
  source: InterpolationSource,
  section: string,
  option: string,
  raw: RawValue,
  vars: ReadonlyMap<string, RawValue> = new Map(),
): string {
  const out: string[] = [];
  expand(source, section, option, raw, vars, out, 1);
  return out.join('');
}

function expand(
  source: InterpolationSource,
  section: string,
  option: string,
  raw: RawValue,
  vars: ReadonlyMap<string, RawValue>,
  out: string[],
  depth: number,
): void {
  const where: ErrorLocation = { section, option };
  if (raw.file !== undefined) where.file = raw.file;
  if (raw.line !== undefined) where.line = raw.line;
  if (depth > MAX_INTERPOLATION_DEPTH) {
    throw new ConfigValueError(
      `interpolation depth exceeded (more than ${MAX_INTERPOLATION_DEPTH} nested %(...)s); raw value: ${JSON.stringify(raw.value)}`,
      where,
    );
  }
  const rest = raw.value;
  let i = 0;
  while (i < rest.length) {
    const p = rest.indexOf('%', i);
    if (p === -1) {
      out.push(rest.slice(i));
      return;
    }
    out.push(rest.slice(i, p));
    const c = rest[p + 1];
    if (c === '%') {
      out.push('%');
      i = p + 2;
      continue;
    }
    if (c !== '(') {
      throw new ConfigValueError(`'%' must be followed by '%' or '(', found: ${JSON.stringify(rest.slice(p))}`, where);
    }
    const close = rest.indexOf(')', p + 2);
    if (close === -1 || rest[close + 1] !== 's') {
      throw new ConfigValueError(`bad interpolation variable reference ${JSON.stringify(rest.slice(p))}`, where);
    }
    const key = rest.slice(p + 2, close);
    const value = resolveKey(source, section, key, vars);
    if (value === undefined) {
      throw new ConfigValueError(
        `bad value substitution: option '${option}' in section '${section}' contains an interpolation key '${key.toLowerCase()}' which is not a valid option name`,
        where,
      );
    }
    if (value.value.includes('%')) expand(source, section, option, value, vars, out, depth + 1);
    else out.push(value.value);
    i = close + 2;
  }
}

function resolveKey(
  source: InterpolationSource,
  section: string,
  key: string,
  vars: ReadonlyMap<string, RawValue>,
): RawValue | undefined {
  const name = key.toLowerCase();
  // fail2ban always maps __name__ to the section being read, even over vars
  if (name === '__name__') return { value: section };
  const direct = source.lookup(section, name, vars);
  if (direct !== undefined) return direct;
  const ref = REFERENCE_RE.exec(key);
  // fail2ban stores the foreign value under the key as written and configparser
  // then looks it up lower-cased: only an all-lower-case reference is found.
  if (!ref || key !== name) return undefined;
  return source.lookupReference(section, ref[1]!, ref[2]!);
}
