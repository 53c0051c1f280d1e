/**
 * Figure 3: overshoot — how many failure lines of one address get written after the maxretry-th
 * and before its ban took effect, at 10, 100 and 1000 attempts/s. maxretry = 3. Per trial a fresh
 * address; the bench appends its failure lines at a steady rate (timer-paced, every line stamped
 * with the realtime just before its write) until the bench sees the ban or 10 s pass.
 * overshoot = lines written before the ban's instant − maxretry (ideal: 0). The ban's instant:
 *  - nftables (`banaction = nftables`: moat's default, native; fail2ban's stock action): the bench
 *    reading the element's `nft monitor` line (in the kernel set — stricter, includes nft's run).
 *    These rows carry the verdict.
 *  - the stamp action (same sh action for both daemons, see lib/daemons.ts): its own `date +%s.%N`,
 *    i.e. when the action STARTS.
 * moatd (inotify) and fail2ban-server (pyinotify), each with both actions, one after the other.
 * Target (issue 7): 0 / 0 / ≤ 2. Reference: fail2ban 6 / 13 / 351.
 */
import {
  ActionFloor,
  LogWriter,
  withWatchedDaemon,
  NftFloor,
  benchIp,
  calibrateClock,
  percentile,
  realtimeMs,
  setupDaemonBench,
  sleep,
  sshdFailure,
  type BanWatcher,
  type DaemonSpec,
  type DaemonTools,
} from './lib/daemons.ts';
import { runStandalone, type BenchOptions, type FigureBenchmark } from './lib/figure.ts';
import { isMain } from './lib/paths.ts';
import { check, figureOutcome, type FigureOutcome, type FigureRow } from './lib/results.ts';

const MAXRETRY = 3;
const DEFAULT_RATES = [10, 100, 1000];
/** Targets per rate: moat's median overshoot must not exceed these. */
const TARGETS: Record<number, number> = { 10: 0, 100: 0, 1000: 2 };
const TRIAL_LIMIT_MS = 10_000;

interface Trial {
  rate: number;
  ip: string;
  written: number;
  /** Lines written before the action started; null when no ban within the limit. */
  beforeBan: number | null;
  overshoot: number | null;
  /** Action start − the maxretry-th line's write, ms. */
  latencyMs: number | null;
}

async function runTrial(watcher: BanWatcher, writer: LogWriter, ip: string, rate: number, seq: number): Promise<Trial> {
  calibrateClock();
  const times: number[] = [];
  const start = realtimeMs();
  const intervalMs = 1000 / rate;
  let n = 0;
  for (;;) {
    const now = realtimeMs();
    // Lines due by now: a steady schedule, so a late timer writes the missed lines in one go.
    const due = Math.floor((now - start) / intervalMs) + 1;
    if (due > n) {
      const lines: string[] = [];
      for (; n < due; n++) lines.push(sshdFailure(ip, seq + n));
      const t = realtimeMs();
      writer.write(lines);
      for (let k = 0; k < lines.length; k++) times.push(t);
    }
    watcher.read();
    if (watcher.bans.has(ip) || now - start > TRIAL_LIMIT_MS) break;
    const next = start + n * intervalMs - realtimeMs();
    // Low rates sleep until the next line (waking every 5 ms to notice the ban); 1000/s ticks every ms.
    await sleep(Math.max(1, Math.min(next, 5)));
  }
  // A ban just after the last write is still a ban; give the stamp a moment to land.
  const ban = watcher.bans.get(ip) ?? (await watcher.waitFor(ip, 2000));
  if (!ban) return { rate, ip, written: times.length, beforeBan: null, overshoot: null, latencyMs: null };
  const beforeBan = times.filter((t) => t < ban.actionMs).length;
  return {
    rate,
    ip,
    written: times.length,
    beforeBan,
    overshoot: beforeBan - MAXRETRY,
    latencyMs: times.length >= MAXRETRY ? ban.actionMs - times[MAXRETRY - 1]! : null,
  };
}

/** How a ban is observed: the stamp action's `date`, or the element appearing in the kernel set. */
type BanSignal = 'stamp' | 'nft';

interface DaemonOutcome {
  label: string;
  signal: BanSignal;
  trials: Trial[];
  perRate: Record<number, { median: number | null; max: number | null; unbanned: number }>;
  error: string | null;
}

async function measureDaemon(
  spec: DaemonSpec,
  signal: BanSignal,
  tools: DaemonTools,
  rates: number[],
  trials: number,
  ipBase: number,
  floor: { sample(): Promise<number | null> },
  log: (m: string) => void,
): Promise<DaemonOutcome> {
  const out: DaemonOutcome = { label: spec.label, signal, trials: [], perRate: {}, error: null };
  return withWatchedDaemon(spec, tools, signal, async (d, watcher, writer) => {
    // One warm-up ban (first action run, lazy initialisation), not counted.
    await runTrial(watcher, writer, benchIp(ipBase), 100, 0);
    await sleep(300);
    let k = 1;
    for (const rate of rates) {
      for (let i = 0; i < trials; i++, k++) {
        const t = await runTrial(watcher, writer, benchIp(ipBase + k), rate, k * 20_000);
        out.trials.push(t);
        if (!d.alive()) throw new Error(`${spec.label} died:\n${d.log().split('\n').slice(-8).join('\n')}`);
        // Let the daemon drain the lines written after the ban before the next address starts,
        // and take one sample of the action's own start-up cost meanwhile.
        await floor.sample();
        await sleep(300);
      }
      const o = out.trials.filter((t) => t.rate === rate && t.overshoot !== null).map((t) => t.overshoot!);
      out.perRate[rate] = { median: percentile(o, 50), max: percentile(o, 100), unbanned: trials - o.length };
      log(`  ${spec.label} @ ${rate}/s: overshoot ${o.join(' ')}`);
    }
    return out;
  });
}

async function run(opts: BenchOptions): Promise<FigureOutcome> {
  const trials = opts.trials ?? 5;
  const rates = opts.rates ?? DEFAULT_RATES;
  const setup = setupDaemonBench(opts);
  const { log, notes } = setup;
  const jail = { maxretry: MAXRETRY, findtime: '1h', bantime: '1h', action: { kind: 'stamp' } as const };
  // moat's default banaction, which it serves natively; fail2ban runs its stock action.d/nftables.conf.
  const nftJail = { ...jail, action: { kind: 'banaction', name: 'nftables' } as const };
  const floor = new ActionFloor();
  const nftFloor = new NftFloor();
  const measure = async (spec: DaemonSpec, signal: BanSignal, skip: string | null, ipBase: number): Promise<DaemonOutcome> => {
    if (skip) return { label: spec.label, signal, trials: [], perRate: {}, error: skip };
    log(`  ${spec.label}: rates ${rates.join(', ')}/s, ${trials} trials each`);
    try {
      return await measureDaemon(spec, signal, setup.tools, rates, trials, ipBase, signal === 'stamp' ? floor : nftFloor, log);
    } catch (e) {
      notes.push(`${spec.label} failed: ${(e as Error).message.split('\n')[0]}`);
      return { label: spec.label, signal, trials: [], perRate: {}, error: (e as Error).message };
    }
  };
  const moat = await measure({ kind: 'moat', label: 'moatd (inotify)', jail: { ...jail, backend: 'auto' } }, 'stamp', setup.moatError, 2000);
  const f2b = await measure({ kind: 'fail2ban', label: 'fail2ban (pyinotify)', jail: { ...jail, backend: 'pyinotify' } }, 'stamp', setup.fail2banError, 4000);
  const moatNft = await measure({ kind: 'moat', label: 'moatd (inotify, native nftables)', jail: { ...nftJail, backend: 'auto' } }, 'nft', setup.moatError, 6000);
  const f2bNft = await measure({ kind: 'fail2ban', label: 'fail2ban (pyinotify, nftables action)', jail: { ...nftJail, backend: 'pyinotify' } }, 'nft', setup.fail2banError, 8000);

  floor.close();
  nftFloor.close();
  const floor50 = percentile(floor.samples, 50);
  const nftFloor50 = percentile(nftFloor.samples, 50);

  const rows: FigureRow[] = [];
  const addRows = (m: DaemonOutcome, p: DaemonOutcome, what: string, withTargets: boolean) => {
    for (const rate of rates) {
      const mv = m.perRate[rate]?.median ?? null;
      const pv = p.perRate[rate]?.median ?? null;
      const target = withTargets ? TARGETS[rate] : undefined;
      // Overshoot is often 0, where a quotient means nothing: the ratio compares lines that reached the log, (peer + 3) / (moat + 3).
      const ratio = mv !== null && pv !== null ? (pv + MAXRETRY) / (mv + MAXRETRY) : null;
      rows.push({
        metric: `overshoot @ ${rate}/s (median), ${what}`,
        unit: 'lines',
        moat: mv,
        peer: pv,
        peerName: p.label,
        ratio,
        higherIsBetter: false,
        target: target === undefined ? null : target === 0 ? '0' : `≤ ${target}`,
        verdict: target === undefined ? 'N/A' : check(mv, target, 'max'),
      });
    }
  };
  // The verdict rows: nftables is the banaction users get by default, and "element in the set" is when the ban works.
  addRows(moatNft, f2bNft, 'nftables (element in kernel set)', true);
  addRows(moat, f2b, 'stamp action starts', false);
  notes.push(
    `verdict: the "nftables (element in kernel set)" rows (moat's default banaction, served natively); the stamp-action rows are kept for comparison with earlier runs and carry no verdict`,
    `nftables rows: \`banaction = nftables\` for both daemons (moat: native, one transaction line per turn to its long-running \`nft -i\`; fail2ban: stock action.d/nftables.conf, sh + nft per ban); the ban's instant = the bench reading the address in \`nft monitor new elements\` (daemon's namespace). STRICTER than "action starts": it includes nft's own run and the monitor's delivery (lines written during the bench's own wake-up count too: at most ~1 line at 1000/s)`,
    `overshoot = failure lines of the address written before the ban's instant − maxretry (${MAXRETRY}); stamp rows: the instant is the action's \`date\`; median of ${trials} trials per rate (max in details); one uncounted warm-up ban per daemon`,
    `ratio column = (fail2ban + ${MAXRETRY}) / (moat + ${MAXRETRY}): lines of the address that got through before the ban, as a quotient that stays defined at 0 overshoot`,
  );
  if (floor50 !== null) {
    notes.push(
      `floor (stamp rows): the stamp action's own start-up (sh + date spawned by the bench between trials, ${floor.samples.length} samples): p50 ${floor50.toFixed(2)} ms, p99 ${percentile(floor.samples, 99)?.toFixed(2)} ms; ` +
        `lines written during it alone: ${rates.map((r) => `${((floor50 * r) / 1000).toFixed(1)} @ ${r}/s`).join(', ')}`,
    );
  }
  if (nftFloor50 !== null) {
    notes.push(
      `floor (nftables rows): one \`nft add element\` forked by a shell in a namespace, to the monitor's line (${nftFloor.samples.length} samples): p50 ${nftFloor50.toFixed(2)} ms, p99 ${percentile(nftFloor.samples, 99)?.toFixed(2)} ms; ` +
        `lines written during it alone: ${rates.map((r) => `${((nftFloor50 * r) / 1000).toFixed(1)} @ ${r}/s`).join(', ')}`,
    );
  }
  for (const o of [moatNft, f2bNft, moat, f2b]) {
    for (const [rate, r] of Object.entries(o.perRate)) {
      notes.push(`${o.label} @ ${rate}/s: median ${r.median ?? '-'}, max ${r.max ?? '-'}${r.unbanned ? `, ${r.unbanned} trial(s) without a ban in ${TRIAL_LIMIT_MS / 1000} s` : ''}`);
    }
  }
  const verdictRun = !moatNft.error && moatNft.trials.length > 0;
  return figureOutcome(setup, {
    title: `overshoot: failure lines written before the ban took effect (nftables set) / its action started (stamp), at ${rates.join(' / ')} attempts/s (maxretry ${MAXRETRY})`,
    moatRan: verdictRun || (!moat.error && moat.trials.length > 0),
    moatError: verdictRun ? null : moatNft.error,
    rows,
    details: { rates, trials, maxretry: MAXRETRY, daemons: { moat, fail2ban: f2b, moatNft, fail2banNft: f2bNft }, floorMs: floor.samples, nftFloorMs: nftFloor.samples },
  });
}

export const overshoot: FigureBenchmark = {
  figure: 3,
  name: 'overshoot',
  title: 'overshoot at 10/100/1000 attempts/s (nftables set; stamp action), moatd vs fail2ban (pyinotify)',
  run,
};

if (isMain(import.meta.url)) await runStandalone(overshoot);
