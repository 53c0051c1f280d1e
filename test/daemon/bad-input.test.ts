/**
 * moatd facing bad input: broken jails, a broken reload, garbage on the control socket, hostile
 * values in log lines, a log file that appears later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { append, createDaemonEnv, createSshdEnv, readOr, sshFail, syslogDate, waitFor } from './harness.ts';

test('a broken jail next to a good one: the daemon starts, the good jail bans, the error names file and line', async () => {
  const e = createDaemonEnv('broken');
  const auth = join(e.dir, 'auth.log');
  const dummy = join(e.dir, 'd.txt');
  writeFileSync(auth, '');
  e.jailLocal(
    `[sshd]\nenabled = true\nbackend = polling\nlogpath = ${auth}\nbanaction = dummy[target=${dummy}]\nmaxretry = 2\n\n` +
      `[broken]\nenabled = true\nfilter = no-such-filter\nlogpath = ${auth}\nbackend = polling\n`,
  );
  try {
    await e.start();
    const st = e.moat(['status']);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /Number of jail:\t1\n/);
    assert.match(st.stdout, /Jail list:\tsshd\n/);
    // `filter = no-such-filter` is line 10 of jail.local
    const jl = join(e.conf, 'jail.local');
    const errLine = e.log().split('\n').find((l) => / ERROR /.test(l) && l.includes('no-such-filter'));
    assert.ok(errLine, e.log());
    assert.ok(errLine.includes(`${jl}:10 [broken] option 'filter'`), errLine);
    append(auth, sshFail('root', '198.51.100.20').repeat(2));
    await waitFor('good jail bans', () => readOr(dummy).includes('+198.51.100.20'), 10_000, () => e.log());
  } finally {
    await e.cleanup();
  }
});

test('reload with a syntax-broken jail.local fails with the error and leaves the running jails alone', async () => {
  const { e, auth, dummy } = createSshdEnv('reload', 'backend = polling\nmaxretry = 2\n');
  try {
    await e.start();
    append(auth, sshFail('root', '198.51.100.30').repeat(2));
    await waitFor('ban', () => readOr(dummy).includes('+198.51.100.30'), 10_000, () => e.log());
    e.jailLocal(`[sshd]\nenabled = true\nthis line is not an option\n[unterminated\n`);
    const r = e.moat(['reload']);
    assert.notEqual(r.code, 0, `reload should fail: ${r.stdout}`);
    assert.match(r.stderr + r.stdout, /jail\.local/);
    // still running with the old configuration and its ban
    const st = e.moat(['status', 'sshd']);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /Banned IP list:\t198\.51\.100\.30\n/);
    assert.equal(e.moat(['get', 'sshd', 'maxretry']).stdout.trim(), '2');
    assert.doesNotMatch(readOr(dummy), /-198\.51\.100\.30/);
    append(auth, sshFail('root', '198.51.100.31').repeat(2));
    await waitFor('the jail still bans', () => readOr(dummy).includes('+198.51.100.31'), 10_000, () => e.log());
  } finally {
    await e.cleanup();
  }
});

/** Sends raw bytes on the control socket and returns the first reply line. */
function rawRequest(sock: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(sock);
    let buf = '';
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`no reply to ${JSON.stringify(data)}`));
    }, 5000);
    c.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        c.destroy();
        resolve(buf.slice(0, nl));
      }
    });
    c.on('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
    c.write(data);
  });
}

test('malformed JSON and unknown commands on the socket get an error reply; the daemon stays up', async () => {
  const e = createDaemonEnv('sock');
  e.jailLocal('');
  try {
    await e.start();
    const bad = JSON.parse(await rawRequest(e.sock, '{"id": 1, "cmd": [\n'));
    assert.equal(bad.ok, false);
    assert.equal(typeof bad.error.message, 'string');
    const unknown = JSON.parse(await rawRequest(e.sock, JSON.stringify({ id: 7, cmd: ['frobnicate', 'x'] }) + '\n'));
    assert.equal(unknown.id, 7);
    assert.equal(unknown.ok, false);
    assert.match(unknown.error.message, /frobnicate|Invalid command/i);
    const notList = JSON.parse(await rawRequest(e.sock, JSON.stringify({ id: 8, cmd: 'ping' }) + '\n'));
    assert.equal(notList.ok, false);
    const ok = JSON.parse(await rawRequest(e.sock, JSON.stringify({ id: 9, cmd: ['ping'] }) + '\n'));
    assert.deepEqual(ok, { id: 9, ok: true, result: 'pong' });
    assert.equal(e.moat(['ping']).code, 0);
    assert.equal(e.proc!.exitCode, null);
  } finally {
    await e.cleanup();
  }
});

test('hostile values from log lines reach the action intact and never execute', async () => {
  const e = createDaemonEnv('hostile');
  const auth = join(e.dir, 'auth.log');
  const out = join(e.dir, 'out.txt');
  const pwn = join(e.dir, 'pwned');
  writeFileSync(auth, '');
  // the action writes the user name and the matched lines, in several quoting contexts
  writeFileSync(
    join(e.conf, 'action.d', 'record.conf'),
    `[Definition]\nactionstart =\nactionstop =\nactioncheck =\n` +
      `actionban = printf 'user=%%s\\n' <F-USER> >> <target>\n` +
      `            printf "dq=%%s\\n" "<F-USER>" >> <target>\n` +
      `            printf 'sq=%%s\\n' '<F-USER>' >> <target>\n` +
      `            printf 'm=%%s\\n' "<matches>" >> <target>\n` +
      `actionunban =\n[Init]\ntarget = ${out}\n`,
  );
  e.jailLocal(`[sshd]\nenabled = true\nbackend = polling\nlogpath = ${auth}\naction = record\nmaxretry = 1\nignoreself = false\n`);
  const users = [`$(touch${'${IFS}'}${pwn}1)`, `\`touch${'${IFS}'}${pwn}2\``, `x;touch${'${IFS}'}${pwn}3;'"`];
  try {
    await e.start();
    users.forEach((u, i) => append(auth, sshFail(u, `198.51.100.${40 + i}`)));
    await waitFor('three bans recorded', () => readOr(out).split('\n').filter((l) => l.startsWith('user=')).length === 3, 10_000, () => e.log() + readOr(out));
    const recorded = readOr(out);
    for (const u of users) {
      for (const k of ['user', 'dq', 'sq']) assert.ok(recorded.includes(`${k}=${u}\n`), `${k}=${u} missing in:\n${recorded}`);
      assert.ok(recorded.includes(`Failed password for ${u} from`), `matches for ${u} missing in:\n${recorded}`);
    }
    assert.deepEqual(readdirSync(e.dir).filter((f) => f.startsWith('pwned')), []);
    assert.ok(!existsSync(`${pwn}1`));
  } finally {
    await e.cleanup();
  }
});

test('a jail whose log file does not exist yet starts, and bans once the file appears', async () => {
  const { e, auth, dummy } = createSshdEnv('late', 'backend = auto\nmaxretry = 2\n', false);
  try {
    await e.start();
    assert.match(e.moat(['status']).stdout, /Jail list:\tsshd\n/);
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(auth, `${syslogDate(new Date())} host sshd[1]: Server listening on 0.0.0.0 port 22.\n`);
    await new Promise((r) => setTimeout(r, 300));
    append(auth, sshFail('root', '198.51.100.60').repeat(2));
    await waitFor('ban after the file appeared', () => readOr(dummy).includes('+198.51.100.60'), 15_000, () => e.log());
  } finally {
    await e.cleanup();
  }
});
