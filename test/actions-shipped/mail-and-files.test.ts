/**
 * The shipped mail actions and hostsdeny, run by the real CommandAction.
 * Mail goes to a capturing fake `sendmail` on PATH (stdin + argv to a file);
 * a fake `whois` prints "~!" shell-escape lines. Hostile values in
 * <ip-host>, <matches> and <F-USER> (command substitutions, backticks, ";",
 * newline + "~! cmd") must arrive in the mail as text, and nothing may run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandAction } from '../../src/actions/action.ts';
import type { BanTicket } from '../../src/bans/ticket.ts';
import { readAction } from '../../src/config/index.ts';
import { ipFamily } from '../../src/net/ip.ts';
import { shippedConfig } from './harness.ts';

function ticket(ip: string, extra: Partial<BanTicket> = {}): BanTicket {
  return {
    jail: 'sshd', id: ip, ip, family: ipFamily(ip), time: Date.now() / 1000, bantime: 600, banCount: 1,
    failures: 5, matches: [], data: {}, restored: false, ...extra,
  };
}

interface Sandbox {
  dir: string;
  pwn(n: number): string;
  mails(): { argv: string; text: string }[];
}

/** Temp dir with fake sendmail/whois first on PATH; restores PATH afterwards. */
function sandbox(t: { after(fn: () => void): void }): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'moat-mail-'));
  const bin = join(dir, 'bin');
  const box = join(dir, 'mailbox');
  for (const d of [bin, box]) mkdirSync(d);
  const pwn = (n: number) => join(dir, `pwn${n}`);
  const fake = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  fake('sendmail', `n=$(ls '${box}' | wc -l); { printf 'ARGV:'; printf ' [%s]' "$@"; printf '\\n'; cat; } > '${box}'/mail$n.txt`);
  fake('whois', `printf '%s\\n' "netname: EXAMPLE" "~! touch ${pwn(20)}" "~|touch ${pwn(21)}" '$(touch ${pwn(22)})'`);
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  t.after(() => {
    process.env.PATH = oldPath;
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    pwn,
    mails: () =>
      readdirSync(box).sort().map((f) => {
        const all = readFileSync(join(box, f), 'utf8');
        const nl = all.indexOf('\n');
        return { argv: all.slice(0, nl), text: all.slice(nl + 1) };
      }),
  };
}

/** The hostile values, each creating pwn<N> if it ever reaches a shell as code. */
function hostile(sb: Sandbox) {
  return {
    host: `evil$(touch ${sb.pwn(1)}).example\n~! touch ${sb.pwn(2)}`,
    matches: [
      `Failed password for root from 192.0.2.9 \`touch ${sb.pwn(3)}\`; touch ${sb.pwn(4)}`,
      `~! touch ${sb.pwn(5)}`,
      `x' ; touch ${sb.pwn(6)} ; '" ; touch ${sb.pwn(7)} ; "`,
    ],
    user: `$(touch ${sb.pwn(8)})\n~! touch ${sb.pwn(9)}`,
  };
}

function assertNothingRan(sb: Sandbox): void {
  for (let n = 0; n < 30; n++) assert.equal(existsSync(sb.pwn(n)), false, `pwn${n} must not exist`);
}

function headerOf(mail: string): string {
  return mail.slice(0, mail.indexOf('\n\n'));
}

for (const ref of ['sendmail-whois-lines', 'mail-whois-lines', 'sendmail-whois', 'mail-whois']) {
  test(`${ref}: hostile tag values and whois output are inert text in the mail`, async (t) => {
    const sb = sandbox(t);
    const log = join(sb.dir, 'auth.log');
    writeFileSync(log, `sshd[1]: Failed password for bob from 192.0.2.9 port 22\nunrelated 192.0.2.99\n~! touch ${sb.pwn(10)} 192.0.2.9\n`);
    const def = readAction(`${ref}[dest="admin@example.org", sender="moat@example.org", logpath="${log}"]`, {
      configDir: shippedConfig, jailName: 'sshd',
    });
    const h = hostile(sb);
    const action = new CommandAction(def, { jail: 'sshd', resolveHost: async () => h.host });
    await action.ban(ticket('192.0.2.9', { matches: h.matches, data: { user: h.user } }));
    assertNothingRan(sb);
    const mails = sb.mails();
    assert.equal(mails.length, 1);
    const { argv, text } = mails[0]!;
    assert.equal(argv, 'ARGV: [-t] [-i] [-f] [moat@example.org]');
    const header = headerOf(text);
    assert.match(header, /^Subject: \[moat\] sshd: banned 192\.0\.2\.9 from \S+$/m);
    assert.match(header, /^To: admin@example\.org$/m);
    assert.match(header, /^From: moat <moat@example\.org>$/m);
    for (const bad of ['touch', 'evil', '~']) assert.ok(!header.includes(bad), `no log-derived text in the header (${bad})`);
    // every value arrives verbatim (a "~" at a line start gets one blank in front)
    assert.ok(text.includes(`evil$(touch ${sb.pwn(1)}).example`));
    assert.ok(text.includes(` ~! touch ${sb.pwn(2)}`));
    assert.ok(text.includes(h.matches[0]!));
    assert.ok(text.includes(` ~! touch ${sb.pwn(5)}`));
    assert.ok(text.includes(h.matches[2]!));
    assert.ok(text.includes(`$(touch ${sb.pwn(8)})`));
    assert.ok(text.includes(`netname: EXAMPLE`), 'whois output included');
    assert.ok(text.includes(` ~! touch ${sb.pwn(20)}`), 'whois "~!" line neutralised');
    assert.ok(!/^~/m.test(text), 'no body line starts with "~"');
    if (ref.endsWith('-lines')) {
      assert.ok(text.includes('Failed password for bob from 192.0.2.9 port 22'), 'log lines included');
      assert.ok(!text.includes('unrelated 192.0.2.99'), 'only lines with the address as a word');
    }
  });
}

test('sendmail: start, ban and stop mails; restored bans are not mailed', async (t) => {
  const sb = sandbox(t);
  const def = readAction('sendmail[dest="admin@example.org"]', { configDir: shippedConfig, jailName: 'sshd' });
  assert.equal(def.norestored, true);
  const action = new CommandAction(def, { jail: 'sshd' });
  await action.start();
  await action.ban(ticket('2001:db8::7'));
  await action.stop();
  const mails = sb.mails();
  assert.deepEqual(mails.map((m) => /^Subject: (.*)$/m.exec(m.text)?.[1]), [
    `[moat] sshd: started on ${/on (\S+)$/m.exec(mails[0]!.text.split('\n')[0]!)?.[1]}`,
    `[moat] sshd: banned 2001:db8::7 from ${/from (\S+)$/m.exec(mails[1]!.text.split('\n')[0]!)?.[1]}`,
    `[moat] sshd: stopped on ${/on (\S+)$/m.exec(mails[2]!.text.split('\n')[0]!)?.[1]}`,
  ]);
  assert.match(mails[1]!.text, /The address 2001:db8::7 has just been banned by moat after 5 failures in jail sshd\./);
});

test('sendmail-buffered: one summary mail per <lines> bans, the rest at stop', async (t) => {
  const sb = sandbox(t);
  const tmpfile = join(sb.dir, 'buffer.txt');
  const def = readAction(`sendmail-buffered[lines=2, tmpfile="${tmpfile}"]`, { configDir: shippedConfig, jailName: 'sshd' });
  const action = new CommandAction(def, { jail: 'sshd' });
  await action.start();
  for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) await action.ban(ticket(ip));
  await action.stop();
  const subjects = sb.mails().map((m) => /^Subject: \[moat\] sshd: (\w+)/m.exec(m.text)?.[1]);
  assert.deepEqual(subjects, ['started', 'summary', 'summary', 'stopped']);
  const [first, second] = sb.mails().slice(1, 3).map((m) => m.text);
  assert.match(first!, /192\.0\.2\.1 \(5 failures\)[\s\S]*192\.0\.2\.2 \(5 failures\)/);
  assert.match(second!, /192\.0\.2\.3/);
  assert.equal(existsSync(tmpfile), false);
});

test('complain: mails only well-formed abuse addresses from the lookup', async (t) => {
  const sb = sandbox(t);
  const bin = join(sb.dir, 'bin');
  writeFileSync(join(bin, 'dig'), `#!/bin/sh\nprintf '%s\\n' '"abuse@example.net,-oQ/tmp/x@evil.example"' '"$(touch ${sb.pwn(11)})@x.example"' '"noc@example.net"'\n`);
  chmodSync(join(bin, 'dig'), 0o755);
  const def = readAction('complain', { configDir: shippedConfig, jailName: 'sshd' });
  const action = new CommandAction(def, { jail: 'sshd' });
  await action.ban(ticket('192.0.2.9'));
  assertNothingRan(sb);
  const to = sb.mails().map((m) => /^To: (.*)$/m.exec(m.text)?.[1]).sort();
  assert.deepEqual(to, ['abuse@example.net', 'noc@example.net']);
});

test('hostsdeny: IPv4 and [IPv6] lines, unban removes exactly its line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-hostsdeny-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'hosts.deny');
  writeFileSync(file, '# keep me\nsshd: 192.0.2.10\n');
  const def = readAction(`hostsdeny[file="${file}", daemon_list="sshd"]`, { configDir: shippedConfig, jailName: 'sshd' });
  const action = new CommandAction(def, { jail: 'sshd' });
  await action.ban(ticket('192.0.2.1'));
  await action.ban(ticket('2001:db8::1'));
  assert.equal(readFileSync(file, 'utf8'), '# keep me\nsshd: 192.0.2.10\nsshd: 192.0.2.1\nsshd: [2001:db8::1]\n');
  await action.unban(ticket('192.0.2.1'));
  assert.equal(readFileSync(file, 'utf8'), '# keep me\nsshd: 192.0.2.10\nsshd: [2001:db8::1]\n', '192.0.2.10 stays');
  await action.unban(ticket('2001:db8::1'));
  assert.equal(readFileSync(file, 'utf8'), '# keep me\nsshd: 192.0.2.10\n');
  assert.deepEqual(readdirSync(dir), ['hosts.deny'], 'no temp file left');
});
