/**
 * Profiles `moat regex LOG sshd` (figure 1's workload) with `node --cpu-prof` and prints the top
 * functions by self time, by inclusive time and by file. Not a figure: a tool for finding hot spots.
 *   node --import tsx bench/profile-regex.ts [--lines N] [--top N] [--no-build]
 * The raw profile stays in bench/.cache/profile/ (open it in Chrome DevTools for a flame graph).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summariseProfile, topInclusive } from './lib/cpuprofile.ts';
import { ensureMoatBuilt, moatConfigDir } from './lib/moat.ts';
import { CACHE_DIR, ensureDir } from './lib/paths.ts';
import { table } from './lib/results.ts';
import { cachedSshdLog } from './lib/sshd-log.ts';

const { values } = parseArgs({
  options: { lines: { type: 'string' }, top: { type: 'string' }, 'no-build': { type: 'boolean' } },
});
const lines = Number(values.lines ?? 1_000_000);
const top = Number(values.top ?? 25);

const build = ensureMoatBuilt({ allowBuild: !values['no-build'] });
for (const n of build.notes) process.stderr.write(`note: ${n}\n`);
if (build.error) {
  process.stderr.write(`${build.error}\n`);
  process.exit(1);
}
const config = moatConfigDir('sshd', '/etc/fail2ban');
if (!config) {
  process.stderr.write('no sshd filter found (config/filter.d or /etc/fail2ban/filter.d)\n');
  process.exit(1);
}
const input = cachedSshdLog({ lines });
const dir = ensureDir(join(CACHE_DIR, 'profile'));
for (const f of readdirSync(dir)) rmSync(join(dir, f));
const started = process.hrtime.bigint();
const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, build.bin, 'regex', input.path, 'sshd', '-c', config.dir], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
const wall = Number(process.hrtime.bigint() - started) / 1e9;
if (r.status !== 0) {
  process.stderr.write(`moat regex exited ${r.status}: ${r.stderr}\n`);
  process.exit(1);
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) {
  process.stderr.write('no .cpuprofile written\n');
  process.exit(1);
}
const s = summariseProfile(join(dir, file));
const ms = (v: number) => v.toFixed(0);
// Regex "functions" are named by their whole source: keep the table readable.
const short = (t: string) => (t.length > 70 ? `${t.slice(0, 67)}...` : t);
const pc = (v: number) => `${v.toFixed(1)}%`;
process.stdout.write(
  [
    `moat regex ${input.path} sshd -c ${config.dir}: ${input.lines} lines in ${wall.toFixed(2)} s wall (profiled), ${ms(s.totalMs)} ms sampled`,
    /^Lines: .*$/m.exec(r.stdout)?.[0] ?? '',
    '',
    `Top ${top} by self time`,
    table(['self', 'self%', 'total%', 'function', 'where'], s.functions.slice(0, top).map((f) => [ms(f.selfMs), pc(f.selfPercent), pc(f.totalPercent), short(f.name), f.where])),
    '',
    'moat functions by inclusive time',
    table(['total', 'total%', 'self%', 'function', 'where'], topInclusive(s, top).map((f) => [ms(f.totalMs), pc(f.totalPercent), pc(f.selfPercent), f.name, f.where])),
    '',
    'Self time by file',
    table(['self', 'self%', 'file'], s.files.slice(0, 15).map((f) => [ms(f.selfMs), pc(f.selfPercent), f.file])),
    '',
    `profile: ${join(dir, file)}`,
    '',
  ].join('\n'),
);
