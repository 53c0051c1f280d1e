/**
 * The man pages under man/: lint-clean for mandoc and groff, readable at 80 columns, and
 * complete — every option the programs' --help prints must appear in the matching page, so a
 * new option without documentation fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../src/client/help.ts';

const root = new URL('../..', import.meta.url).pathname;
const manDir = join(root, 'man');
const PAGES = ['moat.1', 'moatd.8', 'moat.conf.5', 'moat-jail.conf.5'];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return r;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** The page as `man` shows it at 80 columns, overstrikes removed, tabs expanded, hyphens plain. */
function rendered(page: string): string {
  const r = run('sh', ['-c', 'man -l "$1" | col -bx', 'sh', join(manDir, page)], { MANWIDTH: '80', MAN_KEEP_FORMATTING: '' });
  assert.equal(r.status, 0, `man -l ${page}: ${r.stderr}`);
  return r.stdout.replace(/[\u2010\u2011\u2212]/g, '-');
}

/** Option names (-x, --long) from the "Options:" part of a --help text. */
function helpOptions(help: string): string[] {
  const start = help.indexOf('Options:');
  assert.ok(start >= 0, 'help text has an Options: section');
  let body = help.slice(start);
  const commands = body.indexOf('\nCommand:');
  if (commands >= 0) body = body.slice(0, commands);
  const names = new Set<string>();
  for (const line of body.split('\n')) {
    // the option column: up to the first run of two spaces after the names
    const m = /^\s+(-.*?)(?:\s{2,}|$)/.exec(line);
    if (!m) continue;
    for (const o of m[1]!.matchAll(/(?<![\w-])--?[A-Za-z][\w-]*/g)) names.add(o[0]);
  }
  return [...names];
}

function help(bin: string, args: string[]): string {
  const r = run(process.execPath, ['--import', 'tsx', join(root, 'src/bin', bin), ...args]);
  assert.equal(r.status, 0, `${bin} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('every page under man/ is one of the known pages', () => {
  assert.deepEqual(readdirSync(manDir).sort(), [...PAGES].sort());
});

for (const page of PAGES) {
  test(`${page}: mandoc -Tlint -W warning is silent`, { skip: !have('mandoc') && 'mandoc not installed' }, () => {
    const r = run('mandoc', ['-Tlint', '-W', 'warning', join(manDir, page)]);
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });

  test(`${page}: groff -man -ww prints no warnings`, () => {
    const r = run('groff', ['-man', '-Tutf8', '-ww', '-z', join(manDir, page)]);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });

  test(`${page}: renders with man -l within 80 columns`, () => {
    const text = rendered(page);
    assert.ok(text.split('\n').length > 30, 'page renders to some text');
    const long = text.split('\n').filter((l) => [...l].length > 80);
    assert.deepEqual(long, []);
  });
}

const OPTION_CHECKS: [page: string, bin: string, args: string[]][] = [
  ['moatd.8', 'moatd.ts', ['--help']],
  ['moat.1', 'moat.ts', ['--help']],
  ['moat.1', 'moat.ts', ['regex', '--help']],
];

for (const [page, bin, args] of OPTION_CHECKS) {
  test(`${page} documents every option of ${bin} ${args.join(' ')}`, () => {
    const options = helpOptions(help(bin, args));
    assert.ok(options.length >= 10, `found the options in the help text: ${options.join(' ')}`);
    const text = rendered(page);
    const missing = options.filter((o) => !new RegExp(`(?<![\\w-])${o}(?![\\w-])`).test(text));
    assert.deepEqual(missing, [], `options missing from ${page}`);
  });
}

test('helpOptions finds options and can detect a missing one', () => {
  const fake = 'Usage: x\n\nOptions:\n  -a, --alpha X    first --not-this\n      --beta       second\n';
  assert.deepEqual(helpOptions(fake), ['-a', '--alpha', '--beta']);
  const text = rendered('moatd.8');
  assert.ok(!/(?<![\w-])--beta(?![\w-])/.test(text));
});

test('every command of moat --help appears in moat.1', () => {
  const text = rendered('moat.1').replace(/\s+/g, ' ');
  const missing = COMMANDS.filter((e) => e.length === 2)
    // help.ts keeps fail2ban's stray "]" in "banned <IP> ... <IP>]"; the page drops it
    .map(([syntax]) => syntax.replace(/<IP>\]$/, '<IP>'))
    .filter((syntax) => !text.includes(syntax));
  assert.deepEqual(missing, []);
});
