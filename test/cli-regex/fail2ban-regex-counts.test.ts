/**
 * `moat regex` counts lines the way fail2ban-regex does (reference §6.8).
 *
 * The expected numbers are fail2ban-regex's own output, observed with Debian's fail2ban 1.0.2
 * (`fail2ban-regex -r LOG FILTER.conf`, the sample corpus of the same package). They cannot be
 * derived from the samples' failJSON annotations: those describe filterOptions variants and the
 * daemon's failures, not one default-mode run over the whole file. `-r` matters: without it
 * fail2ban-regex resolves host names, so offline the lines naming e.g. example.com miss (that is
 * where "64 matched, 42 missed" for sshd comes from); moat regex never resolves names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runRegex } from '../../src/cli/regex.ts';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';

const moatConfig = resolve(new URL('../../config', import.meta.url).pathname);

async function regex(args: string[]): Promise<{ rc: number; out: string }> {
  let out = '';
  const rc = await runRegex(args, { write: (s) => (out += s), error: (s) => (out += s) });
  return { rc, out };
}

function summary(out: string): string {
  return /^Lines: .*$/m.exec(out)?.[0] ?? `(no summary in)\n${out}`;
}

function failregexTotal(out: string): number {
  return Number(/^Failregex: (\d+) total$/m.exec(out)?.[1]);
}

/** The `|  line` rows of a "Matched/Missed/Ignored line(s):" list. */
function listed(out: string, title: string): string[] {
  const at = out.indexOf(`|- ${title} line(s):\n`);
  if (at < 0) return [];
  const rows: string[] = [];
  for (const row of out.slice(at).split('\n').slice(1)) {
    if (!row.startsWith('|  ')) break;
    rows.push(row.slice(3));
  }
  return rows;
}

test('sshd sample: the same counts as fail2ban-regex -r, stock and moat filter trees', async () => {
  const pkg = fail2banPackage();
  for (const config of [pkg.etc, moatConfig]) {
    const { rc, out } = await regex([join(pkg.logs, 'sshd'), 'sshd', '-c', config]);
    assert.equal(rc, 0, out);
    assert.equal(summary(out), 'Lines: 148 lines, 42 ignored, 68 matched, 38 missed', config);
    assert.equal(failregexTotal(out), 112, config);
  }
});

test('multi-line buffer: lines a match takes from the buffer count as matched (stock filters)', async () => {
  const pkg = fail2banPackage();
  const cases: [name: string, lines: string][] = [
    ['mongodb-auth', 'Lines: 12 lines, 0 ignored, 8 matched, 4 missed'],
    ['guacamole', 'Lines: 7 lines, 0 ignored, 6 matched, 1 missed'],
    ['ejabberd-auth', 'Lines: 7 lines, 0 ignored, 5 matched, 2 missed'],
    ['slapd', 'Lines: 9 lines, 0 ignored, 2 matched, 7 missed'],
  ];
  for (const [name, lines] of cases) {
    const { out } = await regex([join(pkg.logs, name), join(pkg.etc, 'filter.d', `${name}.conf`)]);
    assert.equal(summary(out), lines, name);
  }
  // the lists too: a taken line moves from "missed" to "matched", listed before the line that took it
  const { out } = await regex(['--print-all-matched', '--print-all-missed', join(pkg.logs, 'mongodb-auth'), 'mongodb-auth', '-c', pkg.etc]);
  assert.deepEqual(listed(out, 'Matched'), [
    '2016-11-20T00:04:00.110+0100 [conn1] Failed to authenticate root@admin with mechanism MONGODB-CR: AuthenticationFailed UserNotFound Could not find user root@admin',
    '2016-11-20T00:04:00.111+0100 [conn1] end connection 192.0.2.35:53276 (0 connections now open)',
    '2016-11-20T00:24:00.110+0100 [conn5] Failed to authenticate root@admin with mechanism MONGODB-CR: AuthenticationFailed UserNotFound Could not find user root@admin',
    '2016-11-20T00:24:00.111+0100 [conn5] end connection 192.0.2.171:53276 (0 connections now open)',
    '2016-11-20T00:24:00.110+0100 [conn334] Failed to authenticate root@admin with mechanism MONGODB-CR: AuthenticationFailed key mismatch',
    '2016-11-20T00:24:00.111+0100 [conn334] end connection 192.0.2.176:53276 (0 connections now open)',
    '2016-11-20T00:24:00.110+0100 [conn56] Failed to authenticate root@admin with mechanism MONGODB-CR: AuthenticationFailed key mismatch',
    '2016-11-20T00:24:00.111+0100 [conn56] end connection 192.0.2.1:53276 (0 connections now open)',
  ]);
  assert.deepEqual(listed(out, 'Missed'), [
    '2016-11-20T12:54:02.370+0100 [initandlisten] connection accepted from 127.0.0.1:58774 #2261 (1 connection now open)',
    '2016-11-20T12:54:02.370+0100 [conn2261] end connection 127.0.0.1:58774 (0 connections now open)',
    '2016-11-20T13:07:49.781+0100 [conn2271]  authenticate db: admin { authenticate: 1, nonce: "xxx", user: "root", key: "xxx" }',
    '2016-11-20T13:07:49.834+0100 [conn2271] end connection 192.0.2.178:60268 (3 connections now open)',
  ]);
  // --json carries the same counts
  const json = JSON.parse((await regex(['--json', join(pkg.logs, 'mongodb-auth'), 'mongodb-auth', '-c', pkg.etc])).out);
  assert.deepEqual([json.lines, json.ignored, json.matched, json.missed], [12, 0, 8, 4]);
});

test('a last line without a newline is not read; nsd keeps fail2ban template order', async () => {
  const pkg = fail2banPackage();
  // both sample files end without a newline: fail2ban-regex reads 9 and 7 lines
  assert.equal(summary((await regex([join(pkg.logs, 'cyrus-imap'), 'cyrus-imap', '-c', pkg.etc])).out), 'Lines: 9 lines, 0 ignored, 9 matched, 0 missed');
  assert.equal(summary((await regex([join(pkg.logs, 'nginx-bad-request'), 'nginx-bad-request', '-c', pkg.etc])).out), 'Lines: 7 lines, 0 ignored, 7 matched, 0 missed');
  // `{^LN-BEG}Epoch` next to `{^LN-BEG}` sorts with weight 100 in fail2ban: it stays first
  const { out } = await regex([join(pkg.logs, 'nsd'), 'nsd', '-c', pkg.etc]);
  const dates = out.slice(out.indexOf('Date template hits:'));
  assert.match(dates, /^\|  \[2\] \{\^LN-BEG\}Epoch\n\|  \[1\] \{\^LN-BEG\}ExYear/m);
});

test('synthetic multi-line filter: taken lines, CR endings, list limit (checked against fail2ban-regex 1.0.2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-cli-regex-'));
  try {
    mkdirSync(join(dir, 'filter.d'));
    const filter = join(dir, 'filter.d', 'two.conf');
    writeFileSync(filter, '[Definition]\nfailregex = ^start\\n.*fail from <HOST>$\nmaxlines = 2\ndatepattern = {NONE}\n');
    const log = join(dir, 'log.txt');
    writeFileSync(log, 'start\nnoise\nstart\nfail from 1.2.3.4\nstart\r\r\nfail from 1.2.3.5\nlast');
    const { out } = await regex(['--print-all-matched', '--print-all-missed', log, filter]);
    // "last" has no newline: not read. Each "fail" line takes the "start" before it; the first
    // "start" in the missed list leaves it (fail2ban removes the first equal text), so the
    // missed list shows the second one.
    assert.equal(summary(out), 'Lines: 6 lines, 0 ignored, 4 matched, 2 missed');
    assert.deepEqual(listed(out, 'Matched'), ['start', 'fail from 1.2.3.4', 'start', 'fail from 1.2.3.5']);
    assert.deepEqual(listed(out, 'Missed'), ['noise', 'start']);

    // -L N is also the list limit: fewer than N lines are listed, else "too many"
    writeFileSync(log, 'a\nb\nc\n');
    const few = await regex(['-L', '4', log, filter]);
    assert.deepEqual(listed(few.out, 'Missed'), ['a', 'b', 'c']);
    const many = await regex(['-L', '3', log, filter]);
    assert.match(many.out, /^Missed line\(s\): too many to print\.  Use --print-all-missed to print all 3 lines$/m);

    // a last line ending with CR is complete (fail2ban strips CR/LF and sees a line end)
    writeFileSync(log, 'fail from 1.2.3.4\r');
    const cr = await regex([log, '^fail from <HOST>$']);
    assert.equal(summary(cr.out), 'Lines: 1 lines, 0 ignored, 1 matched, 0 missed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
