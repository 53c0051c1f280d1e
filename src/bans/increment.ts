/**
 * Ban-time increment (§4.5): the duration of a repeated ban from the previous
 * duration and ban count, via `bantime.multipliers` or `bantime.formula`
 * (evaluated by the safe Python-expression evaluator), then `maxtime` and
 * `rndtime`.
 */
import { DEFAULT_BANTIME_FORMULA } from '../config/types.ts';
import { compilePyExpr } from '../util/py-expr.ts';
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

export interface BanTimeIncrementOptions {
  enabled: boolean;
  /** Python expression, default "1". */
  factor?: string | null;
  /** Python expression over ban.Time, ban.Count, banFactor. */
  formula?: string | null;
  /** "1 2 4 8" or a list; index = previous ban count, last value repeats. */
  multipliers?: string | number[] | null;
  /** Seconds. */
  maxtime?: number | null;
  /** Seconds of random extra time. */
  rndtime?: number | null;
  /** Count bans of the IP in all jails. */
  overalljails?: boolean;
}

/** (previous/jail ban time, previous ban count) → new ban time in seconds. */
export type BanTimeFunction = (banTime: number, banCount: number) => number;

export function parseMultipliers(value: string | number[] | null | undefined, where: ErrorLocation = {}): number[] {
  if (value == null) return [];
  const list = typeof value === 'string' ? value.split(/\s+/).filter(Boolean).map(Number) : value;
  for (const m of list) {
    if (!Number.isInteger(m)) throw new ConfigValueError(`bantime.multipliers must be integers, got '${String(value)}'`, { ...where, option: 'bantime.multipliers' });
  }
  return list;
}

export function compileBanTimeFunction(
  opts: BanTimeIncrementOptions,
  random: () => number = Math.random,
  where: ErrorLocation = {},
): BanTimeFunction {
  const banFactor = compilePyExpr(opts.factor || '1', { ...where, option: 'bantime.factor' }).evaluateNumber();
  const multipliers = parseMultipliers(opts.multipliers, where);
  let fn: BanTimeFunction;
  if (multipliers.length) {
    fn = (time, count) => time * banFactor * multipliers[count < multipliers.length ? count : multipliers.length - 1]!;
  } else {
    const formula = compilePyExpr(opts.formula || DEFAULT_BANTIME_FORMULA, { ...where, option: 'bantime.formula' });
    fn = (time, count) => Math.max(time, formula.evaluateNumber({ ban: { Time: time, Count: count }, banFactor }));
  }
  const maxtime = opts.maxtime ?? null;
  const rndtime = opts.rndtime ?? null;
  return (time, count) => {
    let t = fn(time, count);
    if (maxtime !== null) t = Math.min(t, maxtime);
    if (rndtime !== null) t += random() * rndtime;
    return t;
  };
}
