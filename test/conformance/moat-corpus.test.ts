/**
 * fail2ban's sample corpus through moat's engine with moat's OWN filter.d (config/filter.d).
 * Every moat filter with a sample file of the same name is run; filters without one are listed.
 * Prints `conformance: P/T checks pass (moat filter.d)` and fails below T/T.
 */
process.env.TZ = 'Europe/Zurich';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';
import { runFilterSamples, summarize, testableFilters, type FilterReport } from './harness.ts';

const MOAT_CONFIG = fileURLToPath(new URL('../../config/', import.meta.url));

test('moat filter.d passes fail2ban sample corpus', () => {
  const pkg = fail2banPackage();
  const reports: FilterReport[] = [];
  const withoutSamples: string[] = [];
  for (const name of testableFilters(MOAT_CONFIG)) {
    if (!existsSync(join(pkg.logs, name))) {
      withoutSamples.push(name);
      continue;
    }
    try {
      reports.push(runFilterSamples(name, { configDir: MOAT_CONFIG, logsDir: pkg.logs }));
    } catch (e) {
      // a harness exception must not hide the other filters' results
      const reason = `harness error: ${(e as Error).message}`;
      reports.push({ filter: name, checks: 1, passed: 0, failures: [{ filter: name, variant: name, file: name, line: 0, text: '', reason }] });
    }
  }
  if (withoutSamples.length) console.log(`no corpus sample file (skipped): ${withoutSamples.join(', ')}`);
  const { checks, passed } = summarize(reports);
  const failures = reports.flatMap((r) => r.failures);
  for (const f of failures.slice(0, 80)) {
    console.log(`FAIL ${f.variant} ${f.file}:${f.line}: ${f.reason}\n    ${f.text}`);
  }
  console.log(`conformance: ${passed}/${checks} checks pass (moat filter.d, ${reports.length} filters)`);
  assert.ok(reports.length >= 35, `too few moat filters with samples: ${reports.length}`);
  assert.equal(passed, checks, `${checks - passed} conformance checks failed`);
});
