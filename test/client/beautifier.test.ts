import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beautify, beautifyError } from '../../src/client/beautifier.ts';
import { pyRepr, pyStrRepr } from '../../src/client/py-repr.ts';
import { formatCommandList, COMMANDS } from '../../src/client/help.ts';

test('status: §6.3 layout with TABs', () => {
  assert.equal(
    beautify(['status'], [['Number of jail', 1], ['Jail list', 'sshd']]),
    'Status\n|- Number of jail:\t1\n`- Jail list:\tsshd',
  );
  assert.equal(beautify(['status'], [['Number of jail', 0], ['Jail list', '']]), 'Status\n|- Number of jail:\t0\n`- Jail list:\t');
});

test('status JAIL: nested tree byte for byte', () => {
  const reply = [
    ['Filter', [['Currently failed', 2], ['Total failed', 7], ['File list', ['/tmp/f2btest/auth.log']]]],
    ['Actions', [['Currently banned', 1], ['Total banned', 1], ['Banned IP list', ['192.0.2.10']]]],
  ];
  const expected = [
    'Status for the jail: sshd',
    '|- Filter',
    '|  |- Currently failed:\t2',
    '|  |- Total failed:\t7',
    '|  `- File list:\t/tmp/f2btest/auth.log',
    '`- Actions',
    '   |- Currently banned:\t1',
    '   |- Total banned:\t1',
    '   `- Banned IP list:\t192.0.2.10',
  ].join('\n');
  assert.equal(beautify(['status', 'sshd'], reply), expected);
  const two = beautify(['status', 'sshd'], [['Filter', [['File list', ['/a', '/b']]]], ['Actions', [['Banned IP list', []]]]]);
  assert.equal(two, 'Status for the jail: sshd\n|- Filter\n|  `- File list:\t/a /b\n`- Actions\n   `- Banned IP list:\t');
});

test('simple replies', () => {
  assert.equal(beautify(['ping'], 'pong'), 'Server replied: pong');
  assert.equal(beautify(['version'], '1.0.2'), '1.0.2');
  assert.equal(beautify(['stop'], null), 'Shutdown successful');
  assert.equal(beautify(['stop', 'sshd'], null), 'Jail stopped');
  assert.equal(beautify(['start', 'sshd'], null), 'Jail started');
  assert.equal(beautify(['add', 'sshd', 'auto'], 'sshd'), 'Added jail sshd');
  assert.equal(beautify(['flushlogs'], 'rolled over'), 'logs: rolled over');
  assert.equal(beautify(['echo', 'a', 'b'], ['a', 'b']), 'a b');
  assert.equal(beautify(['reload', '--all'], 'OK'), 'OK');
});

test('get logpath / ignoreip / failregex / journalmatch / datepattern / actions', () => {
  assert.equal(beautify(['get', 'sshd', 'logpath'], ['/var/log/a', '/var/log/b']), 'Current monitored log file(s):\n|- /var/log/a\n`- /var/log/b');
  assert.equal(beautify(['get', 'sshd', 'logpath'], []), 'No file is currently monitored');
  assert.equal(beautify(['set', 'sshd', 'addlogpath', '/x'], ['/x']), 'Current monitored log file(s):\n`- /x');
  assert.equal(beautify(['get', 'sshd', 'ignoreip'], ['127.0.0.1/8', '::1']), 'These IP addresses/networks are ignored:\n|- 127.0.0.1/8\n`- ::1');
  assert.equal(beautify(['get', 'sshd', 'ignoreip'], []), 'No IP address/network is ignored');
  assert.equal(
    beautify(['get', 'sshd', 'failregex'], ['^a (?P<host>\\S+)$', '^b$']),
    'The following regular expression are defined:\n|- [0]: ^a (?P<host>\\S+)$\n`- [1]: ^b$',
  );
  assert.equal(beautify(['get', 'sshd', 'ignoreregex'], []), 'No regular expression is defined');
  assert.equal(beautify(['get', 'sshd', 'journalmatch'], [['_SYSTEMD_UNIT=sshd.service'], ['_COMM=sshd']]), 'Current match filter:\n_SYSTEMD_UNIT=sshd.service + _COMM=sshd');
  assert.equal(beautify(['get', 'sshd', 'journalmatch'], []), 'No journal match filter set');
  assert.equal(beautify(['get', 'sshd', 'datepattern'], ['{^LN-BEG}', '{^LN-BEG}']), 'Current date pattern set to: {^LN-BEG} ({^LN-BEG})');
  assert.equal(beautify(['get', 'sshd', 'datepattern'], [null, 'Default Detectors']), 'Current date pattern set to: Default Detectors');
  assert.equal(beautify(['get', 'sshd', 'datepattern'], null), 'Current date pattern set to: Not set/required');
  assert.equal(beautify(['get', 'sshd', 'logencoding'], 'UTF-8'), 'Current log encoding is set to:\nUTF-8');
  assert.equal(beautify(['get', 'sshd', 'actions'], ['iptables', 'mail']), 'The jail sshd has the following actions:\niptables, mail');
  assert.equal(beautify(['get', 'sshd', 'actions'], []), 'No actions for jail sshd');
  assert.equal(beautify(['get', 'sshd', 'actionproperties', 'dummy'], ['a', 'b']), 'The jail sshd action dummy has the following properties:\na, b');
  assert.equal(beautify(['get', 'sshd', 'actionmethods', 'dummy'], ['ban']), 'The jail sshd action dummy has the following methods:\nban');
});

test('get banip: space, separator, --with-time, empty', () => {
  assert.equal(beautify(['get', 'sshd', 'banip'], ['192.0.2.10', '192.0.2.20']), '192.0.2.10 192.0.2.20');
  assert.equal(beautify(['get', 'sshd', 'banip', ','], ['192.0.2.10', '192.0.2.20']), '192.0.2.10,192.0.2.20');
  const rows = ['192.0.2.10 \t2026-11-21 05:20:03 + 600 = 2026-11-21 05:30:03', '192.0.2.20 \t2026-11-21 05:21:03 + 600 = 2026-11-21 05:31:03'];
  assert.equal(beautify(['get', 'sshd', 'banip', '--with-time'], rows), rows.join('\n'));
  assert.equal(beautify(['get', 'sshd', 'banip'], []), '');
});

test('global get outputs', () => {
  assert.equal(beautify(['get', 'loglevel'], 'INFO'), "Current logging level is 'INFO'");
  assert.equal(beautify(['get', 'loglevel'], 10), "Current logging level is 'DEBUG'");
  assert.equal(beautify(['get', 'logtarget'], '/var/log/moat.log'), 'Current logging target is:\n`- /var/log/moat.log');
  assert.equal(beautify(['get', 'syslogsocket'], 'auto'), 'Current syslog socket is:\n`- auto');
  assert.equal(beautify(['get', 'dbfile'], '/var/lib/moat/db'), 'Current database file is:\n`- /var/lib/moat/db');
  assert.equal(beautify(['get', 'dbfile'], null), 'Database currently disabled');
  assert.equal(beautify(['get', 'dbpurgeage'], 86400), 'Current database purge age is:\n`- 86400seconds');
});

test('repr-style outputs for the rest', () => {
  assert.equal(beautify(['banned'], [{ sshd: ['192.0.2.10'] }]), "[{'sshd': ['192.0.2.10']}]");
  assert.equal(beautify(['banned', '192.0.2.10', '203.0.113.9'], [['sshd'], []]), "[['sshd'], []]");
  assert.equal(beautify(['get', 'sshd', 'banned'], ['192.0.2.10']), "['192.0.2.10']");
  assert.equal(beautify(['get', 'sshd', 'banned', '192.0.2.10'], 1), '1');
  assert.equal(beautify(['set', 'sshd', 'banip', '192.0.2.10'], 1), '1');
  assert.equal(beautify(['get', 'sshd', 'bantime'], 600), '600');
  assert.equal(beautify(['get', 'sshd', 'ignoreself'], true), 'True');
  assert.equal(beautify(['get', 'sshd', 'bantime.increment'], null), 'None');
  assert.equal(beautify(['set', 'sshd', 'idle', 'on'], true), 'True');
  assert.equal(beautify(['get', 'sshd', 'usedns'], 'warn'), 'warn');
});

test('errors: fail2ban wording', () => {
  assert.equal(beautifyError({ code: 'MOAT_ERR_UNKNOWN_JAIL', message: 'x', jail: 'nosuch' }), "Sorry but the jail 'nosuch' does not exist");
  assert.equal(beautifyError({ code: 'MOAT_ERR_MISSING_ARGUMENT', message: 'missing IP' }), 'Sorry but the command is invalid');
  assert.equal(beautifyError({ code: 'MOAT_ERR_DUPLICATE_JAIL', message: 'x', jail: 'sshd' }), "The jail 'sshd' already exists");
  assert.equal(beautifyError({ code: 'MOAT_ERR_INVALID_ARGUMENT', message: "not banned: ['203.0.113.9']" }), "not banned: ['203.0.113.9']");
});

test('Python repr', () => {
  assert.equal(pyStrRepr("it's"), '"it\'s"');
  assert.equal(pyStrRepr('a\'b"c'), "'a\\'b\"c'");
  assert.equal(pyStrRepr('^\\s*x\n\t'), "'^\\\\s*x\\n\\t'");
  assert.equal(pyRepr(['set', 'sshd', 'maxretry', 5, true, null, 2.5]), "['set', 'sshd', 'maxretry', 5, True, None, 2.5]");
  assert.equal(pyRepr({ stacksize: 0 }), "{'stacksize': 0}");
});

test('help: the 95 fail2ban command syntaxes are listed, 41-column layout', () => {
  const syntaxes = COMMANDS.filter((e) => e.length === 2);
  const moatOnly = ['watch', 'regex', 'console'];
  assert.equal(syntaxes.filter((e) => !moatOnly.some((m) => e[0].startsWith(m))).length, 95);
  const text = formatCommandList();
  assert.match(text, /^ {4}BASIC$/m);
  assert.match(text, /^ {4}ping {37}check that moatd answers$/m);
  assert.match(text, /^ {4}get <JAIL> banned <IP> \.\.\. <IP>\] {9}/m);
  for (const line of text.split('\n')) assert.ok(line.length <= 4 + 41 + 34 || !line.includes('  '), line);
});
