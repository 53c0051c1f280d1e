/**
 * A store pre-filled with N active bans of one jail (figure 6, and figure 7's "1M bans" case):
 * fail2ban's version-4 schema (moat's store uses the same tables), one `bips` row per address,
 * timeofban within the last hour, bantime 1 day. Both daemons restore from `bips` only, so the
 * history table `bans` is left empty. Addresses come from the seeded PRNG: unique, canonical text
 * (IPv4 dotted quads without leading zeros, IPv6 as 8 non-zero groups, which is already the
 * canonical form), a share of them IPv6.
 */
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR, ensureDir } from './paths.ts';
import { CREATE_SCHEMA, SCHEMA_VERSION } from '../../src/store/schema.ts';
import { Prng } from './prng.ts';

export interface BanDbOptions {
  bans: number;
  jail?: string;
  seed?: number;
  ipv6Ratio?: number;
  /** Seconds (default 86400). */
  bantime?: number;
  /** Epoch seconds the bans are relative to (default now). */
  now?: number;
}

/** `bans` unique addresses, deterministic for a seed. */
export function* banAddresses(bans: number, seed = 20240106, ipv6Ratio = 0.15): Generator<string> {
  const rng = new Prng(seed);
  const seen = new Set<string>();
  const group = () => (1 + Math.floor(rng.next() * 0xffff)).toString(16);
  while (seen.size < bans) {
    let ip: string;
    if (rng.next() < ipv6Ratio) {
      ip = `2a0${1 + Math.floor(rng.next() * 9)}:${group()}:${group()}:${group()}:${group()}:${group()}:${group()}:${group()}`;
    } else {
      // 1.0.0.0 – 223.255.255.255 without 10/8 and 127/8 (keeps the bench's own addresses out)
      let a: number;
      do a = 1 + Math.floor(rng.next() * 223);
      while (a === 10 || a === 127);
      ip = `${a}.${Math.floor(rng.next() * 256)}.${Math.floor(rng.next() * 256)}.${Math.floor(rng.next() * 256)}`;
    }
    if (seen.has(ip)) continue;
    seen.add(ip);
    yield ip;
  }
}

/** Writes a fresh database at `path`; returns how many bans are IPv4 / IPv6. */
export function writeBanDb(path: string, opts: BanDbOptions): { v4: number; v6: number } {
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  const jail = opts.jail ?? 'sshd';
  const bantime = opts.bantime ?? 86400;
  const now = Math.floor(opts.now ?? Date.now() / 1000);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  // indexes after the rows: building them once is much faster than updating them per insert
  const indexes = CREATE_SCHEMA.filter((sql) => sql.startsWith('CREATE INDEX'));
  for (const sql of CREATE_SCHEMA) if (!indexes.includes(sql)) db.exec(sql);
  db.prepare('INSERT INTO fail2banDb(version) VALUES(?)').run(SCHEMA_VERSION);
  db.prepare('INSERT INTO jails(name, enabled) VALUES(?, 1)').run(jail);
  const insert = db.prepare('INSERT INTO bips(ip, jail, timeofban, bantime, bancount, data) VALUES(?, ?, ?, ?, 1, ?)');
  const rng = new Prng((opts.seed ?? 20240106) ^ 0x5bd1e995);
  const data = '{"failures": 3}';
  let v4 = 0;
  let v6 = 0;
  db.transaction(() => {
    for (const ip of banAddresses(opts.bans, opts.seed, opts.ipv6Ratio)) {
      if (ip.includes(':')) v6++;
      else v4++;
      insert.run(ip, jail, now - Math.floor(rng.next() * 3600), bantime, data);
    }
  })();
  for (const sql of indexes) db.exec(sql);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { v4, v6 };
}

const GENERATOR_VERSION = 1;
/** A cached database stays usable while its bans have at least this long left (bantime 1 day). */
const MAX_AGE_S = 6 * 3600;

/**
 * Copies a database with `bans` active bans to `path`: from bench/.cache/ when one of these
 * options was made less than 6 hours ago (so every ban still has ≥ 18 h left), else freshly written.
 */
export function cachedBanDb(path: string, bans: number, seed = 20240106): { v4: number; v6: number; cached: boolean; createdAt: number } {
  const base = join(ensureDir(CACHE_DIR), `bans-g${GENERATOR_VERSION}-${bans}-s${seed}.sqlite3`);
  const meta = `${base}.json`;
  const now = Date.now() / 1000;
  let info: { v4: number; v6: number; createdAt: number } | null = null;
  if (existsSync(base) && existsSync(meta)) {
    info = JSON.parse(readFileSync(meta, 'utf8')) as { v4: number; v6: number; createdAt: number };
    if (now - info.createdAt > MAX_AGE_S || statSync(base).size === 0) info = null;
  }
  const cached = info !== null;
  if (!info) {
    const tmp = `${base}.tmp-${process.pid}`;
    const counts = writeBanDb(tmp, { bans, seed, now });
    renameSync(tmp, base);
    info = { ...counts, createdAt: now };
    writeFileSync(meta, JSON.stringify(info));
  }
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  copyFileSync(base, path);
  return { ...info, cached };
}
