/**
 * Python 3 `round(x)` for floats: to the nearest integer, ties to even
 * (round(2.5) == 2, round(3.5) == 4). Math.round would round ties up and make
 * the findtime rescaling disagree with fail2ban.
 */
export function pyRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const floor = Math.floor(x);
  const diff = x - floor; // exact for |x| < 2^52
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
