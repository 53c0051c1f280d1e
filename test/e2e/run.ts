/** Small process helpers shared by the end-to-end tests. */
import { spawnSync } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (no shell); a spawn error ends up in `stderr`. */
export function run(argv: string[], timeoutMs = 30_000): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** Runs a command and throws with its output when it fails. */
export function must(argv: string[], timeoutMs = 30_000): RunResult {
  const r = run(argv, timeoutMs);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

export { waitFor } from '../daemon/harness.ts';

/** Waits for a child started here to exit, at most `ms`. */
export function exited(p: import('node:child_process').ChildProcess, ms: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    // cleared on exit, so a finished test does not keep the process alive
    const timer = setTimeout(resolve, ms);
    p.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
