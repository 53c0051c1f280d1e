/**
 * Persistent state of moatd in one SQLite file (better-sqlite3, synchronous):
 * ban history and latest bans (restored at start, used by ban-time increment
 * and the <ipmatches> tags), log read positions and journal cursors (§4.6).
 *
 * Every call is synchronous and short. Log positions and journal cursors
 * change with every read batch, so they are buffered and written together
 * (`flush()`), at most every `flushIntervalSeconds` or when the caller asks
 * (jail stop, close). Open failure tickets of the jails that `trackFailures`
 * registered are written in that same transaction, so the stored counts always
 * match the stored positions, even after a kill -9.
 *
 * Bans are committed before `addBans` returns, unless `writeBehindMs` is set
 * (moatd): then everything — bans included — is buffered and written in one
 * transaction at most `writeBehindMs` after the first buffered change. One
 * transaction per ban cost more than the whole filter at 10k lines/s. Read
 * progress (positions, cursors, failure tickets) may wait longer than bans
 * (`progressWriteMs`): a busy jail changes most of its ticket rows between two
 * flushes, and every flush rewrote every page of the table. A crash loses at
 * most those windows, consistently: the positions go back to before the lines
 * that caused the lost changes, so those lines are read and counted again (a
 * ban written without them is then "already banned").
 * Reads and the other writes of ban rows flush the buffered bans first.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { StoreError } from '../errors.ts';
import { isCanonicalIPv4, parseIp } from '../net/ip.ts';
import type { BanTicket } from '../bans/ticket.ts';
import type { FailTicket } from '../failures/fail-manager.ts';
import type { Family } from '../net/ip.ts';
import { CREATE_SCHEMA, MOAT_TABLES, SCHEMA_VERSION } from './schema.ts';
import { BackgroundCheckpointer, type CheckpointerOptions } from './checkpointer.ts';

type Db = Database.Database;

/**
 * A write-behind timer this late (ms) finds the event loop busy: the flush is tried again in the
 * next timers phase (BUSY_RETRY_MS), which is as late as the work that ran in between.
 */
const BUSY_LATENESS_MS = 20;
const BUSY_RETRY_MS = 1;

export interface StoreOptions {
  /** Matched lines kept per ban row (fail2ban `dbmaxmatches`, default 10; 0 keeps none). */
  dbMaxMatches?: number;
  /** Seconds between automatic flushes of buffered positions/cursors (default 10). */
  flushIntervalSeconds?: number;
  /**
   * Write-behind: buffer every write (bans too) and flush from a timer at most this many ms after
   * the first buffered change (replaces `flushIntervalSeconds`). Timer flush errors go to `log`.
   */
  writeBehindMs?: number;
  /**
   * Write-behind: positions, cursors and failure tickets are written at most this many ms after
   * the first of them changed, with the first flush after that (default: writeBehindMs).
   */
  progressWriteMs?: number;
  /**
   * Run WAL checkpoints (the only fsyncs with synchronous=normal) on a worker thread every this
   * many ms instead of inside a commit on the caller's thread (see checkpointer.ts). File stores only.
   */
  backgroundCheckpointMs?: number;
  /** Checkpoints without anything new after which the worker ends until the next write (default 30). */
  backgroundCheckpointIdleTicks?: number;
  /** SQLite `synchronous` level (default 'normal': durable against a crash of moatd with WAL). */
  synchronous?: 'off' | 'normal' | 'full';
  /** Clock in epoch seconds (tests). */
  now?: () => number;
  /** Where warnings go ("new database created", corrupt file moved aside). */
  log?: (level: 'info' | 'warning' | 'error', message: string) => void;
}

/** What happened to a corrupt database file when opening. */
export interface StoreRecovery {
  /** Where the unreadable file was moved. */
  movedTo: string;
  /** The SQLite error that showed the file was unusable. */
  reason: string;
}

export interface RestoreOptions {
  /** The jail's configured bantime (seconds, -1 permanent). */
  jailBantime: number;
  /** `bantime.increment` of the jail. */
  increment: boolean;
  /** `bantime.maxtime` of the jail (seconds) or null. */
  maxtime?: number | null;
  /** The jail's maxmatches: matches of restored tickets are cut to the last N. */
  maxMatches?: number;
}

/** Open failure tickets changed since the last flush (see `FailManager.drainChanges`). */
export interface FailureChanges {
  upsert: FailTicket[];
  remove: string[];
}

/** Where the store pulls a jail's failure changes from at each flush. */
export interface FailureTracker {
  /** Number of changed tickets waiting (0: nothing to write). */
  readonly pendingChanges: number;
  drainChanges(): FailureChanges;
}

/** Latest ban facts of an IP (one jail, or summed over all jails). */
export interface LastBan {
  banCount: number;
  timeOfBan: number;
  banTime: number;
}

/** Merged history of an IP, for <ipmatches>/<ipjailmatches>/<ipfailures>/<ipjailfailures>. */
export interface BanHistory {
  matches: string[];
  failures: number;
  /** Number of ban rows merged. */
  bans: number;
}

export interface LogPosition {
  /** SHA-1 hex of the file's first line including its newline (fail2ban's `firstlinemd5`). */
  hash: string;
  /** Byte offset after the last fully processed line. */
  pos: number;
}

export interface JournalCursor {
  cursor: string;
  /** Realtime of the entry at the cursor, epoch seconds. */
  time: number;
}

export interface PurgeResult {
  bans: number;
  bips: number;
  jails: number;
}

/** SHA-1 hex of a file's first line (pass it with its newline), as stored in `logs.firstlinemd5`. */
export function firstLineHash(line: string | Buffer): string {
  return createHash('sha1').update(line).digest('hex');
}

/** `file.YYYYmmdd-HHMMSS`, the backup name fail2ban uses; a counter is added if it exists. */
function backupName(file: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp =
    `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-` +
    `${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  let name = `${file}.${stamp}`;
  for (let i = 1; existsSync(name); i++) name = `${file}.${stamp}.${i}`;
  return name;
}

function isCorruptionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'));
}

/**
 * JSON text of a ticket's data with some keys replaced (`undefined` drops a key): the same text as
 * JSON.stringify of `{ ...data, ...overrides }`, and fail2ban's for values JSON has no form for (a
 * set becomes "['a', 'b']"). Written key by key: the copy and JSON.stringify's replacer (a call per
 * value) were the largest costs of a flush of failure tickets.
 */
function dataJson(data: Record<string, unknown>, overrides: Record<string, unknown>): string {
  let out = '{';
  const put = (key: string, value: unknown): void => {
    const text = valueJson(value);
    if (text === undefined) return;
    if (out.length > 1) out += ',';
    out += JSON.stringify(key) + ':' + text;
  };
  for (const key in data) put(key, Object.hasOwn(overrides, key) ? overrides[key] : data[key]);
  for (const key in overrides) if (!Object.hasOwn(data, key)) put(key, overrides[key]);
  return out + '}';
}

/** One value of `dataJson`; undefined when JSON.stringify would leave the key out. */
function valueJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object':
      if (value === null) return 'null';
      if (value instanceof Set) return JSON.stringify(setText(value));
      return Array.isArray(value) ? JSON.stringify(value) : JSON.stringify(value, jsonReplacer);
    default:
      return undefined; // undefined, functions, symbols
  }
}

/** How fail2ban stores a set: Python's repr of a list of strings. */
function setText(set: Set<unknown>): string {
  return `[${[...set].map((v) => `'${String(v)}'`).join(', ')}]`;
}

/** Nested values JSON has no form for, as `valueJson` writes them. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Set) return setText(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function parseData(raw: unknown): Record<string, unknown> {
  if (raw === null || raw === undefined) return {};
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A stored match is a line or a [before, date, after] triple. */
function matchText(m: unknown): string {
  return Array.isArray(m) ? m.map(String).join('') : String(m);
}

function lastN<T>(list: T[], n: number): T[] {
  if (n <= 0) return [];
  return list.length > n ? list.slice(-n) : list;
}

/** A raw `bips` row of `currentBansQuery`: rowid, ip, timeofban, bantime, bancount, data. */
type BipRow = [number, string, number, number, number, unknown];

/** The `bips` rows `currentBans` reads (without ORDER BY), with its arguments. */
function currentBansQuery(
  jail: string,
  now: number,
  opts: RestoreOptions,
  from = 'bips',
  columns = 'rowid AS rid, ip, timeofban, bantime, bancount, data',
): { sql: string; args: (string | number)[] } {
  const forBantime = opts.increment ? null : opts.jailBantime;
  let sql = `SELECT ${columns} FROM ${from} WHERE jail = ? AND (timeofban + bantime > ? OR bantime <= -1)`;
  const args: (string | number)[] = [jail, now];
  if (forBantime !== null && forBantime !== -1) {
    sql += ' AND timeofban > ?';
    args.push(now - forBantime);
  }
  return { sql, args };
}

/** The duration of a restored ban, corrected as fail2ban does (capped, -2 = jail bantime); null when it is over at `now`. */
function restoredBantime(timeofban: number, storedBantime: number, now: number, opts: RestoreOptions): number | null {
  let cap: number | null = opts.increment ? (opts.maxtime ?? null) : opts.jailBantime;
  if (cap !== null && cap < 0) cap = null;
  let bantime = storedBantime;
  if (bantime === -2) bantime = opts.jailBantime; // unknown duration from old fail2ban versions
  else if (cap !== null && (bantime === -1 || bantime > cap)) bantime = cap;
  return bantime !== -1 && timeofban + bantime <= now ? null : bantime;
}

/** One page of `currentBanEnds`: parallel arrays (no object per ban). */
export interface BanEndPage {
  ids: string[];
  /** End of each ban in epoch seconds (Infinity: permanent). */
  ends: number[];
}

/** The last `data` text that held nothing but a failure count (see `restoredTicket`). */
let lastData: { text: string | null; failures: number } = { text: null, failures: 0 };

/** A `bips` row as a restored ticket (bantime corrected as fail2ban does), or null when it is over. */
function restoredTicket(
  jail: string,
  ip: string,
  timeofban: number,
  storedBantime: number,
  bancount: number,
  rawData: unknown,
  now: number,
  opts: RestoreOptions,
): BanTicket | null {
  if (!ip) return null;
  const bantime = restoredBantime(timeofban, storedBantime, now, opts);
  if (bantime === null) return null;
  let data: Record<string, unknown>;
  let storedMatches: string[];
  let failures: number;
  // most rows of a big store carry the same small blob ({"failures": N}): parse that once
  const text = typeof rawData === 'string' ? rawData : null;
  if (text !== null && text === lastData.text) {
    data = {};
    storedMatches = [];
    failures = lastData.failures;
  } else {
    data = parseData(rawData);
    storedMatches = Array.isArray(data.matches) ? data.matches.map(matchText) : [];
    failures = typeof data.failures === 'number' ? data.failures : 0;
    delete data.matches;
    delete data.failures;
    if (text !== null && storedMatches.length === 0 && Object.keys(data).length === 0) lastData = { text, failures };
  }
  // plain dotted quads (what moat stores for IPv4) need no full parse: restores read millions of them
  const family: Family | null = isCanonicalIPv4(ip) ? 'inet4' : (parseIp(ip)?.family ?? null);
  return {
    jail,
    id: ip,
    ip: family ? ip : null,
    family,
    time: timeofban,
    bantime,
    banCount: bancount,
    failures,
    matches: lastN(storedMatches, opts.maxMatches ?? 5),
    data,
    restored: true,
  };
}

/** The rows still active as restored tickets. */
function restoredTickets(jail: string, rows: BipRow[], now: number, opts: RestoreOptions): BanTicket[] {
  const tickets: BanTicket[] = [];
  for (const r of rows) {
    const t = restoredTicket(jail, r[1], r[2], r[3], r[4], r[5], now, opts);
    if (t) tickets.push(t);
  }
  return tickets;
}

export class Store {
  readonly file: string;
  /** Set when the file was unreadable and had to be replaced. */
  readonly recovery: StoreRecovery | null;
  /** True when this open created the schema. */
  readonly created: boolean;

  #db: Db;
  #dbMaxMatches: number;
  #flushInterval: number;
  #now: () => number;
  #log: NonNullable<StoreOptions['log']>;
  #pendingPositions = new Map<string, { jail: string; path: string } & LogPosition>();
  #pendingCursors = new Map<string, JournalCursor>();
  #pendingBans: BanTicket[] = [];
  /** Prolongations, applied after the buffered bans (a ban and its prolongation may share a flush). */
  #pendingBanTimes = new Map<string, { jail: string; ip: string; bantime: number }>();
  #writeBehindMs: number | null;
  #flushTimer: NodeJS.Timeout | null = null;
  /** When #flushTimer fires (performance.now()). */
  #flushDue = 0;
  /**
   * Write-behind delay: writeBehindMs, or 25× the last flush's duration (at most 10× writeBehindMs),
   * so writing takes at most ~4% of the time: heavy traffic or a backlog (journal catch-up) gets
   * fewer, bigger flushes, in which each changed failure ticket and each B-tree page is written once.
   */
  #flushDelayMs = 0;
  /** When the oldest change still buffered was made (performance.now(); 0: nothing buffered). */
  #bufferedSince = 0;
  #progressWriteMs = 0;
  /** When the oldest unwritten position or cursor was set (performance.now(); 0: none). */
  #progressSince = 0;
  /** How to start the WAL checkpoint worker (null: SQLite checkpoints inside commits). */
  #checkpointOpts: CheckpointerOptions | null = null;
  #checkpointer: BackgroundCheckpointer | null = null;
  #failureTrackers = new Map<string, FailureTracker>();
  #lastFlush: number;
  #closed = false;
  #stmt: ReturnType<Store['prepareStatements']>;

  private constructor(file: string, db: Db, created: boolean, recovery: StoreRecovery | null, opts: StoreOptions) {
    this.file = file;
    this.#db = db;
    this.created = created;
    this.recovery = recovery;
    this.#dbMaxMatches = opts.dbMaxMatches ?? 10;
    this.#flushInterval = opts.flushIntervalSeconds ?? 10;
    this.#writeBehindMs = opts.writeBehindMs ?? null;
    this.#flushDelayMs = this.#writeBehindMs ?? 0;
    this.#progressWriteMs = opts.progressWriteMs ?? this.#flushDelayMs;
    this.#now = opts.now ?? (() => Date.now() / 1000);
    this.#log = opts.log ?? (() => {});
    this.#lastFlush = this.#now();
    this.#stmt = this.prepareStatements();
    if (opts.backgroundCheckpointMs && file !== ':memory:') {
      db.pragma('wal_autocheckpoint = 0');
      // the worker starts with the first flush that writes something: an idle daemon has none
      this.#checkpointOpts = {
        file,
        intervalMs: opts.backgroundCheckpointMs,
        ...(opts.backgroundCheckpointIdleTicks ? { idleTicks: opts.backgroundCheckpointIdleTicks } : {}),
        ...(opts.synchronous ? { synchronous: opts.synchronous } : {}),
        onError: (m) => this.#log('error', `Database '${file}': ${m}`),
        onIdle: () => (this.#checkpointer = null),
        onLost: () => {
          // without the worker the WAL would grow without bound
          this.#log('warning', `Database '${file}': checkpoint worker ended; checkpoints run in commits again`);
          this.#checkpointOpts = null;
          this.#checkpointer = null;
          if (!this.#closed) this.#db.pragma('wal_autocheckpoint = 1000');
        },
      };
    }
  }

  /** True while a checkpoint worker runs (tests). */
  get checkpointing(): boolean {
    return this.#checkpointer !== null;
  }

  /** Longest a buffered change waits for its flush (write-behind): 10× writeBehindMs. */
  #maxDelayMs(): number {
    return 10 * (this.#writeBehindMs ?? 0);
  }

  /** Starts the checkpoint worker when there is none (it ends itself when nothing is written). */
  #ensureCheckpointer(): void {
    if (!this.#checkpointOpts || this.#checkpointer || this.#closed) return;
    this.#checkpointer = new BackgroundCheckpointer(this.#checkpointOpts);
  }

  /** Write-behind calls buffer instead of writing: a closed store must refuse them now, not at the next flush. */
  #assertOpen(what: string): void {
    this.#guard(what, () => {});
  }

  /**
   * Opens (or creates) the store. A file SQLite cannot read is moved aside to
   * `file.YYYYmmdd-HHMMSS` and a fresh database is created; `recovery` says so.
   */
  static open(file: string, opts: StoreOptions = {}): Store {
    const log = opts.log ?? (() => {});
    let recovery: StoreRecovery | null = null;
    let opened: { db: Db; created: boolean };
    try {
      opened = openDatabase(file, opts);
    } catch (err) {
      if (!isCorruptionError(err) || file === ':memory:') {
        throw err instanceof StoreError ? err : new StoreError(`Cannot open database '${file}': ${(err as Error).message}`, { cause: err });
      }
      const movedTo = backupName(file, new Date((opts.now?.() ?? Date.now() / 1000) * 1000));
      try {
        renameSync(file, movedTo);
        for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, movedTo + suffix);
      } catch (moveErr) {
        throw new StoreError(`Database '${file}' is corrupt and cannot be moved aside: ${(moveErr as Error).message}`, { cause: moveErr });
      }
      recovery = { movedTo, reason: (err as Error).message };
      log('error', `Database '${file}' is corrupt (${recovery.reason}); moved to '${movedTo}', creating a new one`);
      try {
        opened = openDatabase(file, opts);
      } catch (err2) {
        throw new StoreError(`Cannot create database '${file}': ${(err2 as Error).message}`, { cause: err2 });
      }
    }
    if (opened.created) log('warning', `New database created. Version '${SCHEMA_VERSION}'`);
    return new Store(file, opened.db, opened.created, recovery, opts);
  }

  private prepareStatements() {
    const db = this.#db;
    return {
      // an upsert, not INSERT OR REPLACE: a replace deletes the row and cascades to its log positions
      addJail: db.prepare('INSERT INTO jails(name, enabled) VALUES(?, 1) ON CONFLICT(name) DO UPDATE SET enabled = 1'),
      ensureJail: db.prepare('INSERT OR IGNORE INTO jails(name, enabled) VALUES(?, 1)'),
      disableJail: db.prepare('UPDATE jails SET enabled = 0 WHERE name = ?'),
      insertBan: db.prepare('INSERT INTO bans(jail, ip, timeofban, bantime, bancount, data) VALUES(?, ?, ?, ?, ?, ?)'),
      upsertBip: db.prepare('INSERT OR REPLACE INTO bips(ip, jail, timeofban, bantime, bancount, data) VALUES(?, ?, ?, ?, ?, ?)'),
      setBipBantime: db.prepare('UPDATE bips SET bantime = ? WHERE jail = ? AND ip = ?'),
      lastBanJail: db.prepare('SELECT bancount, timeofban, bantime FROM bips WHERE ip = ? AND jail = ?'),
      lastBanAll: db.prepare(
        'SELECT sum(bancount) AS bancount, max(timeofban) AS timeofban, sum(bantime) AS bantime FROM bips WHERE ip = ? GROUP BY ip',
      ),
      historyJail: db.prepare('SELECT data FROM bans WHERE ip = ? AND jail = ? ORDER BY timeofban'),
      historyAll: db.prepare('SELECT data FROM bans WHERE ip = ? ORDER BY timeofban'),
      getPosition: db.prepare('SELECT firstlinemd5, lastfilepos FROM logs WHERE jail = ? AND path = ?'),
      setPosition: db.prepare('INSERT OR REPLACE INTO logs(jail, path, firstlinemd5, lastfilepos) VALUES(?, ?, ?, ?)'),
      getCursor: db.prepare('SELECT cursor, time FROM journal_cursors WHERE jail = ?'),
      setCursor: db.prepare('INSERT OR REPLACE INTO journal_cursors(jail, cursor, time) VALUES(?, ?, ?)'),
      getFailures: db.prepare('SELECT id, ip, family, firsttime, lasttime, retry, failures, data FROM failures WHERE jail = ?'),
      upsertFailure: db.prepare(
        // an update in place: REPLACE would delete and re-insert the row and its primary-key entry
        'INSERT INTO failures(jail, id, ip, family, firsttime, lasttime, retry, failures, data) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT(jail, id) DO UPDATE SET ip = excluded.ip, family = excluded.family, firsttime = excluded.firsttime, ' +
          'lasttime = excluded.lasttime, retry = excluded.retry, failures = excluded.failures, data = excluded.data',
      ),
      deleteFailure: db.prepare('DELETE FROM failures WHERE jail = ? AND id = ?'),
    };
  }

  #guard<T>(what: string, fn: () => T): T {
    if (this.#closed) throw new StoreError(`Database '${this.file}' is closed (${what})`);
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(`Database '${this.file}': ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Registers (or re-enables) a jail; jails not added since open count as disabled for purge. */
  addJail(name: string): void {
    this.#guard('add jail', () => this.#stmt.addJail.run(name));
  }

  disableJail(name: string): void {
    this.#guard('disable jail', () => this.#stmt.disableJail.run(name));
  }

  #banRow(t: BanTicket): [string, number, number, number, Buffer] {
    const matches = lastN(t.matches, this.#dbMaxMatches);
    const json = Buffer.from(dataJson(t.data, { matches: matches.length ? matches : undefined, failures: t.failures }), 'utf8');
    return [t.id, Math.round(t.time), t.bantime, t.banCount, json];
  }

  /** Records a ban (history row + latest row); committed when this returns. */
  addBan(ticket: BanTicket): void {
    this.addBans([ticket]);
  }

  /** Records many bans in one transaction (write-behind: with the next flush). */
  addBans(tickets: readonly BanTicket[]): void {
    if (!tickets.length) return;
    if (this.#writeBehindMs !== null) {
      this.#assertOpen('add ban');
      for (const t of tickets) this.#pendingBans.push(t);
      this.#scheduleFlush();
      return;
    }
    this.#guard('add ban', () => this.#db.transaction(() => this.#writeBans(tickets))());
  }

  /** Inside a transaction. */
  #writeBans(tickets: readonly BanTicket[]): void {
    const s = this.#stmt;
    let jail: string | null = null;
    for (const t of tickets) {
      if (t.jail !== jail) {
        s.ensureJail.run(t.jail);
        jail = t.jail;
      }
      const [ip, time, bantime, count, data] = this.#banRow(t);
      s.insertBan.run(t.jail, ip, time, bantime, count, data);
      s.upsertBip.run(ip, t.jail, time, bantime, count, data);
    }
  }

  /** Ban rows are read or changed below: buffered bans go first. */
  #flushBans(): void {
    if (this.#pendingBans.length || this.#pendingBanTimes.size) this.flush();
  }

  /** Sets the latest ban's duration (prolongation of an active ban; write-behind: with the next flush). */
  setBanTime(jail: string, ip: string, bantime: number): void {
    if (this.#writeBehindMs !== null) {
      this.#assertOpen('set ban time');
      // every failure of a banned address prolongs: one write per flush, not one commit per line
      this.#pendingBanTimes.set(`${jail}\0${ip}`, { jail, ip, bantime });
      this.#scheduleFlush();
      return;
    }
    this.#guard('set ban time', () => this.#stmt.setBipBantime.run(bantime, jail, ip));
  }

  /**
   * Deletes ban rows (history and latest) of a jail and/or an IP; with no
   * argument, of everything. Returns the number of latest-ban rows removed.
   */
  removeBans(jail?: string | null, ip?: string | null): number {
    this.#flushBans();
    return this.#guard('remove bans', () => {
      const where: string[] = [];
      const args: string[] = [];
      if (jail != null) {
        where.push('jail = ?');
        args.push(jail);
      }
      if (ip != null) {
        where.push('ip = ?');
        args.push(ip);
      }
      const clause = where.length ? ` WHERE ${where.join(' AND ')}` : '';
      return this.#db.transaction(() => {
        this.#db.prepare(`DELETE FROM bans${clause}`).run(...args);
        return this.#db.prepare(`DELETE FROM bips${clause}`).run(...args).changes;
      })();
    });
  }

  /**
   * Bans of a jail still active at `now`, for restore at jail start (§4.6):
   * with increment off only bans younger than the jail bantime, and durations
   * capped to the jail bantime; with increment on capped to `maxtime` if set.
   */
  currentBans(jail: string, now: number, opts: RestoreOptions): BanTicket[] {
    this.#flushBans();
    const q = currentBansQuery(jail, now, opts);
    const rows = this.#guard('read current bans', () => this.#db.prepare(`${q.sql} ORDER BY timeofban, ip`).raw(true).all(...q.args) as BipRow[]);
    return restoredTickets(jail, rows, now, opts);
  }

  /**
   * The same bans as `currentBans`, in pages of at most `pageSize` (in insertion order, not sorted),
   * for restoring a large store while the actions load the first pages. Each page is its own query:
   * between pages the connection is free for other writes (a ban stored meanwhile may show up in a
   * later page; the ban manager skips what it already has).
   */
  *currentBanPages(jail: string, now: number, opts: RestoreOptions, pageSize = 10_000, upTo = Number.MAX_SAFE_INTEGER): Generator<BanTicket[]> {
    this.#flushBans();
    // NOT INDEXED: walk the table by rowid (a range per page); the timeofban index would make every page a full sort
    const q = currentBansQuery(jail, now, opts, 'bips NOT INDEXED');
    // raw rows (arrays): a row object per ban costs more than reading it
    const stmt = this.#guard('read current bans', () => this.#db.prepare(`${q.sql} AND rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?`).raw(true));
    let after = 0;
    for (;;) {
      const rows = this.#guard('read current bans', () => stmt.all(...q.args, after, upTo, pageSize) as BipRow[]);
      if (!rows.length) return;
      after = rows[rows.length - 1]![0];
      const tickets = restoredTickets(jail, rows, now, opts);
      if (tickets.length) yield tickets;
      if (rows.length < pageSize) return;
    }
  }

  /**
   * The ids and ends of the same bans as `currentBanPages`, without tickets: the lean first pass of a
   * restore into nftables (what the kernel needs, as early as possible). `progress.lastRowid` is the
   * last row read: `currentBanPages(..., upTo)` with it reads the same rows again.
   */
  *currentBanEnds(jail: string, now: number, opts: RestoreOptions, pageSize = 10_000, progress: { lastRowid: number } = { lastRowid: 0 }): Generator<BanEndPage> {
    this.#flushBans();
    const q = currentBansQuery(jail, now, opts, 'bips NOT INDEXED', 'rowid AS rid, ip, timeofban, bantime');
    const stmt = this.#guard('read current bans', () => this.#db.prepare(`${q.sql} AND rowid > ? ORDER BY rowid LIMIT ?`).raw(true));
    for (;;) {
      const rows = this.#guard('read current bans', () => stmt.all(...q.args, progress.lastRowid, pageSize) as [number, string, number, number][]);
      if (!rows.length) return;
      progress.lastRowid = rows[rows.length - 1]![0];
      const ids: string[] = [];
      const ends: number[] = [];
      for (const r of rows) {
        const bantime = r[1] ? restoredBantime(r[2], r[3], now, opts) : null;
        if (bantime === null) continue;
        ids.push(r[1]);
        ends.push(bantime < 0 ? Infinity : r[2] + bantime);
      }
      if (ids.length) yield { ids, ends };
      if (rows.length < pageSize) return;
    }
  }

  /**
   * Latest ban of `ip` in `jail`, or summed over all jails (bantime.overalljails:
   * bancount and bantime summed, latest timeofban). Null when never banned.
   */
  lastBan(ip: string, jail: string | null): LastBan | null {
    this.#flushBans();
    const row = this.#guard('read ban', () =>
      jail === null ? this.#stmt.lastBanAll.get(ip) : this.#stmt.lastBanJail.get(ip, jail),
    ) as { bancount: number; timeofban: number; bantime: number } | undefined;
    if (!row || row.bancount == null) return null;
    return { banCount: row.bancount, timeOfBan: row.timeofban, banTime: row.bantime };
  }

  /** All ban rows of `ip` (of one jail, or all) merged: matches in time order (last dbmaxmatches), failures summed. */
  banHistory(ip: string, jail: string | null = null): BanHistory {
    this.#flushBans();
    const rows = this.#guard('read ban history', () =>
      jail === null ? this.#stmt.historyAll.all(ip) : this.#stmt.historyJail.all(ip, jail),
    ) as { data: unknown }[];
    let matches: string[] = [];
    let failures = 0;
    for (const row of rows) {
      const data = parseData(row.data);
      if (Array.isArray(data.matches)) matches = matches.concat(data.matches.map(matchText));
      if (typeof data.failures === 'number') failures += data.failures;
    }
    return { matches: lastN(matches, this.#dbMaxMatches), failures, bans: rows.length };
  }

  /** Stored read position of a log file (buffered value first). */
  getLogPosition(jail: string, path: string): LogPosition | null {
    const pending = this.#pendingPositions.get(`${jail}\0${path}`);
    if (pending) return { hash: pending.hash, pos: pending.pos };
    const row = this.#guard('read log position', () => this.#stmt.getPosition.get(jail, path)) as
      | { firstlinemd5: string | null; lastfilepos: number | null }
      | undefined;
    if (!row) return null;
    return { hash: row.firstlinemd5 ?? '', pos: row.lastfilepos ?? 0 };
  }

  /** Buffers a read position; written by `flush()` (automatically every flushIntervalSeconds). */
  setLogPosition(jail: string, path: string, hash: string, pos: number): void {
    this.#pendingPositions.set(`${jail}\0${path}`, { jail, path, hash, pos });
    this.#maybeFlush();
  }

  getJournalCursor(jail: string): JournalCursor | null {
    const pending = this.#pendingCursors.get(jail);
    if (pending) return { ...pending };
    const row = this.#guard('read journal cursor', () => this.#stmt.getCursor.get(jail)) as JournalCursor | undefined;
    return row ? { cursor: row.cursor, time: row.time } : null;
  }

  /** Buffers a journal cursor, like `setLogPosition`. */
  setJournalCursor(jail: string, cursor: string, time: number): void {
    this.#pendingCursors.set(jail, { cursor, time });
    this.#maybeFlush();
  }

  #maybeFlush(): void {
    if (this.#writeBehindMs !== null) {
      if (!this.#progressSince) this.#progressSince = performance.now();
      this.#scheduleFlush();
    } else if (this.#now() - this.#lastFlush >= this.#flushInterval) this.flush();
  }

  /**
   * Write-behind: one timer for all buffered changes, due writeBehindMs after the first buffered
   * ban, or progressWriteMs after the first buffered position or cursor (a ban brings a timer
   * set for progress forward). A timer that fires late means the event loop is busy with a burst
   * of lines: the flush waits for a turn that leaves the loop idle, so it does not stall the bans
   * of the burst, but never longer than until the oldest buffered change is 10× writeBehindMs old.
   */
  #scheduleFlush(delayMs = this.#flushDelayMs): void {
    if (this.#closed) return;
    const now = performance.now();
    if (!this.#bufferedSince) this.#bufferedSince = now;
    if (!this.#bansPending() && this.#progressSince) delayMs = Math.max(delayMs, this.#progressSince + this.#progressWriteMs - now);
    const due = now + delayMs;
    if (this.#flushTimer) {
      if (due >= this.#flushDue) return;
      clearTimeout(this.#flushTimer);
    }
    this.#flushDue = due;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      const fired = performance.now();
      if (fired - due > BUSY_LATENESS_MS && fired - this.#bufferedSince < this.#maxDelayMs()) {
        this.#scheduleFlush(BUSY_RETRY_MS);
        return;
      }
      try {
        this.#write(!this.#progressSince || fired - this.#progressSince >= this.#progressWriteMs);
      } catch (e) {
        // bans, positions and cursors stay buffered for the next try (drained failure changes do not)
        this.#log('error', (e as Error).message);
        this.#scheduleFlush(5000); // a broken disk gets one error line per 5 s, not ten per second
        return;
      }
      if (this.#progressSince) this.#scheduleFlush(); // bans were due, progress is not yet
    }, delayMs);
    this.#flushTimer.unref();
  }

  #bansPending(): boolean {
    return this.#pendingBans.length > 0 || this.#pendingBanTimes.size > 0;
  }

  /**
   * Open failure tickets of a jail as last flushed (restored at jail start).
   * Tickets whose last failure is older than `since` are left out.
   */
  loadFailures(jail: string, since: number): FailTicket[] {
    const rows = this.#guard('read failures', () => this.#stmt.getFailures.all(jail)) as {
      id: string;
      ip: string | null;
      family: string | null;
      firsttime: number;
      lasttime: number;
      retry: number;
      failures: number;
      data: unknown;
    }[];
    const out: FailTicket[] = [];
    for (const r of rows) {
      if (r.lasttime <= since) continue;
      const data = parseData(r.data);
      const matches = Array.isArray(data.matches) ? data.matches.map(matchText) : [];
      delete data.matches;
      out.push({
        id: r.id,
        ip: r.ip,
        family: r.family === 'inet4' || r.family === 'inet6' ? (r.family as Family) : null,
        firstTime: r.firsttime,
        lastTime: r.lasttime,
        retry: r.retry,
        failures: r.failures,
        matches,
        data,
      });
    }
    return out;
  }

  /** From now on every flush writes this jail's failure changes. */
  trackFailures(jail: string, tracker: FailureTracker): void {
    this.#failureTrackers.set(jail, tracker);
  }

  /** Stops tracking (only if `tracker` is still the one registered for the jail). */
  untrackFailures(jail: string, tracker: FailureTracker): void {
    if (this.#failureTrackers.get(jail) === tracker) this.#failureTrackers.delete(jail);
  }

  /** Number of buffered bans/prolongations/positions/cursors/failure changes not yet written. */
  get pendingWrites(): number {
    let n = this.#pendingPositions.size + this.#pendingCursors.size + this.#pendingBans.length + this.#pendingBanTimes.size;
    for (const t of this.#failureTrackers.values()) n += t.pendingChanges;
    return n;
  }

  /** Writes buffered bans and prolongations, log positions, journal cursors and failure changes in one transaction. */
  flush(): void {
    this.#write(true);
  }

  /** `flush`; without `progress` only the bans and prolongations (positions, cursors and failures stay buffered). */
  #write(progress: boolean): void {
    this.#lastFlush = this.#now();
    if (this.#flushTimer) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = null;
    }
    if (progress) this.#progressSince = 0;
    this.#bufferedSince = this.#progressSince;
    if (!this.pendingWrites) return;
    const started = performance.now();
    const bans = this.#pendingBans;
    const banTimes = [...this.#pendingBanTimes.values()];
    const positions = progress ? [...this.#pendingPositions.values()] : [];
    const cursors = progress ? [...this.#pendingCursors.entries()] : [];
    const failures: [string, FailureChanges][] = [];
    if (progress) for (const [jail, t] of this.#failureTrackers) if (t.pendingChanges) failures.push([jail, t.drainChanges()]);
    this.#guard('write positions', () => {
      const s = this.#stmt;
      this.#db.transaction(() => {
        this.#writeBans(bans);
        for (const b of banTimes) s.setBipBantime.run(b.bantime, b.jail, b.ip);
        for (const p of positions) {
          s.ensureJail.run(p.jail);
          s.setPosition.run(p.jail, p.path, p.hash, p.pos);
        }
        for (const [jail, c] of cursors) {
          s.ensureJail.run(jail);
          s.setCursor.run(jail, c.cursor, c.time);
        }
        for (const [jail, ch] of failures) {
          s.ensureJail.run(jail);
          for (const id of ch.remove) s.deleteFailure.run(jail, id);
          for (const t of ch.upsert) {
            // matches capped like a ban row's (dbmaxmatches): a huge maxretry must not make every flush rewrite them all
            const json = dataJson(t.data, { matches: lastN(t.matches, this.#dbMaxMatches) });
            s.upsertFailure.run(jail, t.id, t.ip, t.family, t.firstTime, t.lastTime, t.retry, t.failures, json);
          }
        }
      })();
    });
    if (bans.length) this.#pendingBans = [];
    this.#pendingBanTimes.clear();
    if (progress) {
      this.#pendingPositions.clear();
      this.#pendingCursors.clear();
    }
    this.#ensureCheckpointer();
    if (this.#writeBehindMs !== null) {
      const base = this.#writeBehindMs;
      this.#flushDelayMs = Math.min(this.#maxDelayMs(), Math.max(base, Math.round(25 * (performance.now() - started))));
    }
  }

  /**
   * Deletes old rows (§4.6): ban history older than `purgeAge` seconds, latest
   * bans that ended long ago (not permanent, timeofban + 3×bantime before the
   * cut-off), disabled jails without rows; then gives free pages back to the
   * file system so the file does not grow without bound.
   */
  purge(purgeAge: number, now: number = this.#now()): PurgeResult {
    this.#flushBans();
    const cut = now - purgeAge;
    const result = this.#guard('purge', () =>
      this.#db.transaction(() => {
        const bans = this.#db.prepare('DELETE FROM bans WHERE timeofban < ?').run(cut).changes;
        this.#db.prepare('DELETE FROM failures WHERE lasttime < ?').run(cut);
        const bips = this.#db
          .prepare('DELETE FROM bips WHERE timeofban < ? AND bantime != -1 AND timeofban + 3 * bantime < ?')
          .run(cut, cut).changes;
        const jails = this.#db
          .prepare(
            `DELETE FROM jails WHERE enabled = 0
               AND NOT EXISTS (SELECT 1 FROM bans WHERE bans.jail = jails.name)
               AND NOT EXISTS (SELECT 1 FROM bips WHERE bips.jail = jails.name)`,
          )
          .run().changes;
        return { bans, bips, jails };
      })(),
    );
    this.compact();
    return result;
  }

  /**
   * Returns free pages to the file system: incremental vacuum when the file
   * was created by moat (auto_vacuum = INCREMENTAL), a full VACUUM otherwise
   * when more than a quarter of the file is free; then the WAL is truncated.
   */
  compact(): void {
    this.#guard('compact', () => {
      const autoVacuum = this.#db.pragma('auto_vacuum', { simple: true }) as number;
      if (autoVacuum === 2) this.#db.pragma('incremental_vacuum');
      else {
        const free = this.#db.pragma('freelist_count', { simple: true }) as number;
        const pages = this.#db.pragma('page_count', { simple: true }) as number;
        if (free > 0 && free * 4 > pages) this.#db.exec('VACUUM');
      }
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    });
  }

  /** Flushes buffered writes and closes the file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#checkpointer?.close();
    try {
      this.flush();
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.#closed = true;
      this.#db.close();
    }
  }
}

function openDatabase(file: string, opts: StoreOptions): { db: Db; created: boolean } {
  const db = new Database(file);
  try {
    // Reading the journal mode is the first access to the file: a non-database fails here.
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${(opts.synchronous ?? 'normal').toUpperCase()}`);
    db.pragma('foreign_keys = ON');
    db.pragma('temp_store = MEMORY');
    const hasVersion = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fail2banDb'").get();
    let created = false;
    if (!hasVersion) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (tables.n > 0) throw new StoreError(`Database '${file}' is not a moat/fail2ban database (no version table)`);
      // auto_vacuum must be chosen before the first table exists.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.transaction(() => {
        for (const sql of CREATE_SCHEMA) db.exec(sql);
        db.prepare('INSERT INTO fail2banDb(version) VALUES(?)').run(SCHEMA_VERSION);
      })();
      created = true;
    } else {
      const row = db.prepare('SELECT version FROM fail2banDb LIMIT 1').get() as { version: number } | undefined;
      const version = row?.version;
      if (version !== SCHEMA_VERSION) {
        throw new StoreError(
          `Database '${file}' has version ${String(version)}; only version ${SCHEMA_VERSION} is supported ` +
            `(open it once with fail2ban ≥ 0.11 to upgrade it)`,
        );
      }
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') {
        const err = new Error(`integrity check failed: ${String(check)}`) as Error & { code: string };
        err.code = 'SQLITE_CORRUPT';
        throw err;
      }
      // moat's own tables, absent from fail2ban files.
      for (const sql of CREATE_SCHEMA) if (MOAT_TABLES.some((t) => sql.includes(`EXISTS ${t}(`))) db.exec(sql);
      // Every jail is disabled until the server adds it again (purge drops disabled jails without rows).
      db.prepare('UPDATE jails SET enabled = 0').run();
    }
    return { db, created };
  } catch (err) {
    db.close();
    throw err;
  }
}
