/**
 * fail2ban's own sample corpus through moat's engine with fail2ban's stock filter.d
 * (Debian fail2ban 1.0.2), plus fail2ban's test-only filters (zzz-*: the obsolete
 * maxlines-based sshd filter re-runs the sshd samples in buffer mode).
 * Prints `conformance: P/T checks pass (stock filter.d)`.
 */
process.env.TZ = 'Europe/Zurich';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';
import { runFilterSamples, summarize, testableFilters, type FilterReport } from './harness.ts';

/**
 * The zzz-* filters include `../../../../../../../config/filter.d/common.conf` (a path into
 * fail2ban's source tree). Rebuild that layout in a temp dir so the include resolves.
 */
function testFilterTree(pkg: ReturnType<typeof fail2banPackage>): { dir: string; names: string[]; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'moat-zzz-'));
  const dir = join(root, 'a', 'b', 'c', 'd', 'e', 'f');
  mkdirSync(join(dir, 'filter.d'), { recursive: true });
  mkdirSync(join(root, 'config', 'filter.d'), { recursive: true });
  copyFileSync(join(pkg.etc, 'filter.d', 'common.conf'), join(root, 'config', 'filter.d', 'common.conf'));
  const names: string[] = [];
  for (const f of readdirSync(join(pkg.testConfig, 'filter.d'))) {
    if (!f.startsWith('zzz-') || !f.endsWith('.conf')) continue;
    copyFileSync(join(pkg.testConfig, 'filter.d', f), join(dir, 'filter.d', f));
    names.push(f.slice(0, -5));
  }
  return { dir, names: names.sort(), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

test('stock filter.d passes fail2ban sample corpus', () => {
  const pkg = fail2banPackage();
  const reports: FilterReport[] = [];
  for (const name of testableFilters(pkg.etc)) {
    reports.push(runFilterSamples(name, { configDir: pkg.etc, logsDir: pkg.logs }));
  }
  const zzz = testFilterTree(pkg);
  try {
    assert.ok(zzz.names.length >= 2, 'fail2ban test filters zzz-* not found');
    for (const name of zzz.names) reports.push(runFilterSamples(name, { configDir: zzz.dir, logsDir: pkg.logs }));
  } finally {
    zzz.cleanup();
  }
  const { checks, passed } = summarize(reports);
  const failures = reports.flatMap((r) => r.failures);
  for (const f of failures.slice(0, 60)) {
    console.log(`FAIL ${f.variant} ${f.file}:${f.line}: ${f.reason}\n    ${f.text}`);
  }
  console.log(`conformance: ${passed}/${checks} checks pass (stock filter.d)`);
  assert.ok(reports.length >= 90, `too few filters: ${reports.length}`);
  assert.ok(checks > 1000, `too few checks: ${checks}`);
  assert.equal(passed, checks, `${checks - passed} conformance checks failed`);
});
