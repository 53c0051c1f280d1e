/**
 * Figure 5's floor for moat's own code: one Node process runs what moatd's journal jail runs per
 * entry, and nothing a daemon adds. journalctl (started as moat's follower starts it, 64 KiB
 * buffer) → JournalLineReader → the sshd filter (built with the options a jail gives it) →
 * Filter.toFailure → FailManager.addFailure. No log lines, no store, no bans, no event loop
 * work besides the pipe. Printed as JSON: entries, failures, this process's CPU (journalctl's
 * is its own) and the wall time.
 *
 *   node --import tsx bench/lib/journal-pipeline.ts read|filter CONFIG_DIR JOURNAL_DIR [MATCH...]
 *
 * `read` stops after the reader (entries to lines), `filter` runs the whole pipeline: the
 * difference is the filter and the counting. CONFIG_DIR holds filter.d/sshd.conf (the figure's
 * daemons run /etc/fail2ban's). This runs src/ through tsx like the rest of the bench; moatd runs
 * tsc's dist/: the same code, transpiled by two tools.
 */
import { spawn } from 'node:child_process';
import { readFilter } from '../../src/config/index.ts';
import { FailManager } from '../../src/failures/fail-manager.ts';
import { Filter } from '../../src/filter/filter.ts';
import { bufferedFollower } from '../../src/sources/journal-source.ts';
import { JournalLineReader } from '../../src/sources/journal-reader.ts';
import { exportReadArgs } from './journal-gen.ts';

export interface PipelineRun {
  mode: 'read' | 'filter';
  entries: number;
  failures: number;
  cpuSeconds: number;
  wallSeconds: number;
}

/** The filter a journal jail on the stock sshd filter builds (jail.ts #makeFilter), findtime covering everything. */
function sshdJournalFilter(configDir: string): Filter {
  const def = readFilter('sshd', { configDir, logtype: 'journal' });
  return new Filter(
    { prefregex: def.prefregex, failregex: def.failregex, ignoreregex: def.ignoreregex, maxlines: def.maxlines, datepattern: def.datepattern, usedns: 'warn' },
    { checkAllRegex: false, checkFindTime: true, findtime: 1e10, now: () => Date.now() / 1000 },
  );
}

async function main(mode: string, configDir: string, dir: string, matches: string[]): Promise<PipelineRun> {
  if (mode !== 'read' && mode !== 'filter') throw new Error(`mode must be read or filter, not ${mode}`);
  const filter = sshdJournalFilter(configDir);
  // maxretry out of reach: counting only, as figure 5's jail (nothing is banned)
  const failManager = new FailManager({ maxRetry: 1e9, findTime: 1e10, maxMatches: 1, trackChanges: true });
  const reader = new JournalLineReader();
  const given = { time: 0, dateText: '' };
  let entries = 0;
  let failures = 0;
  const [command, args] = bufferedFollower('journalctl', exportReadArgs(dir, matches));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of reader.push(chunk)) {
      entries++;
      if (mode === 'read') continue;
      given.time = line.time;
      given.dateText = line.datePart;
      const found = filter.processLine(line.text, given);
      if (!found.length) continue;
      const now = Date.now() / 1000;
      for (const m of found) {
        if (m.id === null || m.nofail) continue;
        failManager.addFailure(Filter.toFailure(m, m.id, now));
        // the daemon's store drains the changes at each flush
        if ((++failures & 0xfff) === 0) failManager.drainChanges();
      }
    }
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`journalctl exited with ${code}`);
  const cpu = process.cpuUsage(cpu0);
  return { mode, entries, failures, cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds: (performance.now() - t0) / 1000 };
}

const [mode = '', configDir = '', dir = '', ...matches] = process.argv.slice(2);
process.stdout.write(`${JSON.stringify(await main(mode, configDir, dir, matches))}\n`);
