/**
 * scripts/install-system.sh and uninstall-system.sh, run into a throwaway DESTDIR: what lands
 * where, that a second install keeps the user's configuration (new version beside it as .dist),
 * that the units pass systemd-analyze, and that uninstall removes exactly what it installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

function script(name: string, destdir: string, args: string[] = []) {
  const r = spawnSync('sh', [join(root, 'scripts', name), ...args], {
    encoding: 'utf8',
    env: { ...process.env, DESTDIR: destdir },
  });
  assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

test('install, reinstall over user changes, uninstall', async (t) => {
  const dest = mkdtempSync(join(tmpdir(), 'moat-install-'));
  t.after(() => rmSync(dest, { recursive: true, force: true }));
  const unitDir = join(dest, 'usr/lib/systemd/system');

  await t.test('first install puts every part in place', () => {
    script('install-system.sh', dest);
    for (const unit of ['moat.service', 'moat.socket']) assert.ok(existsSync(join(unitDir, unit)), unit);
    assert.match(readFileSync(join(unitDir, 'moat.service'), 'utf8'), /^ExecStart=\/usr\/bin\/moatd .*-c \/etc\/moat$/m);
    const tmpfiles = readFileSync(join(dest, 'usr/lib/tmpfiles.d/moat.conf'), 'utf8');
    assert.match(tmpfiles, /^d \/run\/moat 0750 root root -$/m);
    assert.match(tmpfiles, /^d \/var\/lib\/moat 0750 root root -$/m);
    assert.ok(statSync(join(dest, 'var/lib/moat')).isDirectory());
    assert.deepEqual(files(join(dest, 'etc/moat')), files(join(root, 'config')));
    for (const page of ['man1/moat.1', 'man8/moatd.8', 'man5/moat.conf.5', 'man5/moat-jail.conf.5']) {
      assert.ok(existsSync(join(dest, 'usr/share/man', page)), page);
    }
    assert.ok(existsSync(join(dest, 'usr/share/bash-completion/completions/moat')));
    for (const prog of ['moat', 'moatd']) {
      const bin = join(dest, 'usr/bin', prog);
      assert.ok(statSync(bin).mode & 0o100, `${prog} is executable`);
      const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\d+\.\d+/);
    }
  });

  await t.test('the installed units pass systemd-analyze verify', (t) => {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(unitDir, 'moat.service'), join(unitDir, 'moat.socket')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.error) return t.skip(`systemd-analyze not usable: ${r.error.message}`);
    // Offline, outside a booted systemd, it also reports missing targets and binaries that
    // live only in DESTDIR; anything else (unknown keys, bad values) is a unit error.
    const problems = (r.stdout + r.stderr)
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => !/Unit \S+\.target not found|is not executable: No such file|Failed to create moat\.service\/start/.test(l));
    assert.deepEqual(problems, []);
  });

  const jailLocal = join(dest, 'etc/moat/jail.local');
  const jailConf = join(dest, 'etc/moat/jail.conf');
  const moatConf = join(dest, 'etc/moat/moat.conf');

  await t.test('a second install keeps jail.local and a changed jail.conf', () => {
    writeFileSync(jailLocal, '[sshd]\nenabled = false\n');
    appendFileSync(jailConf, '\n# changed by the admin\n');
    const changed = readFileSync(jailConf, 'utf8');
    const out = script('install-system.sh', dest);
    assert.equal(readFileSync(jailLocal, 'utf8'), '[sshd]\nenabled = false\n');
    assert.equal(readFileSync(jailConf, 'utf8'), changed);
    assert.equal(readFileSync(jailConf + '.dist', 'utf8'), readFileSync(join(root, 'config/jail.conf'), 'utf8'));
    assert.match(out, /kept your \/etc\/moat\/jail\.conf; the shipped version is \/etc\/moat\/jail\.conf\.dist/);
    assert.ok(!existsSync(moatConf + '.dist'), 'unchanged files get no .dist');
  });

  await t.test('a third install still treats jail.conf as the user\'s', () => {
    script('install-system.sh', dest);
    assert.match(readFileSync(jailConf, 'utf8'), /# changed by the admin/);
  });

  await t.test('uninstall removes what it installed and keeps the user\'s files', () => {
    const out = script('uninstall-system.sh', dest);
    assert.match(out, /kept your changed \/etc\/moat\/jail\.conf/);
    assert.deepEqual(files(join(dest, 'etc/moat')), ['jail.conf', 'jail.local']);
    for (const gone of ['usr/lib/systemd/system', 'usr/lib/tmpfiles.d/moat.conf', 'usr/bin/moat', 'usr/bin/moatd', 'usr/share/man/man1/moat.1', 'usr/share/bash-completion/completions/moat', 'usr/share/moat']) {
      const p = join(dest, gone);
      assert.ok(!existsSync(p) || (statSync(p).isDirectory() && readdirSync(p).length === 0), `${gone} removed`);
    }
    assert.ok(existsSync(join(dest, 'var/lib/moat')), 'state kept without --purge');
  });

  await t.test('uninstall --purge after a fresh install removes the state directory too', () => {
    rmSync(jailConf);
    rmSync(jailLocal);
    script('install-system.sh', dest);
    script('uninstall-system.sh', dest, ['--purge']);
    assert.ok(!existsSync(join(dest, 'var/lib/moat')));
    assert.ok(!existsSync(join(dest, 'etc/moat')));
  });
});

test('install leaves an existing, foreign moat binary alone', (t) => {
  const dest = mkdtempSync(join(tmpdir(), 'moat-install-'));
  t.after(() => rmSync(dest, { recursive: true, force: true }));
  const bin = join(dest, 'usr/bin/moat');
  spawnSync('mkdir', ['-p', join(dest, 'usr/bin')]);
  writeFileSync(bin, '#!/bin/sh\necho npm-link\n', { mode: 0o755 });
  script('install-system.sh', dest);
  assert.equal(readFileSync(bin, 'utf8'), '#!/bin/sh\necho npm-link\n');
  script('uninstall-system.sh', dest);
  assert.ok(existsSync(bin), 'not ours, so not removed');
});

test('the updated shipped file replaces an unchanged older copy', (t) => {
  const dest = mkdtempSync(join(tmpdir(), 'moat-install-'));
  t.after(() => rmSync(dest, { recursive: true, force: true }));
  script('install-system.sh', dest);
  // pretend the previous release shipped a different moat.conf, and the user never touched it
  const conf = join(dest, 'etc/moat/moat.conf');
  const manifest = join(dest, 'usr/share/moat/install-manifest');
  writeFileSync(conf, '[Definition]\nloglevel = INFO\n');
  const sum = spawnSync('sha256sum', [conf], { encoding: 'utf8' }).stdout.split(' ')[0]!;
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/^\w+(\tconfig\t\/etc\/moat\/moat\.conf)$/m, `${sum}$1`));
  script('install-system.sh', dest);
  assert.equal(readFileSync(conf, 'utf8'), readFileSync(join(root, 'config/moat.conf'), 'utf8'));
  assert.ok(!existsSync(conf + '.dist'));
});

test('paths-distro.conf names the paths file of the distribution in os-release', async (t) => {
  const { loadConfig } = await import('../../src/config/index.ts');
  const cases: [string, string, string][] = [
    ['ID=fedora\nID_LIKE=""\n', 'fedora', '/var/log/secure'],
    ['ID="rocky"\nID_LIKE="rhel centos fedora"\n', 'fedora', '/var/log/secure'],
    ['ID=linuxmint\nID_LIKE="ubuntu debian"\n', 'debian', '/var/log/auth.log'],
    ['ID=opensuse-leap\nID_LIKE="suse opensuse"\n', 'opensuse', ''],
    ['ID=endeavouros\nID_LIKE=arch\n', 'arch', ''],
    ['ID=someos\n', 'debian', '/var/log/auth.log'],
  ];
  for (const [osRelease, distro, sshdLog] of cases) {
    const dest = mkdtempSync(join(tmpdir(), 'moat-install-'));
    t.after(() => rmSync(dest, { recursive: true, force: true }));
    const osFile = join(dest, 'os-release');
    writeFileSync(osFile, osRelease);
    const r = spawnSync('sh', [join(root, 'scripts/install-system.sh')], {
      encoding: 'utf8',
      env: { ...process.env, DESTDIR: dest, OS_RELEASE: osFile },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`paths: paths-${distro}\\.conf`));
    const conf = join(dest, 'etc/moat');
    const text = readFileSync(join(conf, 'paths-distro.conf'), 'utf8');
    assert.match(text, new RegExp(`^before = paths-${distro}\\.conf$`, 'm'), osRelease);
    assert.equal(text.match(/^before = /gm)?.length, 1);
    if (sshdLog) {
      // the installed tree resolves sshd's log file through the chosen paths file
      writeFileSync(join(conf, 'jail.local'), '[sshd]\nbackend = polling\n');
      const cfg = loadConfig(conf);
      const sshd = cfg.jails.find((j) => j.name === 'sshd');
      assert.ok(sshd, `sshd jail loads (${cfg.errors.map((e) => e.message).join('; ')})`);
      assert.ok(sshd.logpaths.some((p) => p.glob === sshdLog), `${distro}: ${JSON.stringify(sshd.logpaths)}`);
    }
  }
});
