/**
 * The restore of stored bans at start (§4.6), page by page: every ban reaches the ban list and every
 * action that runs a command per ticket, an action whose ban command is empty gets no per-ticket
 * work, and the native nftables restore falls back to bans one by one when its one transaction fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/store/index.ts';
import type { BanTicket } from '../../src/bans/ticket.ts';
import { createDaemonEnv, readOr, waitFor } from './harness.ts';
import { nftSetElements } from '../helpers/nft.ts';

const skipNetns = process.env.MOAT_SKIP_NETNS === '1';

function ticket(id: string, time: number, bantime: number): BanTicket {
  return { jail: 'sshd', id, ip: id, family: id.includes(':') ? 'inet6' : 'inet4', time, bantime, banCount: 1, failures: 3, matches: [], data: {}, restored: false };
}

/** Writes `tickets` as the store's active bans of jail sshd. */
function storeBans(file: string, tickets: BanTicket[]): void {
  const s = Store.open(file);
  try {
    s.addJail('sshd');
    s.addBans(tickets);
    s.flush();
  } finally {
    s.close();
  }
}

function addresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
}

test('restore of a store bigger than a page: complete ban list, every ticket to the shell action, the empty one only started', async () => {
  const e = createDaemonEnv('restore-paged');
  try {
    const n = 4500; // more than two pages of the jail's restore
    const now = Math.floor(Date.now() / 1000);
    const ips = addresses(n);
    storeBans(e.db, ips.map((ip) => ticket(ip, now - 60, 3600)));
    const count = join(e.dir, 'count');
    const noopStart = join(e.dir, 'noop-start');
    // an action with no ban command (its start records that it ran), and one that logs each ban
    writeFileSync(join(e.conf, 'action.d', 't-noop.conf'), `[Definition]\nactionstart = echo started >> ${noopStart}\n`);
    writeFileSync(join(e.conf, 'action.d', 't-count.conf'), `[Definition]\nactionban = echo <ip> >> ${count}\n`);
    const auth = join(e.dir, 'auth.log');
    writeFileSync(auth, '');
    e.jailLocal(`[sshd]\nenabled = true\nbackend = polling\nlogpath = ${auth}\nbantime = 1h\naction = t-noop\n         t-count\n`);
    await e.start();
    await waitFor(`${n} bans in the ban list`, () => /Currently banned:\t4500\n/.test(e.moat(['status', 'sshd']).stdout), 60_000, () => e.moat(['status', 'sshd']).stdout);
    const banned = await waitFor(`${n} ban commands`, () => {
      const lines = readOr(count).split('\n').filter(Boolean);
      return lines.length >= n ? lines : null;
    }, 120_000, () => `${readOr(count).split('\n').length} lines`);
    assert.equal(banned!.length, n, 'each restored ban ran the ban command once');
    assert.deepEqual(new Set(banned!), new Set(ips));
    assert.equal(readOr(noopStart), 'started\n', 'the empty action was started once');
    const log = e.log();
    assert.match(log, /Restore Ban 10\.0\.0\.0\n/);
    assert.match(log, /Restore Ban 10\.0\.17\.147\n/); // the last address
    assert.doesNotMatch(log, /Failed to execute ban/);
  } finally {
    await e.cleanup();
  }
});

test('native nftables restore: when the one transaction fails, the bans go in one by one', { skip: skipNetns }, async () => {
  const ns = `moat-rf-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  assert.equal(add.status, 0, `cannot create a network namespace (set MOAT_SKIP_NETNS=1 to skip): ${add.stderr}`);
  const e = createDaemonEnv('restore-fallback');
  try {
    spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    const now = Math.floor(Date.now() / 1000);
    const good = addresses(300).map((ip) => ip.replace(/^10\./, '198.'));
    // a ban of 20 years: its element timeout goes to nft in days (nft refuses 10^8 plain seconds)
    const long = '203.0.113.77';
    storeBans(e.db, [...good.map((ip) => ticket(ip, now - 60, 3600)), ticket(long, now - 60, 630_720_000)]);
    const auth = join(e.dir, 'auth.log');
    writeFileSync(auth, '');
    e.jailLocal(`[sshd]\nenabled = true\nbackend = polling\nlogpath = ${auth}\nbantime = 630720000\nbanaction = nftables-multiport\nbanaction_allports = nftables-allports\n`);
    // fault injection: an `nft` first in PATH refuses any script holding the restore's first address
    // (the one-transaction restore); everything else, `nft -i` included, goes to the real nft
    const realNft = spawnSync('sh', ['-c', 'command -v nft'], { encoding: 'utf8' }).stdout.trim();
    assert.ok(realNft, 'nft not found');
    const fakeBin = join(e.dir, 'fake-bin');
    mkdirSync(fakeBin);
    writeFileSync(
      join(fakeBin, 'nft'),
      `#!/bin/sh\nif [ "$1" = "-f" ]; then\n  script=$(cat)\n  case "$script" in *"${good[0]} timeout"*) echo "Error: injected failure" >&2; exit 1;; esac\n  printf '%s\\n' "$script" | exec ${realNft} "$@"\nfi\nexec ${realNft} "$@"\n`,
      { mode: 0o755 },
    );
    await e.start(['ip', 'netns', 'exec', ns, 'env', `PATH=${fakeBin}:${process.env.PATH}`]);
    await waitFor('the transaction failure logged', () => /Failed to restore bans of jail 'sshd' with action '[^']+' in one transaction/.test(e.log()), 60_000, () => e.log());
    const elements = await waitFor('all bans in the kernel set, one by one', () => {
      const el = nftSetElements(['ip', 'netns', 'exec', ns], 'addr-set-sshd');
      return el && [...good, long].every((ip) => el.includes(ip)) ? el : null;
    }, 60_000, () => e.log());
    assert.equal(elements!.length, 301);
    assert.match(e.moat(['status', 'sshd']).stdout, /Currently banned:\t301\n/);
  } finally {
    await e.cleanup();
    spawnSync('ip', ['netns', 'del', ns]);
  }
});
