/**
 * End to end with a real OpenSSH: sshd runs in a server namespace and logs through syslog into
 * an auth.log; an attacker namespace fails password logins with sshpass; moatd (in the server
 * namespace) reads that log and bans through nftables in the server namespace. Checked for IPv4
 * and IPv6, once with moat's own config/ tree and once with Debian's stock /etc/fail2ban tree
 * (its nftables-multiport action):
 *   - no ban after maxretry-1 failed logins, a ban in the kernel set after the maxretry-th;
 *   - the attacker's next TCP connection fails while another client still reaches sshd;
 *   - `moat set sshd unbanip` lets the attacker in again;
 *   - moatd stops cleanly and takes its nft table with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';
import { nftSetElements } from '../helpers/nft.ts';
import { createLabNetwork, sshGreeting, type Family, type LabNetwork } from './lab-network.ts';
import { jailCounters, prepareConfig, startMoatd, type Moatd } from './moatd.ts';
import { run, waitFor } from './run.ts';
import { failLogin, startSshd, type Sshd } from './sshd.ts';

const skip = process.env.MOAT_SKIP_NETNS === '1';
const repoRoot = resolve(new URL('../..', import.meta.url).pathname);
const MAXRETRY = 3;

/** Missing programs fail the test (CI installs them with scripts/test-deps.sh). */
function requireTools(): void {
  const missing = ['/usr/sbin/sshd', 'ssh', 'ssh-keygen', 'sshpass', 'nft', 'ip', 'unshare', 'timeout', 'bash'].filter((p) =>
    p.startsWith('/') ? !existsSync(p) : run(['sh', '-c', 'command -v "$1"', 'sh', p]).code !== 0,
  );
  assert.deepEqual(missing, [], `missing programs for the OpenSSH end-to-end test (run scripts/test-deps.sh): ${missing.join(', ')}`);
}

function status(moatd: Moatd) {
  const r = moatd.moat(['status', 'sshd']);
  if (r.code !== 0) throw new Error(`moat status sshd failed (${r.code}): ${r.stderr}`);
  return jailCounters(r.stdout);
}

/** Lets moatd finish whatever it already read before a "nothing happened" check. */
const settle = () => new Promise((r) => setTimeout(r, 1500));

async function banCycle(lab: LabNetwork, sshd: Sshd, moatd: Moatd, family: Family): Promise<void> {
  const srvExec = lab.exec(lab.server);
  const set = family === 'inet' ? 'addr-set-sshd' : 'addr6-set-sshd';
  const attack = lab.attack[family];
  const bystander = lab.bystander[family];
  const diag = () => `auth.log:\n${sshd.log()}\nmoatd log (tail):\n${moatd.log().slice(-4000)}`;
  const inSet = () => (nftSetElements(srvExec, set) ?? []).includes(attack.client);
  const failedLines = () => sshd.log().split('\n').filter((l) => l.includes(`Failed password for ${sshd.user} from ${attack.client} port`)).length;

  const before = status(moatd);
  const linesBefore = failedLines();

  // a plain connection (greeting read, then closed) is not a failure
  const first = sshGreeting(lab.attacker, attack.server);
  assert.ok(first.greeting, `attacker cannot reach sshd before any failure: ${first.detail}`);

  for (let i = 1; i < MAXRETRY; i++) {
    const r = failLogin(lab.attacker, sshd.user, attack.server);
    assert.match(r.stderr, /Permission denied/, `login ${i} did not fail at the password (exit ${r.code}): ${r.stderr}`);
  }
  await waitFor('sshd to log the failed logins', () => failedLines() === linesBefore + MAXRETRY - 1, 10_000, diag);
  await waitFor(`moatd to count ${MAXRETRY - 1} failures`, () => status(moatd).totalFailed >= before.totalFailed + MAXRETRY - 1, 20_000, diag);
  await settle();
  const below = status(moatd);
  assert.equal(below.totalFailed, before.totalFailed + MAXRETRY - 1, `failures counted after ${MAXRETRY - 1} logins\n${diag()}`);
  assert.equal(below.currentlyBanned, 0, `banned after ${MAXRETRY - 1} failed logins\n${diag()}`);
  assert.ok(!inSet(), `${attack.client} in ${set} after ${MAXRETRY - 1} failed logins\n${diag()}`);

  const last = failLogin(lab.attacker, sshd.user, attack.server);
  assert.match(last.stderr, /Permission denied/, `login ${MAXRETRY} did not fail at the password: ${last.stderr}`);
  await waitFor(`${attack.client} in the kernel set ${set}`, inSet, 30_000, diag);
  const banned = status(moatd);
  assert.equal(banned.totalFailed, before.totalFailed + MAXRETRY);
  assert.equal(banned.currentlyBanned, 1);
  assert.deepEqual(banned.bannedIps, [attack.client]);
  // the other family's set never gets this address
  const otherSet = family === 'inet' ? 'addr6-set-sshd' : 'addr-set-sshd';
  assert.ok(!(nftSetElements(srvExec, otherSet) ?? []).includes(attack.client));

  const blocked = sshGreeting(lab.attacker, attack.server);
  assert.equal(blocked.greeting, null, `banned attacker still reaches sshd: ${blocked.detail}`);
  const other = sshGreeting(lab.other, bystander.server);
  assert.ok(other.greeting, `another client cannot reach sshd while ${attack.client} is banned: ${other.detail}`);

  const unban = moatd.moat(['set', 'sshd', 'unbanip', attack.client]);
  assert.equal(unban.code, 0, `unbanip failed: ${unban.stderr}`);
  await waitFor(`${attack.client} out of ${set}`, () => !inSet(), 15_000, diag);
  const again = await waitFor('the attacker to reach sshd after unbanip', () => sshGreeting(lab.attacker, attack.server).greeting, 10_000, diag);
  assert.match(again ?? '', /^SSH-/);
  assert.equal(status(moatd).currentlyBanned, 0);
}

async function scenario(label: string, tree: string, jailLocal: (authLog: string) => string): Promise<void> {
  requireTools();
  const dir = mkdtempSync(join(tmpdir(), `moat-e2e-ssh-${label}-`));
  const lab = createLabNetwork(`${process.pid}-${label}`);
  let sshd: Sshd | undefined;
  let moatd: Moatd | undefined;
  try {
    const a = lab.attack;
    const b = lab.bystander;
    sshd = await startSshd({
      dir: join(dir, 'sshd'),
      nsExec: lab.exec(lab.server),
      listen: [a.inet.server, a.inet6.server, b.inet.server, b.inet6.server],
    });
    const conf = prepareConfig(dir, tree, jailLocal(sshd.logfile));
    moatd = await startMoatd({ dir, conf, nsExec: lab.exec(lab.server) });
    await banCycle(lab, sshd, moatd, 'inet');
    await banCycle(lab, sshd, moatd, 'inet6');

    const code = await moatd.stop();
    assert.equal(code, 0, `moatd exit code\n${moatd.log().slice(-3000)}`);
    const tables = run([...lab.exec(lab.server), 'nft', 'list', 'tables']);
    assert.equal(tables.code, 0, tables.stderr);
    assert.doesNotMatch(tables.stdout, /f2b-table/, 'moatd left its nft table behind');
  } finally {
    await moatd?.kill();
    await sshd?.stop();
    lab.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("real sshd, moat's own config/: ban after exactly maxretry, IPv4 and IPv6", { skip, timeout: 180_000 }, async () => {
  await scenario('own', join(repoRoot, 'config'), (authLog) =>
    `[sshd]\nenabled = true\nbackend = auto\nlogpath = ${authLog}\nmaxretry = ${MAXRETRY}\nbanaction = nftables\n`,
  );
});

test('real sshd, Debian stock /etc/fail2ban with nftables-multiport: same cycle', { skip, timeout: 180_000 }, async () => {
  await scenario('deb', fail2banPackage().etc, (authLog) =>
    `[sshd]\nenabled = true\nbackend = polling\nlogpath = ${authLog}\nmaxretry = ${MAXRETRY}\n` +
    'banaction = nftables-multiport\nbanaction_allports = nftables-allports\n',
  );
});
