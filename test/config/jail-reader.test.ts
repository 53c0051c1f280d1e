import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig, readAction, readFilter } from '../../src/config/index.ts';
import { fixtureTree } from './fixture-tree.ts';

const COMMON = {
  'filter.d/common.conf': '[DEFAULT]\n_daemon = \\S*\n__prefix_line = <lt_<logtype>/__prefix_line>\n[lt_file]\n__prefix_line = FILE:%(_daemon)s\n[lt_journal]\n__prefix_line = JOURNAL:\n',
  'filter.d/demo.conf':
    '[INCLUDES]\nbefore = common.conf\n[Definition]\n_daemon = demod\nfailregex = ^<__prefix_line>fail from <HOST>$\n' +
    '            ^<__prefix_line>bad <extra> <HOST>\nignoreregex =\n[Init]\nextra = user\n',
  'action.d/echo.conf':
    '[Definition]\nactionstart = start <name> <port>\nactionban = ban <ip> <name> <chain> <timeout>\nnorestored = yes\n' +
    '[Init]\nchain = INPUT\nport = 0\ntimeout = 2m\n[Init?family=inet6]\nchain = INPUT6\n',
  'moat.conf': '[Definition]\nloglevel = DEBUG\nsocket = /run/moat/moat.sock\ndbfile = None\nallowipv6 = no\n',
};

test('a broken jail is reported with file, line, section and option; the others load', () => {
  const dir = fixtureTree({
    ...COMMON,
    'jail.conf':
      '[DEFAULT]\nenabled = true\nbanaction = echo\naction = %(banaction)s[port="%(port)s"]\nport = 22\nlogpath = /var/log/x.log\n' +
      '[good]\nfilter = demo\n' +
      '[badinterp]\nfilter = demo\nlogpath = %(nosuchvar)s\n' +
      '[badfilter]\nfilter = nosuchfilter\n' +
      '[badaction]\nfilter = demo\naction = nosuchaction\n' +
      '[badint]\nfilter = demo\nmaxretry = 3x\n' +
      '[badtime]\nfilter = demo\nbantime = 10 parsecs\n' +
      '[pyaction]\nfilter = demo\naction = smtp.py[dest=me]\n' +
      '[dupaction]\nfilter = demo\naction = echo\n         echo\n' +
      '[good2]\nfilter = demo\nport = 2222\n' +
      '[disabled]\nenabled = false\nfilter = nosuchfilter\n',
  });
  const cfg = loadConfig(dir);
  assert.deepEqual(cfg.jails.map((j) => j.name), ['good', 'good2']);
  const err = (section: string) => {
    const e = cfg.errors.find((x) => x.section === section);
    assert.ok(e, `error for ${section}`);
    return e;
  };
  const jailConf = join(dir, 'jail.conf');
  let e = err('badinterp');
  assert.equal(e.file, jailConf);
  assert.equal(e.line, 11);
  assert.equal(e.option, 'logpath');
  assert.match(e.message, /nosuchvar/);
  e = err('badfilter');
  assert.equal(e.code, 'MOAT_ERR_CONFIG_NOT_FOUND');
  assert.equal([e.file, e.line, e.option].join(), `${jailConf},13,filter`);
  e = err('badaction');
  assert.equal([e.line, e.option, e.code].join(), '16,action,MOAT_ERR_CONFIG_NOT_FOUND');
  e = err('badint');
  assert.equal([e.line, e.option, e.code].join(), '19,maxretry,MOAT_ERR_CONFIG_VALUE');
  e = err('badtime');
  assert.equal([e.line, e.option].join(), '22,bantime');
  e = err('pyaction');
  assert.match(e.message, /python action 'smtp\.py' is not supported/);
  e = err('dupaction');
  assert.match(e.message, /action 'echo' already exists/);
  assert.equal(cfg.errors.length, 7);
  assert.ok(cfg.warnings.includes("Errors in jail 'badint'. Skipping..."));
  assert.equal(cfg.jails[1]!.actions[0]!.properties.port, '2222');
});

test('jail options: types, logpath head/tail, ignoreip, bantime.*, daemon moat.conf', () => {
  const dir = fixtureTree({
    ...COMMON,
    'fail2ban.conf': '[DEFAULT]\nloglevel = INFO\n',
    'jail.conf':
      '[DEFAULT]\nbantime = 1h\nfindtime = 10m\nmaxretry = 5\nmaxmatches = %(maxretry)s\naction = echo\n' +
      '[j]\nenabled = YES\nfilter = demo[extra=admin]\nlogpath = /var/log/a.log\n          /var/log/b*.log tail\n' +
      'ignoreip = 127.0.0.1/8 ::1,10.0.0.0/8\n   192.0.2.1\nignoreself = false\nignorecache = key="<ip>", max-time=1m\n' +
      'bantime.increment = on\nbantime.multipliers = 1 2 4 8\nbantime.maxtime = 1w\nbantime.factor = 2\nusedns = bogus\n' +
      'backend = polling[x=1]\nlogtimezone = UTC+0100\n',
  });
  const cfg = loadConfig(dir);
  assert.deepEqual(cfg.errors, []);
  const j = cfg.jails[0]!;
  assert.equal(j.enabled, true);
  assert.equal(j.backend, 'polling');
  assert.deepEqual(j.backendOptions, { x: '1' });
  assert.deepEqual(j.logpaths, [
    { glob: '/var/log/a.log', start: 'head' },
    { glob: '/var/log/b*.log', start: 'tail' },
  ]);
  assert.deepEqual(j.ignoreip, ['127.0.0.1/8', '::1', '10.0.0.0/8', '192.0.2.1']);
  assert.equal(j.ignoreself, false);
  assert.deepEqual(j.ignorecache, { key: '<ip>', maxCount: 100, maxTime: 60 });
  assert.equal([j.bantime, j.findtime, j.maxretry, j.maxmatches].join(), '3600,600,5,5');
  assert.deepEqual(j.bantimeIncrement, {
    enabled: true,
    factor: '2',
    formula: 'ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor',
    multipliers: [1, 2, 4, 8],
    maxtime: 604800,
    rndtime: null,
    overalljails: false,
  });
  assert.equal(j.usedns, 'no');
  assert.ok(cfg.warnings.some((w) => w.includes('usedns')));
  assert.equal(j.logtimezone, 'UTC+0100');
  // filter: argument beats [Init], logtype auto = file, helper tags resolved
  assert.deepEqual(j.filter.failregex, ['^FILE:\\S*fail from <HOST>$', '^FILE:\\S*bad admin <HOST>']);
  assert.deepEqual(j.filter.ignoreregex, []);
  // action: [Init] defaults, timeout property, conditional keys kept raw
  const a = j.actions[0]!;
  // chain has a ?family= variant: left for the actions engine to resolve per family
  assert.equal(a.commands.actionban, 'ban <ip> j <chain> <timeout>');
  assert.equal(a.properties.chain, 'INPUT');
  assert.equal(a.commands.actionstart, 'start j 0');
  assert.equal(a.timeout, 120);
  assert.equal(a.norestored, true);
  assert.equal(a.properties['chain?family=inet6'], 'INPUT6');
  // moat.conf wins over fail2ban.conf
  assert.equal(cfg.daemon.loglevel, 'DEBUG');
  assert.equal(cfg.daemon.socket, '/run/moat/moat.sock');
  assert.equal(cfg.daemon.dbfile, null);
  assert.equal(cfg.daemon.allowipv6, false);
});

test('jail-level failregex extends the filter via %(known/failregex)s; systemd backend → journal logtype', () => {
  const dir = fixtureTree({
    ...COMMON,
    'jail.conf': '[DEFAULT]\naction =\n[j]\nenabled = true\nfilter = demo\nbackend = systemd\nlogpath = /ignored\nmaxlines = 2\n',
    'jail.local': '[j]\nfailregex = %(known/failregex)s\n            ^extra <HOST>$\ndatepattern = ^%%Y\n',
  });
  const cfg = loadConfig(dir);
  assert.deepEqual(cfg.errors, []);
  const j = cfg.jails[0]!;
  assert.deepEqual(j.filter.failregex, ['^JOURNAL:fail from <HOST>$', '^JOURNAL:bad user <HOST>', '^extra <HOST>$']);
  assert.equal(j.filter.maxlines, 2);
  assert.equal(j.filter.datepattern, '^%Y');
  assert.deepEqual(j.logpaths, []);
  assert.ok(cfg.warnings.includes('No actions were defined for j'));
});

test('action naming: name/actname suffix rule and explicit actname', () => {
  const dir = fixtureTree({
    ...COMMON,
    'jail.conf':
      '[web]\nenabled = true\nfilter = demo\nlogpath = /x\naction = echo[name=web-tcp]\n  echo[name=other]\n  echo[actname=custom]\n',
  });
  const cfg = loadConfig(dir);
  assert.deepEqual(cfg.errors, []);
  assert.deepEqual(cfg.jails[0]!.actions.map((a) => [a.name, a.properties.name]), [
    ['echo-tcp', 'web-tcp'],
    ['echo-other', 'other'],
    ['custom', 'web'],
  ]);
});

test('readFilter / readAction on their own, by name or by path', () => {
  const dir = fixtureTree(COMMON);
  const f = readFilter('demo[extra=x]', { configDir: dir, logtype: 'journal' });
  assert.deepEqual(f.failregex, ['^JOURNAL:fail from <HOST>$', '^JOURNAL:bad x <HOST>']);
  const byPath = readFilter(join(dir, 'filter.d/demo.conf'), { configDir: dir });
  // helper sections interpolate in their own context: lt_file sees DEFAULT's _daemon
  assert.equal(byPath.failregex[0], '^FILE:\\S*fail from <HOST>$');
  const a = readAction('echo[port=80]', { configDir: dir, jailName: 'web' });
  assert.equal(a.commands.actionstart, 'start web 80');
  assert.equal(a.name, 'echo');
  assert.throws(() => readFilter('missing', { configDir: dir }), /unable to read the filter 'missing'/);
});
