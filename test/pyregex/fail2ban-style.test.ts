// fail2ban-style regexes (hand-written, with <HOST> & co. expanded as in reference §2.2/§2.4),
// checked against real CPython on typical log lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePythonRegex, parsePythonRegex, requiredLiterals } from '../../src/filter/pyregex/index.ts';
import type { OracleCase } from './python-oracle.ts';
import { compareWithPython } from './check.ts';

const IP4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
const IP6 = String.raw`(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)`;
const IP4TAG = String.raw`(?:::f{4,6}:)?(?P<ip4>${IP4})`;
const IP6TAG = `(?P<ip6>${IP6})`;
const ADDR = String.raw`\[?(?:${IP4TAG}|${IP6TAG})\]?`;
const DNS = String.raw`(?P<dns>[\w\-.^_]*\w)`;
const HOST = `(?:${ADDR}|${DNS})`;
const SUBNET = String.raw`\[?(?:${IP4TAG}|${IP6TAG})(?:/(?P<cidr>\d+))?\]?`;
const prefix = (daemon: string): string =>
  String.raw`(?:\[\])?\s*(?:<[^.]+\.[^.]+>\s+)?(?:\S+\s+)?(?:kernel:\s?\[ *\d+\.\d+\]:?\s+)?(?:@vserver_\S+\s+)?` +
  String.raw`(?:(?:(?:\[\d+\])?:\s+[\[\(]?${daemon}(?:\(\S+\))?[\]\)]?:?|[\[\(]?${daemon}(?:\(\S+\))?[\]\)]?:?(?:\[\d+\])?:?)\s+)?` +
  String.raw`(?:\[ID \d+ \S+\]\s+)?`;
const ON_PORT = String.raw`(?: (?:port \d+|on \S+|\[preauth\]))*`;

const SSHD_PREF = String.raw`^(?P<mlfid>${prefix('sshd')})(?:(?:error|fatal): (?:PAM: )?)?(?P<content>.+)$`;
const SSHD_FAILED = String.raw`^Failed (?:password|publickey|keyboard-interactive/pam) for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from ${HOST}${ON_PORT}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`;

const rows: [string, string[]][] = [
  [SSHD_PREF, [
    'host sshd[1234]: Failed password for root from 1.2.3.4 port 22 ssh2\n',
    'host sshd[99]: error: PAM: Authentication failure for root from 10.0.0.1\n',
    '[] myhost kernel: [ 12.345] sshd: x\n',
  ]],
  [SSHD_FAILED, [
    'Failed password for root from 1.2.3.4 port 22 ssh2\n',
    'Failed password for invalid user admin from 1.2.3.4 port 22 ssh2\n',
    'Failed password for invalid user with space from 2001:db8::1 port 22 ssh2\n',
    'Failed publickey for git from ::ffff:10.0.0.2 port 51234 ssh2: RSA SHA256:abc\n',
    'Failed password for user: weird from 1.2.3.4\n',
    'Failed keyboard-interactive/pam for ünïcode from host.example.org port 22 ssh2\n',
  ]],
  [String.raw`^Invalid user (?P<user>.*?) from ${HOST}${ON_PORT}\s*$`, [
    'Invalid user oracle from 192.168.1.10 port 4242\n', 'Invalid user  from [2001:db8::5]\n', 'Invalid user x from bad host\n',
  ]],
  [String.raw`^User (?P<user>\S+|.*?) from ${HOST} not allowed because (?:not listed in AllowUsers|listed in DenyUsers)\s*$`, [
    'User bob from 1.2.3.4 not allowed because not listed in AllowUsers\n',
  ]],
  [String.raw`^(?:Connection (?:closed|reset)|Disconnected) (?:by|from)(?: (?:invalid|authenticating) user (?P<user>\S+|.*?))? ${HOST}${ON_PORT}\s*$`, [
    'Connection closed by authenticating user root 1.2.3.4 port 22 [preauth]\n', 'Disconnected from 5.6.7.8 port 1\n',
  ]],
  [String.raw`^${prefix('postfix/smtpd')}NOQUEUE: reject: RCPT from \S+\[${HOST}\]: 5\d\d `, [
    'mail postfix/smtpd[7]: NOQUEUE: reject: RCPT from unknown[1.2.3.4]: 554 5.7.1 Relay access denied\n',
  ]],
  [String.raw`^${prefix('postfix/smtpd')}(?:lost connection after|warning: [-._\w]+\[${HOST}\]: SASL (?:(?i:LOGIN|PLAIN)|(?:CRAM|DIGEST)-MD5) authentication failed)`, [
    'mail postfix/smtpd[7]: warning: unknown[1.2.3.4]: SASL login authentication failed: UGFzc3dvcmQ6\n',
    'mail postfix/smtpd[7]: warning: unknown[1.2.3.4]: SASL PLAIN authentication failed:\n',
    'mail postfix/smtpd[7]: warning: unknown[1.2.3.4]: SASL Digest-MD5 authentication failed:\n',
  ]],
  [String.raw`^${HOST} -[^"]*"(?:GET|POST|HEAD) [^"]*" (?:401|403) \d+`, [
    '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET /admin HTTP/1.1" 401 512\n', 'fe80::1 - x "POST / HTTP/1.1" 200 1\n',
  ]],
  [String.raw`^\[[^\]]*\] \[(?:\w*:)?error\] \[(?:pid \d+(?::tid \d+)?\] )?\[client ${HOST}(?::\d+)?\] (?:AH\d+: )?user (?P<user>.*?) (?:authentication failure|not found)`, [
    '[Tue Oct 10 13:55:36.123 2023] [auth_basic:error] [pid 123:tid 456] [client 1.2.3.4:5678] AH01618: user bob not found: /x\n',
  ]],
  [String.raw`^(?P<fid>\S+) \S+ \[[^]]+\] "[^"]*" 4\d\d`, ['abc - [x] "GET /" 404\n']],
  [String.raw`^.*?Login failed for '[^']*' from ${HOST}`, ["xx Login failed for 'admin' from 9.9.9.9\n"]],
  [String.raw`client (?P<ip4>${IP4})#\d+(?: \([\S.]+\))?: (?:view (?:internal|external): )?query(?: \(cache\))? '.*' denied\s*$`, [
    "named[1]: client 1.2.3.4#5353 (example.com): query (cache) 'example.com/A/IN' denied\n",
  ]],
  [String.raw`^\s*(?:\S+ )?authentication failure; logname=\S* uid=\S* euid=\S* tty=\S* ruser=(?P<user>\S*) rhost=${HOST}(?:\s+user=.*)?\s*$`, [
    ' sshd: authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root\n',
  ]],
  [String.raw`Received disconnect from ${HOST}: 3: \S+: Auth fail`, ['Received disconnect from 1.2.3.4: 3: com.jcraft: Auth fail\n']],
  [String.raw`^%s(?P<user>\w+) \[${HOST}\] (?:\S+ )?\{[^}]+\}`, ['%sbob [1.2.3.4] {auth}\n']],
  [String.raw`^\d+-\d+-\d+ \d+:\d+:\d+ \[\d+\] \{[^}]*\} .*? IP:${HOST}`, ['2023-01-01 10:00:00 [1] {abc} failed IP:1.2.3.4\n']],
  [String.raw`^ \[[^]]*\] [^ ]*? \{,5}x`, [' [a] b {,5}x\n']],
  [String.raw`^\S+ ASSP[^:]*: [^\[]{,60}\[${HOST}\]`, ['host ASSP[1]: bad thing [1.2.3.4]\n']],
  [String.raw`^.*[^]]+\] (?P<user>\w+) failed from ${HOST}$`, ['[znc] admin] bob failed from 1.2.3.4\n']],
  [String.raw`(?:^|\s)(?P<ip4>${IP4})(?=\s|$)`, ['a 10.1.2.3\n', 'x10.1.2.3 ']],
  [String.raw`^(?P<mlfid>\S+ \S+\[\d+\]:) (?:(?P<nofail>Accepted)|Failed) \w+ for (?P<user>\S+)`, ['h sshd[1]: Accepted key for bob\n', 'h sshd[1]: Failed key for bob\n']],
  [String.raw`^\s*\[(?P<module>[^\]]+)\] (?:error|warning): (?:\(\w+\) )?login failed for (?P<user>[^\s]+) from ${SUBNET}`, [
    '[auth] error: login failed for bob from 10.0.0.0/8\n', ' [auth] warning: (x) login failed for bob from [2001:db8::]/32\n',
  ]],
  [String.raw`^(?P<sep>[-/.])?\d{4}(?P=sep)\d{2}(?P=sep)\d{2}`, ['2023-01-02', '/2023/01/02', '2023.01.02']],
  [String.raw`^(?:\d{4}(?P<_sep>[-/.])\d{2}(?P=_sep)\d{2}|\d{2}(?P<_sep2>[-/.])\d{2}(?P=_sep2)\d{4})`, ['2023-01-02', '02/01/2023', '02/01-2023']],
  [String.raw`^\[(?P<date>[^\]]+)\] (?i)`.replace('(?i)', '') + String.raw`(?i:warning|error): auth from ${HOST}`, ['[now] WaRnInG: auth from 1.2.3.4\n']],
  [String.raw`(?i)^(?:jan|feb|mar)\s+\d+ (?:user|USER) (?P<user>\w+)`, ['JAN 5 user Öskar', 'feb 5 USER bob']],
  [String.raw`^(?P<host>\S+) \S+ \S+ \[.*?\] "[A-Z]+ [^"]*(?:\.\./|%2e%2e)[^"]*"`, ['1.2.3.4 - - [x] "GET /a/../etc/passwd HTTP/1.0"\n']],
  [String.raw`^${HOST}\s+\S+\s+\S+\s+\[[^\]]+\]\s+"[^"]*"\s+(?:400|444)\s`, ['1.2.3.4 - - [01/Jan/2023:00:00:00 +0000] "\\x16\\x03" 400 0\n']],
  [String.raw`\bfailed\b.*\bfrom\b\s+${ADDR}`, ['auth failed for x from 1.2.3.4', 'authfailed from 1.2.3.4', 'fehlgeschlägen failed from 1.2.3.4']],
  [String.raw`^(?:Authentication|Login) (?:failed|failure)(?: for user \w+)?: (?:(?P<err>[^,]+), )?(?:remote )?(?:host|IP)=${HOST}(?::\d+)?\s*$`, [
    'Authentication failed for user x: bad pw, remote host=1.2.3.4:22\n', 'Login failure: IP=::1\n',
  ]],
  [String.raw`^\s*(?P<mlfid>\S+)\s+(?:\d+\s+)?(?:lost|dropped) (?:connection|session)(?: after \w+)? from \S+\[${HOST}\]$`, [
    ' abc 12 lost connection after AUTH from unknown[1.2.3.4]\n', 'abc dropped session from x[1.2.3.4]\n\n',
  ]],
  [String.raw`^(?:(?!\s).)+ did not issue MAIL/EXPN/VRFY/ETRN during connection to \S+ from (?P<ip4>${IP4})$`, ['[x] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA from 1.2.3.4\n']],
  [String.raw`^(?P<mlfid>\S+) (?:conn=(?P<conn>\d+) fd=\d+ ACCEPT from IP=${ADDR}:\d+|conn=(?P=conn) op=\d+ RESULT tag=97 err=49)`, [
    'x conn=5 fd=1 ACCEPT from IP=1.2.3.4:389 (IP=0.0.0.0:389)\n',
  ]],
  [String.raw`^\S+ (?:WARNING|NOTICE): (?:\[[^\]]*\] )*Registration from '[^']*' failed for '${HOST}(?::\d+)?' - (?:Wrong password|No matching peer found|Username/auth name mismatch)`, [
    "pbx NOTICE: [C-1] Registration from '<sip:1@x>' failed for '1.2.3.4:5060' - Wrong password\n",
  ]],
  [String.raw`^.*Failed login attempt.*(?:user|username)[=: ]+'?(?P<user>[^'\s]+)'?.*(?:ip|IP|host)[=: ]+${HOST}`, ["Failed login attempt user='bob' from ip=1.2.3.4\n"]],
  [String.raw`^\S+ \S+ (?P<user>[^\s"]+) \[[^\]]+\] "(?:GET|POST) /(?:wp-login\.php|xmlrpc\.php)[^"]*" 200`, ['1.2.3.4 - ädmin [x] "POST /wp-login.php HTTP/1.1" 200 1\n']],
  [String.raw`^\s*Blocked (?P<what>[\w ]+?) from ${HOST}\s*(?:\(.*\))?$`, ['  Blocked brute force from 1.2.3.4 (rule 9)\n', 'Blocked x from 1.2.3.4\r\n']],
  [String.raw`(?m)^authfail (?P<user>\S+)$\n^from ${HOST}$`, ['authfail bob\nfrom 1.2.3.4\n']],
  [String.raw`^auth fail(?P<skip>\n(?:.*\n)*?)ip=${HOST}$`, ['auth fail\nx\ny\nip=1.2.3.4\n']],
  [String.raw`^(?:\[\w+\] )?(?:(?P<a>pass)|(?P<b>key))word: (?(a)bad|wrong) from ${HOST}`, ['password: bad from 1.2.3.4', 'keyword: wrong from 1.2.3.4', 'keyword: bad from 1.2.3.4']],
];

const cases: OracleCase[] = rows.flatMap(([pattern, subjects]) => subjects.map((subject) => ({ pattern, subject })));
compareWithPython('fail2ban-style', cases);

test('requiredLiterals finds text every match contains', () => {
  const lits = requiredLiterals(parsePythonRegex(SSHD_FAILED).ast);
  assert.ok(lits.includes('Failed '), lits.join('|'));
  assert.ok(lits.includes(' from '));
  assert.deepEqual(requiredLiterals(parsePythonRegex('(?i)abc').ast), []);
  assert.deepEqual(requiredLiterals(parsePythonRegex('ab(?:c|d)e+f?').ast), ['ab', 'e']);
  for (const line of ['Failed password for root from 1.2.3.4 port 22 ssh2\n']) {
    const m = compilePythonRegex(SSHD_FAILED).exec(line);
    assert.ok(m);
    for (const lit of lits) assert.ok(m.text.includes(lit));
  }
});
