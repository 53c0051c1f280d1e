/** Reading nftables state from inside a test's network namespace. */
import { spawnSync } from 'node:child_process';

/**
 * Addresses in a set of table `inet f2b-table` (the table the nftables actions create), read with
 * `nft -j` through `nsExec` (e.g. ['ip', 'netns', 'exec', NS]); null when the set or table is missing.
 */
export function nftSetElements(nsExec: string[], set: string): string[] | null {
  const argv = [...nsExec, 'nft', '-j', 'list', 'set', 'inet', 'f2b-table', set];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return null;
  const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const s = doc.nftables.find((x) => x.set)?.set;
  // an element with a timeout is {"elem": {"val": ADDR, "timeout": N, "expires": N}}
  return (s?.elem ?? []).map((e) => {
    if (typeof e === 'string') return e;
    const val = (e as { elem?: { val?: unknown } }).elem?.val;
    return typeof val === 'string' ? val : JSON.stringify(e);
  });
}
