import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { Store, firstLineHash } from '../../src/store/index.ts';
import { StoreError } from '../../src/errors.ts';
import { FailManager } from '../../src/failures/index.ts';
import type { BanTicket } from '../../src/bans/ticket.ts';

/** A temp dir removed after the test. */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function ticket(over: Partial<BanTicket> = {}): BanTicket {
  return {
    jail: 'sshd',
    id: '192.0.2.10',
    ip: '192.0.2.10',
    family: 'inet4',
    time: 1_000_000,
    bantime: 600,
    banCount: 1,
    failures: 3,
    matches: ['line 1', 'line 2', 'line 3'],
    data: { user: 'root' },
    restored: false,
    ...over,
  };
}

test('bans and log positions survive close and reopen', (t) => {
  const file = join(tempDir(t), 'moat.sqlite3');
  const logs: string[] = [];
  const s1 = Store.open(file, { log: (_l, m) => logs.push(m) });
  assert.equal(s1.created, true);
  assert.match(logs[0]!, /New database created. Version '4'/);
  s1.addBan(ticket());
  s1.addBan(ticket({ id: '2001:db8::1', ip: '2001:db8::1', family: 'inet6', bantime: -1 }));
  s1.setLogPosition('sshd', '/var/log/auth.log', firstLineHash('first line\n'), 1234);
  s1.setJournalCursor('sshd', 's=abc;i=1', 1_000_100.5);
  s1.close();

  const s2 = Store.open(file);
  t.after(() => s2.close());
  assert.equal(s2.created, false);
  assert.deepEqual(s2.getLogPosition('sshd', '/var/log/auth.log'), {
    hash: execFileSync('sh', ['-c', 'printf "first line\\n" | sha1sum']).toString().split(' ')[0],
    pos: 1234,
  });
  assert.deepEqual(s2.getJournalCursor('sshd'), { cursor: 's=abc;i=1', time: 1_000_100.5 });
  const bans = s2.currentBans('sshd', 1_000_100, { jailBantime: 600, increment: false });
  assert.deepEqual(
    bans.map((b) => [b.id, b.family, b.bantime, b.failures, b.restored, b.data.user]),
    [
      ['192.0.2.10', 'inet4', 600, 3, true, 'root'],
      // permanent is capped to the jail bantime when increment is off (fail2ban getMaxBanTime)
      ['2001:db8::1', 'inet6', 600, 3, true, 'root'],
    ],
  );
  assert.deepEqual(bans[0]!.matches, ['line 1', 'line 2', 'line 3']);
});

test('restore rules: expired skipped, permanent kept, increment/maxtime caps', (t) => {
  const s = Store.open(':memory:');
  t.after(() => s.close());
  const now = 10_000;
  s.addBans([
    ticket({ id: '192.0.2.1', time: now - 700, bantime: 600 }), // expired
    ticket({ id: '192.0.2.2', time: now - 100, bantime: 600 }), // active
    ticket({ id: '192.0.2.3', time: now - 5000, bantime: -1 }), // permanent
    ticket({ id: '192.0.2.4', time: now - 1000, bantime: 3600 }), // long ban, older than jail bantime
  ]);
  const ids = (opts: Parameters<Store['currentBans']>[2]) =>
    s.currentBans('sshd', now, opts).map((b) => `${b.id}:${b.bantime}`);
  // increment on, no maxtime: everything still running is restored with its own duration
  assert.deepEqual(ids({ jailBantime: 600, increment: true }), ['192.0.2.3:-1', '192.0.2.4:3600', '192.0.2.2:600']);
  // increment on with maxtime 2000: permanent capped (and then expired), 3600 capped to 2000 (still running)
  assert.deepEqual(ids({ jailBantime: 600, increment: true, maxtime: 2000 }), ['192.0.2.4:2000', '192.0.2.2:600']);
  // increment off: only bans younger than the jail bantime
  assert.deepEqual(ids({ jailBantime: 600, increment: false }), ['192.0.2.2:600']);
  // permanent jail: nothing capped, age filter off
  assert.deepEqual(ids({ jailBantime: -1, increment: false }), ['192.0.2.3:-1', '192.0.2.4:3600', '192.0.2.2:600']);
  // matches cut to maxmatches
  assert.deepEqual(s.currentBans('sshd', now, { jailBantime: 600, increment: false, maxMatches: 1 })[0]!.matches, ['line 3']);
  // the paged reader (big restores) applies the same rules and yields the same tickets
  for (const opts of [{ jailBantime: 600, increment: true }, { jailBantime: 600, increment: true, maxtime: 2000 }, { jailBantime: 600, increment: false }, { jailBantime: -1, increment: false }]) {
    const pages = [...s.currentBanPages('sshd', now, opts, 1)];
    assert.ok(pages.every((p) => p.length === 1));
    const paged = pages.flat().sort((a, b) => a.id.localeCompare(b.id));
    const all = s.currentBans('sshd', now, opts).sort((a, b) => a.id.localeCompare(b.id));
    assert.deepEqual(paged, all, JSON.stringify(opts));
  }
});

test('lastBan, overall jails and merged history', (t) => {
  const s = Store.open(':memory:', { dbMaxMatches: 4 });
  t.after(() => s.close());
  assert.equal(s.lastBan('192.0.2.10', 'sshd'), null);
  s.addBan(ticket({ time: 100, matches: ['a', 'b'], failures: 2 }));
  s.addBan(ticket({ time: 200, banCount: 2, bantime: 1200, matches: ['c', 'd', 'e'], failures: 3 }));
  s.addBan(ticket({ jail: 'recidive', time: 300, bantime: 7200, matches: ['f'], failures: 1 }));
  assert.deepEqual(s.lastBan('192.0.2.10', 'sshd'), { banCount: 2, timeOfBan: 200, banTime: 1200 });
  assert.deepEqual(s.lastBan('192.0.2.10', null), { banCount: 3, timeOfBan: 300, banTime: 8400 });
  assert.deepEqual(s.banHistory('192.0.2.10', 'sshd'), { matches: ['b', 'c', 'd', 'e'], failures: 5, bans: 2 });
  assert.deepEqual(s.banHistory('192.0.2.10'), { matches: ['c', 'd', 'e', 'f'], failures: 6, bans: 3 });
  assert.equal(s.removeBans('sshd', '192.0.2.10'), 1);
  assert.equal(s.lastBan('192.0.2.10', 'sshd'), null);
  assert.equal(s.banHistory('192.0.2.10').bans, 1);
  assert.equal(s.removeBans(), 1);
  assert.equal(s.banHistory('192.0.2.10').bans, 0);
});

test('positions are buffered until flush or interval, and read back before flush', (t) => {
  const file = join(tempDir(t), 'db');
  let now = 0;
  const s = Store.open(file, { now: () => now, flushIntervalSeconds: 10 });
  s.setLogPosition('j', '/log', 'h', 10);
  assert.equal(s.pendingWrites, 1);
  assert.deepEqual(s.getLogPosition('j', '/log'), { hash: 'h', pos: 10 });
  // not yet on disk: a second connection does not see it
  const peek = () => new Database(file, { readonly: true }).prepare('SELECT lastfilepos FROM logs').all();
  assert.deepEqual(peek(), []);
  now = 11;
  s.setLogPosition('j', '/log', 'h', 20);
  assert.equal(s.pendingWrites, 0);
  assert.deepEqual(peek(), [{ lastfilepos: 20 }]);
  s.setLogPosition('j', '/log', 'h2', 30);
  s.flush();
  assert.deepEqual(peek(), [{ lastfilepos: 30 }]);
  s.close();
});

test('purge deletes old rows and vacuum shrinks the file', (t) => {
  const file = join(tempDir(t), 'db');
  const s = Store.open(file);
  const now = 10_000_000;
  const big = 'x'.repeat(400);
  const old: BanTicket[] = [];
  for (let i = 0; i < 5000; i++) {
    old.push(ticket({ id: `10.0.${i >> 8}.${i & 255}`, time: now - 200_000, bantime: 600, matches: [big, big] }));
  }
  s.addBans(old);
  s.addBans([ticket({ id: '192.0.2.99', time: now - 10, bantime: 600 })]);
  s.addBans([ticket({ id: '192.0.2.98', time: now - 200_000, bantime: -1 })]);
  s.compact();
  const before = statSync(file).size;
  const r = s.purge(86_400, now);
  assert.deepEqual(r, { bans: 5001, bips: 5000, jails: 0 });
  const after = statSync(file).size;
  assert.ok(after < before / 4, `file should shrink: ${before} -> ${after}`);
  // permanent latest-ban row and the recent ban are kept
  assert.deepEqual(
    s.currentBans('sshd', now, { jailBantime: -1, increment: true }).map((b) => b.id),
    ['192.0.2.98', '192.0.2.99'],
  );
  s.close();
});

test('disabled jails without rows are purged; reopen disables jails', (t) => {
  const file = join(tempDir(t), 'db');
  const s1 = Store.open(file);
  s1.addJail('a');
  s1.addJail('b');
  s1.close();
  const s2 = Store.open(file);
  s2.addJail('a');
  assert.deepEqual(s2.purge(86_400, 1e9), { bans: 0, bips: 0, jails: 1 });
  s2.close();
  const names = new Database(file, { readonly: true }).prepare('SELECT name FROM jails').all();
  assert.deepEqual(names, [{ name: 'a' }]);
});

test('a corrupt file is moved aside with a timestamp and recreated', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'moat.sqlite3');
  writeFileSync(file, Buffer.alloc(8192, 0x5a));
  const logs: string[] = [];
  const s = Store.open(file, { log: (l, m) => logs.push(`${l}: ${m}`) });
  t.after(() => s.close());
  assert.ok(s.recovery);
  assert.match(s.recovery.movedTo, /moat\.sqlite3\.\d{8}-\d{6}$/);
  assert.ok(existsSync(s.recovery.movedTo));
  assert.ok(readdirSync(dir).length >= 2);
  assert.ok(logs.some((l) => l.startsWith('error: ') && l.includes('corrupt')));
  s.addBan(ticket());
  assert.equal(s.lastBan('192.0.2.10', 'sshd')?.banCount, 1);
});

test('a damaged page is detected by the integrity check', (t) => {
  const file = join(tempDir(t), 'db');
  const s = Store.open(file);
  const many: BanTicket[] = [];
  for (let i = 0; i < 2000; i++) many.push(ticket({ id: `10.1.${i >> 8}.${i & 255}` }));
  s.addBans(many);
  s.close();
  // overwrite the middle of the file (keep the header valid)
  const probe = new Database(file, { readonly: true });
  const pageSize = probe.pragma('page_size', { simple: true }) as number;
  probe.close();
  const buf = readFileSync(file);
  assert.ok(buf.length > pageSize * 4);
  buf.fill(0xff, pageSize * 2, pageSize * 4);
  writeFileSync(file, buf);
  const s2 = Store.open(file);
  t.after(() => s2.close());
  assert.ok(s2.recovery, 'corruption should be detected');
});

test('errors are StoreError', (t) => {
  assert.throws(() => Store.open('/nonexistent-dir/x/y.db'), StoreError);
  const s = Store.open(':memory:');
  s.close();
  assert.throws(() => s.addBan(ticket()), StoreError);
  const file = join(tempDir(t), 'other.db');
  const other = new Database(file);
  other.exec('CREATE TABLE t(x)');
  other.close();
  assert.throws(() => Store.open(file), /not a moat\/fail2ban database/);
});

test('open failure tickets are written with the positions and read back after a reopen', (t) => {
  const file = join(tempDir(t), 'moat.sqlite3');
  let now = 2_000_000;
  const s1 = Store.open(file, { now: () => now, flushIntervalSeconds: 3600 });
  s1.addJail('sshd');
  const fm = new FailManager({ maxRetry: 3, findTime: 600, maxMatches: 2, trackChanges: true });
  s1.trackFailures('sshd', fm);
  const f = (id: string, time: number, line: string) =>
    fm.addFailure({ id, ip: id, family: 'inet4', time, matches: [line], attempts: 1, data: { user: 'root' }, regexIndex: 0 });
  f('198.51.100.1', now - 10, 'a');
  f('198.51.100.1', now - 5, 'b');
  f('198.51.100.2', now - 900, 'old'); // outside findtime at load
  f('198.51.100.3', now - 4, 'c');
  s1.setLogPosition('sshd', '/var/log/auth.log', 'h', 42);
  assert.equal(s1.pendingWrites, 4);
  s1.flush();
  // a ticket that reached maxretry leaves the list and the table at the next flush
  f('198.51.100.3', now - 3, 'd');
  f('198.51.100.3', now - 2, 'e');
  assert.equal(fm.get('198.51.100.3'), undefined);
  s1.close();

  now += 1;
  const s2 = Store.open(file, { now: () => now });
  const loaded = s2.loadFailures('sshd', now - 600);
  assert.deepEqual(loaded.map((x) => x.id), ['198.51.100.1']);
  assert.equal(loaded[0]!.retry, 2);
  assert.equal(loaded[0]!.failures, 2);
  assert.deepEqual(loaded[0]!.matches, ['a', 'b']);
  assert.deepEqual(loaded[0]!.data, { user: 'root' });
  assert.equal(loaded[0]!.family, 'inet4');
  assert.equal(s2.getLogPosition('sshd', '/var/log/auth.log')?.pos, 42);
  // the restored ticket goes on counting: one more failure bans
  const fm2 = new FailManager({ maxRetry: 3, findTime: 600, trackChanges: true });
  fm2.restore(loaded);
  const r = fm2.addFailure({ id: '198.51.100.1', ip: null, family: 'inet4', time: now, matches: ['f'], attempts: 1, data: {}, regexIndex: 0 });
  assert.equal(r.banReady, true);
  assert.equal(fm2.totalFailed, 1, 'restored failures are not counted again in Total failed');
  s2.close();
});

test('ban and failure rows store data as fail2ban does: sets as Python list text, matches capped, values JSON has no form for left out', (t) => {
  const file = join(tempDir(t), 'moat.sqlite3');
  const s = Store.open(file, { now: () => 1_000_100, dbMaxMatches: 2 });
  s.addJail('sshd');
  const data = {
    mlfid: ' host sshd[1]: ',
    nofail: null,
    users: new Set(['root', 'admin']),
    n: 2,
    big: 12345678901234567890n,
    nested: { inner: new Set(['x']) },
    triples: [['', 'Jan  1', ' tail']],
    gone: undefined,
    fn: () => 1,
    matches: [['', 'Jan  1 00:00:01', ' replaced']],
  };
  // a ban row: the ticket's capped matches replace the record's, failures added at the end
  s.addBan(ticket({ matches: ['l1', 'l2', 'l3'], failures: 3, data }));
  const fm = new FailManager({ maxRetry: 10, findTime: 600, maxMatches: 5, trackChanges: true });
  s.trackFailures('sshd', fm);
  fm.addFailure({ id: '192.0.2.20', ip: '192.0.2.20', family: 'inet4', time: 1_000_090, matches: ['f1', 'f2', 'f3'], attempts: 1, data, regexIndex: 0 });
  s.flush();
  s.close();
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  const ban = (db.prepare('SELECT data FROM bips').get() as { data: Buffer }).data;
  assert.ok(Buffer.isBuffer(ban), 'ban data is a BLOB, as fail2ban writes it');
  const rest = '"users":"[\'root\', \'admin\']","n":2,"big":"12345678901234567890","nested":{"inner":"[\'x\']"},"triples":[["","Jan  1"," tail"]]';
  assert.equal(ban.toString('utf8'), `{"mlfid":" host sshd[1]: ","nofail":null,${rest},"matches":["l2","l3"],"failures":3}`);
  // a failure ticket keeps its first failure's values without the empty ones (fail2ban's Ticket)
  const failure = (db.prepare('SELECT data FROM failures').get() as { data: string }).data;
  assert.equal(String(failure), `{"mlfid":" host sshd[1]: ",${rest},"matches":["f2","f3"]}`);
  // no matches kept: the key is left out of a ban row
  const s2 = Store.open(file, { now: () => 1_000_100, dbMaxMatches: 0 });
  s2.addBan(ticket({ id: '192.0.2.11', ip: '192.0.2.11', data: { user: 'x', matches: ['m'] } }));
  s2.close();
  const row = db.prepare("SELECT data FROM bips WHERE ip = '192.0.2.11'").get() as { data: Buffer };
  assert.equal(row.data.toString('utf8'), '{"user":"x","failures":3}');
});
