/** Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per file. */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { REPO_ROOT } from './paths.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  selfPercent: number;
  /** Time in this function and everything it called (counted once per sample). */
  totalMs: number;
  totalPercent: number;
}

export interface ProfileSummary {
  totalMs: number;
  functions: ProfileEntry[];
  files: { file: string; selfMs: number; selfPercent: number }[];
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  return path.startsWith(REPO_ROOT) ? relative(REPO_ROOT, path) : path;
}

export function summariseProfile(path: string): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Each sample's time is the delta to the next sample.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
  }
  const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}\u0000${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const files = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    totalUs += us;
    self.set(key(n), (self.get(key(n)) ?? 0) + us);
    const file = shortUrl(n.callFrame.url);
    files.set(file, (files.get(file) ?? 0) + us);
    // Inclusive time: every distinct function on this sample's stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  }
  const pct = (us: number) => (totalUs ? (100 * us) / totalUs : 0);
  const functions = [...self.entries()]
    .map(([k, us]) => {
      const [name, where] = k.split('\u0000') as [string, string];
      const t = total.get(k) ?? us;
      return { name, where, selfMs: us / 1000, selfPercent: pct(us), totalMs: t / 1000, totalPercent: pct(t) };
    })
    .sort((a, b) => b.selfMs - a.selfMs);
  return {
    totalMs: totalUs / 1000,
    functions,
    files: [...files.entries()].map(([file, us]) => ({ file, selfMs: us / 1000, selfPercent: pct(us) })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

/** Top functions by inclusive time, for seeing which pipeline stage the self time sits under. */
export function topInclusive(summary: ProfileSummary, n: number): ProfileEntry[] {
  return [...summary.functions].filter((f) => f.where.startsWith('src/') || f.where.startsWith('dist/')).sort((a, b) => b.totalMs - a.totalMs).slice(0, n);
}
