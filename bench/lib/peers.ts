/**
 * The peers moat is measured against, installed from Debian only when a benchmark runs:
 * fail2ban (fail2ban-regex, fail2ban-server, with its pyinotify and systemd backends) and sshguard
 * (sshg-parser), plus GNU time.
 *
 * Both packages ship services. Installation runs behind a policy-rc.d that forbids starting them,
 * and afterwards any unit the install enabled or started is stopped and disabled again, so the
 * benchmark never leaves a daemon running or touches the host's firewall.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';

export interface Peers {
  fail2banRegex: string | null;
  fail2banServer: string | null;
  fail2banVersion: string | null;
  /** Stock configuration tree of the fail2ban package. */
  fail2banEtc: string | null;
  sshgParser: string | null;
  sshguardVersion: string | null;
  gnuTime: string | null;
  /** What the installer did, for the report. */
  notes: string[];
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const SERVICES = ['fail2ban', 'sshguard'];
const SSHG_PARSER_CANDIDATES = [
  '/usr/libexec/sshguard/sshg-parser',
  '/usr/lib/x86_64-linux-gnu/sshg-parser',
  '/usr/lib/sshguard/sshg-parser',
  '/usr/sbin/sshg-parser',
];

/** Installed version of a Debian package, or null. */
export function packageVersion(name: string): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', name], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const [status, version] = r.stdout.split('\t');
  return status?.endsWith(' installed') && version ? version : null;
}

function firstExisting(paths: string[]): string | null {
  return paths.find((p) => existsSync(p)) ?? null;
}

function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

/** Installs the missing packages with services forbidden to start; returns what was done. */
function aptInstall(pkgs: string[], notes: string[]): void {
  if (process.getuid?.() !== 0) throw new Error(`installing ${pkgs.join(', ')} needs root (apt-get install)`);
  // A policy-rc.d that exits 101 makes invoke-rc.d refuse to start the freshly installed services.
  const hadPolicy = existsSync(POLICY_RC_D);
  const previousPolicy = hadPolicy ? readFileSync(POLICY_RC_D) : null;
  writeFileSync(POLICY_RC_D, '#!/bin/sh\n# written by moat bench/lib/peers.ts during apt-get install\nexit 101\n');
  chmodSync(POLICY_RC_D, 0o755);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    const install = () =>
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env, stdio: 'pipe' });
    try {
      install();
    } catch {
      // A fresh machine may have no package lists yet.
      execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'pipe' });
      install();
    }
    notes.push(`installed with apt-get (services blocked by policy-rc.d): ${pkgs.join(' ')}`);
  } finally {
    if (previousPolicy) writeFileSync(POLICY_RC_D, previousPolicy);
    else rmSync(POLICY_RC_D, { force: true });
  }
  if (systemdRunning()) {
    for (const unit of SERVICES) {
      // deb-systemd-helper enables units even when policy-rc.d forbids starting them.
      spawnSync('systemctl', ['stop', `${unit}.service`], { stdio: 'ignore' });
      spawnSync('systemctl', ['disable', `${unit}.service`], { stdio: 'ignore' });
    }
    notes.push(`systemd units stopped and disabled: ${SERVICES.join(', ')}`);
  }
}

/**
 * Makes sure fail2ban, sshguard and GNU time are present (installing them unless `install` is
 * false) and returns where their tools are. Missing tools come back as null with a note.
 */
export function ensurePeers(opts: { install?: boolean } = {}): Peers {
  const notes: string[] = [];
  // pyinotify and python-systemd are fail2ban's inotify and journal backends (figures 2 and 5).
  const wanted = ['fail2ban', 'python3-pyinotify', 'python3-systemd', 'sshguard', 'time'].filter((p) => packageVersion(p) === null);
  if (wanted.length && opts.install !== false) {
    try {
      aptInstall(wanted, notes);
    } catch (e) {
      notes.push(`could not install ${wanted.join(', ')}: ${(e as Error).message.split('\n')[0]}`);
    }
  } else if (wanted.length) {
    notes.push(`not installed (installation disabled): ${wanted.join(', ')}`);
  }
  const fail2banVersion = packageVersion('fail2ban');
  const sshguardVersion = packageVersion('sshguard');
  return {
    fail2banRegex: fail2banVersion ? firstExisting(['/usr/bin/fail2ban-regex']) : null,
    fail2banServer: fail2banVersion ? firstExisting(['/usr/bin/fail2ban-server']) : null,
    fail2banVersion,
    fail2banEtc: existsSync('/etc/fail2ban/filter.d/sshd.conf') ? '/etc/fail2ban' : null,
    sshgParser: sshguardVersion ? firstExisting(SSHG_PARSER_CANDIDATES) : null,
    sshguardVersion,
    gnuTime: firstExisting(['/usr/bin/time']),
    notes,
  };
}
