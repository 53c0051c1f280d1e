/**
 * moat's own golden samples (test/fixtures/filters/NAME, fail2ban's corpus format) for what
 * fail2ban's corpus lacks: OpenSSH 9.x wordings and journal-type entries for sshd and postfix.
 * Run through the same conformance harness as the corpus; "regex has no samples" does not apply
 * (the golden files only add lines, the corpus covers every regex).
 */
process.env.TZ = 'Europe/Zurich';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { runFilterSamples } from '../conformance/harness.ts';
import { GOLDEN_DIR, MOAT_CONFIG } from './corpus-lines.ts';

for (const name of readdirSync(GOLDEN_DIR).sort()) {
  test(`golden samples: ${name}`, () => {
    const report = runFilterSamples(name, { configDir: MOAT_CONFIG, logsDir: GOLDEN_DIR });
    const failures = report.failures.filter((f) => !f.reason.startsWith('regex has no samples'));
    for (const f of failures) console.log(`FAIL ${f.variant} ${f.file}:${f.line}: ${f.reason}\n    ${f.text}`);
    assert.ok(report.checks > 5, `too few golden checks for ${name}`);
    assert.deepEqual(failures, []);
  });
}
