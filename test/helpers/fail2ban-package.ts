/**
 * fail2ban's sample-log corpus and stock configuration, taken from Debian's
 * `fail2ban` package. The package is downloaded with `apt-get download` and
 * unpacked with `dpkg-deb -x` into a cache folder; nothing of fail2ban is
 * installed or run. Set MOAT_FAIL2BAN_DEB to use a .deb you already have.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(new URL('../..', import.meta.url).pathname);
const cacheDir = process.env.MOAT_CACHE_DIR ?? join(repoRoot, '.cache');
const unpackDir = join(cacheDir, 'fail2ban-deb');

export interface Fail2banPackage {
  /** Root of the unpacked package. */
  root: string;
  /** Stock configuration tree (what /etc/fail2ban holds). */
  etc: string;
  /** Sample logs: tests/files/logs. */
  logs: string;
  /** fail2ban's tests/config tree (zzz-* test filters). */
  testConfig: string;
}

function locate(root: string): Fail2banPackage {
  const py = join(root, 'usr/lib/python3/dist-packages/fail2ban');
  return {
    root,
    etc: join(root, 'etc/fail2ban'),
    logs: join(py, 'tests/files/logs'),
    testConfig: join(py, 'tests/config'),
  };
}

/** Downloads and unpacks the package once; later calls reuse the cache. */
export function fail2banPackage(): Fail2banPackage {
  if (existsSync(join(unpackDir, 'etc/fail2ban/jail.conf'))) return locate(unpackDir);
  mkdirSync(cacheDir, { recursive: true });
  let deb = process.env.MOAT_FAIL2BAN_DEB;
  if (!deb) {
    const dl = join(cacheDir, 'download');
    rmSync(dl, { recursive: true, force: true });
    mkdirSync(dl, { recursive: true });
    try {
      execFileSync('apt-get', ['download', 'fail2ban'], { cwd: dl, stdio: 'pipe' });
    } catch {
      // apt lists may be missing on a fresh machine
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'pipe' });
      execFileSync('apt-get', ['download', 'fail2ban'], { cwd: dl, stdio: 'pipe' });
    }
    const file = readdirSync(dl).find((f) => f.endsWith('.deb'));
    if (!file) throw new Error('apt-get download fail2ban produced no .deb');
    deb = join(dl, file);
  }
  const tmp = `${unpackDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  execFileSync('dpkg-deb', ['-x', deb, tmp], { stdio: 'pipe' });
  rmSync(unpackDir, { recursive: true, force: true });
  renameSync(tmp, unpackDir);
  return locate(unpackDir);
}
