/**
 * Figure 2: ban latency — from appending the maxretry-th failure of an address to the ban.
 * maxretry = 3; each trial uses a fresh address: write 2 failures, wait 200 ms, take t0 and write
 * the 3rd. Two ways to ban, each measured for both daemons in the same run:
 *  - the stamp action (the same action file, run through sh, for both daemons): the latency is the
 *    action's own `date +%s.%N` minus t0, i.e. until the action STARTS. moatd (inotify),
 *    fail2ban-server (pyinotify) and fail2ban-server (polling, Debian's default without pyinotify).
 *  - nftables (`banaction = nftables`: moat's default, served natively: the bans of one turn go as
 *    one transaction line to a long-running `nft -i`; fail2ban runs its stock action, one sh + nft per ban): the latency is until the
 *    element is IN THE KERNEL SET, seen by `nft monitor` in the daemon's namespace — stricter, it
 *    includes nft's own run. moatd (inotify) and fail2ban-server (pyinotify). This row carries the
 *    verdict: it is what users get by default.
 * Floors, measured in the same run: the bench spawning the stamp command itself (fork+exec of sh and
 * date); one `nft add element` forked by a shell in a namespace, to the monitor's line; and the
 * bench's own inotify wake-up on an appended file.
 * Target (issue 7): p99 ≤ 5 ms. Reference: fail2ban median 0.32 s (pyinotify), 0.66 s (polling).
 */
import { mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ActionFloor,
  LogWriter,
  withWatchedDaemon,
  NftFloor,
  banLogLines,
  benchIp,
  calibrateClock,
  percentile,
  realtimeMs,
  setupDaemonBench,
  sleep,
  sshdFailure,
  type DaemonSpec,
  type DaemonTools,
} from './lib/daemons.ts';
import { runStandalone, type BenchOptions, type FigureBenchmark } from './lib/figure.ts';
import { RESULTS_DIR, ensureDir, isMain } from './lib/paths.ts';
import { cdfSvg } from './lib/plot.ts';
import { check, figureOutcome, ratioOf, type FigureOutcome, type FigureRow } from './lib/results.ts';

const TARGET_P99_MS = 5;
const MAXRETRY = 3;
const WARMUP_TRIALS = 2;
const BAN_TIMEOUT_MS = 10_000;

/** How a trial's ban is observed: the stamp action's `date`, or the element appearing in the kernel set. */
type BanSignal = 'stamp' | 'nft';

interface Latencies {
  label: string;
  signal: BanSignal;
  /** Ban (stamp: the action's `date`; nft: the monitor's line read by the bench) − t0, ms, per counted trial. */
  actionMs: number[];
  /** When the bench read the stamp − t0, ms (includes the bench's 1 ms poll of the bans file). */
  seenMs: number[];
  missed: number;
  /** The daemon's "[sshd] Ban IP" log line − t0, ms (log timestamps are whole ms): the ban decision, before any action runs. */
  decisionMs: number[];
  startMs: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  error: string | null;
}

function summarise(label: string, signal: BanSignal, actionMs: number[], seenMs: number[], missed: number, startMs: number, error: string | null, decisionMs: number[] = []): Latencies {
  return { label, signal, actionMs, seenMs, missed, decisionMs, startMs, p50: percentile(actionMs, 50), p99: percentile(actionMs, 99), max: percentile(actionMs, 100), error };
}

async function measureDaemon(spec: DaemonSpec, signal: BanSignal, tools: DaemonTools, trials: number, ipBase: number, floor: { sample(): Promise<number | null> }, log: (m: string) => void): Promise<Latencies> {
  return withWatchedDaemon(spec, tools, signal, async (d, watcher, writer) => {
    const action: number[] = [];
    const seen: number[] = [];
    const t0s = new Map<string, number>();
    let missed = 0;
    log(`  ${spec.label}: ready after ${(d.startMs / 1000).toFixed(1)} s; ${trials} trials (+${WARMUP_TRIALS} warm-up)`);
    for (let i = 0; i < trials + WARMUP_TRIALS; i++) {
      const ip = benchIp(ipBase + i);
      writer.write(Array.from({ length: MAXRETRY - 1 }, (_, k) => sshdFailure(ip, i * 10 + k)));
      await sleep(200);
      calibrateClock();
      const t0 = realtimeMs();
      writer.write([sshdFailure(ip, i * 10 + MAXRETRY - 1)]);
      const ban = await watcher.waitFor(ip, BAN_TIMEOUT_MS);
      if (i >= WARMUP_TRIALS) {
        t0s.set(ip, t0);
        if (ban) {
          action.push(ban.actionMs - t0);
          seen.push(ban.seenMs - t0);
        } else missed++;
      }
      if (!d.alive()) throw new Error(`${spec.label} died during the trials:\n${d.log().split('\n').slice(-8).join('\n')}`);
      // One floor sample per trial, under the same machine load as the trial.
      if (i >= WARMUP_TRIALS) await floor.sample();
      await sleep(100);
    }
    // The log's ms timestamps are truncated: +0.5 ms centres them.
    const decision = banLogLines(d.log())
      .filter((b) => t0s.has(b.ip))
      .map((b) => b.ms + 0.5 - t0s.get(b.ip)!);
    return summarise(spec.label, signal, action, seen, missed, d.startMs, null, decision);
  });
}

/** The bench's own inotify wake-up: fs.watch on a file, append a line, time to the event. */
async function inotifyFloor(trials: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'moatbench-inotify-'));
  const file = join(dir, 'auth.log');
  writeFileSync(file, '');
  const writer = new LogWriter(file);
  const out: number[] = [];
  let pending: ((t: number) => void) | null = null;
  const w = watch(file, () => {
    const t = realtimeMs();
    pending?.(t);
    pending = null;
  });
  try {
    for (let i = 0; i < trials; i++) {
      await sleep(10);
      const got = new Promise<number>((r) => (pending = r));
      calibrateClock();
      const t0 = realtimeMs();
      writer.write([sshdFailure(benchIp(61_000 + i), i)]);
      out.push((await Promise.race([got, sleep(1000).then(() => NaN)])) - t0);
    }
  } finally {
    w.close();
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out.filter(Number.isFinite);
}

async function run(opts: BenchOptions): Promise<FigureOutcome> {
  // 100: with 50 trials the nearest-rank p99 is the slowest trial, one scheduling hiccup of a shared machine
  const trials = opts.trials ?? 100;
  const setup = setupDaemonBench(opts);
  const { log, notes } = setup;
  const jail = { maxretry: MAXRETRY, findtime: '1h', bantime: '1h', action: { kind: 'stamp' } as const };
  // moat's default banaction, which it serves natively; fail2ban runs its stock action.d/nftables.conf.
  const nftJail = { ...jail, action: { kind: 'banaction', name: 'nftables' } as const };
  type Key = 'moat' | 'pyinotify' | 'polling' | 'moatNft' | 'pyinotifyNft';
  const specs: { key: Key; signal: BanSignal; spec: DaemonSpec; skip: string | null }[] = [
    { key: 'moat', signal: 'stamp', spec: { kind: 'moat', label: 'moatd (inotify)', jail: { ...jail, backend: 'auto' } }, skip: setup.moatError },
    { key: 'pyinotify', signal: 'stamp', spec: { kind: 'fail2ban', label: 'fail2ban (pyinotify)', jail: { ...jail, backend: 'pyinotify' } }, skip: setup.fail2banError },
    { key: 'polling', signal: 'stamp', spec: { kind: 'fail2ban', label: 'fail2ban (polling)', jail: { ...jail, backend: 'polling' } }, skip: setup.fail2banError },
    { key: 'moatNft', signal: 'nft', spec: { kind: 'moat', label: 'moatd (inotify, native nftables)', jail: { ...nftJail, backend: 'auto' } }, skip: setup.moatError },
    { key: 'pyinotifyNft', signal: 'nft', spec: { kind: 'fail2ban', label: 'fail2ban (pyinotify, nftables action)', jail: { ...nftJail, backend: 'pyinotify' } }, skip: setup.fail2banError },
  ];
  const results = {} as Record<Key, Latencies>;
  const floor = new ActionFloor();
  const nftFloor = new NftFloor();
  let ipBase = 0;
  for (const { key, signal, spec, skip } of specs) {
    ipBase += 1000;
    if (skip) {
      results[key] = summarise(spec.label, signal, [], [], 0, 0, skip);
      continue;
    }
    try {
      results[key] = await measureDaemon(spec, signal, setup.tools, trials, ipBase, signal === 'stamp' ? floor : nftFloor, log);
    } catch (e) {
      results[key] = summarise(spec.label, signal, [], [], 0, 0, (e as Error).message);
      notes.push(`${spec.label} failed: ${(e as Error).message.split('\n')[0]}`);
    }
    const r = results[key];
    log(`  ${spec.label}: p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms, missed ${r.missed}`);
  }
  floor.close();
  nftFloor.close();
  const floorAction = floor.samples;
  const floorNft = nftFloor.samples;
  log('  floor: the bench\'s inotify wake-up');
  const floorInotify = await inotifyFloor(Math.min(trials, 50));

  const rows: FigureRow[] = [];
  const row = (metric: string, moatKey: Key, peerKey: Key, pick: (l: Latencies) => number | null, target: string | null, targetOk: (v: number | null) => FigureRow['verdict']) => {
    const m = results[moatKey];
    const mv = m.error ? null : pick(m);
    const p = results[peerKey];
    const pv = p.error ? null : pick(p);
    rows.push({ metric, unit: 'ms', moat: mv, peer: pv, peerName: p.label, ratio: ratioOf(mv, pv, false), higherIsBetter: false, target, verdict: target ? targetOk(mv) : 'N/A' });
  };
  // The verdict row: nftables is the banaction users get by default, and "element in the set" is when the ban works.
  row('ban latency p50, nftables (element in kernel set)', 'moatNft', 'pyinotifyNft', (l) => l.p50, null, () => 'N/A');
  row('ban latency p99, nftables (element in kernel set)', 'moatNft', 'pyinotifyNft', (l) => l.p99, `≤ ${TARGET_P99_MS} ms`, (v) => check(v, TARGET_P99_MS, 'max'));
  row('ban latency p50, stamp action starts', 'moat', 'pyinotify', (l) => l.p50, null, () => 'N/A');
  row('ban latency p99, stamp action starts', 'moat', 'pyinotify', (l) => l.p99, null, () => 'N/A');
  row('ban latency p50, stamp action starts', 'moat', 'polling', (l) => l.p50, null, () => 'N/A');
  row('ban latency p99, stamp action starts', 'moat', 'polling', (l) => l.p99, null, () => 'N/A');
  row('ban decision (Ban log line) p50', 'moat', 'pyinotify', (l) => percentile(l.decisionMs, 50), null, () => 'N/A');
  row('ban decision (Ban log line) p99', 'moat', 'pyinotify', (l) => percentile(l.decisionMs, 99), null, () => 'N/A');
  row('ban decision (Ban log line) p50, nftables run', 'moatNft', 'pyinotifyNft', (l) => percentile(l.decisionMs, 50), null, () => 'N/A');
  row('ban decision (Ban log line) p99, nftables run', 'moatNft', 'pyinotifyNft', (l) => percentile(l.decisionMs, 99), null, () => 'N/A');
  const fa50 = percentile(floorAction, 50);
  const fn50 = percentile(floorNft, 50);
  const fi50 = percentile(floorInotify, 50);
  notes.push(
    `verdict: the "nftables (element in kernel set)" p99 row (moat's default banaction, served natively); the stamp-action rows are kept for comparison with earlier runs and carry no verdict`,
    `nftables rows: \`banaction = nftables\` for both daemons (moat: native, the bans of one turn as one transaction line to its long-running \`nft -i\`, no shell, no process per ban; fail2ban: its stock action.d/nftables.conf, one sh + nft per ban); latency = the bench reading \`nft monitor new elements\` (run in the daemon's namespace) report the address − t0. STRICTER than "action starts": it includes nft's own start-up, cache dump and commit, plus the monitor's delivery to the bench`,
    `stamp rows: latency = the action's \`date +%s.%N\` − t0 (just before the write of the ${MAXRETRY}rd failure), i.e. until the same sh action STARTS in both daemons; ${trials} trials per daemon after ${WARMUP_TRIALS} warm-up trials`,
    `floor (stamp rows): the stamp action's command spawned by the bench itself (sh + date, one sample after every trial, ${floorAction.length} in all): p50 ${fa50?.toFixed(2)} ms, p99 ${percentile(floorAction, 99)?.toFixed(2)} ms — part of every daemon's stamp latency`,
    `floor (nftables rows): one \`nft add element\` forked by a shell already in a namespace, from the bench's write to that shell to the monitor's line (${floorNft.length} samples): p50 ${fn50?.toFixed(2)} ms, p99 ${percentile(floorNft, 99)?.toFixed(2)} ms — the cost of any ban that runs nft once`,
    `ban decision rows: the daemon's own "[sshd] Ban <ip>" log line − t0 (ms-resolution log timestamps), i.e. detection + filter + decision without the action`,
    `floor: the bench's own inotify wake-up on an appended line: p50 ${fi50?.toFixed(3)} ms, p99 ${percentile(floorInotify, 99)?.toFixed(3)} ms`,
  );
  for (const r of Object.values(results)) {
    if (r.missed) notes.push(`${r.label}: ${r.missed} trial(s) without a ban within ${BAN_TIMEOUT_MS / 1000} s (left out of the percentiles)`);
  }
  for (const r of Object.values(results)) {
    if (r.actionMs.length) notes.push(`${r.label} (${r.signal === 'nft' ? 'element in set' : 'stamp'}): p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms; ${r.actionMs.filter((v) => v <= TARGET_P99_MS).length} of ${r.actionMs.length} trials ≤ ${TARGET_P99_MS} ms; max ${r.max?.toFixed(1)} ms`);
  }
  const moat = results.moat;
  const moatNft = results.moatNft;
  if (!moat.error && moat.p50 !== null && fa50 !== null) {
    notes.push(`moat stamp p50 minus the stamp floor: ${(moat.p50 - fa50).toFixed(2)} ms (detection, filter, ban decision, action dispatch)`);
  }
  if (!moatNft.error && moatNft.p50 !== null && fn50 !== null) {
    notes.push(`moat nftables p50 minus the nft floor: ${(moatNft.p50 - fn50).toFixed(2)} ms (detection, filter, ban decision, batching; negative: moat's nft -i session skips the nft start-up the floor pays)`);
  }
  const verdictRun = !moatNft.error && moatNft.actionMs.length > 0;
  const plot = writeLatencyPlot(results, trials);
  notes.push(`distribution plot: ${plot}`);
  return figureOutcome(setup, {
    title: `ban latency, maxretry-th failure → ban in the kernel set (nftables) / ban action starts (stamp) (${trials} trials, p50/p99)`,
    moatRan: verdictRun || (!moat.error && moat.actionMs.length > 0),
    moatError: verdictRun ? null : (moatNft.error ?? 'no ban observed in the nftables set'),
    rows,
    details: { trials, warmup: WARMUP_TRIALS, maxretry: MAXRETRY, daemons: results, floors: { actionMs: floorAction, nftMs: floorNft, inotifyMs: floorInotify } },
  });
}

/** bench/results/latency.svg: every daemon's latencies as a CDF on a log axis, with the p99 target. */
function writeLatencyPlot(results: Record<string, Latencies>, trials: number): string {
  const series = Object.values(results)
    .filter((r) => r.actionMs.length)
    .sort((a, b) => Number(b.label.startsWith('moat')) - Number(a.label.startsWith('moat')) || Number(b.signal === 'nft') - Number(a.signal === 'nft'))
    .map((r) => ({ label: `${r.label}: ${r.signal === 'nft' ? 'element in the set' : 'stamp action starts'}`, values: r.actionMs }));
  const svg = cdfSvg(series, { title: `Ban latency, maxretry-th failure → ban (${trials} trials per daemon)`, target: { ms: TARGET_P99_MS, label: `target p99 ≤ ${TARGET_P99_MS} ms` } });
  const path = join(ensureDir(RESULTS_DIR), 'latency.svg');
  writeFileSync(path, svg);
  return path;
}

export const latency: FigureBenchmark = {
  figure: 2,
  name: 'latency',
  title: 'ban latency: maxretry-th failure → ban (nftables element in the set; stamp action start), moatd vs fail2ban',
  run,
};

if (isMain(import.meta.url)) await runStandalone(latency);
