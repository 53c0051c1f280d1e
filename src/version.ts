/** Version and install locations, resolved relative to this module so they work from src/ and dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return dirname(fileURLToPath(import.meta.url));
}

/** Root of the installed package (holds config/, units/, man/). */
export const PACKAGE_ROOT = findPackageRoot();

export const MOAT_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** moat's own configuration tree shipped with the package. */
export const BUNDLED_CONFIG_DIR = join(PACKAGE_ROOT, 'config');

/** /etc/moat when it exists, else the bundled config/ tree. */
export function defaultConfigDir(): string {
  return existsSync('/etc/moat') ? '/etc/moat' : BUNDLED_CONFIG_DIR;
}
