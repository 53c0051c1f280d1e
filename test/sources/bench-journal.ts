/**
 * Micro-benchmark (not a test): export vs JSON journal parsing, 200k entries.
 *
 *   node --import tsx test/sources/bench-journal.ts [entries]
 *
 * 1. In-process: the same synthetic entries (25 fields, like real sshd
 *    entries) serialised as journalctl's export and json outputs, fed in 64 KiB
 *    chunks to each parser and formatted into filter lines.
 * 2. End to end (when systemd-journal-remote is installed): a real journal
 *    file, `journalctl -o export|json` piped into the same parsers.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportParser, toExportFormat, type JournalEntry } from '../../src/sources/journal-export.ts';
import { formatJournalEntry, JOURNAL_LINE_FIELDS } from '../../src/sources/journal-line.ts';
import { JOURNAL_REMOTE, haveJournalTools } from './journal-fixtures.ts';

const N = Number(process.argv[2] ?? 200_000);
const CHUNK = 64 * 1024;

function syntheticEntries(n: number): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const t0 = Date.now() * 1000 - n * 1000;
  for (let i = 0; i < n; i++) {
    out.push({
      __CURSOR: `s=3612a9144f7d4492b1a511d94f772e54;i=${(i + 1).toString(16)};b=0123456789abcdef0123456789abcdef;m=${(i * 1000).toString(16)};t=${(t0 + i * 1000).toString(16)};x=e652ff0917d14e45`,
      __REALTIME_TIMESTAMP: String(t0 + i * 1000),
      __MONOTONIC_TIMESTAMP: String(1_000_000 + i * 1000),
      _BOOT_ID: '0123456789abcdef0123456789abcdef',
      _MACHINE_ID: 'fedcba9876543210fedcba9876543210',
      _HOSTNAME: 'web-frontend-01',
      _TRANSPORT: 'syslog',
      PRIORITY: '6',
      SYSLOG_FACILITY: '10',
      SYSLOG_IDENTIFIER: 'sshd',
      SYSLOG_PID: String(1000 + (i % 5000)),
      _PID: String(1000 + (i % 5000)),
      _UID: '0',
      _GID: '0',
      _COMM: 'sshd',
      _EXE: '/usr/sbin/sshd',
      _CMDLINE: `sshd: root [priv]`,
      _CAP_EFFECTIVE: '1ffffffffff',
      _SELINUX_CONTEXT: 'unconfined\n'.trimEnd(),
      _SYSTEMD_CGROUP: '/system.slice/ssh.service',
      _SYSTEMD_UNIT: 'ssh.service',
      _SYSTEMD_SLICE: 'system.slice',
      _SYSTEMD_INVOCATION_ID: 'aabbccddeeff00112233445566778899',
      _SOURCE_REALTIME_TIMESTAMP: String(t0 + i * 1000 - 17),
      MESSAGE: `Failed password for invalid user admin${i % 97} from 192.0.2.${i % 250} port ${20000 + (i % 40000)} ssh2`,
    });
  }
  return out;
}

/** journalctl -o json style: one object per line, binary values as byte arrays. */
function toJson(entries: Record<string, string>[]): Buffer {
  return Buffer.from(entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
}

function jsonValue(v: unknown): string | string[] {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    if (v.length && typeof v[0] === 'number') return Buffer.from(v as number[]).toString('utf8');
    return v.map((x) => (typeof x === 'string' ? x : Buffer.from(x as number[]).toString('utf8')));
  }
  return String(v);
}

class JsonLinesParser {
  #rest = '';
  push(chunk: Buffer): JournalEntry[] {
    const text = this.#rest + chunk.toString('utf8');
    const out: JournalEntry[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const obj = JSON.parse(text.slice(start, nl)) as Record<string, unknown>;
      const entry: JournalEntry = Object.create(null);
      for (const k of JOURNAL_LINE_FIELDS) if (obj[k] !== undefined && obj[k] !== null) entry[k] = jsonValue(obj[k]);
      out.push(entry);
      start = nl + 1;
    }
    this.#rest = text.slice(start);
    return out;
  }
}

interface Parser {
  push(chunk: Buffer): JournalEntry[];
}

function runInProcess(name: string, data: Buffer, parser: Parser): void {
  const t0 = process.hrtime.bigint();
  let n = 0;
  let chars = 0;
  for (let off = 0; off < data.length; off += CHUNK) {
    for (const e of parser.push(data.subarray(off, off + CHUNK))) {
      const line = formatJournalEntry(e);
      if (line) {
        n++;
        chars += line.text.length;
      }
    }
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${name.padEnd(34)} ${n} entries in ${s.toFixed(3)} s = ${Math.round(n / s).toLocaleString('en')} entries/s (${chars} chars)`);
}

async function runJournalctl(name: string, dir: string, output: string, parser: Parser): Promise<void> {
  const t0 = process.hrtime.bigint();
  let n = 0;
  const child = spawn('journalctl', [`--directory=${dir}`, `--output=${output}`, '--no-pager'], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (chunk: Buffer) => {
    for (const e of parser.push(chunk)) if (formatJournalEntry(e)) n++;
  });
  await new Promise((r) => child.on('close', r));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${name.padEnd(34)} ${n} entries in ${s.toFixed(3)} s = ${Math.round(n / s).toLocaleString('en')} entries/s`);
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${N} entries`);
  const entries = syntheticEntries(N);
  const exportData = toExportFormat(entries);
  const jsonData = toJson(entries);
  console.log(`export ${(exportData.length / 1e6).toFixed(1)} MB, json ${(jsonData.length / 1e6).toFixed(1)} MB`);
  for (let round = 0; round < 2; round++) {
    runInProcess('in-process export (needed fields)', exportData, new ExportParser({ fields: JOURNAL_LINE_FIELDS }));
    runInProcess('in-process export (all fields)', exportData, new ExportParser());
    runInProcess('in-process json', jsonData, new JsonLinesParser());
  }
  if (!haveJournalTools) {
    console.log('systemd-journal-remote not installed: end-to-end part skipped');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'moat-bench-journal-'));
  try {
    const writer = spawn(JOURNAL_REMOTE, [`--output=${join(dir, 'bench.journal')}`, '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    writer.stdin.end(exportData);
    await new Promise((r) => writer.on('close', r));
    for (let round = 0; round < 2; round++) {
      await runJournalctl('journalctl -o export | parser', dir, 'export', new ExportParser({ fields: JOURNAL_LINE_FIELDS }));
      await runJournalctl('journalctl -o json | parser', dir, 'json', new JsonLinesParser());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
