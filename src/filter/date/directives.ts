/**
 * strptime-style `%X` directives of date patterns (reference §3.3): the regex each one stands for
 * (Python `re` syntax, named after the strptime field it fills) and the word it shows as in a
 * template's display name.
 */

// Month and day names of the C locale, which is what fail2ban sees in practice.
export const MONTH_NAMES = [
  'january', 'february', 'march', 'april', 'may', 'june',
  'july', 'august', 'september', 'october', 'november', 'december',
] as const;
export const DAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export const MONTH_ABBREVIATIONS = MONTH_NAMES.map((n) => n.slice(0, 3));
export const DAY_ABBREVIATIONS = DAY_NAMES.map((n) => n.slice(0, 3));

/** Python's strptime lists names longest first so that a longer name wins an alternation. */
function namesRegex(field: string, names: readonly string[]): string {
  const sorted = [...names].sort((a, b) => b.length - a.length); // stable: equal lengths keep order
  return `(?P<${field}>${sorted.join('|')})`;
}

const ZONE_ABBR = '[A-Z](?:[A-Z]{2,4})?';

/**
 * The first three digits of the years `%ExY` accepts: last year and three years ahead of `year`, plus
 * every third year from 2000 on, so that test logs dated in the 2000s always parse. Grouped into the
 * shortest character-class form (`20[012]` for 2026), as fail2ban does.
 */
export function yearCenturyRegex(year: number): string {
  const prefixes = new Set<string>();
  const prefix = (y: number): string => String(y).slice(0, 3);
  prefixes.add(prefix(year - 1));
  prefixes.add(prefix(year + 3));
  const base = 2001; // the "alternate now" floor fail2ban uses: 2001-01-02
  for (let i = -1; i < year - base + 1; i += 3) prefixes.add(prefix(base + i));
  return groupAlternatives([...prefixes].sort());
}

/** Factors a common prefix out of equal-length alternatives: ['200','201'] → '20[01]'. */
function groupAlternatives(items: string[]): string {
  if (items.length > 1) {
    // all but the last character shared?
    let common: string | null = null;
    for (const item of items) {
      const head = item.slice(0, -1);
      if (common === null || head === common) common = head;
      else {
        common = null;
        break;
      }
    }
    if (!common) {
      // first character shared? (an empty shared head counts as "no match" here, like upstream)
      const start: string | null = common;
      common = null;
      if (start === null) {
        for (const item of items) {
          if (common === null || item[0] === common) common = item[0] ?? '';
          else {
            common = null;
            break;
          }
        }
      }
    }
    if (common) {
      const cut = common.length;
      return common + groupAlternatives(items.map((i) => i.slice(cut)));
    }
    return (items[0]?.length ?? 0) > 1 ? `(?:${items.join('|')})` : `[${items.join('')}]`;
  }
  return items.join('');
}

/** Year regex for `%ExY`, computed once from the clock at first use (fail2ban: at process start). */
let extendedYear: string | null = null;
function extendedYearRegex(): string {
  extendedYear ??= `(?P<Y>${yearCenturyRegex(new Date().getFullYear())}\\d)`;
  return extendedYear;
}

// Python 3.11 `_strptime.TimeRE` (C locale) for the directives fail2ban does not override.
const PY_D = '(?P<d>3[0-1]|[1-2]\\d|0[1-9]|[1-9]| [1-9])';
const PY_H = '(?P<H>2[0-3]|[0-1]\\d|\\d)';
const PY_M = '(?P<M>[0-5]\\d|\\d)';
const PY_S = '(?P<S>6[0-1]|[0-5]\\d|\\d)';
const PY_MONTH = '(?P<m>1[0-2]|0[1-9]|[1-9])';

/** Directive → regex (Python syntax). `ExY` is resolved lazily, see {@link directiveRegex}. */
const DIRECTIVES: Readonly<Record<string, string>> = {
  a: namesRegex('a', DAY_ABBREVIATIONS),
  A: namesRegex('A', DAY_NAMES),
  b: namesRegex('b', MONTH_ABBREVIATIONS),
  B: namesRegex('B', MONTH_NAMES),
  c: `${namesRegex('a', DAY_ABBREVIATIONS)}\\s+${namesRegex('b', MONTH_ABBREVIATIONS)}\\s+${PY_D}\\s+${PY_H}:${PY_M}:${PY_S}\\s+(?P<Y>\\d\\d\\d\\d)`,
  d: '(?P<d>[1-2]\\d|[0 ]?[1-9]|3[0-1])',
  f: '(?P<f>[0-9]{1,6})',
  G: '(?P<G>\\d\\d\\d\\d)',
  H: '(?P<H>[0-1]?\\d|2[0-3])',
  I: '(?P<I>1[0-2]|0[1-9]|[1-9])',
  j: '(?P<j>36[0-6]|3[0-5]\\d|[1-2]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9])',
  k: ' ?(?P<H>[0-2]?\\d)',
  l: ' ?(?P<I>1?\\d)',
  m: '(?P<m>0?[1-9]|1[0-2])',
  M: '(?P<M>[0-5]?\\d)',
  p: '(?P<p>am|pm)',
  S: '(?P<S>[0-5]?\\d|6[0-1])',
  u: '(?P<u>[1-7])',
  U: '(?P<U>5[0-3]|[0-4]\\d|\\d)',
  V: '(?P<V>5[0-3]|0[1-9]|[1-4]\\d|\\d)',
  w: '(?P<w>[0-6])',
  W: '(?P<W>5[0-3]|[0-4]\\d|\\d)',
  x: `${PY_MONTH}/${PY_D}/(?P<y>\\d\\d)`,
  X: `${PY_H}:${PY_M}:${PY_S}`,
  y: '(?P<y>\\d\\d)',
  Y: '(?P<Y>\\d{4})',
  z: '(?P<z>Z|UTC|GMT|[+-][01]\\d(?::?\\d{2})?)',
  Z: '(?P<Z>Z|[A-Z]{3,5})',
  '%': '%',
  ExZ: `(?P<Z>${ZONE_ABBR})`,
  Exz: `(?P<z>(?:${ZONE_ABBR})?[+-][01]\\d(?::?\\d{2})?|${ZONE_ABBR})`,
  Exd: '(?P<d>[1-2]\\d|0[1-9]|3[0-1])',
  Exm: '(?P<m>0[1-9]|1[0-2])',
  ExH: '(?P<H>[0-1]\\d|2[0-3])',
  Exk: ' ?(?P<H>[0-1]?\\d|2[0-3])',
  Exl: ' ?(?P<I>1[0-2]|\\d)',
  ExM: '(?P<M>[0-5]\\d)',
  ExS: '(?P<S>[0-5]\\d|6[0-1])',
  ExY: '', // computed
  Exy: '(?P<y>\\d{2})',
};

const DISPLAY_WORDS: Readonly<Record<string, string>> = {
  a: 'DAY', A: 'DAYNAME', b: 'MON', B: 'MONTH', d: 'Day', H: '24hour', I: '12hour', j: 'Yearday',
  m: 'Month', M: 'Minute', p: 'AMPM', S: 'Second', U: 'Yearweek', w: 'Weekday', W: 'Yearweek',
  y: 'Year2', Y: 'Year', '%': '%', z: 'Zone offset', f: 'Microseconds', Z: 'Zone name',
};

function directiveRegex(key: string): string {
  return key === 'ExY' ? extendedYearRegex() : (DIRECTIVES[key] as string);
}

function displayWord(key: string): string {
  const word = DISPLAY_WORDS[key];
  if (word !== undefined) return word;
  if (key.startsWith('Ex')) {
    const base = DISPLAY_WORDS[key.slice(2)];
    if (base !== undefined) return `Ex${base}`;
  }
  return `%${key}`;
}

const MULTI_KEYS = Object.keys(DIRECTIVES).filter((k) => k.length > 1);
const SINGLE_KEYS = Object.keys(DIRECTIVES).filter((k) => k.length === 1);
/** `%%`, then the `Ex..` directives, then single letters — the order fail2ban's scanner uses. */
const DIRECTIVE_SCAN = new RegExp(
  `%(%|${MULTI_KEYS.join('|')}|[${SINGLE_KEYS.map((k) => (k === '%' ? '' : k)).join('')}])`,
  'g',
);

export interface ExpandedPattern {
  /** The pattern with directives replaced by their regexes (Python syntax). */
  regex: string;
  /** The pattern with directives replaced by display words. */
  name: string;
}

/**
 * Replaces every directive of `pattern`. A `%` that starts no known directive is an error (fail2ban
 * fails the same way, through Python's `%` formatting): throws an Error with a short reason.
 */
export function expandDirectives(pattern: string): ExpandedPattern {
  let regex = '';
  let name = '';
  let last = 0;
  DIRECTIVE_SCAN.lastIndex = 0;
  for (let m = DIRECTIVE_SCAN.exec(pattern); m !== null; m = DIRECTIVE_SCAN.exec(pattern)) {
    const literal = pattern.slice(last, m.index);
    checkNoStrayPercent(literal);
    const key = m[1] as string;
    regex += literal + directiveRegex(key);
    name += literal + displayWord(key);
    last = m.index + m[0].length;
  }
  const rest = pattern.slice(last);
  checkNoStrayPercent(rest);
  return { regex: regex + rest, name: name + rest };
}

function checkNoStrayPercent(text: string): void {
  const at = text.indexOf('%');
  if (at >= 0) {
    throw new Error(`unsupported format directive '${text.slice(at, at + 2)}'`);
  }
}

/** Patterns naming months, days or AM/PM are matched case-insensitively (`(?iu)`). */
const NAMED_FIELDS = /(?<!%)%[aAbBpc]/;
export function needsIgnoreCase(pattern: string): boolean {
  return NAMED_FIELDS.test(pattern);
}
