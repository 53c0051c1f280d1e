/**
 * Giving memory back after a big one-off job. Restoring a million bans leaves a few hundred MiB
 * of garbage (pages of store rows, nft script text, tickets in flight); on a daemon that then
 * sits idle, V8 may not collect it for minutes, and the RSS an operator sees stays at the peak.
 * One full, compacting collection right after such a job brings the RSS down to what is live.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;
let scheduled: NodeJS.Timeout | null = null;

/**
 * V8's `gc()`: exposed by flag (only contexts created after that see it; the daemon's own global
 * stays without it). Null if this V8 does not allow it.
 */
function fullGc(): (() => void) | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const fn: unknown = runInNewContext('gc');
      gc = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/**
 * One full collection `delayMs` from now (calls before it runs share it). Returns false when a
 * full collection cannot be asked for.
 */
export function collectGarbageSoon(delayMs = 1000): boolean {
  const run = fullGc();
  if (!run) return false;
  if (!scheduled) {
    scheduled = setTimeout(() => {
      scheduled = null;
      run();
    }, delayMs);
    scheduled.unref();
  }
  return true;
}
