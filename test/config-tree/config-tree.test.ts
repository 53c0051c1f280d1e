/**
 * The shipped configuration tree (config/) as the reader sees it: moat.conf
 * values, sshd enabled by default, every jail section resolving when enabled
 * (filter found, actions resolved with the jail's parameters), every
 * shipped filter used by a jail, every shipped action usable as banaction or
 * in the action_mw/action_mwl macros, and each paths-<distro>.conf selectable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';

const shipped = resolve(fileURLToPath(import.meta.url), '../../../config');

function copyTree(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-tree-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(shipped, join(dir, 'config'), { recursive: true });
  return join(dir, 'config');
}

const jailSections = (): string[] =>
  [...readFileSync(join(shipped, 'jail.conf'), 'utf8').matchAll(/^\[([^\]]+)\]/gm)]
    .map((m) => m[1]!)
    .filter((s) => s !== 'INCLUDES' && s !== 'DEFAULT');

const confNames = (sub: string): string[] =>
  readdirSync(join(shipped, sub)).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -5));

test('moat.conf: daemon settings', () => {
  const c = loadConfig(shipped);
  assert.deepEqual(c.errors, []);
  const d = c.daemon;
  assert.equal(d.loglevel, 'INFO');
  assert.equal(d.syslogsocket, 'auto');
  assert.equal(d.socket, '/run/moat/moat.sock');
  assert.equal(d.pidfile, '/run/moat/moatd.pid');
  assert.equal(d.dbfile, '/var/lib/moat/moat.sqlite3');
  assert.equal(d.dbpurgeage, 86400);
  assert.equal(d.dbmaxmatches, 10);
  assert.equal(d.logtarget, '/var/log/moat.log');
});

test('jail.conf unchanged: only sshd is enabled, banning with nftables on the ssh port', () => {
  const c = loadConfig(shipped);
  assert.deepEqual(c.errors, []);
  assert.deepEqual(c.jails.map((j) => j.name), ['sshd']);
  const sshd = c.jails[0]!;
  assert.equal(sshd.bantime, 600);
  assert.equal(sshd.findtime, 600);
  assert.equal(sshd.maxretry, 5);
  assert.equal(sshd.ignoreself, true);
  assert.equal(sshd.backend, 'systemd', 'Debian reads sshd from the journal');
  assert.equal(sshd.filter.name, 'sshd');
  assert.ok(sshd.filter.failregex.length > 0);
  assert.deepEqual(sshd.actions.map((a) => a.name), ['nftables']);
  assert.equal(sshd.actions[0]!.properties.port, 'ssh');
  assert.equal(sshd.actions[0]!.properties.protocol, 'tcp');
  assert.match(sshd.actions[0]!.commands.actionban, /nft add element inet f2b-table <addr_set> "\{ <ip>\$timeout \}"/);
});

test('every jail section resolves when enabled (temp log files)', (t) => {
  const dir = copyTree(t);
  const logs = join(dir, 'logs');
  cpSync(join(dir, 'jail.d'), logs, { recursive: true }); // any existing dir; files are created below
  for (const jail of jailSections()) {
    const log = join(logs, `${jail}.log`);
    writeFileSync(log, '');
    writeFileSync(join(dir, 'jail.local'), `[${jail}]\nenabled = true\nlogpath = ${log}\n`);
    const c = loadConfig(dir, { onlyJails: [jail] });
    assert.deepEqual(c.errors.map((e) => e.message), [], jail);
    const j = c.jails.find((x) => x.name === jail);
    assert.ok(j, `${jail} loaded`);
    assert.ok(j.filter.failregex.length > 0, `${jail}: filter ${j.filter.name} has failregex`);
    assert.ok(j.actions.length > 0, `${jail}: actions`);
    for (const a of j.actions) {
      assert.ok(a.commands.actionban.trim(), `${jail}/${a.name}: actionban`);
      assert.ok(!/%\(/.test(a.commands.actionban), `${jail}/${a.name}: no unresolved %(...)s`);
    }
    if (j.backend !== 'systemd') assert.deepEqual(j.logpaths.map((l) => l.glob), [log], jail);
  }
});

test('every shipped filter is used by a jail section', () => {
  const used = new Set<string>();
  const text = readFileSync(join(shipped, 'jail.conf'), 'utf8');
  for (const jail of jailSections()) used.add(jail);
  for (const m of text.matchAll(/^filter\s*=\s*([\w-]+)/gm)) used.add(m[1]!);
  const filters = confNames('filter.d').filter((f) => f !== 'common' && !f.endsWith('-common'));
  assert.deepEqual(filters.filter((f) => !used.has(f)), []);
});

test('every shipped action works as banaction, and with action_mw / action_mwl', (t) => {
  const dir = copyTree(t);
  const helpers = new Set(['helpers-common', 'mail-whois-common', 'sendmail-common']);
  for (const act of confNames('action.d').filter((a) => !helpers.has(a))) {
    for (const macro of ['action_', 'action_mw', 'action_mwl']) {
      // the same action twice in one jail needs actname=; not what this test is about
      if ((macro === 'action_mw' && act === 'sendmail-whois') || (macro === 'action_mwl' && act === 'sendmail-whois-lines')) continue;
      writeFileSync(
        join(dir, 'jail.local'),
        `[sshd]\nenabled = true\nbackend = auto\nlogpath = /dev/null\nport = 22,2222\nbanaction = ${act}\naction = %(${macro})s\n`,
      );
      const c = loadConfig(dir, { onlyJails: ['sshd'] });
      assert.deepEqual(c.errors.map((e) => e.message), [], `${act} ${macro}`);
      const acts = c.jails[0]!.actions;
      assert.equal(acts[0]!.name, act);
      assert.equal(acts[0]!.properties.port, '22,2222', `${act}: port argument`);
      if (macro !== 'action_') {
        const mail = acts[1]!;
        assert.equal(mail.name, macro === 'action_mw' ? 'sendmail-whois' : 'sendmail-whois-lines');
        assert.equal(mail.properties.dest, 'root@localhost');
        assert.match(mail.commands.actionban, /sendmail -t -i -f "root@/);
        if (macro === 'action_mwl') assert.equal(mail.properties.logpath, '/dev/null');
      }
    }
  }
});

test('paths-distro.conf selects the distro file', (t) => {
  const dir = copyTree(t);
  const expect: Record<string, { authpriv: string; sshdBackend: string; mail: string }> = {
    debian: { authpriv: '/var/log/auth.log', sshdBackend: 'systemd', mail: '/var/log/mail.log' },
    fedora: { authpriv: '/var/log/secure', sshdBackend: 'systemd', mail: '/var/log/maillog' },
    arch: { authpriv: '/var/log/auth.log', sshdBackend: 'systemd', mail: '' },
    opensuse: { authpriv: '/var/log/messages', sshdBackend: 'systemd', mail: '/var/log/mail' },
  };
  for (const [distro, e] of Object.entries(expect)) {
    writeFileSync(join(dir, 'paths-distro.conf'), `[INCLUDES]\nbefore = paths-${distro}.conf\n`);
    writeFileSync(
      join(dir, 'jail.local'),
      '[webmin-auth]\nenabled = true\nbackend = auto\n[courier-smtp]\nenabled = true\nbackend = auto\n',
    );
    const c = loadConfig(dir, { onlyJails: ['sshd', 'webmin-auth', 'courier-smtp'] });
    const by = (n: string) => c.jails.find((j) => j.name === n);
    assert.equal(by('sshd')?.backend, e.sshdBackend, distro);
    assert.deepEqual(by('webmin-auth')?.logpaths.map((l) => l.glob), [e.authpriv], distro);
    if (e.mail) assert.deepEqual(by('courier-smtp')?.logpaths.map((l) => l.glob), [e.mail], distro);
  }
});
