/**
 * Real journal files for the journal tests: export-format entries generated
 * here are written by systemd-journal-remote (Debian package
 * `systemd-journal-remote`), which appends to an existing file, so a
 * `journalctl --directory=DIR --follow` sees new entries as they land.
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toExportFormat } from '../../src/sources/journal-export.ts';

export const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
export const haveJournalTools = existsSync(JOURNAL_REMOTE) && existsSync('/usr/bin/journalctl');

const BOOT_ID = '0123456789abcdef0123456789abcdef';
let monotonic = 1_000_000;

export type FixtureEntry = Record<string, string | Buffer | (string | Buffer)[]>;

/** A journal entry as journald would store it, stamped `ageSeconds` before now. */
export function journalEntry(fields: FixtureEntry, ageSeconds = 0): FixtureEntry {
  monotonic += 1000;
  return {
    __REALTIME_TIMESTAMP: String(Math.round((Date.now() - ageSeconds * 1000) * 1000)),
    __MONOTONIC_TIMESTAMP: String(monotonic),
    _BOOT_ID: BOOT_ID,
    _HOSTNAME: 'testhost',
    _TRANSPORT: 'syslog',
    ...fields,
  };
}

export function sshdFailure(ip: string, ageSeconds = 0, user = 'root'): FixtureEntry {
  return journalEntry(
    {
      SYSLOG_IDENTIFIER: 'sshd',
      _COMM: 'sshd',
      _PID: '4242',
      _SYSTEMD_UNIT: 'ssh.service',
      MESSAGE: `Failed password for ${user} from ${ip} port 22 ssh2`,
    },
    ageSeconds,
  );
}

/** Appends entries to DIR/test.journal (created on first use). */
export async function appendJournal(dir: string, entries: FixtureEntry[]): Promise<void> {
  const child = spawn(JOURNAL_REMOTE, [`--output=${join(dir, 'test.journal')}`, '-'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(toExportFormat(entries));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`systemd-journal-remote failed (${code}): ${stderr}`);
}
