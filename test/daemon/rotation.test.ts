/**
 * Log rotation under a live writer: rename+create and copytruncate. With maxretry high enough that
 * nothing is banned, `Total failed` must equal the number of lines written: nothing lost, nothing
 * read twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDaemonEnv, sshFail, totalFailed, waitFor } from './harness.ts';

for (const backend of ['auto', 'polling']) {
  test(`rotation (rename+create, copytruncate) with a live writer, backend = ${backend}: every failure counted once`, async () => {
    const e = createDaemonEnv(`rot-${backend}`);
    const auth = join(e.dir, 'auth.log');
    writeFileSync(auth, '');
    e.jailLocal(
      `[sshd]\nenabled = true\nbackend = ${backend}\nlogpath = ${auth}\nbanaction = dummy[target=${join(e.dir, 'd.txt')}]\nmaxretry = 100000\nfindtime = 1d\n# the writer cycles through 192.0.2.1-200; do not skip a local address among them\nignoreself = false\n`,
    );
    let written = 0;
    const writeOne = () => {
      appendFileSync(auth, sshFail(`u${written}`, `192.0.2.${(written % 200) + 1}`));
      written++;
    };
    const counted = () => totalFailed(e.moat(['status', 'sshd']).stdout);
    const writeFor = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        for (let i = 0; i < 5; i++) writeOne();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    try {
      await e.start();
      await writeFor(800);
      // rename + create, the writer goes on at once; lines still unread in the old file are read
      // through the old descriptor
      renameSync(auth, `${auth}.1`);
      writeFileSync(auth, '');
      await writeFor(800);
      await waitFor('all lines before copytruncate counted', () => counted() === written, 20_000, () => `${counted()} of ${written}\n${e.log()}`);
      // copytruncate: lines written between the copy and the truncate would be lost for any reader,
      // so both happen in one turn of the writer
      copyFileSync(auth, `${auth}.2`);
      truncateSync(auth, 0);
      await writeFor(800);
      await waitFor('all lines counted', () => counted() >= written, 20_000, () => `${counted()} of ${written}\n${e.log()}`);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(counted(), written, e.log().split('\n').filter((l) => /rotation|Added logfile|truncat/i.test(l)).join('\n'));
      assert.ok(written > 300, `the writer wrote ${written} lines`);
      assert.match(e.moat(['status', 'sshd']).stdout, /Currently banned:\t0\n/);
    } finally {
      await e.cleanup();
    }
  });
}
