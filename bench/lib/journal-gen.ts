/**
 * Journal inputs for figure 5: the sshd log of lib/sshd-log.ts (same seed, same lines) as systemd
 * journal entries, written into real journal files by `systemd-journal-remote` from the journal
 * export format. Each syslog line `Jan  5 00:00:01 bench-host sshd[1034]: MESSAGE` becomes an
 * entry with __REALTIME_TIMESTAMP from its date (UTC, 2024), _HOSTNAME, SYSLOG_IDENTIFIER, _COMM,
 * _PID, _SYSTEMD_UNIT (ssh.service for sshd, as Debian names it: the stock journalmatch
 * `_SYSTEMD_UNIT=sshd.service + _COMM=sshd` selects it through _COMM) and MESSAGE. After the N
 * entries comes one marker failure from MARKER_IP: a daemon has read everything when it logs
 * "Found MARKER_IP".
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bufferedFollower } from '../../src/sources/journal-source.ts';
import { CACHE_DIR, ensureDir } from './paths.ts';
import { sshdLogLines } from './sshd-log.ts';

export const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
/** The last entry of a generated journal: a failure from this address (TEST-NET-3, not in the generator's pool). */
export const MARKER_IP = '203.0.113.254';
const GENERATOR_VERSION = 1;
const BOOT_ID = '6d6f61746265e6368206a6f75726e616c'.slice(0, 32);
const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const UNITS: Record<string, string> = { sshd: 'ssh.service', CRON: 'cron.service', 'systemd-logind': 'systemd-logind.service' };

export interface ExportEntry {
  /** Epoch microseconds. */
  usec: number;
  identifier: string;
  pid: number;
  message: string;
  hostname?: string;
}

let monotonic = 1_000_000;

/** One entry in the journal export format (text fields only; a blank line ends it). */
export function exportEntry(e: ExportEntry): string {
  const comm = e.identifier === 'CRON' ? 'cron' : e.identifier;
  return (
    `__REALTIME_TIMESTAMP=${e.usec}\n__MONOTONIC_TIMESTAMP=${monotonic++}\n_BOOT_ID=${BOOT_ID}\n` +
    `_HOSTNAME=${e.hostname ?? 'bench-host'}\nSYSLOG_IDENTIFIER=${e.identifier}\n_COMM=${comm}\n_PID=${e.pid}\n` +
    `_SYSTEMD_UNIT=${UNITS[e.identifier] ?? `${comm}.service`}\nPRIORITY=6\nSYSLOG_FACILITY=4\nMESSAGE=${e.message}\n\n`
  );
}

const LINE_RE = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\S+) ([^\s[]+)\[(\d+)\]: (.*)$/;

/** A syslog line of lib/sshd-log.ts as an export entry (its date is UTC, year 2024). */
export function syslogToEntry(line: string): ExportEntry | null {
  const m = LINE_RE.exec(line);
  if (!m) return null;
  const t = Date.UTC(2024, MONTHS[m[1]!]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return { usec: t * 1000, hostname: m[6]!, identifier: m[7]!, pid: Number(m[8]), message: m[9]! };
}

/** A failure line the stock sshd filter counts, for `ip`, stamped now (or at `usec`). */
export function sshFailureEntry(ip: string, usec = Date.now() * 1000, port = 40_000): ExportEntry {
  return { usec, identifier: 'sshd', pid: 4242, message: `Failed password for root from ${ip} port ${port} ssh2` };
}

/** Writes export text into a journal file through a `systemd-journal-remote` child (streamed, with back-pressure). */
export async function writeJournalFile(file: string, chunks: Iterable<string>): Promise<void> {
  const child = spawn(JOURNAL_REMOTE, [`--output=${file}`, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  for (const chunk of chunks) {
    if (!child.stdin!.write(chunk)) await new Promise((r) => child.stdin!.once('drain', r));
  }
  child.stdin!.end();
  const code = await done;
  if (code !== 0) throw new Error(`systemd-journal-remote exited ${code}: ${stderr.trim()}`);
}

export interface JournalInput {
  /** Directory holding the journal file(s) (journal-remote may have rotated some). */
  dir: string;
  /** Entries in the journal, marker included. */
  entries: number;
  /** sshd entries (what the stock journalmatch selects), marker included. */
  sshdEntries: number;
  /** Realtime of the first entry, epoch seconds. */
  firstTime: number;
  bytes: number;
  cached: boolean;
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** The journal of `lines` sshd-log lines + the marker, from bench/.cache/ or generated now. */
export async function cachedJournal(lines: number, seed = 20240105): Promise<JournalInput> {
  const dir = join(ensureDir(CACHE_DIR), `journal-g${GENERATOR_VERSION}-${lines}-s${seed}`);
  const meta = join(dir, 'meta.json');
  if (existsSync(meta)) {
    const info = JSON.parse(readFileSync(meta, 'utf8')) as Omit<JournalInput, 'cached' | 'dir'>;
    return { ...info, dir: join(dir, 'journal'), cached: true };
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'journal'), { recursive: true });
  let entries = 0;
  let sshdEntries = 0;
  let firstTime = 0;
  let lastUsec = 0;
  function* text(): Generator<string> {
    let batch = '';
    for (const line of sshdLogLines({ lines, seed })) {
      const e = syslogToEntry(line);
      if (!e) continue;
      if (!entries) firstTime = e.usec / 1e6;
      entries++;
      if (e.identifier === 'sshd') sshdEntries++;
      lastUsec = e.usec;
      batch += exportEntry(e);
      if (batch.length > 1 << 20) {
        yield batch;
        batch = '';
      }
    }
    entries++;
    sshdEntries++;
    yield batch + exportEntry(sshFailureEntry(MARKER_IP, lastUsec + 1_000_000));
  }
  await writeJournalFile(join(tmp, 'journal', 'bench.journal'), text());
  const info = { entries, sshdEntries, firstTime, bytes: dirBytes(join(tmp, 'journal')) };
  writeFileSync(join(tmp, 'meta.json'), JSON.stringify(info));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { ...info, dir: join(dir, 'journal'), cached: false };
}

/** journalctl's arguments to read a journal directory's matching entries once, in export format. */
export function exportReadArgs(dir: string, matches: string[]): string[] {
  return ['--no-pager', '-q', '-o', 'export', `--directory=${dir}`, '--', ...matches];
}

/**
 * `journalctl -o export` over the directory (with the stock sshd journalmatch): entries/s a reader gets
 * at best. Started as moat's follower starts it (`bufferedFollower`: a 64 KiB stdout buffer when stdbuf
 * works; the default 4 KiB one is ~20 % slower).
 */
export function journalctlRate(dir: string, matches: string[]): { seconds: number; entries: number } {
  const t = process.hrtime.bigint();
  const [command, args] = bufferedFollower('journalctl', exportReadArgs(dir, matches));
  const r = spawnSync('sh', ['-c', '"$@" | grep -c "^__CURSOR="', 'sh', command, ...args], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  return { seconds, entries: Number(r.stdout.trim()) };
}

const PY_READER = `
import sys
from systemd import journal
r = journal.Reader(path=sys.argv[1])
for group in sys.argv[2:]:
    for term in group.split():
        r.add_match(term)
    r.add_disjunction()
n = 0
for e in r:
    n += 1
print(n)
`;

/** python3-systemd's Reader over the directory with the same matches, as fail2ban's backend opens it (entries only, no filter). */
export function pythonSystemdRate(dir: string, matchGroups: string[]): { seconds: number; entries: number } | null {
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/python3', ['-c', PY_READER, dir, ...matchGroups], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) return null;
  return { seconds, entries: Number(r.stdout.trim()) };
}
