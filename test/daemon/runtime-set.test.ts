/**
 * Runtime `set`/`get` of filter, ban-time and action settings on a real moatd, driven by the real
 * moat client (fail2ban-client's commands and output layouts): regexes added and removed while
 * the jail reads, actions added/changed/removed, bantime.increment, datepattern, a jail made with
 * `add`, and journal matches changed on a journal jail (the reader resumes at its cursor).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { append, createDaemonEnv, readOr, syslogDate, totalFailed, waitFor, type DaemonEnv } from './harness.ts';
import { have, JOURNAL_REMOTE, stopAll, writeJournal } from '../systemd/helpers.ts';

after(stopAll);

/** `<HOST>` as fail2ban expands it with usedns=warn (what `get JAIL failregex` shows). */
const IP4 = String.raw`(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})`;
const IP6 = String.raw`(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):))`;
const ADDR = String.raw`\[?(?:${IP4}|${IP6})\]?`;
const HOST = String.raw`(?:${ADDR}|(?P<dns>[\w\-.^_]*\w))`;

const OLD = String.raw`^\s*old failure from <HOST>\s*$`;
const NEW = String.raw`^\s*new failure from <HOST>\s*$`;
const expand = (re: string, host = HOST) => re.replace('<HOST>', host);

/** A daemon with one file jail `probe` (filter `moat-probe`, failregex OLD). */
async function probeDaemon(tag: string, opts: { jail?: string; action?: string } = {}): Promise<{ e: DaemonEnv; log: string; bans: string }> {
  const e = createDaemonEnv(tag);
  const log = join(e.dir, 'probe.log');
  const bans = join(e.dir, 'bans');
  writeFileSync(log, '');
  writeFileSync(join(e.conf, 'filter.d', 'moat-probe.conf'), `[Definition]\nfailregex = ${OLD}\n`);
  e.jailLocal(
    `[probe]\nenabled = true\nfilter = moat-probe\nbackend = polling\nlogpath = ${log}\n` +
      `action = ${opts.action ?? `dummy[target=${bans}]`}\nmaxretry = 2\nfindtime = 10m\nbantime = 600\n${opts.jail ?? ''}`,
  );
  await e.start();
  return { e, log, bans };
}

function ok(e: DaemonEnv, args: string[]): string {
  const r = e.moat(args);
  assert.equal(r.code, 0, `moat ${args.join(' ')} failed (${r.code}): ${r.stdout}${r.stderr}\n${e.log()}`);
  return r.stdout;
}

function refused(e: DaemonEnv, args: string[]): string {
  const r = e.moat(args);
  assert.equal(r.code, 255, `moat ${args.join(' ')} should fail: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

const line = (text: string) => `${syslogDate(new Date())} ${text}\n`;

/**
 * Appends `lines` and then a sentinel failure of a fresh address (dated by `dated`); waits until
 * the sentinel is counted (lines are processed in order) and returns how many failures were counted.
 */
async function settle(e: DaemonEnv, log: string, lines: string, sentinel: string, dated = line): Promise<number> {
  const before = totalFailed(ok(e, ['status', 'probe']));
  append(log, lines + dated(`old failure from ${sentinel}`));
  await waitFor(`sentinel ${sentinel} counted`, () => e.log().includes(`Found ${sentinel} `), 15_000, () => e.log());
  return totalFailed(ok(e, ['status', 'probe'])) - before;
}

const regexList = (...regexes: string[]) =>
  'The following regular expression are defined:\n' +
  regexes.map((r, i) => `${i === regexes.length - 1 ? '`- ' : '|- '}[${i}]: ${r}`).join('\n') +
  '\n';

test('addfailregex/delfailregex/addignoreregex/delignoreregex while the jail reads', { timeout: 120_000 }, async () => {
  const { e, log, bans } = await probeDaemon('rt-regex');
  try {
    // added: listed like fail2ban-client (expanded form), and the next lines ban
    assert.equal(ok(e, ['set', 'probe', 'addfailregex', NEW]), regexList(expand(OLD), expand(NEW)));
    append(log, line('new failure from 192.0.2.21') + line('new failure from 192.0.2.21'));
    await waitFor('ban by the added failregex', () => readOr(bans).includes('+192.0.2.21'), 15_000, () => e.log());

    // a regex that does not compile is refused with the reason; the running ones stay
    const bad = refused(e, ['set', 'probe', 'addfailregex', String.raw`^\s*broken ( from <HOST>`]);
    assert.match(bad, /failregex.*(unterminated|missing \))/);
    assert.match(refused(e, ['set', 'probe', 'addfailregex', '^no address here$']), /No failure-id group in '\^no address here\$'/);
    assert.equal(ok(e, ['get', 'probe', 'failregex']), regexList(expand(OLD), expand(NEW)));
    append(log, line('old failure from 192.0.2.22') + line('new failure from 192.0.2.22'));
    await waitFor('ban by the old and the new failregex', () => readOr(bans).includes('+192.0.2.22'), 15_000, () => e.log());

    // deleted (Python index -1 = the last one): the next line is not counted
    assert.equal(ok(e, ['set', 'probe', 'delfailregex', '-1']), regexList(expand(OLD)));
    assert.equal(await settle(e, log, line('new failure from 192.0.2.23'), '192.0.2.90'), 1);
    assert.doesNotMatch(e.log(), /Found 192\.0\.2\.23 /);
    // a bad index changes nothing (fail2ban logs it and answers the list)
    assert.equal(ok(e, ['set', 'probe', 'delfailregex', '5']), regexList(expand(OLD)));
    assert.match(e.log(), /Cannot remove regular expression\. Index 5 is not valid/);

    // ignoreregex: lines it matches are not counted until it is removed
    assert.equal(ok(e, ['set', 'probe', 'addignoreregex', String.raw`from 192\.0\.2\.24`]), regexList(String.raw`from 192\.0\.2\.24`));
    assert.equal(await settle(e, log, line('old failure from 192.0.2.24').repeat(2), '192.0.2.91'), 1);
    assert.ok(!readOr(bans).includes('+192.0.2.24'));
    assert.equal(ok(e, ['set', 'probe', 'delignoreregex', '0']), 'No regular expression is defined\n');
    append(log, line('old failure from 192.0.2.24').repeat(2));
    await waitFor('ban once the ignoreregex is gone', () => readOr(bans).includes('+192.0.2.24'), 15_000, () => e.log());
  } finally {
    await e.cleanup();
  }
});

test('addaction reaches the action, set action actionban changes what runs, delaction stops it', { timeout: 120_000 }, async () => {
  const { e, bans } = await probeDaemon('rt-action', { action: '' });
  const extra = join(e.dir, 'extra');
  const changed = join(e.dir, 'changed');
  try {
    assert.equal(ok(e, ['get', 'probe', 'actions']), 'No actions for jail probe\n');
    // the action is read from action.d with its arguments; the reply is its name; actionstart ran
    assert.equal(ok(e, ['set', 'probe', 'addaction', `dummy[target=${extra}]`]), 'dummy\n');
    assert.equal(ok(e, ['get', 'probe', 'actions']), 'The jail probe has the following actions:\ndummy\n');
    await waitFor('actionstart of the added action', () => readOr(extra).includes('123'), 15_000, () => e.log());
    ok(e, ['set', 'probe', 'banip', '192.0.2.31']);
    await waitFor('ban reaches the added action', () => readOr(extra).includes('+192.0.2.31'), 15_000, () => e.log());

    // a new actionban runs from the next ban on; the reply is the new value
    const cmd = `echo "banned <ip>" >> ${changed}`;
    assert.equal(ok(e, ['set', 'probe', 'action', 'dummy', 'actionban', cmd]), `${cmd}\n`);
    assert.equal(ok(e, ['get', 'probe', 'action', 'dummy', 'actionban']), `${cmd}\n`);
    ok(e, ['set', 'probe', 'banip', '192.0.2.32']);
    await waitFor('the changed actionban ran', () => readOr(changed).includes('banned 192.0.2.32'), 15_000, () => e.log());
    assert.ok(!readOr(extra).includes('+192.0.2.32'), readOr(extra));
    // an [Init] property: timeout is a time value
    assert.equal(ok(e, ['set', 'probe', 'action', 'dummy', 'timeout', '2m']), '120\n');

    // delaction: bans lifted with it (actionflush), actionstop removes the target file
    ok(e, ['set', 'probe', 'delaction', 'dummy']);
    assert.ok(!existsSync(extra), `actionstop should have removed ${extra}`);
    assert.equal(ok(e, ['get', 'probe', 'actions']), 'No actions for jail probe\n');
    assert.match(refused(e, ['set', 'probe', 'delaction', 'dummy']), /Invalid Action name: dummy/);
    ok(e, ['set', 'probe', 'banip', '192.0.2.33']);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!readOr(changed).includes('192.0.2.33') && !existsSync(extra), 'a deleted action must not run');
    assert.ok(!existsSync(bans));

    // Python actions are refused, as moat runs no Python
    assert.match(refused(e, ['set', 'probe', 'addaction', 'smtp', '/etc/fail2ban/action.d/smtp.py', '{}']), /python action .* not supported/);
    assert.equal(ok(e, ['get', 'probe', 'actions']), 'No actions for jail probe\n');
  } finally {
    await e.cleanup();
  }
});

test('bantime.increment and bantime.formula set at runtime apply to the next ban', { timeout: 120_000 }, async () => {
  const { e, bans } = await probeDaemon('rt-incr', { jail: '' });
  try {
    // a first, short ban of both addresses, recorded in the database
    ok(e, ['set', 'probe', 'bantime', '2']);
    for (const ip of ['192.0.2.41', '192.0.2.42']) for (let i = 0; i < 2; i++) ok(e, ['set', 'probe', 'attempt', ip]);
    await waitFor('both short bans over', () => readOr(bans).includes('-192.0.2.41') && readOr(bans).includes('-192.0.2.42'), 20_000, () => e.log());
    ok(e, ['set', 'probe', 'bantime', '600']);

    assert.equal(ok(e, ['get', 'probe', 'bantime.increment']), 'False\n');
    assert.equal(ok(e, ['set', 'probe', 'bantime.increment', 'true']), 'True\n');
    for (let i = 0; i < 2; i++) ok(e, ['set', 'probe', 'attempt', '192.0.2.41']);
    await waitFor('second ban of .41', () => /\+192\.0\.2\.41[\s\S]*\+192\.0\.2\.41/.test(readOr(bans)), 15_000, () => e.log());
    // second ban: 600 * 2^1 (fail2ban's default formula)
    assert.match(ok(e, ['get', 'probe', 'banip', '--with-time']), /^192\.0\.2\.41 \t\S+ \S+ \+ 1200 = /m);

    // a formula that does not parse is refused and the old one stays
    const before = ok(e, ['get', 'probe', 'bantime.formula']);
    refused(e, ['set', 'probe', 'bantime.formula', 'ban.Time * (']);
    assert.equal(ok(e, ['get', 'probe', 'bantime.formula']), before);
    assert.equal(ok(e, ['set', 'probe', 'bantime.formula', 'ban.Time * 5']), 'ban.Time * 5\n');
    for (let i = 0; i < 2; i++) ok(e, ['set', 'probe', 'attempt', '192.0.2.42']);
    await waitFor('second ban of .42', () => /\+192\.0\.2\.42[\s\S]*\+192\.0\.2\.42/.test(readOr(bans)), 15_000, () => e.log());
    assert.match(ok(e, ['get', 'probe', 'banip', '--with-time']), /^192\.0\.2\.42 \t\S+ \S+ \+ 3000 = /m);
    assert.equal(ok(e, ['set', 'probe', 'bantime.maxtime', '1h']), '3600\n');
    assert.equal(ok(e, ['set', 'probe', 'bantime.multipliers', '1 5 30']), '1 5 30\n');
    assert.equal(ok(e, ['set', 'probe', 'bantime.multipliers', '']), 'None\n');
  } finally {
    await e.cleanup();
  }
});

test('datepattern, logtimezone, usedns, prefregex, maxlines, ignorecache, logencoding at runtime', { timeout: 120_000 }, async () => {
  const { e, log, bans } = await probeDaemon('rt-date');
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = () => {
    const d = new Date();
    return `T=${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}.${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  };
  try {
    assert.equal(ok(e, ['get', 'probe', 'datepattern']), 'Current date pattern set to: Default Detectors\n');
    // without the pattern the stamp stays in the text and the anchored regex does not match
    assert.equal(await settle(e, log, `${stamp()} old failure from 192.0.2.51\n`, '192.0.2.92'), 1);
    assert.doesNotMatch(e.log(), /Found 192\.0\.2\.51 /);
    assert.match(refused(e, ['set', 'probe', 'datepattern', '%Q']), /datepattern/);
    assert.equal(ok(e, ['set', 'probe', 'datepattern', 'T=%Y%m%d.%H%M%S']), 'Current date pattern set to: T=%Y%m%d.%H%M%S (T=YearMonthDay.24hourMinuteSecond)\n');
    append(log, `${stamp()} old failure from 192.0.2.51\n`.repeat(2));
    await waitFor('ban with the runtime datepattern', () => readOr(bans).includes('+192.0.2.51'), 15_000, () => e.log());

    assert.match(refused(e, ['set', 'probe', 'logtimezone', 'Nowhere/Nope']), /time zone/);
    assert.equal(ok(e, ['set', 'probe', 'logtimezone', 'UTC']), 'UTC\n');
    // usedns no: <HOST> becomes the address alone (regexes rebuilt); a wrong value falls back to "no"
    assert.equal(ok(e, ['set', 'probe', 'usedns', 'no']), 'no\n');
    assert.equal(ok(e, ['get', 'probe', 'failregex']), regexList(expand(OLD, ADDR)));
    assert.equal(ok(e, ['set', 'probe', 'usedns', 'sometimes']), 'no\n');
    assert.equal(ok(e, ['set', 'probe', 'prefregex', '^<F-CONTENT>.+</F-CONTENT>$']), '^(?P<content>.+)$\n');
    assert.equal(ok(e, ['set', 'probe', 'prefregex', '']), '\n');
    assert.equal(ok(e, ['set', 'probe', 'maxlines', '3']), '3\n');
    assert.equal(ok(e, ['set', 'probe', 'maxlines', '1']), '1\n');
    assert.equal(ok(e, ['set', 'probe', 'ignorecommand', '/bin/false']), '/bin/false\n');
    assert.equal(ok(e, ['set', 'probe', 'ignorecommand', '']), '\n');
    assert.equal(ok(e, ['set', 'probe', 'ignorecache', 'key="<ip>", max-count=10, max-time=1m']), "['<ip>', 10, 60]\n");
    assert.equal(ok(e, ['set', 'probe', 'ignorecache', '']), 'None\n');

    // a new log encoding restarts the reader at its stored position: nothing is read twice
    assert.match(refused(e, ['set', 'probe', 'logencoding', 'klingon-8']), /unknown log encoding/);
    assert.equal(ok(e, ['set', 'probe', 'logencoding', 'latin-1']), 'Current log encoding is set to:\nlatin-1\n');
    assert.equal(await settle(e, log, `${stamp()} old failure from 192.0.2.52\n`, '192.0.2.93', (t) => `${stamp()} ${t}\n`), 2);
    assert.equal(e.log().split('\n').filter((l) => l.includes('Found 192.0.2.51 ')).length, 2);
  } finally {
    await e.cleanup();
  }
});

test('add JAIL BACKEND at runtime: filled by set commands, started with start JAIL', { timeout: 120_000 }, async () => {
  const { e } = await probeDaemon('rt-add');
  const log = join(e.dir, 'added.log');
  const bans = join(e.dir, 'added-bans');
  writeFileSync(log, '');
  const jailCount = () => Number(/Number of jail:\t(\d+)/.exec(ok(e, ['status']))![1]);
  try {
    const before = jailCount();
    assert.equal(ok(e, ['add', 'added', 'polling']), 'Added jail added\n');
    assert.equal(refused(e, ['add', 'added', 'polling']), "The jail 'added' already exists\n");
    assert.match(refused(e, ['add', 'other', 'carrier-pigeon']), /Unknown backend/);
    ok(e, ['set', 'added', 'addfailregex', NEW]);
    assert.equal(ok(e, ['set', 'added', 'addlogpath', log]), `Current monitored log file(s):\n\`- ${log}\n`);
    assert.equal(ok(e, ['set', 'added', 'maxretry', '2']), '2\n');
    assert.equal(ok(e, ['set', 'added', 'addaction', `dummy[target=${bans}]`]), 'dummy\n');
    assert.equal(ok(e, ['start', 'added']), 'Jail started\n');
    assert.equal(jailCount(), before + 1);
    assert.match(ok(e, ['status']), /`- Jail list:\tadded, probe\b/);
    assert.match(ok(e, ['status', 'added']), /File list:\t.*added\.log\n/);
    append(log, line('new failure from 192.0.2.71').repeat(2));
    await waitFor('ban in the added jail', () => readOr(bans).includes('+192.0.2.71'), 15_000, () => e.log());
    // a jail added and never started can be stopped (removed)
    ok(e, ['add', 'never', 'auto']);
    assert.equal(ok(e, ['get', 'never', 'failregex']), 'No regular expression is defined\n');
    assert.equal(ok(e, ['stop', 'never']), 'Jail stopped\n');
    assert.equal(jailCount(), before + 1);
  } finally {
    await e.cleanup();
  }
});

const journalSkip = have(JOURNAL_REMOTE) && have('journalctl') ? false : 'needs systemd-journal-remote and journalctl';

test('addjournalmatch/deljournalmatch restart the journal reader at its cursor', { skip: journalSkip, timeout: 150_000 }, async () => {
  const e = createDaemonEnv('rt-journal');
  const jdir = join(e.dir, 'journal');
  mkdirSync(jdir);
  const live = join(jdir, 'remote.journal');
  const bans = join(e.dir, 'bans');
  const fail = (ip: string, pid: number) => ({ message: `Failed password for root from ${ip} port 22 ssh2`, pid });
  const found = (ip: string) => e.log().split('\n').filter((l) => l.includes(`Found ${ip} `)).length;
  try {
    e.jailLocal(
      `[sshd]\nenabled = true\nbackend = systemd[journalpath=${jdir}]\njournalmatch = _PID=1111\n` +
        `maxretry = 3\nfindtime = 600\nbantime = 600\nbanaction = dummy[target=${bans}]\n`,
    );
    writeJournal(live, [{ message: 'started', identifier: 'cron', pid: 1111 }]);
    await e.start();
    // .61 comes from a process the match does not select; .60 is read
    writeJournal(live, [fail('203.0.113.61', 2222), fail('203.0.113.60', 1111)]);
    await waitFor('203.0.113.60 found', () => found('203.0.113.60') === 1, 20_000, () => e.log());
    assert.equal(found('203.0.113.61'), 0);

    assert.equal(ok(e, ['set', 'sshd', 'addjournalmatch', '_PID=2222']), 'Current match filter:\n_PID=1111 + _PID=2222\n');
    assert.match(ok(e, ['status', 'sshd']), /Journal matches:\t_PID=1111 \+ _PID=2222\n/);
    writeJournal(live, [fail('203.0.113.61', 2222), fail('203.0.113.61', 2222), fail('203.0.113.61', 2222)]);
    await waitFor('ban through the added match', () => readOr(bans).includes('+203.0.113.61'), 20_000, () => e.log());
    // resumed at the cursor: the entries read before are not read again, the older .61 entry neither
    assert.equal(found('203.0.113.60'), 1);
    assert.equal(found('203.0.113.61'), 3);

    // (the reader resumes --cursor, so its position may be an entry the new matches do not select;
    // test/sources/journal-source.test.ts covers that case on its own)
    writeJournal(live, [fail('203.0.113.65', 1111)]);
    await waitFor('203.0.113.65 found', () => found('203.0.113.65') === 1, 20_000, () => e.log());
    assert.equal(ok(e, ['set', 'sshd', 'deljournalmatch', '_PID=2222']), 'Current match filter:\n_PID=1111\n');
    writeJournal(live, [fail('203.0.113.63', 2222), fail('203.0.113.64', 1111)]);
    await waitFor('203.0.113.64 found', () => found('203.0.113.64') === 1, 20_000, () => e.log());
    assert.equal(found('203.0.113.63'), 0);
    assert.equal(refused(e, ['set', 'sshd', 'deljournalmatch', '_PID=9999']), "Match ['_PID=9999'] not found\n");
    assert.match(refused(e, ['set', 'sshd', 'addjournalmatch', 'no-equals-sign']), /invalid journal match/);
    assert.equal(ok(e, ['get', 'sshd', 'journalmatch']), 'Current match filter:\n_PID=1111\n');
  } finally {
    await e.cleanup();
  }
});
