/**
 * moatd with the stock nftables-multiport banaction, served by the native nft backend, for real
 * inside a network namespace this test creates (never the host's firewall).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { append, createDaemonEnv, sshFail, waitFor, type DaemonEnv } from './harness.ts';
import { nftSetElements } from '../helpers/nft.ts';

const skip = process.env.MOAT_SKIP_NETNS === '1';

function run(argv: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Addresses in an nft set of the namespace (null when the set or the table does not exist). */
const setElements = (ns: string, set: string) => nftSetElements(['ip', 'netns', 'exec', ns], set);

/**
 * Runs `body` with a network namespace `NAME-PID` (lo up) and a daemon env whose `[sshd]` jail reads
 * `auth` (empty) with the stock nftables banactions plus `options`; both are removed afterwards.
 */
async function withNftDaemon(
  name: string,
  tag: string,
  options: string,
  body: (s: { ns: string; inNs: string[]; e: DaemonEnv; auth: string }) => Promise<void>,
): Promise<void> {
  const ns = `${name}-${process.pid}`;
  const add = run(['ip', 'netns', 'add', ns]);
  assert.equal(add.code, 0, `cannot create a network namespace (set MOAT_SKIP_NETNS=1 to skip): ${add.stderr}`);
  const e = createDaemonEnv(tag);
  const inNs = ['ip', 'netns', 'exec', ns];
  try {
    run([...inNs, 'ip', 'link', 'set', 'lo', 'up']);
    const auth = join(e.dir, 'auth.log');
    writeFileSync(auth, '');
    e.jailLocal(
      `[sshd]\nenabled = true\nbackend = polling\nlogpath = ${auth}\nbanaction = nftables-multiport\nbanaction_allports = nftables-allports\n${options}`,
    );
    await body({ ns, inNs, e, auth });
  } finally {
    await e.cleanup();
    run(['ip', 'netns', 'del', ns]);
  }
}

test('nftables-multiport bans and unbans in a network namespace; SIGTERM removes the table', { skip }, async () => {
  await withNftDaemon('moat-d', 'nft', 'maxretry = 2\n', async ({ ns, inNs, e, auth }) => {
    await e.start(inNs);
    for (let i = 0; i < 2; i++) append(auth, sshFail('root', '198.51.100.9'));
    await waitFor('IPv4 in addr-set-sshd', () => setElements(ns, 'addr-set-sshd')?.includes('198.51.100.9'), 15_000, () => e.log());
    const b = e.moat(['set', 'sshd', 'banip', '2001:db8::5']);
    assert.equal(b.code, 0, b.stderr);
    await waitFor('IPv6 in addr6-set-sshd', () => setElements(ns, 'addr6-set-sshd')?.includes('2001:db8::5'), 15_000, () => e.log());
    // the IPv6 address went to the IPv6 set only
    assert.ok(!setElements(ns, 'addr-set-sshd')!.includes('2001:db8::5'));
    assert.ok(!setElements(ns, 'addr6-set-sshd')!.includes('198.51.100.9'));
    // the chain is hooked and drops/rejects from the sets
    const rules = run([...inNs, 'nft', 'list', 'table', 'inet', 'f2b-table']);
    assert.equal(rules.code, 0, rules.stderr);
    assert.match(rules.stdout, /@addr-set-sshd/);
    assert.match(rules.stdout, /@addr6-set-sshd/);
    assert.match(rules.stdout, /hook input/);

    const u = e.moat(['set', 'sshd', 'unbanip', '198.51.100.9', '2001:db8::5']);
    assert.equal(u.code, 0, u.stderr);
    await waitFor('sets empty after unban', () => {
      const v4 = setElements(ns, 'addr-set-sshd');
      const v6 = setElements(ns, 'addr6-set-sshd');
      return v4 !== null && v6 !== null && v4.length === 0 && v6.length === 0;
    }, 15_000, () => e.log());

    await e.kill('SIGTERM');
    assert.equal(e.proc!.exitCode, 0, e.log());
    const left = run([...inNs, 'nft', 'list', 'tables']);
    assert.equal(left.code, 0, left.stderr);
    assert.doesNotMatch(left.stdout, /f2b-table/);
  });
});

test('bans kept in the store are restored into the nft sets at the next start (one transaction)', { skip }, async () => {
  await withNftDaemon('moat-r', 'nft-restore', 'bantime = 1h\n', async ({ ns, inNs, e }) => {
    await e.start(inNs);
    const v4 = ['198.51.100.1', '198.51.100.2', '203.0.113.3'];
    const b = e.moat(['set', 'sshd', 'banip', ...v4, '2001:db8::7']);
    assert.equal(b.code, 0, b.stderr);
    await waitFor('all bans in the sets', () => v4.every((ip) => setElements(ns, 'addr-set-sshd')?.includes(ip)) && setElements(ns, 'addr6-set-sshd')?.includes('2001:db8::7'), 15_000, () => e.log());
    await e.kill('SIGTERM');
    assert.equal(e.proc!.exitCode, 0, e.log());
    assert.doesNotMatch(run([...inNs, 'nft', 'list', 'tables']).stdout, /f2b-table/, 'stop removed the table');

    const logBefore = e.log().length;
    await e.start(inNs);
    await waitFor('the restored bans back in the kernel sets', () => {
      const s4 = setElements(ns, 'addr-set-sshd');
      const s6 = setElements(ns, 'addr6-set-sshd');
      return s4 !== null && s6 !== null && [...s4].sort().join() === [...v4].sort().join() && s6.join() === '2001:db8::7';
    }, 20_000, () => e.log().slice(logBefore));
    const log = e.log().slice(logBefore);
    for (const ip of [...v4, '2001:db8::7']) assert.match(log, new RegExp(`Restore Ban ${ip.replace(/[.:]/g, '\\$&')}`));
    assert.equal(e.moat(['get', 'sshd', 'banned', '203.0.113.3']).stdout.trim(), '1');
    await e.kill('SIGTERM');
    assert.equal(e.proc!.exitCode, 0, e.log());
  });
});
