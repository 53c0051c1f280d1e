/**
 * moat's side of a benchmark: the built CLI in dist/ (rebuilt with tsc when sources are newer)
 * and the configuration directory to run it with.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MOAT_BIN, REPO_ROOT } from './paths.ts';

export interface MoatBuild {
  bin: string;
  /** Null when the CLI is usable; otherwise why not. */
  error: string | null;
  notes: string[];
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Returns the built `moat` CLI, running `tsc -p tsconfig.json` first when dist/ is missing or older
 * than src/ (or when `rebuild` is set). tsc emits even when some file fails to type-check, so a
 * type error elsewhere in the tree does not stop the benchmark; it is reported in the notes.
 */
export function ensureMoatBuilt(opts: { rebuild?: boolean; allowBuild?: boolean } = {}): MoatBuild {
  const notes: string[] = [];
  // MOAT_BENCH_BIN measures another build (e.g. a worktree of an older commit) instead of dist/.
  const override = process.env.MOAT_BENCH_BIN;
  if (override) {
    notes.push(`moat CLI from MOAT_BENCH_BIN: ${override}`);
    return { bin: override, error: existsSync(override) ? null : `MOAT_BENCH_BIN ${override} does not exist`, notes };
  }
  const stale = !existsSync(MOAT_BIN) || statSync(MOAT_BIN).mtimeMs < newestMtime(join(REPO_ROOT, 'src'));
  if ((stale || opts.rebuild) && opts.allowBuild !== false) {
    notes.push(existsSync(MOAT_BIN) ? 'dist/ older than src/: rebuilt with tsc' : 'dist/ missing: built with tsc');
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (r.status !== 0) {
      const errors = r.stdout.split('\n').filter((l) => l.includes('error TS'));
      notes.push(`tsc reported ${errors.length} type error(s) (output still emitted); first: ${errors[0] ?? r.stderr.trim()}`);
    }
  } else if (stale) {
    notes.push('warning: dist/ is older than src/ (building disabled): measuring the old build');
  }
  if (!existsSync(MOAT_BIN)) return { bin: MOAT_BIN, error: `moat is not built: ${MOAT_BIN} missing (npm run build)`, notes };
  return { bin: MOAT_BIN, error: null, notes };
}

/** moat's bundled config/ when it has the filter, else fail2ban's stock tree (which moat reads too). */
export function moatConfigDir(filter: string, fail2banEtc: string | null): { dir: string; which: string } | null {
  const bundled = join(REPO_ROOT, 'config');
  if (existsSync(join(bundled, 'filter.d', `${filter}.conf`))) return { dir: bundled, which: "moat's bundled config/" };
  if (fail2banEtc && existsSync(join(fail2banEtc, 'filter.d', `${filter}.conf`))) {
    return { dir: fail2banEtc, which: `fail2ban's stock tree ${fail2banEtc}` };
  }
  return null;
}
