/**
 * fail2ban's own sample corpus through moat's engine with fail2ban's stock filter.d
 * (Debian fail2ban 1.0.2). Prints `conformance: P/T checks pass (stock filter.d)`.
 */
process.env.TZ = 'Europe/Zurich';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';
import { runFilterSamples, summarize, testableFilters, type FilterReport } from './harness.ts';

test('stock filter.d passes fail2ban sample corpus', () => {
  const pkg = fail2banPackage();
  const reports: FilterReport[] = [];
  for (const name of testableFilters(pkg.etc)) {
    reports.push(runFilterSamples(name, { configDir: pkg.etc, logsDir: pkg.logs }));
  }
  const { checks, passed } = summarize(reports);
  const failures = reports.flatMap((r) => r.failures);
  for (const f of failures.slice(0, 60)) {
    console.log(`FAIL ${f.variant} ${f.file}:${f.line}: ${f.reason}\n    ${f.text}`);
  }
  console.log(`conformance: ${passed}/${checks} checks pass (stock filter.d)`);
  assert.ok(checks > 1000, `too few checks: ${checks}`);
  assert.equal(passed, checks, `${checks - passed} conformance checks failed`);
});
