/**
 * Execution-time static tag substitution (§5.3 pass 1): `<prop>` → action
 * property, recursively, preferring the `prop?family=F` variant when a family
 * is known. Everything here is trusted configuration; values from tickets are
 * handled by shell-bind.ts and never pass through this module.
 */
import { hostname } from 'node:os';
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

/** fail2ban's TAG_CRE: the innermost `<...>` without spaces wins. */
export const TAG_RE = /<([^ <>]+)>/g;
/** A property name with a family condition: `blocktype?family=inet6`. */
export const CONDITIONAL_FAMILY_RE = /^(\w+)\?(family)=(.*)$/;

const MAX_TAG_REPLACE_COUNT = 25;

/** Properties whose values are backslash-escaped when substituted (fail2ban's _escapedTags). */
export const ESCAPED_PROPERTIES = new Set(['matches', 'ipmatches', 'ipjailmatches']);

const ESCAPE_CHARS_RE = /[\\#&;`|*?~<>^()[\]{}$'"\n\r]/g;

/** Backslash-escapes shell-special characters (newline → `\n`), as fail2ban's escapeTag. */
export function escapeTagValue(value: string): string {
  return value.replace(ESCAPE_CHARS_RE, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`));
}

let cachedHostnames: { fqdn: string; short: string } | undefined;

/** Host names for `<fq-hostname>` / `<sh-hostname>` (from os.hostname(); no DNS round-trip). */
export function localHostnames(): { fqdn: string; short: string } {
  if (!cachedHostnames) {
    const h = hostname();
    cachedHostnames = { fqdn: h, short: h.split('.')[0] ?? h };
  }
  return cachedHostnames;
}

/** Fallback values for tags no property defines: `<br>`, `<sp>`, host names. */
export function fallbackTag(tag: string): string | undefined {
  switch (tag) {
    case 'br':
      return '\n';
    case 'sp':
      return ' ';
    case 'fq-hostname':
      return localHostnames().fqdn;
    case 'sh-hostname':
      return localHostnames().short;
    default:
      return undefined;
  }
}

function lookup(props: Record<string, string>, tag: string, conditional: string): string | undefined {
  if (conditional) {
    const v = props[`${tag}?${conditional}`];
    if (v !== undefined) return v;
  }
  return Object.prototype.hasOwnProperty.call(props, tag) ? props[tag] : undefined;
}

/**
 * Resolves tags inside property values against each other (fail2ban's
 * substituteRecursiveTags): unknown tags stay, self references and runaway
 * expansion are errors.
 */
export function resolvePropertyTags(
  props: Record<string, string>,
  conditional: string,
  where: ErrorLocation = {},
): Record<string, string> {
  const out: Record<string, string> = { ...props };
  for (const key of Object.keys(out)) {
    if (ESCAPED_PROPERTIES.has(key)) continue;
    let value = out[key]!;
    const counts = new Map<string, number>();
    let from = 0;
    for (;;) {
      const re = new RegExp(TAG_RE.source, 'g');
      re.lastIndex = from;
      const m = re.exec(value);
      if (!m) break;
      const ref = m[1]!;
      if (ESCAPED_PROPERTIES.has(ref)) {
        from = m.index + m[0].length;
        continue;
      }
      if (ref === key || (counts.get(ref) ?? 0) >= MAX_TAG_REPLACE_COUNT) {
        throw new ConfigValueError(
          `properties contain self referencing definitions and cannot be resolved: tag <${ref}> in '${key}'`,
          { ...where, option: key },
        );
      }
      const repl = lookup(out, ref, conditional);
      if (repl === undefined) {
        from = m.index + m[0].length;
        continue;
      }
      value = value.split(`<${ref}>`).join(repl);
      counts.set(ref, (counts.get(ref) ?? 0) + 1);
      from = m.index; // the replacement may itself contain tags
    }
    out[key] = value;
  }
  return out;
}

/**
 * Substitutes properties into a command (fail2ban's replaceTag with a plain
 * dict): repeated until stable, unknown tags left for the dynamic pass.
 */
export function replaceStaticTags(
  query: string,
  resolved: Record<string, string>,
  conditional: string,
  where: ErrorLocation = {},
): string {
  if (!query.includes('<')) return query;
  let current = query;
  for (let round = 0; round <= MAX_TAG_REPLACE_COUNT; round++) {
    const next = current.replace(new RegExp(TAG_RE.source, 'g'), (whole, tag: string) => {
      let v = lookup(resolved, tag, conditional);
      if (v === undefined) return fallbackTag(tag) ?? whole;
      if (ESCAPED_PROPERTIES.has(tag)) v = escapeTagValue(v);
      return v;
    });
    if (next === current || !next.includes('<')) return next;
    current = next;
  }
  throw new ConfigValueError(
    `unexpected too long replacement interpolation, possible self referencing definitions in: ${query}`,
    where,
  );
}

/** True when any property name carries a `?family=` condition. */
export function hasConditionalSection(props: Record<string, string>): boolean {
  return Object.keys(props).some((k) => CONDITIONAL_FAMILY_RE.test(k));
}

/** Python's float repr for epoch times: `1795238403.553`, `1795238403.0`. */
export function pythonFloatText(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : n < 0 ? '-inf' : 'nan';
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** fail2ban's mapTag2Opt: `<F-USER>` → `user`, `<F-ID>` → `fid`, `<F-PORT>` → `fport`. */
export function filterTagToDataKey(tag: string): string {
  const t = tag.toLowerCase();
  return t === 'id' ? 'fid' : t === 'port' ? 'fport' : t;
}
