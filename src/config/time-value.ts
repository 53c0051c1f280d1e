/**
 * Time values (§1.11): `10m`, `1d12h30m`, `1h+30m`, `1year-6mo`, `-1`.
 * Unit words are rewritten to `*SECONDS`, juxtaposed numbers become a sum, and
 * the result is evaluated as a Python arithmetic expression by the safe
 * evaluator in util/py-expr (never `eval`).
 */
import { ConfigValueError, type ErrorLocation } from '../errors.ts';
import { compilePyExpr } from '../util/py-expr.ts';

const DAY = 24 * 60 * 60;
const YEAR = ((365 * 3 + 366) * DAY) / 4; // 365.25 days, as fail2ban
/** Unit words, in the order fail2ban replaces them (minutes before hours matters for `m`). */
const UNITS: ReadonlyArray<[RegExp, string]> = [
  [unit('days?|da|dd?'), `*${DAY}`],
  [unit('weeks?|wee?|ww?'), `*${7 * DAY}`],
  [unit('months?|mon?'), `*${(YEAR / 12).toFixed(1)}`],
  [unit('years?|yea?|yy?'), `*${YEAR.toFixed(1)}`],
  [unit('seconds?|sec?|ss?'), '*1'],
  [unit('minutes?|min?|mm?'), '*60'],
  [unit('hours?|hou?|hh?'), '*3600'],
];

function unit(words: string): RegExp {
  // a unit word must follow a digit or whitespace and end at a word boundary
  return new RegExp(`(?<=[\\d\\s])(?:${words})\\b`, 'gi');
}

const PLAIN_NUMBER = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** Rewrites a time value into the arithmetic expression fail2ban evaluates. */
export function timeValueToExpression(text: string): string {
  let s = text.replace(/(?<=[a-z])(\d)/gi, ' $1'); // `1d12h` → `1d 12h`
  for (const [re, replacement] of UNITS) s = s.replace(re, replacement);
  return s.replace(/(\d)\s+(\d)/g, '$1+$2'); // juxtaposition means addition
}

/** Converts a time value to seconds (may be fractional, may be negative). */
export function parseTimeValue(text: string | number, where: ErrorLocation = {}): number {
  if (typeof text === 'number') return text;
  if (PLAIN_NUMBER.test(text)) return Number(text);
  const expr = timeValueToExpression(text);
  let value: number;
  try {
    value = compilePyExpr(expr, where).evaluateNumber();
  } catch (err) {
    throw new ConfigValueError(`invalid time value ${JSON.stringify(text)}`, where, { cause: err });
  }
  if (!Number.isFinite(value)) throw new ConfigValueError(`invalid time value ${JSON.stringify(text)}`, where);
  return value;
}
