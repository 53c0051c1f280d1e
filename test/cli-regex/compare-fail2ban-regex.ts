/**
 * Developer check, not a test (needs fail2ban-regex installed): runs `moat regex` and
 * `fail2ban-regex -r` on every sample log of fail2ban's corpus that has a same-named filter, with
 * fail2ban's stock filter.d and moat's config/, in the default and the --print-all-* modes, and
 * compares everything from "Results" on (minus the timing line). fail2ban-regex's output is cached
 * in .cache/fail2ban-regex-out/ (it is slow); delete that folder after changing fail2ban.
 *
 *   node --import tsx test/cli-regex/compare-fail2ban-regex.ts [NAME...]
 *
 * Prints one line per difference and a total; exits 1 when anything differs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runRegex } from '../../src/cli/regex.ts';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';

const root = resolve(new URL('../..', import.meta.url).pathname);
const cacheDir = join(root, '.cache', 'fail2ban-regex-out');
const pkg = fail2banPackage();
const trees = { stock: pkg.etc, moat: join(root, 'config') };
const modes = { default: [] as string[], all: ['--print-all-matched', '--print-all-missed', '--print-all-ignored'] };
const only = process.argv.slice(2);

function results(text: string): string {
  const at = text.indexOf('\nResults\n');
  return (at < 0 ? text : text.slice(at))
    .split('\n')
    .filter((l) => !l.startsWith('[processed in'))
    .join('\n');
}

function fail2banRegex(args: string[], cacheFile: string): string {
  if (existsSync(cacheFile)) return readFileSync(cacheFile, 'utf8');
  let out: string;
  try {
    out = execFileSync('fail2ban-regex', ['-r', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    out = `${(e as { stdout?: string }).stdout ?? ''}\nexit: ${(e as { status?: number }).status}\n`;
  }
  mkdirSync(join(cacheFile, '..'), { recursive: true });
  writeFileSync(cacheFile, out);
  return out;
}

let compared = 0;
let differ = 0;
for (const [treeName, tree] of Object.entries(trees)) {
  for (const name of readdirSync(pkg.logs).sort()) {
    if (only.length && !only.includes(name)) continue;
    const filter = join(tree, 'filter.d', `${name}.conf`);
    if (!existsSync(filter)) continue;
    for (const [modeName, flags] of Object.entries(modes)) {
      const args = [...flags, join(pkg.logs, name), filter];
      const theirs = fail2banRegex(args, join(cacheDir, treeName, modeName, `${name}.txt`));
      let ours = '';
      const rc = await runRegex(args, { write: (s) => (ours += s), error: (s) => (ours += s) });
      if (rc !== 0) ours += `\nexit: ${rc}\n`;
      compared++;
      if (results(theirs) !== results(ours)) {
        differ++;
        console.log(`DIFF ${treeName} ${modeName} ${name}`);
      }
    }
  }
}
console.log(`${differ} of ${compared} runs differ (${Object.keys(trees).length} trees × ${Object.keys(modes).length} modes)`);
process.exitCode = differ ? 1 : 0;
