/**
 * No catastrophic backtracking: every moat filter must process adversarial lines — built from
 * its own matching corpus lines by repeating fragments (" from ", "user ", "[", digits, dots,
 * quotes ...) in the middle of the line — in time linear in their length. The verdict is a
 * growth ratio, not a wall-clock bound (tests never assert absolute time): a line that takes
 * noticeably long at 10 kB is measured again at 80 kB; linear work grows ~8x, quadratic 64x,
 * exponential beyond measure. Both sizes are measured back to back in CPU time, so machine load cancels.
 */
process.env.TZ = 'Europe/Zurich';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';
import { buildFilter, corpusLines, moatFilters, variantsOf } from './corpus-lines.ts';

const LINE_BYTES = 10_000;
/** Per line, best of REPEAT runs (a GC pause is not backtracking). */
const REPEAT = 3;
/**
 * Lines slower than this at 10 kB (linear filters: ~0.2 ms here) get the growth check; it only
 * keeps the test short, the verdict is the ratio.
 */
const SUSPECT_MS = 0.3;
/** Length factor of the growth check and the largest time ratio that still counts as linear. */
const GROWTH_FACTOR = 8;
const MAX_GROWTH = 20;
const LINES_PER_VARIANT = 6;
const FRAGMENTS = [' from ', 'user ', '[', '1', '.', ' ', '1.2.3.4 ', '"', "'", '(', 'a', ':', '<', ', ', ' from 1.2.3.4 port 22', '=', '\\'];

/** Adversarial lines for one sample, by length: a fragment repeated to ~`bytes` at one of two cut points. */
function adversarialLines(sample: string): Array<(bytes: number) => string> {
  const out: Array<(bytes: number) => string> = [];
  const words = sample.split(/\s+/).filter((w) => w.length > 1).slice(-3);
  for (const cut of [Math.floor(sample.length / 3), Math.floor((2 * sample.length) / 3)]) {
    for (const f of [...FRAGMENTS, ...words.map((w) => `${w} `)]) {
      out.push((bytes) => sample.slice(0, cut) + f.repeat(Math.ceil(bytes / f.length)) + sample.slice(cut));
    }
  }
  return out;
}

/**
 * Best of `repeat` runs of `run(input)`: CPU time of this process in ms. CPU time, not wall
 * time, so other processes preempting this one (a loaded CI machine) do not inflate it.
 */
function bestMs(run: (input: string) => unknown, input: string, repeat = REPEAT): number {
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.cpuUsage();
    run(input);
    const used = process.cpuUsage(t0);
    best = Math.min(best, (used.user + used.system) / 1e3);
  }
  return best;
}

/**
 * How much slower `run` gets when the line grows GROWTH_FACTOR times (best of 5 each, the two
 * sizes interleaved so a burst of machine load hits both).
 */
function growth(run: (input: string) => unknown, lineOf: (bytes: number) => string, bytes: number): number {
  const small = lineOf(bytes);
  const large = lineOf(bytes * GROWTH_FACTOR);
  let tSmall = Infinity;
  let tLarge = Infinity;
  // below the clock's resolution a ratio means nothing: floor the small side at 50 µs
  const ratio = () => tLarge / Math.max(tSmall, 0.05);
  for (let r = 0; r < 5; r++) {
    tSmall = Math.min(tSmall, bestMs(run, small, 1));
    tLarge = Math.min(tLarge, bestMs(run, large, 1));
    if (ratio() > 5 * MAX_GROWTH) break; // no load makes this linear; spare the slow reruns
  }
  return ratio();
}

test('every moat filter handles 10 kB adversarial lines in linear time', () => {
  const logs = fail2banPackage().logs;
  const report: string[] = [];
  let worstOverall = 0;
  let worstGrowth = 0;
  let measured = 0;
  let suspects = 0;
  for (const name of moatFilters()) {
    const lines = corpusLines(logs, name);
    for (const variant of variantsOf(lines)) {
      const filter = buildFilter(name, variant);
      const samples = lines.filter((l) => l.variants.some((v) => JSON.stringify(v) === JSON.stringify(variant)));
      const run = (line: string) => filter.processLine(line);
      for (const sample of samples.slice(0, LINES_PER_VARIANT)) {
        for (const lineOf of adversarialLines(sample.text)) {
          const ms = bestMs(run, lineOf(LINE_BYTES));
          measured++;
          worstOverall = Math.max(worstOverall, ms);
          if (ms <= SUSPECT_MS) continue;
          suspects++;
          const ratio = growth(run, lineOf, LINE_BYTES);
          worstGrowth = Math.max(worstGrowth, ratio);
          if (ratio > MAX_GROWTH) {
            report.push(`${name}${JSON.stringify(variant)}: ${ms.toFixed(2)} ms at 10 kB, ${ratio.toFixed(1)}x at ${GROWTH_FACTOR}x the length, on ${lineOf(LINE_BYTES).slice(0, 160)}...`);
          }
        }
      }
    }
  }
  for (const r of report) console.log(`NOT LINEAR ${r}`);
  console.log(
    `linear time: ${measured} adversarial 10 kB lines, worst ${worstOverall.toFixed(3)} ms; ` +
      `${suspects} over ${SUSPECT_MS} ms re-measured at ${GROWTH_FACTOR}x the length, worst growth ${worstGrowth.toFixed(1)}x (bound ${MAX_GROWTH}x)`,
  );
  assert.ok(measured > 1000, `too few lines measured: ${measured}`);
  assert.deepEqual(report, []);
});

test('the growth check catches nested-quantifier and quadratic regexes, and passes a linear one', () => {
  const run = (re: RegExp) => (line: string) => re.test(line);
  // (?:[^\]"]*|"[^"]*")* — the shape fail2ban's rfc5424 prefix uses — on an unbalanced quote
  const exponential = growth(run(/^\s*\S+ (?:\[(?:[^\]"]*|"[^"]*")*\])+\s+x$/), (n) => ` host [a ${'b'.repeat(n)}"c`, 3);
  assert.ok(exponential > MAX_GROWTH, `expected exponential growth, got ${exponential.toFixed(1)}x`);
  // a catch-all before an unanchored tail: every start position scans to the end
  const quadratic = growth(run(/\s.*x=\d/), (n) => ' '.repeat(n), 2000);
  assert.ok(quadratic > MAX_GROWTH, `expected quadratic growth, got ${quadratic.toFixed(1)}x`);
  console.log(`growth at ${GROWTH_FACTOR}x the length: exponential ${exponential.toFixed(0)}x, quadratic ${quadratic.toFixed(1)}x`);
  const linear = growth(run(/\d+\.\d+ port/), (n) => '1.'.repeat(n / 2), LINE_BYTES);
  assert.ok(linear <= MAX_GROWTH, `expected linear growth, got ${linear.toFixed(1)}x`);
  console.log(`linear ${linear.toFixed(1)}x`);
});
