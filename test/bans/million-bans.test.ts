import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('1M active bans fit in memory (figures printed)', { timeout: 120_000 }, (t) => {
  const probe = fileURLToPath(new URL('./million-bans.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', probe, '1000000'], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
  t.diagnostic(`1M bans: ${out.trim()}`);
  assert.equal(r.bans, 1_000_000);
  assert.equal(r.reported, 1_000_000);
  assert.ok(r.unbanned! > 400_000 && r.unbanned! < 600_000);
  // Heap growth for the ban list itself (Map, id strings) plus typed-array columns.
  assert.ok(r.heapUsedMB! + r.arrayBuffersMB! < 150, `ban list too large: ${out}`);
  // Whole process, minus what node + the tsx loader take before the first ban.
  assert.ok(r.rssMB! - r.baseRssMB! < 200, `RSS growth too large: ${out}`);
});
