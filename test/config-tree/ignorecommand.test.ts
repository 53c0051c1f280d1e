/**
 * config/filter.d/ignorecommands/apache-fakegooglebot: an address is ignored only when its reverse
 * name is Google's AND that name resolves back to it. DNS answers come from a fake `getent` on PATH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';

const CONFIG = new URL('../../config/', import.meta.url).pathname;
const SCRIPT = join(CONFIG, 'filter.d/ignorecommands/apache-fakegooglebot');

function verdict(t: { after: (fn: () => void) => void }, addr: string, reverse: string, forward: string): number | null {
  const bin = mkdtempSync(join(tmpdir(), 'moat-getent-'));
  t.after(() => rmSync(bin, { recursive: true, force: true }));
  // getent hosts ADDR → "ADDR NAME"; getent ahosts NAME → "FWD STREAM NAME"
  writeFileSync(
    join(bin, 'getent'),
    `#!/bin/sh\ncase "$1" in\n  hosts) [ -n '${reverse}' ] && echo "$3 ${reverse}" ;;\n  ahosts) [ -n '${forward}' ] && echo "${forward} STREAM $3" ;;\nesac\nexit 0\n`,
  );
  chmodSync(join(bin, 'getent'), 0o755);
  const r = spawnSync('/bin/sh', [SCRIPT, addr], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
  return r.status;
}

test('a real Googlebot (reverse and forward agree) is ignored', (t) => {
  assert.equal(verdict(t, '66.249.66.1', 'crawl-66-249-66-1.googlebot.com', '66.249.66.1'), 0);
});

test('a forged reverse name (forward resolves elsewhere) is not ignored', (t) => {
  assert.equal(verdict(t, '203.0.113.9', 'crawl-1.googlebot.com', '66.249.66.1'), 1);
});

test('a non-Google name or no reverse record is not ignored', (t) => {
  assert.equal(verdict(t, '203.0.113.9', 'googlebot.com.evil.example', '203.0.113.9'), 1);
  assert.equal(verdict(t, '203.0.113.9', '', ''), 1);
});

test('the apache-fakegooglebot jail runs the script through /bin/sh with the address', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-fgb-'));
  try {
    spawnSync('cp', ['-R', `${CONFIG}.`, dir]);
    writeFileSync(join(dir, 'access.log'), '');
    writeFileSync(join(dir, 'jail.local'), `[apache-fakegooglebot]\nenabled = true\nlogpath = ${join(dir, 'access.log')}\nbackend = polling\n`);
    const cfg = loadConfig(dir);
    const jail = cfg.jails.find((j) => j.name === 'apache-fakegooglebot');
    assert.ok(jail, cfg.errors.map((e) => e.message).join('; '));
    assert.equal(jail.ignorecommand, '/bin/sh /etc/moat/filter.d/ignorecommands/apache-fakegooglebot <ip>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
