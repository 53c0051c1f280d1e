/**
 * sd_notify, for real: a python3 datagram socket stands in for systemd's NOTIFY_SOCKET and
 * records what arrives (with the sender pid from SCM_CREDENTIALS).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNotifier } from '../../src/systemd/notify.ts';
import { createDaemonEnv, waitFor } from '../daemon/harness.ts';
import { have, moat, notifyReceiver, startMoatd, stopAll, terminate } from './helpers.ts';

const skip = !have('python3') || !have('systemd-notify') ? 'needs python3 and systemd-notify' : false;
const tmp = mkdtempSync(join(tmpdir(), 'moat-notify-'));
after(async () => {
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

test('no NOTIFY_SOCKET: the notifier is a no-op', async () => {
  const n = createNotifier({});
  assert.equal(n.enabled, false);
  n.notify('READY=1');
  n.startWatchdog();
  await n.stop();
});

test('notifier: messages arrive in order, env is cleared, watchdog pings at half WATCHDOG_USEC', { skip }, async () => {
  const path = join(tmp, 'unit.sock');
  const rx = await notifyReceiver(path);
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: path, WATCHDOG_USEC: '600000', WATCHDOG_PID: String(process.pid) };
  const n = createNotifier(env, { useUnixDgram: false });
  assert.equal(n.transport, 'systemd-notify');
  assert.deepEqual(env, {}, 'children must not inherit NOTIFY_SOCKET/WATCHDOG_*');
  n.notify('RELOADING=1');
  n.notify('READY=1\nSTATUS=2 jail(s), 0 failing, 0 banned');
  n.startWatchdog();
  await new Promise((r) => setTimeout(r, 1700));
  n.notify('STOPPING=1');
  await n.stop();
  await waitFor('STOPPING=1', () => rx.messages.some((m) => m.fields.STOPPING === '1'));
  await rx.close();
  const kinds = rx.messages.map((m) => Object.keys(m.fields).filter((k) => k !== 'MAINPID').join(','));
  assert.equal(kinds[0], 'RELOADING');
  assert.equal(kinds[1], 'READY,STATUS');
  assert.equal(rx.messages[1]!.fields.STATUS, '2 jail(s), 0 failing, 0 banned');
  assert.equal(kinds.at(-1), 'STOPPING');
  // credentials name us, not the systemd-notify helper: systemd attributes them to the main pid
  for (const m of rx.messages) assert.equal(m.pid, process.pid);
  const pings = rx.messages.filter((m) => m.fields.WATCHDOG === '1');
  // 300 ms period (half of WATCHDOG_USEC) over 1.7 s: 5 pings. The bounds leave room for a loaded
  // machine's late timers and still tell half the period from the whole (600 ms: 2 pings) or a tight loop
  assert.ok(pings.length >= 3 && pings.length <= 7, `watchdog pings: ${pings.length}`);
  const gaps = pings.slice(1).map((m, i) => m.t - pings[i]!.t);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  assert.ok(mean > 180 && mean < 500, `mean watchdog gap ${mean} ms (want ~300)`);
});

test('notifier: WATCHDOG_PID naming another process disables the watchdog', { skip }, async () => {
  const path = join(tmp, 'pid.sock');
  const rx = await notifyReceiver(path);
  const n = createNotifier({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' }, { useUnixDgram: false });
  n.startWatchdog();
  await new Promise((r) => setTimeout(r, 600));
  n.notify('STOPPING=1');
  await n.stop();
  await waitFor('STOPPING=1', () => rx.messages.length > 0);
  await rx.close();
  assert.equal(rx.messages.filter((m) => m.fields.WATCHDOG).length, 0);
});

test('moatd: READY with STATUS after the jails start, watchdog, RELOADING/READY on SIGHUP, STOPPING', { skip, timeout: 90_000 }, async () => {
  const d = createDaemonEnv('notify');
  try {
    d.jailLocal('[sshd]\nenabled = true\nlogpath = ' + join(d.dir, 'auth.log') + '\nbackend = polling\nbanaction = dummy[target=' + join(d.dir, 'bans') + ']\n');
    writeFileSync(join(d.dir, 'auth.log'), '');
    const path = join(d.dir, 'notify.sock');
    const rx = await notifyReceiver(path);
    const { proc } = await startMoatd(d, { env: { NOTIFY_SOCKET: path, WATCHDOG_USEC: '1000000' } });
    await waitFor('READY=1', () => rx.messages.find((m) => m.fields.READY === '1'), 15_000);
    const ready = rx.messages.find((m) => m.fields.READY === '1')!;
    assert.equal(ready.pid, proc.pid);
    assert.match(ready.fields.STATUS ?? '', /^1 jail\(s\), 0 failing, 0 banned$/);
    // READY comes once the jails run: the jail answers status by then
    assert.equal(moat(d.sock, ['status', 'sshd']).code, 0);

    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 2600));
    const pings = rx.messages.filter((m) => m.fields.WATCHDOG === '1' && m.t >= t0);
    assert.ok(pings.length >= 4 && pings.length <= 7, `expected ~5 pings at 500 ms in 2.6 s, got ${pings.length}`);

    const before = rx.messages.length;
    proc.kill('SIGHUP');
    await waitFor('READY=1 after the reload', () => rx.messages.slice(before).some((m) => m.fields.READY === '1'), 20_000);
    const around = rx.messages.slice(before).filter((m) => m.fields.RELOADING || m.fields.READY);
    assert.equal(around[0]!.fields.RELOADING, '1', 'RELOADING=1 comes first');
    assert.equal(around[1]!.fields.READY, '1');
    assert.ok(around[1]!.fields.STATUS, 'READY after a reload carries the status line');

    assert.equal(await terminate(proc), 0);
    await waitFor('STOPPING=1', () => rx.messages.some((m) => m.fields.STOPPING === '1'), 5000);
    const stopAt = rx.messages.findIndex((m) => m.fields.STOPPING === '1');
    assert.equal(rx.messages.slice(stopAt + 1).filter((m) => m.fields.WATCHDOG).length, 0, 'no pings after STOPPING');
    await rx.close();
  } finally {
    await d.cleanup();
  }
});
