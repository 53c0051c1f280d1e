/** Describes the machine and tool versions a result was measured with (printed and stored with it). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { REPO_ROOT } from './paths.ts';
import { packageVersion } from './peers.ts';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memTotalMiB: number;
  kernel: string;
  os: string;
  /** 1-minute load average when the description was taken: above `cores`, absolute times are noisy. */
  load1: number;
  node: string;
  python: string | null;
  fail2ban: string | null;
  sshguard: string | null;
  moatCommit: string | null;
}

function run(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: REPO_ROOT });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : null;
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): MachineInfo {
  const c = cpus();
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']);
  const head = run('git', ['rev-parse', '--short', 'HEAD']);
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memTotalMiB: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    os: osName(),
    load1: Math.round(loadavg()[0]! * 100) / 100,
    node: process.version,
    // fail2ban runs under Debian's interpreter (#!/usr/bin/python3), not whatever python3 is on PATH.
    python: run('/usr/bin/python3', ['--version'])?.replace(/^Python /, '') ?? null,
    fail2ban: packageVersion('fail2ban'),
    sshguard: packageVersion('sshguard'),
    moatCommit: head ? `${head}${dirty ? '+dirty' : ''}` : null,
  };
}

export function formatMachine(m: MachineInfo): string {
  const lines = [
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memTotalMiB} MiB, ${m.os}, kernel ${m.kernel}, load ${m.load1}`,
    `tools:   node ${m.node}, python ${m.python ?? '-'}, fail2ban ${m.fail2ban ?? '-'}, sshguard ${m.sshguard ?? '-'}, moat ${m.moatCommit ?? '-'}`,
  ];
  if (m.load1 > m.cores) lines.push(`warning: load ${m.load1} > ${m.cores} cores: wall times are inflated; compare the ratios`);
  return lines.join('\n');
}
