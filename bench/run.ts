/**
 * `npm run bench`: runs every figure benchmark in the registry below, one after the other, writes
 * each figure's bench/results/<name>.json plus bench/results/summary.json, and prints one table.
 * `npm run bench -- regex-throughput` (or `1`) runs only the named figures; every figure is also
 * runnable alone: `node --import tsx bench/<name>.ts`. Needs root (apt-get for the peers, and the
 * network namespaces of the daemon figures).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_USAGE, VALUE_FLAGS, parseBenchArgs, printFigure, runFigure, type FigureBenchmark } from './lib/figure.ts';
import { describeMachine, formatMachine } from './lib/machine.ts';
import { RESULTS_DIR, ensureDir } from './lib/paths.ts';
import { figureTable, writeResult, type FigureResult } from './lib/results.ts';
import { regexThroughput } from './regex-throughput.ts';
import { latency } from './latency.ts';
import { overshoot } from './overshoot.ts';
import { liveIngest } from './live-ingest.ts';
import { memory } from './memory.ts';
import { journalBench } from './journal.ts';
import { nftRestore } from './nft-restore.ts';

/** Every figure that has a benchmark, in figure order. bench/README.md describes the others. */
const FIGURES: FigureBenchmark[] = [regexThroughput, latency, overshoot, liveIngest, journalBench, nftRestore, memory];

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // Positional arguments name figures; everything else is an option (VALUE_FLAGS take a value).
  const names: string[] = [];
  const flagArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) names.push(a);
    else {
      flagArgs.push(a);
      if (VALUE_FLAGS.has(a) && i + 1 < argv.length) flagArgs.push(argv[++i]!);
    }
  }
  let opts;
  try {
    opts = parseBenchArgs(flagArgs);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: npm run bench -- [FIGURE...] [options]\n${BENCH_USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`usage: npm run bench -- [FIGURE...] [options]\nfigures: ${FIGURES.map((f) => `${f.figure} ${f.name}`).join(', ')}\n${BENCH_USAGE}\n`);
    return 0;
  }
  const chosen = names.length
    ? FIGURES.filter((f) => names.includes(f.name) || names.includes(String(f.figure)))
    : FIGURES;
  const unknown = names.filter((n) => !FIGURES.some((f) => f.name === n || String(f.figure) === n));
  if (unknown.length) {
    process.stderr.write(`unknown figure(s): ${unknown.join(', ')}; known: ${FIGURES.map((f) => `${f.figure} ${f.name}`).join(', ')}\n`);
    return 2;
  }

  const results: FigureResult[] = [];
  const failures: { figure: number; name: string; error: string }[] = [];
  for (const bench of chosen) {
    process.stderr.write(`== figure ${bench.figure}: ${bench.name}\n`);
    try {
      const result = await runFigure(bench, opts);
      writeResult(result);
      printFigure(result);
      results.push(result);
    } catch (e) {
      // One broken figure must not hide the others' numbers.
      const error = (e as Error).stack ?? String(e);
      process.stderr.write(`figure ${bench.figure} (${bench.name}) failed: ${error}\n`);
      failures.push({ figure: bench.figure, name: bench.name, error });
    }
  }

  const machine = describeMachine();
  const summary = {
    finishedAt: new Date().toISOString(),
    machine,
    figures: results.map((r) => ({ figure: r.figure, name: r.name, title: r.title, moatRan: r.moatRan, moatError: r.moatError, rows: r.rows })),
    failures,
  };
  const path = join(ensureDir(RESULTS_DIR), 'summary.json');
  writeFileSync(path, JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(`\nSummary\n${formatMachine(machine)}\n\n${figureTable(results)}\n\nresults: ${path}\n`);
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
