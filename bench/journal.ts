/**
 * Figure 5: the systemd journal backend, moatd against fail2ban-server (python3-systemd), each in a
 * network namespace of its own, both with the stock sshd filter and its journalmatch.
 *
 * (a) Ingest. A journal directory holding N entries (lib/journal-gen.ts: the sshd log of
 *     lib/sshd-log.ts turned into journal entries by systemd-journal-remote, CRON and logind noise
 *     included) whose last entry is a failure from a marker address. The jail reads it from the
 *     start (`backend = systemd[journalpath=DIR]`, findtime covering the whole journal, maxretry so
 *     high nothing is banned: the figure is reading + filtering + counting). Measured: from the
 *     daemon logging "Jail 'sshd' started" to it logging "Found MARKER" (the bench follows the log
 *     file), entries/s = N / that time. Floors: `journalctl -o export` and python3-systemd's Reader
 *     over the same directory with the same matches (entries only), and moat's own per-entry code
 *     without the daemon (lib/journal-pipeline.ts: reader, filter, counting; its CPU and wall time).
 * (b) Ban latency. A live journal file appended by a long-running systemd-journal-remote (the bench
 *     writes export entries to its stdin). maxretry 3; per trial a fresh address: 2 failures, 200 ms,
 *     then the 3rd, time-stamped (t0, epoch) as it is written; the ban action (identical for both
 *     daemons) appends `IP $(date +%s.%N)` to a file: latency = that stamp − t0. 100 trials per
 *     daemon, p50/p99. Floor: the bench's own `journalctl --follow` seeing a probe entry.
 * Targets (issue 7): ≥ 250k entries/s, ban latency p99 ≤ 10 ms.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createNetns,
  hrSeconds,
  moatdNodeArgs,
  percentile,
  prepareDaemonDir,
  readCpu,
  readMemory,
  realtimeMs,
  sh,
  sleep,
  spawnInNetns,
  waitForLogLine,
  type DaemonDir,
  type Netns,
  type SpawnedDaemon,
} from './lib/daemons.ts';
import { beginFigure, runStandalone, type BenchOptions, type FigureBenchmark } from './lib/figure.ts';
import { cachedJournal, exportEntry, JOURNAL_REMOTE, journalctlRate, MARKER_IP, pythonSystemdRate, sshFailureEntry, type JournalInput } from './lib/journal-gen.ts';
import { median } from './lib/measure.ts';
import { CACHE_DIR, ensureDir, isMain } from './lib/paths.ts';
import type { PipelineRun } from './lib/journal-pipeline.ts';
import { check, figureOutcome, ratioOf, type FigureOutcome, type FigureRow } from './lib/results.ts';

const TARGET_RATE = 250_000;
const TARGET_P99_MS = 10;
const DEFAULT_ENTRIES = 1_000_000;
/** 100: with 50 the nearest-rank p99 is the slowest trial. */
const DEFAULT_TRIALS = 100;
/** Profiling aids: a directory for moatd's --cpu-prof, and `moat` to measure moat's ingest only. */
const PROF = process.env.MOAT_BENCH_CPU_PROF;
const ONLY_MOAT_INGEST = process.env.MOAT_BENCH_ONLY === 'moat-ingest';
/** MOAT_BENCH_ONLY=moat-latency: moat's ban latency trials only (profiling, A/B of two builds). */
const ONLY_MOAT_LATENCY = process.env.MOAT_BENCH_ONLY === 'moat-latency';
/** The stock sshd filter's journalmatch (filter.d/sshd.conf), as journalctl arguments and as Reader groups. */
const MATCH_ARGS = ['_SYSTEMD_UNIT=sshd.service', '+', '_COMM=sshd'];
const MATCH_GROUPS = ['_SYSTEMD_UNIT=sshd.service', '_COMM=sshd'];
/** Where both daemons take filter.d/sshd.conf from (prepareDaemonDir copies it). */
const STOCK_ETC = '/etc/fail2ban';
const PIPELINE_SCRIPT = fileURLToPath(new URL('./lib/journal-pipeline.ts', import.meta.url));

/**
 * moat's per-entry code without the daemon around it (lib/journal-pipeline.ts) over the same
 * journal, matches and filter: `read` = journalctl's stream to lines, `filter` = lines through
 * the sshd filter and the failure counting too. Its CPU is the floor of moat's own work.
 */
function pipelineFloor(mode: 'read' | 'filter', dir: string): PipelineRun {
  const r = spawnSync(process.execPath, ['--import', 'tsx', PIPELINE_SCRIPT, mode, STOCK_ETC, dir, ...MATCH_ARGS], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`journal-pipeline ${mode} exited ${r.status}: ${r.stderr.trim().slice(-500)}`);
  return JSON.parse(r.stdout) as PipelineRun;
}

/** The ban action both daemons run: the address and the time the action started. */
const RECORD_ACTION = `[Definition]
actionstart =
actionstop =
actioncheck =
actionban = echo "<ip> $(date +%%s.%%N)" >> <target>
actionunban =

[Init]
target = /dev/null
`;

type Kind = 'moat' | 'fail2ban';

interface Tools {
  moatd: string;
  fail2banServer: string | null;
}

function startKind(kind: Kind, tools: Tools, ns: Netns, d: DaemonDir): SpawnedDaemon {
  return kind === 'moat'
    ? spawnInNetns('moatd', ns, [process.execPath, ...(PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : []), ...moatdNodeArgs(), tools.moatd, '-f', '-x', '-c', d.dir])
    : spawnInNetns('fail2ban-server', ns, [tools.fail2banServer!, '-f', '-x', '-c', d.dir, '-s', d.sock, '-p', d.pidfile]);
}

interface IngestRun {
  seconds: number;
  fromSpawn: number;
  entriesPerSecond: number;
  found: number;
  /** CPU of the daemon and its children (moat: the journalctl follower; fail2ban reads in-process). */
  cpuSeconds: number | null;
  /** Of which the children's. */
  childCpuSeconds: number | null;
  rssMiB: number | null;
}

async function runIngest(kind: Kind, tools: Tools, input: JournalInput, log: (m: string) => void): Promise<IngestRun> {
  const dir = mkdtempSync(join(ensureDir(join(CACHE_DIR, 'fig5-runs')), `${kind}-`));
  const ns = createNetns(kind === 'moat' ? 'i' : 'j');
  let daemon: SpawnedDaemon | null = null;
  try {
    // findtime reaches back past the first entry, so neither daemon drops the 2024 entries as old
    const findtime = Math.ceil(Date.now() / 1000 - input.firstTime) + 86400;
    const d = prepareDaemonDir(
      dir,
      STOCK_ETC,
      `[sshd]\nenabled = true\nbackend = systemd[journalpath=${input.dir}]\nmaxretry = 1000000000\nmaxmatches = 1\nfindtime = ${findtime}\nbantime = 1h\nbanaction = dummy[target=${join(dir, 'bans')}]\n`,
    );
    daemon = startKind(kind, tools, ns, d);
    const dm = daemon;
    const alive = () => dm.proc.exitCode === null && dm.proc.signalCode === null;
    const started = await waitForLogLine(d.log, "Jail 'sshd' started", { timeoutMs: 120_000, alive });
    const end = await waitForLogLine(d.log, `Found ${MARKER_IP}`, { timeoutMs: 1_800_000, alive, from: started.offset, intervalMs: 25 });
    const seconds = hrSeconds(started.at, end.at);
    const cpu = readCpu(dm.pid);
    const mem = readMemory(dm.pid);
    const found = Number(sh(['grep', '-c', '\\] Found ', d.log]).stdout.trim());
    const r: IngestRun = {
      seconds,
      fromSpawn: hrSeconds(dm.spawnedAt, end.at),
      entriesPerSecond: input.entries / seconds,
      found,
      cpuSeconds: cpu ? cpu.self + cpu.children : null,
      childCpuSeconds: cpu ? cpu.children : null,
      rssMiB: mem ? mem.rssKiB / 1024 : null,
    };
    log(`    ${kind}: ${input.entries} entries in ${seconds.toFixed(2)} s (${Math.round(r.entriesPerSecond)}/s), ${found} failures found, CPU ${r.cpuSeconds?.toFixed(1)} s`);
    return r;
  } finally {
    await daemon?.stop(60_000);
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A systemd-journal-remote child appending what is written to its stdin to `file`. */
function liveJournal(file: string): { child: ChildProcess; write(text: string): void; close(): Promise<void> } {
  const child = spawn(JOURNAL_REMOTE, [`--output=${file}`, '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
  return {
    child,
    write: (text) => void child.stdin!.write(text),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

interface LatencyRun {
  latenciesMs: number[];
  p50: number;
  p99: number;
  max: number;
  missed: number;
}

function summariseLatency(latenciesMs: number[], missed: number): LatencyRun {
  return { latenciesMs, p50: percentile(latenciesMs, 50)!, p99: percentile(latenciesMs, 99)!, max: Math.max(...latenciesMs), missed };
}

async function runLatency(kind: Kind, tools: Tools, trials: number, log: (m: string) => void): Promise<LatencyRun> {
  const dir = mkdtempSync(join(ensureDir(join(CACHE_DIR, 'fig5-runs')), `${kind}-lat-`));
  const ns = createNetns(kind === 'moat' ? 'l' : 'k');
  const liveDir = join(dir, 'live');
  mkdirSync(liveDir);
  const bans = join(dir, 'bans');
  writeFileSync(bans, '');
  const jr = liveJournal(join(liveDir, 'live.journal'));
  let daemon: SpawnedDaemon | null = null;
  try {
    // something to open before the daemon starts (not an sshd entry)
    jr.write(exportEntry({ usec: Date.now() * 1000, identifier: 'CRON', pid: 77, message: '(root) CMD (true)' }));
    await sleep(300);
    const d = prepareDaemonDir(
      dir,
      STOCK_ETC,
      `[sshd]\nenabled = true\nbackend = systemd[journalpath=${liveDir}]\nmaxretry = 3\nfindtime = 10m\nbantime = 1h\nbanaction = benchrec[target=${bans}]\n`,
    );
    writeFileSync(join(dir, 'action.d', 'benchrec.conf'), RECORD_ACTION);
    daemon = startKind(kind, tools, ns, d);
    const dm = daemon;
    const alive = () => dm.proc.exitCode === null && dm.proc.signalCode === null;
    await waitForLogLine(d.log, "Jail 'sshd' started", { timeoutMs: 120_000, alive });
    await sleep(1000);
    const latencies: number[] = [];
    let missed = 0;
    for (let i = 0; i < trials; i++) {
      const ip = `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      jr.write(exportEntry(sshFailureEntry(ip, Date.now() * 1000, 40_000 + i)) + exportEntry(sshFailureEntry(ip, Date.now() * 1000, 40_100 + i)));
      await sleep(200);
      const t0 = realtimeMs() / 1000;
      jr.write(exportEntry(sshFailureEntry(ip, Date.now() * 1000, 40_200 + i)));
      const deadline = Date.now() + 10_000;
      let stamp: number | null = null;
      while (stamp === null && Date.now() < deadline) {
        const m = new RegExp(`^${ip.replace(/\./g, '\\.')} (\\d+\\.\\d+)$`, 'm').exec(readFileSync(bans, 'utf8'));
        if (m) stamp = Number(m[1]);
        else await sleep(5);
      }
      if (stamp === null) missed++;
      else latencies.push((stamp - t0) * 1000);
      await sleep(100);
    }
    if (!latencies.length) throw new Error(`${kind}: no ban in ${trials} trials`);
    const r = summariseLatency(latencies, missed);
    log(`    ${kind}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms${missed ? `, ${missed} trials without a ban in 10 s` : ''}`);
    return r;
  } finally {
    await daemon?.stop(30_000);
    await jr.close();
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How long the bench's own `journalctl --follow` takes to see an entry written to journal-remote. */
async function latencyFloor(trials: number): Promise<LatencyRun> {
  const dir = mkdtempSync(join(ensureDir(join(CACHE_DIR, 'fig5-runs')), 'floor-'));
  const jr = liveJournal(join(dir, 'live.journal'));
  let follower: ChildProcess | null = null;
  try {
    jr.write(exportEntry({ usec: Date.now() * 1000, identifier: 'CRON', pid: 77, message: '(root) CMD (true)' }));
    await sleep(300);
    follower = spawn('journalctl', ['--follow', '--no-tail', '-q', '-o', 'export', `--directory=${dir}`, '--', ...MATCH_ARGS], { stdio: ['ignore', 'pipe', 'ignore'] });
    let pending: { ip: string; t0: number } | null = null;
    const latencies: number[] = [];
    follower.stdout!.on('data', (b: Buffer) => {
      if (pending && b.toString().includes(`from ${pending.ip} `)) {
        latencies.push(performance.now() - pending.t0);
        pending = null;
      }
    });
    await sleep(1000);
    for (let i = 0; i < trials; i++) {
      const ip = `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      pending = { ip, t0: performance.now() };
      jr.write(exportEntry(sshFailureEntry(ip)));
      await sleep(50);
    }
    return summariseLatency(latencies, trials - latencies.length);
  } finally {
    follower?.kill('SIGTERM');
    await jr.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(opts: BenchOptions): Promise<FigureOutcome> {
  const lines = opts.lines ?? DEFAULT_ENTRIES;
  const trials = opts.trials ?? DEFAULT_TRIALS;
  const runs = opts.runs ?? 3;
  const fig = beginFigure(opts);
  const { log, notes, peers, build } = fig;
  if (!existsSync(JOURNAL_REMOTE)) throw new Error(`${JOURNAL_REMOTE} missing (apt-get install systemd-journal-remote)`);
  const tools: Tools = { moatd: join(build.bin, '..', 'moatd.js'), fail2banServer: peers.fail2banServer };
  if (ONLY_MOAT_LATENCY) {
    const lat = await runLatency('moat', tools, trials, log);
    log(`  MOAT_BENCH_ONLY=moat-latency: p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms`);
    process.exit(0);
  }

  log(`figure 5: journal of ${lines} sshd-log lines`);
  const input = await cachedJournal(lines);
  notes.push(`input: ${input.entries} journal entries (${input.sshdEntries} from sshd), ${(input.bytes / 2 ** 20).toFixed(0)} MiB of journal files, ${input.cached ? 'cached' : 'generated'} (${input.dir})`);
  const jc = journalctlRate(input.dir, MATCH_ARGS);
  const py = pythonSystemdRate(input.dir, MATCH_GROUPS);
  notes.push(
    `floors over the same files and matches: journalctl -o export (64 KiB stdout buffer, as moat's follower) ${jc.entries} entries in ${jc.seconds.toFixed(2)} s (${Math.round(input.entries / jc.seconds)} journal entries/s)` +
      (py ? `, python3-systemd Reader ${py.entries} entries in ${py.seconds.toFixed(2)} s (${Math.round(input.entries / py.seconds)}/s)` : ''),
  );
  let pipeline: { read: PipelineRun; filter: PipelineRun } | null = null;
  try {
    pipeline = { read: pipelineFloor('read', input.dir), filter: pipelineFloor('filter', input.dir) };
    const { read, filter } = pipeline;
    const perEntry = (s: number) => ((s * 1e6) / filter.entries).toFixed(2);
    notes.push(
      `moat's per-entry code alone, no daemon (one Node process: its journalctl → export reader → sshd filter → failure counting; ` +
        `no log lines, store, ignore checks or event loop besides the pipe): ${filter.entries} entries, ${filter.failures} failures, ` +
        `CPU ${filter.cpuSeconds.toFixed(2)} s (${perEntry(filter.cpuSeconds)} µs per entry; the reader alone ${read.cpuSeconds.toFixed(2)} s, ${perEntry(read.cpuSeconds)} µs), ` +
        `wall ${filter.wallSeconds.toFixed(2)} s = ${Math.round(input.entries / filter.wallSeconds)} journal entries/s with journalctl on the other core`,
    );
  } catch (e) {
    notes.push(`moat pipeline floor failed: ${(e as Error).message}`);
  }

  let moatError: string | null = build.error;
  const moatIngest: IngestRun[] = [];
  let f2bIngest: IngestRun | null = null;
  for (let i = 0; i < runs && !moatError; i++) {
    log(`  ingest run ${i + 1}/${runs}: moatd`);
    try {
      moatIngest.push(await runIngest('moat', tools, input, log));
    } catch (e) {
      moatError = (e as Error).message;
    }
  }
  if (ONLY_MOAT_INGEST) {
    log(`  MOAT_BENCH_ONLY=moat-ingest: ${moatIngest.map((r) => Math.round(r.entriesPerSecond)).join(', ')} entries/s`);
    process.exit(0);
  }
  if (tools.fail2banServer) {
    // one run: at fail2ban's rate a 1M-entry journal takes minutes
    log('  ingest: fail2ban-server');
    try {
      f2bIngest = await runIngest('fail2ban', tools, input, log);
    } catch (e) {
      notes.push(`fail2ban ingest failed: ${(e as Error).message}`);
    }
  } else notes.push('fail2ban-server not available: not measured');

  log(`  ban latency floor: journalctl --follow, ${trials} probes`);
  const floor = await latencyFloor(trials);
  let moatLat: LatencyRun | null = null;
  let f2bLat: LatencyRun | null = null;
  if (!moatError) {
    log(`  ban latency: moatd, ${trials} trials`);
    try {
      moatLat = await runLatency('moat', tools, trials, log);
    } catch (e) {
      moatError = (e as Error).message;
    }
  }
  if (tools.fail2banServer) {
    log(`  ban latency: fail2ban-server, ${trials} trials`);
    try {
      f2bLat = await runLatency('fail2ban', tools, trials, log);
    } catch (e) {
      notes.push(`fail2ban latency failed: ${(e as Error).message}`);
    }
  }

  const mi = moatIngest.length ? moatIngest[moatIngest.length >> 1] : null;
  const moatRate = moatIngest.length ? median(moatIngest.map((r) => r.entriesPerSecond)) : null;
  if (mi && f2bIngest) {
    notes.push(
      mi.found === f2bIngest.found
        ? `both daemons found ${mi.found} failures`
        : `FAILURE COUNTS DIFFER: moat found ${mi.found}, fail2ban ${f2bIngest.found}`,
    );
  }
  if (mi) notes.push(`moat ingest: ${mi.seconds.toFixed(2)} s from "Jail started" to the marker (${mi.fromSpawn.toFixed(2)} s from spawn), CPU ${mi.cpuSeconds?.toFixed(1)} s: moatd ${((mi.cpuSeconds ?? NaN) - (mi.childCpuSeconds ?? NaN)).toFixed(1)} s + its journalctl ${mi.childCpuSeconds?.toFixed(1)} s`);
  notes.push(`latency floor (journalctl --follow sees the entry): p50 ${floor.p50.toFixed(2)} ms, p99 ${floor.p99.toFixed(2)} ms`);

  const rows: FigureRow[] = [];
  const row = (metric: string, unit: string, mv: number | null, pv: number | null, peerName: string | null, higherIsBetter: boolean, target: string | null, verdict: FigureRow['verdict']) =>
    rows.push({ metric, unit, moat: mv, peer: pv, peerName, ratio: ratioOf(mv, pv, higherIsBetter), higherIsBetter, target, verdict });
  row('journal ingest', 'entries/s', moatRate, f2bIngest?.entriesPerSecond ?? null, 'fail2ban', true, `≥ ${TARGET_RATE / 1000}k/s`, check(moatRate, TARGET_RATE, 'min'));
  row('journal ingest vs journalctl -o export', 'entries/s', moatRate, input.entries / jc.seconds, 'journalctl floor', true, null, 'N/A');
  row('journal ingest vs moat pipeline alone (no daemon)', 'entries/s', moatRate, pipeline ? input.entries / pipeline.filter.wallSeconds : null, 'moat pipeline floor', true, null, 'N/A');
  row('ban latency p50', 'ms', moatLat?.p50 ?? null, f2bLat?.p50 ?? null, 'fail2ban', false, null, 'N/A');
  row('ban latency p99', 'ms', moatLat?.p99 ?? null, f2bLat?.p99 ?? null, 'fail2ban', false, `≤ ${TARGET_P99_MS} ms`, check(moatLat?.p99 ?? null, TARGET_P99_MS, 'max'));
  row('ban latency p99 vs floor', 'ms', moatLat?.p99 ?? null, floor.p99, 'journalctl --follow floor', false, null, 'N/A');

  return figureOutcome(fig, {
    title: `systemd journal: ingest of ${input.entries.toLocaleString('en')} entries (median of ${runs}) and ban latency (${trials} trials)`,
    moatRan: moatRate !== null || moatLat !== null,
    moatError: moatRate !== null || moatLat !== null ? null : moatError,
    rows,
    details: { input, floors: { journalctl: jc, pythonSystemd: py, latency: floor, moatPipeline: pipeline }, moat: { ingest: moatIngest, latency: moatLat }, fail2ban: { ingest: f2bIngest, latency: f2bLat } },
  });
}

export const journalBench: FigureBenchmark = {
  figure: 5,
  name: 'journal',
  title: 'systemd journal: entries/s ingested and ban latency, moatd vs fail2ban (python3-systemd)',
  run,
};

if (isMain(import.meta.url)) await runStandalone(journalBench);
