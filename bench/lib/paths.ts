/** Where the benchmarks keep things: the repository root, generated inputs and results. */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_DIR = join(REPO_ROOT, 'bench');
/** Generated inputs (big logs); ignored by git through the repository's `.cache/` rule. */
export const CACHE_DIR = join(BENCH_DIR, '.cache');
export const RESULTS_DIR = join(BENCH_DIR, 'results');
/** The built `moat` CLI (`npm run build`). */
export const MOAT_BIN = join(REPO_ROOT, 'dist', 'src', 'bin', 'moat.js');

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** True when the module at `metaUrl` is the script node was started with (so a figure can run on its own). */
export function isMain(metaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === metaUrl;
}
