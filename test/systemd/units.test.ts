/**
 * units/ is the shipped truth: its directives are checked against issue 5's contract, and
 * `systemd-analyze verify` must be silent on it. verify insists that ExecStart's binary exists,
 * so it runs on a copy whose ExecStart points at /bin/true (nothing else is changed).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { have, repoRoot } from './helpers.ts';

const service = readFileSync(join(repoRoot, 'units/moat.service'), 'utf8');
const socket = readFileSync(join(repoRoot, 'units/moat.socket'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'moat-units-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `Key=value` pairs of one section (later assignments win, as in systemd for these keys). */
function section(text: string, name: string): Map<string, string> {
  const out = new Map<string, string>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const h = /^\[(.+)\]$/.exec(line);
    if (h) current = h[1]!;
    else if (current === name) {
      const eq = line.indexOf('=');
      out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
  }
  return out;
}

const words = (v: string | undefined) => new Set((v ?? '').split(/\s+/).filter(Boolean));

test('moat.service: notify type, watchdog, restart, reload, hardening', () => {
  const s = section(service, 'Service');
  assert.equal(s.get('Type'), 'notify');
  assert.ok(s.get('WatchdogSec'), 'WatchdogSec set');
  assert.equal(s.get('Restart'), 'on-failure');
  assert.ok(s.get('ExecReload'), 'ExecReload set');
  assert.match(s.get('ExecStart') ?? '', /moatd .*-f\b/, 'moatd stays in the foreground');
  assert.equal(s.get('ProtectSystem'), 'strict');
  const rw = words(s.get('ReadWritePaths'));
  assert.ok(rw.has('/var/lib/moat'), 'db dir writable');
  assert.ok(rw.has('/run/moat'), 'run dir writable');
  assert.ok(['yes', 'read-only', 'true', 'tmpfs'].includes(s.get('ProtectHome') ?? ''), 'ProtectHome');
  assert.equal(s.get('PrivateTmp'), 'yes');
  assert.equal(s.get('NoNewPrivileges'), 'yes');
  assert.deepEqual(words(s.get('CapabilityBoundingSet')), new Set(['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_DAC_READ_SEARCH']));
  assert.deepEqual(words(s.get('RestrictAddressFamilies')), new Set(['AF_UNIX', 'AF_NETLINK', 'AF_INET', 'AF_INET6']));
  assert.equal(s.get('SystemCallFilter'), '@system-service');
});

test('moat.socket: the control socket, owner-only', () => {
  const s = section(socket, 'Socket');
  assert.equal(s.get('ListenStream'), '/run/moat/moat.sock');
  assert.equal(s.get('SocketMode'), '0600');
});

test('systemd-analyze verify is clean on units/', { skip: have('systemd-analyze') ? false : 'needs systemd-analyze' }, () => {
  const execStart = /^ExecStart=\S+/m;
  assert.match(service, execStart);
  writeFileSync(join(tmp, 'moat.service'), service.replace(execStart, 'ExecStart=/bin/true'));
  writeFileSync(join(tmp, 'moat.socket'), socket);
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(tmp, 'moat.socket'), join(tmp, 'moat.service')], {
    encoding: 'utf8',
  });
  // verify exits 0 on mere warnings (unknown keys, bad values): silence is the real test
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'systemd-analyze verify output');
  assert.equal(r.stdout.trim(), '');
});

test('systemd-analyze verify reports a broken unit (the check above can fail)', { skip: have('systemd-analyze') ? false : 'needs systemd-analyze' }, () => {
  const broken = join(tmp, 'broken.service');
  writeFileSync(broken, service.replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true').replace('[Service]', '[Service]\nNoSuchKey=1'));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', broken], { encoding: 'utf8' });
  assert.match(r.stderr, /NoSuchKey/);
});
