/**
 * What every figure benchmark returns and how it is stored and printed: one row per compared
 * metric (moat's value, the peer's, their ratio, the target and PASS/MISS), written to
 * bench/results/<name>.json together with the machine description.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './machine.ts';
import { RESULTS_DIR, ensureDir } from './paths.ts';

export type Verdict = 'PASS' | 'MISS' | 'N/A';

export interface FigureRow {
  /** What is compared, e.g. "lines/s vs fail2ban-regex". */
  metric: string;
  unit: string;
  moat: number | null;
  peer: number | null;
  peerName: string | null;
  /** moat / peer, oriented so that > 1 means moat is better (see `higherIsBetter`). */
  ratio: number | null;
  higherIsBetter: boolean;
  /** Human text of the target, e.g. "≥ 40×". */
  target: string | null;
  verdict: Verdict;
}

export interface FigureResult {
  figure: number;
  name: string;
  title: string;
  startedAt: string;
  machine: MachineInfo;
  /** Whether moat's side ran; when false, `moatError` says why and only the peers were measured. */
  moatRan: boolean;
  moatError: string | null;
  rows: FigureRow[];
  notes: string[];
  /** Figure-specific raw data (inputs, per-run measurements). */
  details: Record<string, unknown>;
}

/** What a figure's run() returns: everything but the figure's number and name. */
export type FigureOutcome = Omit<FigureResult, 'figure' | 'name'>;

/** A figure's outcome: its own fields, plus when it started, on what machine and its notes. */
export function figureOutcome(
  start: Pick<FigureResult, 'startedAt' | 'machine' | 'notes'>,
  r: Pick<FigureResult, 'title' | 'moatRan' | 'moatError' | 'rows' | 'details'>,
): FigureOutcome {
  return { title: r.title, startedAt: start.startedAt, machine: start.machine, moatRan: r.moatRan, moatError: r.moatError, rows: r.rows, notes: start.notes, details: r.details };
}

/** A "moat vs peer" ratio, oriented so > 1 favours moat. */
export function ratioOf(moat: number | null, peer: number | null, higherIsBetter: boolean): number | null {
  if (moat === null || peer === null || moat <= 0 || peer <= 0) return null;
  return higherIsBetter ? moat / peer : peer / moat;
}

/** PASS when the value is on the right side of the bound, N/A when it could not be measured. */
export function check(value: number | null, bound: number, kind: 'min' | 'max'): Verdict {
  if (value === null || !Number.isFinite(value)) return 'N/A';
  return (kind === 'min' ? value >= bound : value <= bound) ? 'PASS' : 'MISS';
}

export function writeResult(result: FigureResult, name = result.name): string {
  const path = join(ensureDir(RESULTS_DIR), `${name}.json`);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(result, null, 2) + '\n');
  renameSync(tmp, path);
  return path;
}

/** Compact number: 1.53M, 33.9k, 780, 0.66. */
export function fmt(n: number | null, unit = ''): string {
  if (n === null || !Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  let s: string;
  if (a >= 1e6) s = `${(n / 1e6).toFixed(2)}M`;
  else if (a >= 1e4) s = `${(n / 1e3).toFixed(1)}k`;
  else if (a >= 100) s = n.toFixed(0);
  else s = n.toFixed(2);
  return unit ? `${s} ${unit}` : s;
}

export function fmtRatio(r: number | null): string {
  return r === null ? '-' : `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** Plain-text table with left-aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function figureTable(results: FigureResult[]): string {
  const rows: string[][] = [];
  for (const r of results) {
    for (const row of r.rows) {
      rows.push([
        String(r.figure),
        row.metric,
        fmt(row.moat, row.unit),
        row.peerName ? `${fmt(row.peer, row.unit)} (${row.peerName})` : '-',
        fmtRatio(row.ratio),
        row.target ?? '-',
        // Rows without a target are context (CPU-normalised rates, the other peer's memory).
        row.target ? row.verdict : '-',
      ]);
    }
  }
  return table(['fig', 'metric', 'moat', 'peer', 'ratio', 'target', 'verdict'], rows);
}
