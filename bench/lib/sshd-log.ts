/**
 * Deterministic sshd auth.log generator. The same options always produce the same bytes, so
 * figures measured on different days or machines used the same input.
 *
 * The mix follows a real internet-facing host: about half the lines are authentication failures
 * (wrong passwords, unknown users, PAM failures, too many attempts) from a pool of attacker
 * addresses (IPv4 and IPv6, a few heavy hitters and a long tail); the rest is ordinary traffic
 * (accepted logins, PAM sessions, disconnects, pre-auth closes, scanners) plus CRON and logind
 * noise. Timestamps are classic syslog dates ("Jan  5 00:00:01") that only move forward.
 */
import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from './prng.ts';
import { CACHE_DIR, ensureDir } from './paths.ts';

export interface SshdLogOptions {
  /** Number of lines to write. */
  lines: number;
  /** PRNG seed. */
  seed?: number;
  /** Distinct attacker addresses. */
  attackers?: number;
  /** Share of lines that are authentication failures, 0..1. */
  failureRatio?: number;
  /** Share of attacker addresses that are IPv6, 0..1. */
  ipv6Ratio?: number;
  /** Host name in the syslog prefix. */
  host?: string;
}

export interface SshdLogInfo {
  path: string;
  lines: number;
  bytes: number;
  options: Required<SshdLogOptions>;
  /** True when the file came from the cache rather than being generated now. */
  cached: boolean;
}

const DEFAULTS: Required<Omit<SshdLogOptions, 'lines'>> = {
  seed: 20240105,
  attackers: 5000,
  failureRatio: 0.5,
  ipv6Ratio: 0.15,
  host: 'bench-host',
};

/** Bump when the generated text changes, so cached logs from an older generator are not reused. */
const GENERATOR_VERSION = 1;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const BAD_USERS = ['root', 'admin', 'test', 'user', 'oracle', 'ubuntu', 'postgres', 'git', 'ftpuser', 'guest',
  'pi', 'support', 'deploy', 'jenkins', 'hadoop', 'mysql', 'www-data', 'nagios', 'steam', 'minecraft'];
const GOOD_USERS = ['alice', 'bob', 'carol', 'deploy', 'backup'];
const KEX_OFFERS = ['diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1'];
const CRON_CMDS = ['command -v debian-sa1 > /dev/null && debian-sa1 1 1', '[ -x /usr/lib/php/sessionclean ] && /usr/lib/php/sessionclean',
  'cd / && run-parts --report /etc/cron.hourly'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Syslog date "Mmm dd HH:MM:SS" (day padded with a space) of a UTC epoch second. */
function syslogDate(t: number): string {
  const d = new Date(t * 1000);
  const day = d.getUTCDate();
  return `${MONTHS[d.getUTCMonth()]} ${day < 10 ? ` ${day}` : day} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

function hex4(rng: Prng): string {
  return rng.int(0, 0xffff).toString(16);
}

function attackerPool(rng: Prng, n: number, ipv6Ratio: number): string[] {
  const pool: string[] = [];
  const seen = new Set<string>();
  while (pool.length < n) {
    let ip: string;
    if (rng.next() < ipv6Ratio) {
      ip = `2001:db8:${hex4(rng)}:${hex4(rng)}::${hex4(rng)}`;
    } else {
      let a = rng.int(1, 223);
      if (a === 10 || a === 127) a = 45;
      ip = `${a}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    }
    if (!seen.has(ip)) {
      seen.add(ip);
      pool.push(ip);
    }
  }
  return pool;
}

/** Yields the log's lines (without newline) one by one. */
export function* sshdLogLines(opts: SshdLogOptions): Generator<string> {
  const o = { ...DEFAULTS, ...opts };
  const rng = new Prng(o.seed);
  const attackers = attackerPool(rng, o.attackers, o.ipv6Ratio);
  const legit = ['198.51.100.7', '198.51.100.23', '2001:db8:feed::10', '192.0.2.44'];
  // 2024-01-05 00:00:00 UTC; lines advance by 0-2 s, so 1M lines span about 12 days.
  let t = Date.UTC(2024, 0, 5) / 1000;
  let pid = 1000;
  let session = 100;
  for (let i = 0; i < o.lines; i++) {
    if (rng.next() < 0.5) t += rng.int(1, 3) - 1;
    const prefix = `${syslogDate(t)} ${o.host} `;
    if (rng.next() < 0.5) pid = pid >= 65000 ? 1000 : pid + rng.int(1, 40);
    const sshd = `${prefix}sshd[${pid}]: `;
    const port = rng.int(1024, 65535);
    if (rng.next() < o.failureRatio) {
      const ip = attackers[rng.skewedIndex(attackers.length)]!;
      const user = rng.pick(BAD_USERS);
      const r = rng.next();
      if (r < 0.34) yield `${sshd}Failed password for ${user} from ${ip} port ${port} ssh2`;
      else if (r < 0.56) yield `${sshd}Invalid user ${user} from ${ip} port ${port}`;
      else if (r < 0.78) yield `${sshd}Failed password for invalid user ${user} from ${ip} port ${port} ssh2`;
      else if (r < 0.94)
        yield `${sshd}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=${user}`;
      else yield `${sshd}error: maximum authentication attempts exceeded for ${user} from ${ip} port ${port} ssh2 [preauth]`;
      continue;
    }
    const r = rng.next();
    if (r < 0.3) {
      // Tail of an attacker's connection or a scanner: not a failure in normal mode.
      const ip = attackers[rng.skewedIndex(attackers.length)]!;
      const s = rng.next();
      if (s < 0.35) yield `${sshd}Connection closed by ${ip} port ${port} [preauth]`;
      else if (s < 0.6) yield `${sshd}Received disconnect from ${ip} port ${port}:11: Bye Bye [preauth]`;
      else if (s < 0.75) yield `${sshd}Disconnected from invalid user ${rng.pick(BAD_USERS)} ${ip} port ${port} [preauth]`;
      else if (s < 0.85) yield `${sshd}Connection closed by authenticating user root ${ip} port ${port} [preauth]`;
      else if (s < 0.93)
        yield `${sshd}Unable to negotiate with ${ip} port ${port}: no matching key exchange method found. Their offer: ${rng.pick(KEX_OFFERS)} [preauth]`;
      else yield `${sshd}Did not receive identification string from ${ip} port ${port}`;
    } else if (r < 0.7) {
      const ip = rng.pick(legit);
      const user = rng.pick(GOOD_USERS);
      const s = rng.next();
      if (s < 0.2) yield `${sshd}Accepted publickey for ${user} from ${ip} port ${port} ssh2: ED25519 SHA256:Hc0xWq3p7Vd2Jm9bLr5sT8uY1kN4fG6hZ0aE2cB7dXw`;
      else if (s < 0.3) yield `${sshd}Accepted password for ${user} from ${ip} port ${port} ssh2`;
      else if (s < 0.55) yield `${sshd}pam_unix(sshd:session): session opened for user ${user}(uid=${1000 + GOOD_USERS.indexOf(user)}) by (uid=0)`;
      else if (s < 0.75) yield `${sshd}pam_unix(sshd:session): session closed for user ${user}`;
      else if (s < 0.88) yield `${sshd}Received disconnect from ${ip} port ${port}:11: disconnected by user`;
      else yield `${sshd}Disconnected from user ${user} ${ip} port ${port}`;
    } else if (r < 0.9) {
      const cronPid = rng.int(2000, 60000);
      const s = rng.next();
      if (s < 0.4) yield `${prefix}CRON[${cronPid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)`;
      else if (s < 0.7) yield `${prefix}CRON[${cronPid}]: (root) CMD (${rng.pick(CRON_CMDS)})`;
      else yield `${prefix}CRON[${cronPid}]: pam_unix(cron:session): session closed for user root`;
    } else {
      session++;
      const user = rng.pick(GOOD_USERS);
      const s = rng.next();
      if (s < 0.5) yield `${prefix}systemd-logind[412]: New session ${session} of user ${user}.`;
      else if (s < 0.9) yield `${prefix}systemd-logind[412]: Session ${session - 3} logged out. Waiting for processes to exit.`;
      else yield `${prefix}systemd-logind[412]: Removed session ${session - 3}.`;
    }
  }
}

/** Writes the log to `path` (through a temporary file, so a killed run never leaves half a log). */
export function writeSshdLog(path: string, opts: SshdLogOptions): number {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let bytes = 0;
  let batch: string[] = [];
  try {
    for (const line of sshdLogLines(opts)) {
      batch.push(line);
      if (batch.length === 8192) {
        const text = batch.join('\n') + '\n';
        bytes += writeSync(fd, text);
        batch = [];
      }
    }
    if (batch.length) bytes += writeSync(fd, batch.join('\n') + '\n');
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return bytes;
}

/** The log for these options from bench/.cache/, generated on first use. */
export function cachedSshdLog(opts: SshdLogOptions): SshdLogInfo {
  const o = { ...DEFAULTS, ...opts };
  const name = `sshd-g${GENERATOR_VERSION}-${o.lines}-s${o.seed}-a${o.attackers}-f${o.failureRatio}-v6${o.ipv6Ratio}.log`;
  const path = join(ensureDir(CACHE_DIR), name);
  const cached = existsSync(path);
  const bytes = cached ? statSync(path).size : writeSshdLog(path, o);
  return { path, lines: o.lines, bytes, options: o, cached };
}
