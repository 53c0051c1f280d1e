/**
 * No catastrophic backtracking: every moat filter must process 10 kB adversarial lines —
 * built from its own matching corpus lines by repeating fragments (" from ", "user ", "[",
 * digits, dots, quotes ...) in the middle of the line — in bounded time. A regex with nested
 * or overlapping quantifiers takes seconds to minutes on such lines; a linear one well under
 * a millisecond.
 */
process.env.TZ = 'Europe/Zurich';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';
import { buildFilter, corpusLines, moatFilters, variantsOf } from './corpus-lines.ts';

const LINE_BYTES = 10_000;
/**
 * Per line, best of REPEAT runs (a GC pause is not backtracking); bound on the worst line.
 * Linear filters measure ~0.2 ms per 10 kB line here (best of 3 after warm-up), leaving a 5x
 * margin for a loaded 2-core machine. Quadratic patterns take >100 ms on these lines,
 * exponential ones seconds.
 */
const REPEAT = 3;
const BOUND_MS = 1;
const LINES_PER_VARIANT = 6;
const FRAGMENTS = [' from ', 'user ', '[', '1', '.', ' ', '1.2.3.4 ', '"', "'", '(', 'a', ':', '<', ', ', ' from 1.2.3.4 port 22', '=', '\\'];

/** Adversarial lines for one sample: fragments repeated to ~10 kB at two cut points. */
export function adversarialLines(sample: string): string[] {
  const out: string[] = [];
  const words = sample.split(/\s+/).filter((w) => w.length > 1).slice(-3);
  for (const cut of [Math.floor(sample.length / 3), Math.floor((2 * sample.length) / 3)]) {
    for (const f of [...FRAGMENTS, ...words.map((w) => `${w} `)]) {
      const fill = f.repeat(Math.ceil(LINE_BYTES / f.length));
      out.push(sample.slice(0, cut) + fill + sample.slice(cut));
    }
  }
  return out;
}

test('every moat filter handles 10 kB adversarial lines in linear time', () => {
  const logs = fail2banPackage().logs;
  const report: string[] = [];
  let worstOverall = 0;
  let measured = 0;
  for (const name of moatFilters()) {
    const lines = corpusLines(logs, name);
    for (const variant of variantsOf(lines)) {
      const filter = buildFilter(name, variant);
      const samples = lines.filter((l) => l.variants.some((v) => JSON.stringify(v) === JSON.stringify(variant)));
      let worst = 0;
      let worstLine = '';
      for (const sample of samples.slice(0, LINES_PER_VARIANT)) {
        for (const line of adversarialLines(sample.text)) {
          let best = Infinity;
          for (let r = 0; r < REPEAT; r++) {
            const t0 = process.hrtime.bigint();
            filter.processLine(line);
            best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
          }
          measured++;
          if (best > worst) {
            worst = best;
            worstLine = line;
          }
        }
      }
      worstOverall = Math.max(worstOverall, worst);
      if (worst > BOUND_MS) report.push(`${name}${JSON.stringify(variant)}: ${worst.toFixed(2)} ms on ${worstLine.slice(0, 160)}...`);
    }
  }
  for (const r of report) console.log(`SLOW ${r}`);
  console.log(`linear time: ${measured} adversarial 10 kB lines, worst ${worstOverall.toFixed(3)} ms per line (bound ${BOUND_MS} ms)`);
  assert.ok(measured > 1000, `too few lines measured: ${measured}`);
  assert.deepEqual(report, []);
});

test('the linear-time check catches a nested-quantifier regex', () => {
  // (?:[^\]"]*|"[^"]*")* — the shape fail2ban's rfc5424 prefix uses — on an unbalanced quote
  const re = /^\s*\S+ (?:\[(?:[^\]"]*|"[^"]*")*\])+\s+x$/;
  const line = ` host [a ${'b'.repeat(22)}"c`;
  const t0 = process.hrtime.bigint();
  re.test(line);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms > BOUND_MS, `expected exponential time, got ${ms.toFixed(3)} ms`);
});
