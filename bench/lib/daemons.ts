/**
 * The two daemons of figures 2–7, started the same way: moatd and fail2ban-server, each in a
 * network namespace the bench creates, on a private temporary directory that holds a copy of the
 * daemon's configuration tree, the socket, the pid file, the database, the daemon's log, the
 * auth.log it watches and the file the bench's ban action writes to. Figures 5 and 6 time the
 * daemon from its own log and build their configuration themselves: they use the lower-level
 * `prepareDaemonDir`, `spawnInNetns` and `waitForLogLine` at the end of this file.
 *
 * Nothing here touches the host: the namespaces are fresh (firewall actions act on their empty
 * ruleset), every process is started in its own process group and only those groups are killed,
 * and the namespaces and directories are removed again (also when the bench is interrupted).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beginFigure, type BenchOptions, type FigureStart } from './figure.ts';
import { moatConfigDir } from './moat.ts';
import { REPO_ROOT } from './paths.ts';

export type DaemonKind = 'moat' | 'fail2ban';

/** How the jail bans. */
export type BanActionChoice =
  /** The bench's action: `date +"%s.%N <ip>" >> bansFile` (sh execs date: one fork+exec per ban, identical for both daemons). */
  | { kind: 'stamp' }
  /** An action with no commands at all (memory figures: the daemon's own bookkeeping only). */
  | { kind: 'noop' }
  /** A stock action.d name used as `banaction` (e.g. nftables-multiport), acting inside the namespace. */
  | { kind: 'banaction'; name: string };

export interface JailSettings {
  /** fail2ban: pyinotify | polling; moat: auto (inotify) | polling. */
  backend: string;
  maxretry: number;
  findtime: string;
  bantime: string;
  action: BanActionChoice;
}

export interface DaemonSpec {
  kind: DaemonKind;
  /** For messages and result rows, e.g. "fail2ban (pyinotify)". */
  label: string;
  jail: JailSettings;
  /** Runs before the daemon starts (e.g. to pre-fill the database). */
  prepare?: (paths: DaemonPaths) => void | Promise<void>;
  /** How long start-up (incl. restoring bans) may take. Default 60 s. */
  readyTimeoutMs?: number;
  /** Extra text appended to jail.local. */
  jailExtra?: string;
}

export interface DaemonPaths {
  dir: string;
  conf: string;
  sock: string;
  pidfile: string;
  db: string;
  daemonLog: string;
  /** The log the sshd jail watches. */
  authLog: string;
  /** Where the stamp action writes. */
  bansFile: string;
}

/** What the daemons are run with. */
export interface DaemonTools {
  node: string;
  moatCli: string;
  moatd: string;
  /** moat's configuration tree (copied per run). */
  moatConf: string;
  fail2banServer: string;
  fail2banClient: string;
  /** fail2ban's stock tree (copied per run). */
  fail2banEtc: string;
}

export interface CpuSample {
  /** Monotonic ms when sampled. */
  at: number;
  /** utime+stime of the daemon (all threads), seconds. */
  self: number;
  /**
   * Its children, seconds: cutime+cstime (reaped: action shells, nft runs) plus utime+stime+cutime+cstime
   * of the descendants still running (moatd's long-running `nft -i` session), so both count the same.
   */
  children: number;
}

export interface MemorySample {
  rssKiB: number;
  hwmKiB: number;
  anonKiB: number;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningDaemon extends DaemonPaths {
  kind: DaemonKind;
  label: string;
  ns: string;
  pid: number;
  /** ms from spawn until the jail answered `status sshd`. */
  startMs: number;
  /** The control client of this daemon (moat / fail2ban-client) on its socket. */
  client(args: string[], timeoutMs?: number): ExecResult;
  /** A command inside the daemon's namespace (e.g. nft). */
  inNs(argv: string[], timeoutMs?: number): ExecResult;
  cpu(): CpuSample | null;
  memory(): MemorySample | null;
  alive(): boolean;
  /** The daemon's log file so far. */
  log(): string;
  stop(): Promise<void>;
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/* ----------------------------------------------------------------------------------------------
 * Process groups and namespaces the bench created: removed on stop, and on exit/interrupt.
 */
const liveGroups = new Set<number>();
const liveNamespaces = new Set<string>();
const liveDirs = new Set<string>();
let nsCounter = 0;
let exitHooked = false;

function cleanupAll(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  liveGroups.clear();
  for (const ns of liveNamespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveNamespaces.clear();
  if (!process.env.MOAT_BENCH_KEEP) for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  liveDirs.clear();
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupAll();
      process.exit(130);
    });
  }
}

/** Runs a command to completion (no shell); no time limit unless `timeoutMs` is given. */
export function sh(argv: string[], opts: { timeoutMs?: number; input?: string } = {}): ExecResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: opts.timeoutMs, input: opts.input, maxBuffer: 512 * 2 ** 20 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** A network namespace with only `lo` (up); `remove()` deletes it. */
export interface Netns {
  name: string;
  /** `ip netns exec NAME` prefix. */
  exec: string[];
  remove(): void;
}

export function createNetns(tag = ''): Netns {
  hookExit();
  const name = `moatbench-${process.pid}-${tag}${++nsCounter}`;
  const r = sh(['ip', 'netns', 'add', name], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ip netns add ${name} failed (needs root): ${r.stderr.trim()}`);
  liveNamespaces.add(name);
  sh(['ip', '-n', name, 'link', 'set', 'lo', 'up'], { timeoutMs: 30_000 });
  return {
    name,
    exec: ['ip', 'netns', 'exec', name],
    remove: () => {
      sh(['ip', 'netns', 'del', name], { timeoutMs: 30_000 });
      liveNamespaces.delete(name);
    },
  };
}

/* ----------------------------------------------------------------------------------------------
 * Clock and log writing.
 */
let clockOffsetMs = 0;
let clockCalibratedAt = -Infinity;

/**
 * Wall-clock time in ms with sub-ms resolution, comparable with `date +%s.%N` of the action:
 * performance.now() (monotonic, µs) plus an offset to the realtime clock found at a tick of
 * Date.now() (re-calibrated every 5 s, so clock slewing cannot accumulate).
 */
export function realtimeMs(): number {
  const p = performance.now();
  if (p - clockCalibratedAt > 5000) calibrateClock();
  return performance.now() + clockOffsetMs;
}

export function calibrateClock(): void {
  // Spin (< 1 ms) until Date.now() ticks; at that instant, realtime = the new Date.now() value.
  const start = Date.now();
  let d = start;
  let p = performance.now();
  while (d === start) {
    p = performance.now();
    d = Date.now();
  }
  clockOffsetMs = d - p;
  clockCalibratedAt = p;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Mmm dd HH:MM:SS" in local time, as syslog writes it (what both daemons parse as "now"). */
export function syslogDate(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** One sshd failure line for `ip`, stamped now. */
export function sshdFailure(ip: string, n = 0, d = new Date()): string {
  return `${syslogDate(d)} bench-host sshd[${2000 + (n % 60000)}]: Failed password for root from ${ip} port ${1024 + (n % 60000)} ssh2`;
}

/** Appends lines to a log file with plain write(2) calls (no fsync), as syslog does. */
export class LogWriter {
  private fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }
  /** Writes the lines in one write(2); returns the realtime ms right after it returned. */
  write(lines: string[]): number {
    if (lines.length) writeSync(this.fd, lines.join('\n') + '\n');
    return realtimeMs();
  }
  close(): void {
    closeSync(this.fd);
  }
}

/* ----------------------------------------------------------------------------------------------
 * The stamp action's output: "<epoch seconds with ns> <ip>" lines.
 */
export interface StampedBan {
  ip: string;
  /** When the action ran `date`, realtime ms. */
  actionMs: number;
  /** When the bench read the line (poll or inotify), realtime ms. */
  seenMs: number;
}

/** The first ban seen per address, and the trials waiting for one. */
class BanRecorder {
  readonly bans = new Map<string, StampedBan>();
  private waiters = new Map<string, (b: StampedBan) => void>();

  /** Keeps the first ban of an address and wakes its waiter. */
  protected record(ban: StampedBan): void {
    if (this.bans.has(ban.ip)) return;
    this.bans.set(ban.ip, ban);
    const w = this.waiters.get(ban.ip);
    if (w) {
      this.waiters.delete(ban.ip);
      w(ban);
    }
  }

  /** The ban of `ip`, or null after `timeoutMs`. */
  waitFor(ip: string, timeoutMs: number): Promise<StampedBan | null> {
    const have = this.bans.get(ip);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(ip);
        resolve(null);
      }, timeoutMs);
      this.waiters.set(ip, (b) => {
        clearTimeout(t);
        resolve(b);
      });
    });
  }
}

/** Follows the bans file and resolves waiters when an address's stamp appears. */
export class BanStampWatcher extends BanRecorder {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout;

  constructor(readonly path: string, pollMs = 1) {
    super();
    if (!existsSync(path)) writeFileSync(path, '');
    // A 1 ms poll of the file size: no inotify event coalescing and no dependence on whether the
    // action's shell opened the file before the bench's watch was set up.
    this.timer = setInterval(() => this.read(), pollMs);
  }

  read(): void {
    let text: string;
    try {
      const buf = readFileSync(this.path);
      if (buf.length <= this.offset) return;
      text = buf.subarray(this.offset).toString('utf8');
      this.offset = buf.length;
    } catch {
      return;
    }
    const seenMs = realtimeMs();
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^(\d+)\.(\d+) (\S+)$/.exec(line.trim());
      if (!m) continue;
      const actionMs = Number(m[1]) * 1000 + Number(`0.${m[2]}`) * 1000;
      this.record({ ip: m[3]!, actionMs, seenMs });
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/**
 * The floor under every stamped ban: the bench spawns the stamp action's very command line itself
 * (`sh -c 'date … >> file'`, as the daemons do) and measures spawn → stamp. Sampled between the
 * daemons' trials, so it sees the same machine load as they do.
 */
export class ActionFloor {
  readonly samples: number[] = [];
  private dir = mkdtempSync(join(tmpdir(), 'moatbench-floor-'));
  private file = join(this.dir, 'bans');
  private watcher = new BanStampWatcher(this.file);
  private n = 0;

  async sample(): Promise<number | null> {
    const ip = benchIp(100_000 + this.n++);
    calibrateClock();
    const t0 = realtimeMs();
    spawn('/bin/sh', ['-c', `date +"%s.%N ${ip}" >> '${this.file}'`], { stdio: 'ignore' });
    const ban = await this.watcher.waitFor(ip, 5000);
    if (!ban) return null;
    this.samples.push(ban.actionMs - t0);
    return ban.actionMs - t0;
  }

  close(): void {
    this.watcher.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/* ----------------------------------------------------------------------------------------------
 * Native firewall actions: the ban took effect when its element is in the kernel set. `nft monitor`
 * in the daemon's namespace reports each committed element; the bench stamps the line as it reads it.
 */

/** What figures 2 and 3 wait on: each address's first ban, with the instant it took effect. */
export interface BanWatcher {
  readonly bans: Map<string, StampedBan>;
  /** Picks up what is there now (the stamp file is polled; monitor events arrive by themselves). */
  read(): void;
  waitFor(ip: string, timeoutMs: number): Promise<StampedBan | null>;
  close(): void;
}

/** The watcher of a trial's ban signal: the stamp action's file, or nft's element events in the daemon's namespace. */
function startBanWatcher(signal: 'stamp' | 'nft', daemon: { bansFile: string; ns: string }): Promise<BanWatcher> {
  return signal === 'stamp' ? Promise.resolve(new BanStampWatcher(daemon.bansFile)) : NftElementWatcher.start(daemon.ns);
}

/**
 * A trial run: starts the daemon, the watcher of its ban signal and a writer on its log, runs `fn`,
 * and stops all three whatever happens.
 */
export async function withWatchedDaemon<T>(
  spec: DaemonSpec,
  tools: DaemonTools,
  signal: 'stamp' | 'nft',
  fn: (d: RunningDaemon, watcher: BanWatcher, writer: LogWriter) => Promise<T>,
): Promise<T> {
  const d = await startDaemon(spec, tools);
  let watcher: BanWatcher;
  try {
    watcher = await startBanWatcher(signal, d);
  } catch (e) {
    await d.stop();
    throw e;
  }
  const writer = new LogWriter(d.authLog);
  try {
    return await fn(d, watcher, writer);
  } finally {
    watcher.close();
    writer.close();
    await d.stop();
  }
}

const PROBE_TABLE = 'moatbench-probe';

/**
 * `ip netns exec NS nft monitor new elements`, spawned as its own process group. The kernel sends
 * element notifications when the transaction commits, so a line means "in the set now"; the bench's
 * realtime when it reads the line is both `actionMs` and `seenMs` (an upper bound on the commit:
 * it includes the monitor's wake-up and the pipe, like the inotify floor).
 */
export class NftElementWatcher extends BanRecorder implements BanWatcher {
  private partial = '';
  private proc: ChildProcess;
  private stderr = '';

  private constructor(readonly ns: string) {
    super();
    hookExit();
    this.proc = spawn('ip', ['netns', 'exec', ns, 'nft', 'monitor', 'new', 'elements'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.proc.pid === undefined) throw new Error(`nft monitor in ${ns}: could not spawn`);
    liveGroups.add(this.proc.pid);
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (d: string) => this.onData(d, realtimeMs()));
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-2000)));
  }

  /**
   * Starts the monitor in namespace `ns` and returns once it is subscribed: elements are added to a
   * probe table of the bench's own (deleted again) until the monitor reports one.
   */
  static async start(ns: string, timeoutMs = 10_000): Promise<NftElementWatcher> {
    const w = new NftElementWatcher(ns);
    const nft = (script: string) => sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], { input: script, timeoutMs: 30_000 });
    const setup = nft(`add table inet ${PROBE_TABLE}\nadd set inet ${PROBE_TABLE} s { type ipv4_addr; }\n`);
    if (setup.code !== 0) {
      w.close();
      throw new Error(`nft probe table in ${ns}: ${setup.stderr.trim()}`);
    }
    try {
      const end = performance.now() + timeoutMs;
      for (let i = 1; ; i++) {
        const probe = `127.77.${(i >> 8) & 255}.${i & 255}`;
        nft(`add element inet ${PROBE_TABLE} s { ${probe} }\n`);
        if (await w.waitFor(probe, 200)) break;
        if (performance.now() > end) throw new Error(`nft monitor in ${ns} reported nothing within ${timeoutMs} ms: ${w.stderr.trim()}`);
      }
    } catch (e) {
      w.close();
      throw e;
    } finally {
      nft(`delete table inet ${PROBE_TABLE}\n`);
    }
    return w;
  }

  private onData(text: string, seenMs: number): void {
    // nft flushes per event, but one event can arrive in two reads: only whole lines count.
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      // "add element inet f2b-table addr-set-sshd { 198.18.3.7 timeout 1h expires 1h }" (one element per line,
      // but a list is parsed too)
      const m = /^(?:add|create) element \S+ \S+ \S+ \{ (.*) \}$/.exec(line.trim());
      if (!m) continue;
      for (const item of m[1]!.split(',')) {
        const ip = item.trim().split(' ')[0];
        if (ip) this.record({ ip, actionMs: seenMs, seenMs });
      }
    }
  }

  read(): void {
    /* events are pushed by the monitor's pipe */
  }

  close(): void {
    const pid = this.proc.pid!;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    liveGroups.delete(pid);
  }
}

/**
 * The floor under every element-in-the-set measurement: one `nft add element` (the stock action's
 * command) forked by a shell that already runs in a namespace of the bench's own, from the bench's
 * write of the address to the shell until the monitor's line is read: fork+exec and start-up of nft,
 * its cache dump and commit, and the monitor's delivery. Sampled between the daemons' trials.
 */
export class NftFloor {
  readonly samples: number[] = [];
  private ns: Netns | null = null;
  private watcher: NftElementWatcher | null = null;
  private shell: ChildProcess | null = null;
  private n = 0;

  private async init(): Promise<boolean> {
    if (this.shell) return true;
    this.ns = createNetns('nftfloor');
    const r = sh([...this.ns.exec, 'nft', '-f', '-'], { input: 'add table inet moatbench-floor\nadd set inet moatbench-floor s { type ipv4_addr; }\n', timeoutMs: 30_000 });
    if (r.code !== 0) return false;
    this.watcher = await NftElementWatcher.start(this.ns.name);
    const loop = 'while read -r ip; do nft add element inet moatbench-floor s "{ $ip }"; done';
    this.shell = spawn(this.ns.exec[0]!, [...this.ns.exec.slice(1), 'sh', '-c', loop], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    liveGroups.add(this.shell.pid!);
    return true;
  }

  async sample(): Promise<number | null> {
    if (!(await this.init())) return null;
    const ip = benchIp(110_000 + this.n++);
    calibrateClock();
    const t0 = realtimeMs();
    this.shell!.stdin!.write(`${ip}\n`);
    const ban = await this.watcher!.waitFor(ip, 5000);
    if (!ban) return null;
    this.samples.push(ban.actionMs - t0);
    return ban.actionMs - t0;
  }

  close(): void {
    this.watcher?.close();
    if (this.shell?.pid) {
      try {
        process.kill(-this.shell.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      liveGroups.delete(this.shell.pid);
    }
    this.ns?.remove();
  }
}

/* ----------------------------------------------------------------------------------------------
 * Configuration of a run.
 */
function actionFiles(paths: DaemonPaths): Record<string, string> {
  // `%%` is ConfigParser's escaped `%`; both daemons read action.d the same way.
  return {
    'moatbench-stamp.conf': [
      '# written by moat bench/lib/daemons.ts: records when a ban action starts, with ns resolution',
      '[Definition]',
      // One simple command: sh execs date in place (no extra fork), date prints stamp and address.
      `actionban = date +"%%s.%%N <ip>" >> '${paths.bansFile}'`,
      '',
    ].join('\n'),
    'moatbench-noop.conf': ['# written by moat bench/lib/daemons.ts: an action that does nothing', '[Definition]', ''].join('\n'),
  };
}

function jailLocal(spec: DaemonSpec, paths: DaemonPaths): string {
  const j = spec.jail;
  const action =
    j.action.kind === 'stamp' ? 'action = moatbench-stamp' : j.action.kind === 'noop' ? 'action = moatbench-noop' : `banaction = ${j.action.name}`;
  return [
    '# written by moat bench/lib/daemons.ts',
    '[DEFAULT]',
    // The bench's addresses are documentation/public ranges; the host's own never appear.
    'ignoreself = false',
    'usedns = no',
    '',
    '[sshd]',
    'enabled = true',
    `backend = ${j.backend}`,
    `logpath = ${paths.authLog}`,
    action,
    `maxretry = ${j.maxretry}`,
    `findtime = ${j.findtime}`,
    `bantime = ${j.bantime}`,
    spec.jailExtra ?? '',
    '',
  ].join('\n');
}

function preparePaths(kind: DaemonKind): DaemonPaths {
  const dir = mkdtempSync(join(tmpdir(), `moatbench-${kind}-`));
  liveDirs.add(dir);
  return {
    dir,
    conf: join(dir, 'conf'),
    sock: join(dir, 'sock'),
    pidfile: join(dir, 'pid'),
    db: join(dir, 'db.sqlite3'),
    daemonLog: join(dir, 'daemon.log'),
    authLog: join(dir, 'auth.log'),
    bansFile: join(dir, 'bans'),
  };
}

function writeConfig(spec: DaemonSpec, tools: DaemonTools, paths: DaemonPaths): void {
  cpSync(spec.kind === 'moat' ? tools.moatConf : tools.fail2banEtc, paths.conf, { recursive: true });
  // Debian's jail.d enables sshd with its own settings; jail.local below is the whole story.
  rmSync(join(paths.conf, 'jail.d', 'defaults-debian.conf'), { force: true });
  for (const [name, text] of Object.entries(actionFiles(paths))) writeFileSync(join(paths.conf, 'action.d', name), text);
  writeFileSync(join(paths.conf, 'jail.local'), jailLocal(spec, paths));
  const daemonSettings = [
    `loglevel = INFO`,
    `logtarget = ${paths.daemonLog}`,
    `socket = ${paths.sock}`,
    `pidfile = ${paths.pidfile}`,
    `dbfile = ${paths.db}`,
    // The namespace has only lo: without this, "auto" could leave the IPv6 part of the mix unbanned.
    `allowipv6 = yes`,
    '',
  ];
  if (spec.kind === 'moat') writeFileSync(join(paths.conf, 'moat.local'), ['[Definition]', ...daemonSettings].join('\n'));
  else writeFileSync(join(paths.conf, 'fail2ban.local'), ['[DEFAULT]', ...daemonSettings, '[Definition]', ''].join('\n'));
  writeFileSync(paths.authLog, '');
  writeFileSync(paths.bansFile, '');
}

/** utime+stime and cutime+cstime of one process, in clock ticks; null when it is gone. */
function statTimes(pid: number): { self: number; reaped: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at state (field 3).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(f[i - 3]);
    return { self: n(14) + n(15), reaped: n(16) + n(17) };
  } catch {
    return null;
  }
}

/** Live children of a process (all its threads), from /proc/PID/task/TID/children. */
function liveChildren(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) for (const c of text.split(' ')) out.push(Number(c));
    }
  } catch {
    /* gone */
  }
  return out;
}

export function readCpu(pid: number): CpuSample | null {
  const own = statTimes(pid);
  if (!own) return null;
  let children = own.reaped;
  const stack = liveChildren(pid);
  for (let c = stack.pop(); c !== undefined; c = stack.pop()) {
    const t = statTimes(c);
    if (!t) continue;
    children += t.self + t.reaped;
    stack.push(...liveChildren(c));
  }
  return { at: performance.now(), self: own.self / CLK_TCK, children: children / CLK_TCK };
}

export function readMemory(pid: number): MemorySample | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), anonKiB: kib('RssAnon') };
  } catch {
    return null;
  }
}

/** MOAT_BENCH_MOATD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p": node options for every moatd a figure starts. */
export function moatdNodeArgs(): string[] {
  return (process.env.MOAT_BENCH_MOATD_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

function daemonArgv(spec: DaemonSpec, tools: DaemonTools, p: DaemonPaths): string[] {
  if (spec.kind === 'moat') {
    const nodeArgs = moatdNodeArgs();
    // MOAT_BENCH_MOATD_WRAP="heaptrack -o /tmp/ht/moatd" runs moatd under a tool (native memory).
    const wrap = (process.env.MOAT_BENCH_MOATD_WRAP ?? '').split(' ').filter(Boolean);
    return [...wrap, tools.node, ...nodeArgs, tools.moatd, '-f', '-x', '-c', p.conf, '-s', p.sock, '-p', p.pidfile, '--dbfile', p.db, '--logtarget', p.daemonLog];
  }
  return [tools.fail2banServer, '-f', '-x', '-c', p.conf, '-s', p.sock, '-p', p.pidfile];
}

function clientArgv(kind: DaemonKind, tools: DaemonTools, p: DaemonPaths, args: string[]): string[] {
  return kind === 'moat' ? [tools.node, tools.moatCli, '-s', p.sock, ...args] : [tools.fail2banClient, '-c', p.conf, '-s', p.sock, ...args];
}

/** Starts a daemon in a fresh namespace and waits until its sshd jail answers `status`. */
export async function startDaemon(spec: DaemonSpec, tools: DaemonTools): Promise<RunningDaemon> {
  hookExit();
  const paths = preparePaths(spec.kind);
  writeConfig(spec, tools, paths);
  if (spec.prepare) await spec.prepare(paths);
  const ns = createNetns();
  const argv = [...ns.exec, ...daemonArgv(spec, tools, paths)];
  const spawnedAt = performance.now();
  // `ip netns exec` execs the command (no fork), so the child's pid is the daemon's; detached makes it
  // the leader of a new process group that also holds the action shells it forks.
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid!;
  liveGroups.add(pid);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let exited = false;
  const exitedP = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));

  const client = (args: string[], timeoutMs = 60_000) => sh(clientArgv(spec.kind, tools, paths, args), { timeoutMs });
  const log = () => (existsSync(paths.daemonLog) ? readFileSync(paths.daemonLog, 'utf8') : '');
  const stop = async () => {
    if (!exited) {
      client(['stop'], 30_000);
      await Promise.race([exitedP, new Promise((r) => setTimeout(r, 10_000))]);
    }
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
    if (!exited) await Promise.race([exitedP, new Promise((r) => setTimeout(r, 5_000))]);
    liveGroups.delete(pid);
    ns.remove();
    if (!process.env.MOAT_BENCH_KEEP) {
      rmSync(paths.dir, { recursive: true, force: true });
      liveDirs.delete(paths.dir);
    }
  };

  const deadline = spawnedAt + (spec.readyTimeoutMs ?? 60_000);
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    if (exited) {
      const why = `${spec.label} exited during start-up: ${stderr.trim()}\n${log().split('\n').slice(-8).join('\n')}`;
      await stop();
      throw new Error(why);
    }
    if (client(['status', 'sshd'], 20_000).code === 0) break;
    if (performance.now() > deadline) {
      const why = `${spec.label} not ready after ${spec.readyTimeoutMs ?? 60_000} ms: ${stderr.trim()}\n${log().split('\n').slice(-8).join('\n')}`;
      await stop();
      throw new Error(why);
    }
  }
  const startMs = performance.now() - spawnedAt;
  return {
    ...paths,
    kind: spec.kind,
    label: spec.label,
    ns: ns.name,
    pid,
    startMs,
    client,
    inNs: (a, timeoutMs = 30_000) => sh([...ns.exec, ...a], { timeoutMs }),
    cpu: () => readCpu(pid),
    memory: () => readMemory(pid),
    alive: () => !exited,
    log,
    stop,
  };
}

/** Counts the elements of every set in the namespace's nftables ruleset. */
export function nftElementCount(d: RunningDaemon): number | null {
  const r = d.inNs(['nft', '-j', 'list', 'ruleset'], 120_000);
  if (r.code !== 0) return null;
  try {
    const doc = JSON.parse(r.stdout) as { nftables: Record<string, { elem?: unknown[] }>[] };
    let n = 0;
    for (const item of doc.nftables) if (item.set?.elem) n += item.set.elem.length;
    return n;
  } catch {
    return null;
  }
}

/** Timestamps (realtime ms) and addresses of the "[jail] Ban IP" lines in a daemon's log. */
export function banLogLines(logText: string): { ms: number; ip: string }[] {
  const out: { ms: number; ip: string }[] = [];
  // Both daemons write "YYYY-MM-DD HH:MM:SS,mmm <logger> [pid]: NOTICE  [sshd] Ban <ip>" in local time.
  const re = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) .*?NOTICE\s+\[[^\]]+\] Ban (\S+)$/gm;
  for (let m = re.exec(logText); m; m = re.exec(logText)) {
    const ms = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!).getTime();
    out.push({ ms, ip: m[8]! });
  }
  return out;
}

/* ----------------------------------------------------------------------------------------------
 * Set-up shared by the daemon figures, and statistics.
 */
export interface DaemonBenchSetup extends FigureStart {
  tools: DaemonTools;
  /** Why moat cannot be measured, or null. */
  moatError: string | null;
  /** Why fail2ban cannot be measured, or null. */
  fail2banError: string | null;
}

/** The figure's start (peers, build, machine) plus what `startDaemon` runs: the common prologue of figures 2, 3, 4 and 7. */
export function setupDaemonBench(opts: BenchOptions): DaemonBenchSetup {
  if (process.getuid?.() !== 0) throw new Error('the daemon figures need root (network namespaces, apt-get)');
  const fig = beginFigure(opts);
  const { notes, peers, build } = fig;
  const config = moatConfigDir('sshd', peers.fail2banEtc);
  const moatd = join(dirname(build.bin), 'moatd.js');
  let moatError = build.error;
  if (!moatError && !existsSync(moatd)) moatError = `moatd not built: ${moatd} missing`;
  if (!moatError && !config) moatError = 'no sshd filter for moat (config/filter.d/sshd.conf)';
  const fail2banClient = '/usr/bin/fail2ban-client';
  let fail2banError =
    peers.fail2banServer && peers.fail2banEtc && existsSync(fail2banClient) ? null : 'fail2ban-server/fail2ban-client not installed';
  // For profiling runs: MOAT_BENCH_ONLY=moat measures moat's side alone.
  if (process.env.MOAT_BENCH_ONLY === 'moat') fail2banError = 'skipped (MOAT_BENCH_ONLY=moat)';
  if (config) notes.push(`moatd runs on a copy of ${config.which}; fail2ban on a copy of ${peers.fail2banEtc ?? '/etc/fail2ban'}`);
  notes.push('other agents share this 2-core machine: absolute times are noisy, compare ratios of the same run');
  return {
    ...fig,
    tools: {
      node: process.execPath,
      moatCli: build.bin,
      moatd,
      moatConf: config?.dir ?? join(REPO_ROOT, 'config'),
      fail2banServer: peers.fail2banServer ?? '/usr/bin/fail2ban-server',
      fail2banClient,
      fail2banEtc: peers.fail2banEtc ?? '/etc/fail2ban',
    },
    moatError,
    fail2banError,
  };
}

export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const v = [...values].sort((a, b) => a - b);
  // Nearest-rank: p99 of 50 values is the 50th (the maximum), never an interpolated value.
  const rank = Math.max(1, Math.ceil((p / 100) * v.length));
  return v[rank - 1]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Same-size groups of documentation/test addresses nobody routes: 198.18.0.0/15 (benchmarking, RFC 2544). */
export function benchIp(n: number): string {
  return `198.${18 + ((n >>> 16) & 1)}.${(n >>> 8) & 255}.${n & 255}`;
}

/* ----------------------------------------------------------------------------------------------
 * Lower level, for figures 5 and 6: a daemon spawned with the bench's own argv and configuration,
 * timed from its log file.
 */
export interface DaemonDir {
  dir: string;
  sock: string;
  pidfile: string;
  db: string;
  log: string;
}

/**
 * Fills `dir` with a copy of the stock configuration tree, `jail.local` and a `fail2ban.local`
 * pointing socket, pid file, database and log into `dir` (both daemons read fail2ban.local).
 */
export function prepareDaemonDir(dir: string, stockEtc: string, jailLocal: string, loglevel = 'INFO'): DaemonDir {
  cpSync(stockEtc, dir, { recursive: true });
  const d: DaemonDir = { dir, sock: join(dir, 'sock'), pidfile: join(dir, 'pid'), db: join(dir, 'db.sqlite3'), log: join(dir, 'daemon.log') };
  writeFileSync(join(dir, 'jail.local'), jailLocal);
  writeFileSync(
    join(dir, 'fail2ban.local'),
    `[Definition]\nloglevel = ${loglevel}\nlogtarget = ${d.log}\nsocket = ${d.sock}\npidfile = ${d.pidfile}\ndbfile = ${d.db}\n`,
  );
  return d;
}

export interface SpawnedDaemon {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** hrtime (ns) just before the spawn. */
  spawnedAt: bigint;
  stderr(): string;
  /** Stops the process group started by `spawnInNetns` (TERM, then KILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `argv` (prefixed with the namespace's `ip netns exec`) in its own process group. */
export function spawnInNetns(name: string, ns: Netns, argv: string[], env: NodeJS.ProcessEnv = process.env): SpawnedDaemon {
  hookExit();
  const spawnedAt = process.hrtime.bigint();
  // `ip netns exec` execs the command, so the PID is the daemon's own.
  const proc = spawn(ns.exec[0]!, [...ns.exec.slice(1), ...argv], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-8000)));
  if (proc.pid === undefined) throw new Error(`${name}: could not spawn ${argv.join(' ')}`);
  const pid = proc.pid;
  liveGroups.add(pid);
  const gone = new Promise<void>((r) =>
    proc.once('exit', () => {
      liveGroups.delete(pid);
      r();
    }),
  );
  return {
    name,
    proc,
    pid,
    spawnedAt,
    stderr: () => err,
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      if ((await Promise.race([gone, timer])) === 'late') {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await gone;
      }
    },
  };
}

/**
 * Follows a log file as it grows (polling its size every `intervalMs`) and resolves with the hrtime
 * at which a line containing `needle` was first seen. Rejects after `timeoutMs` or if `alive()` turns false.
 */
export async function waitForLogLine(
  file: string,
  needle: string | RegExp,
  opts: { timeoutMs: number; intervalMs?: number; from?: number; alive?: () => boolean },
): Promise<{ at: bigint; line: string; offset: number }> {
  const end = Date.now() + opts.timeoutMs;
  let offset = opts.from ?? 0;
  let carry = '';
  const buf = Buffer.alloc(4 * 1024 * 1024);
  for (;;) {
    if (existsSync(file)) {
      const size = statSync(file).size;
      if (size > offset) {
        const fd = openSync(file, 'r');
        try {
          while (offset < size) {
            const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
            if (n <= 0) break;
            offset += n;
            const text = carry + buf.toString('utf8', 0, n);
            const lines = text.split('\n');
            carry = lines.pop() ?? '';
            for (const line of lines) {
              if (typeof needle === 'string' ? line.includes(needle) : needle.test(line)) {
                return { at: process.hrtime.bigint(), line, offset };
              }
            }
          }
        } finally {
          closeSync(fd);
        }
      }
    }
    if (opts.alive && !opts.alive()) throw new Error(`process exited while waiting for ${String(needle)} in ${file}`);
    if (Date.now() > end) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${String(needle)} in ${file}`);
    await sleep(opts.intervalMs ?? 20);
  }
}

export const hrSeconds = (from: bigint, to: bigint = process.hrtime.bigint()): number => Number(to - from) / 1e9;
