/**
 * SQLite schema of the moat store. Tables and columns follow fail2ban's
 * version-4 database (§4.6) so a fail2ban.sqlite3 can be read and the
 * semantics (bans = history, bips = latest ban per ip+jail, logs = read
 * positions) stay the same. moat's additions (MOAT_TABLES): `journal_cursors`,
 * the systemd journal cursor per jail (fail2ban abused a pseudo log path for
 * this), and `failures`, the open failure tickets per jail, written in the same
 * transaction as the read positions so a restart continues counting exactly
 * where the positions say reading stopped (fail2ban forgets them).
 */

export const SCHEMA_VERSION = 4;

/** Statements run once on a fresh database, in order. */
export const CREATE_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS fail2banDb(version INTEGER)`,
  `CREATE TABLE IF NOT EXISTS jails(
     name TEXT NOT NULL UNIQUE,
     enabled INTEGER NOT NULL DEFAULT 1)`,
  `CREATE INDEX IF NOT EXISTS jails_name ON jails(name)`,
  `CREATE TABLE IF NOT EXISTS logs(
     jail TEXT NOT NULL,
     path TEXT,
     firstlinemd5 TEXT,
     lastfilepos INTEGER DEFAULT 0,
     FOREIGN KEY(jail) REFERENCES jails(name) ON DELETE CASCADE,
     UNIQUE(jail, path),
     UNIQUE(jail, path, firstlinemd5))`,
  `CREATE INDEX IF NOT EXISTS logs_path ON logs(path)`,
  `CREATE INDEX IF NOT EXISTS logs_jail_path ON logs(jail, path)`,
  `CREATE TABLE IF NOT EXISTS bans(
     jail TEXT NOT NULL,
     ip TEXT,
     timeofban INTEGER NOT NULL,
     bantime INTEGER NOT NULL,
     bancount INTEGER NOT NULL default 1,
     data JSON,
     FOREIGN KEY(jail) REFERENCES jails(name))`,
  `CREATE INDEX IF NOT EXISTS bans_jail_timeofban_ip ON bans(jail, timeofban)`,
  `CREATE INDEX IF NOT EXISTS bans_jail_ip ON bans(jail, ip)`,
  `CREATE INDEX IF NOT EXISTS bans_ip ON bans(ip)`,
  `CREATE TABLE IF NOT EXISTS bips(
     ip TEXT NOT NULL,
     jail TEXT NOT NULL,
     timeofban INTEGER NOT NULL,
     bantime INTEGER NOT NULL,
     bancount INTEGER NOT NULL default 1,
     data JSON,
     PRIMARY KEY(ip, jail),
     FOREIGN KEY(jail) REFERENCES jails(name))`,
  `CREATE INDEX IF NOT EXISTS bips_timeofban ON bips(timeofban)`,
  `CREATE INDEX IF NOT EXISTS bips_ip ON bips(ip)`,
  `CREATE TABLE IF NOT EXISTS journal_cursors(
     jail TEXT NOT NULL PRIMARY KEY,
     cursor TEXT NOT NULL,
     time REAL NOT NULL,
     FOREIGN KEY(jail) REFERENCES jails(name) ON DELETE CASCADE)`,
  `CREATE TABLE IF NOT EXISTS failures(
     jail TEXT NOT NULL,
     id TEXT NOT NULL,
     ip TEXT,
     family TEXT,
     firsttime REAL NOT NULL,
     lasttime REAL NOT NULL,
     retry REAL NOT NULL,
     failures INTEGER NOT NULL,
     data JSON,
     PRIMARY KEY(jail, id),
     FOREIGN KEY(jail) REFERENCES jails(name) ON DELETE CASCADE)`,
];

/** Tables fail2ban's files do not have; created when moat opens such a file. */
export const MOAT_TABLES: readonly string[] = ['journal_cursors', 'failures'];
