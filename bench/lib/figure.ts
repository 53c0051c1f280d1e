/**
 * The shape shared by every figure benchmark, and the command line each one accepts when it is run
 * on its own (`node --import tsx bench/<name>.ts [--lines N] [--runs N] [--no-install] [--no-build]`).
 */
import { parseArgs } from 'node:util';
import { describeMachine, formatMachine, type MachineInfo } from './machine.ts';
import { ensureMoatBuilt, type MoatBuild } from './moat.ts';
import { ensurePeers, type Peers } from './peers.ts';
import { figureTable, writeResult, type FigureOutcome, type FigureResult } from './results.ts';

export interface BenchOptions {
  /** Input size in lines, where the figure has one (figure 1: 1,000,000). */
  lines?: number;
  /** Repetitions per tool; the median is reported. */
  runs?: number;
  /** Install missing peers with apt-get (default true). */
  install?: boolean;
  /** Rebuild dist/ when it is older than src/ (default true). */
  build?: boolean;
  /** Trials per daemon (figure 2: ban latency; figure 3: per rate). */
  trials?: number;
  /** Rates in lines/s (figure 3: attempts/s, comma list; figure 4: the live writer's rate, first value). */
  rates?: number[];
  /** Active bans (figure 7's "with N bans" case); figure 4: addresses in the ban burst. */
  bans?: number;
  /** Progress messages (stderr). */
  log?: (msg: string) => void;
}

export interface FigureBenchmark {
  figure: number;
  name: string;
  title: string;
  /** The figure's measurements; `runFigure` adds the figure's number and name. */
  run(opts: BenchOptions): Promise<FigureOutcome>;
}

/** What every figure starts from: the peers installed, moat built, the machine described. */
export interface FigureStart {
  log: (msg: string) => void;
  startedAt: string;
  /** The figure's notes, starting with what installing the peers and building moat did. */
  notes: string[];
  peers: Peers;
  build: MoatBuild;
  machine: MachineInfo;
}

export function beginFigure(opts: BenchOptions): FigureStart {
  const startedAt = new Date().toISOString();
  const peers = ensurePeers({ install: opts.install !== false });
  const build = ensureMoatBuilt({ allowBuild: opts.build !== false });
  return { log: opts.log ?? (() => {}), startedAt, notes: [...peers.notes, ...build.notes], peers, build, machine: describeMachine() };
}

export async function runFigure(bench: FigureBenchmark, opts: BenchOptions): Promise<FigureResult> {
  return { figure: bench.figure, name: bench.name, ...(await bench.run(opts)) };
}

export const BENCH_USAGE = `options:
  --lines N       input size in lines (where the figure has one)
  --runs N        repetitions per tool, median reported (default 3)
  --no-install    do not apt-get install missing peers
  --no-build      do not rebuild dist/ when it is older than src/
  --trials N      trials per daemon (figures 2, 3)
  --rate R[,R..]  rate(s) in lines/s (figure 3: attempt rates; figure 4: the writer's rate)
  --bans N        figure 7: active bans restored at start; figure 4: addresses in the ban burst
  -h, --help      this help`;

/** Flags that take a value (`npm run bench` must not read the value as a figure name). */
export const VALUE_FLAGS = new Set(['--lines', '--runs', '--trials', '--rate', '--bans']);

export function parseBenchArgs(argv: string[]): BenchOptions & { help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      lines: { type: 'string' },
      runs: { type: 'string' },
      'no-install': { type: 'boolean' },
      'no-build': { type: 'boolean' },
      trials: { type: 'string' },
      rate: { type: 'string' },
      bans: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const positiveInt = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: not a positive integer: ${v}`);
    return n;
  };
  return {
    lines: positiveInt('lines', values.lines),
    runs: positiveInt('runs', values.runs),
    install: !values['no-install'],
    build: !values['no-build'],
    trials: positiveInt('trials', values.trials),
    bans: positiveInt('bans', values.bans),
    rates: values.rate === undefined ? undefined : values.rate.split(',').map((r) => positiveInt('rate', r.trim())!),
    help: !!values.help,
    log: (msg) => process.stderr.write(`${msg}\n`),
  };
}

export function printFigure(result: FigureResult): void {
  const out = [
    `\nFigure ${result.figure}: ${result.title}`,
    formatMachine(result.machine),
    ...(result.moatRan ? [] : [`moat: NOT MEASURED: ${result.moatError}`]),
    ...result.notes.map((n) => `note: ${n}`),
    '',
    figureTable([result]),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

/** Entry point of a figure run on its own: parse flags, run, print, write its JSON. */
export async function runStandalone(bench: FigureBenchmark): Promise<void> {
  let opts;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${BENCH_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${bench.name}: figure ${bench.figure}, ${bench.title}\n${BENCH_USAGE}\n`);
    return;
  }
  const result = await runFigure(bench, opts);
  printFigure(result);
  process.stdout.write(`results: ${writeResult(result)}\n`);
}
