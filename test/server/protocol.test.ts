import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter, parseRequest, RequestError, encodeError, encodeReply } from '../../src/server/protocol.ts';
import { EventHub, eventMatches, parseEventFilter } from '../../src/server/events.ts';
import { UnknownJailError } from '../../src/errors.ts';

test('parseRequest accepts fail2ban command words, nested lists', () => {
  assert.deepEqual(parseRequest('{"id":1,"cmd":["status","sshd"]}'), { id: 1, cmd: ['status', 'sshd'] });
  assert.deepEqual(parseRequest('{"cmd":["server-stream",[["set","sshd","maxretry",5]]]}').cmd[1], [['set', 'sshd', 'maxretry', 5]]);
});

test('parseRequest rejects malformed input with the id when known', () => {
  const bad = ['{', '[]', '42', '{"id":1}', '{"id":2,"cmd":[]}', '{"id":3,"cmd":[1]}', '{"id":4,"cmd":["x",{"a":1}]}', '{"id":{},"cmd":["ping"]}'];
  for (const line of bad) {
    assert.throws(() => parseRequest(line), (e: unknown) => e instanceof RequestError && e.error.code === 'MOAT_ERR_PROTOCOL', line);
  }
  try {
    parseRequest('{"id":7,"cmd":[]}');
  } catch (e) {
    assert.equal((e as RequestError).id, 7);
  }
});

test('replies carry code, message and jail', () => {
  assert.equal(encodeReply(3, undefined), '{"id":3,"ok":true,"result":null}\n');
  const err = JSON.parse(encodeError(4, new UnknownJailError('nosuch')));
  assert.deepEqual(err, {
    id: 4,
    ok: false,
    error: { code: 'MOAT_ERR_UNKNOWN_JAIL', message: "Sorry but the jail 'nosuch' does not exist", jail: 'nosuch' },
  });
  assert.equal(JSON.parse(encodeError(5, new TypeError('boom'))).error.code, 'MOAT_ERR_INTERNAL');
});

test('LineSplitter joins chunks, keeps split UTF-8 characters, flags oversized lines', () => {
  const s = new LineSplitter(16);
  const euro = Buffer.from('€');
  assert.deepEqual(s.push(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 1)])), []);
  assert.deepEqual(s.push(Buffer.concat([euro.subarray(1), Buffer.from('\r\ncd\n')])), ['ab€', 'cd']);
  assert.deepEqual(s.push(Buffer.from('x'.repeat(16) + '\n')), ['x'.repeat(16)]);
  assert.deepEqual(s.push(Buffer.from('y'.repeat(17))), []);
  assert.equal(s.oversized, true);
  assert.deepEqual(s.push(Buffer.from('\nz\n')), []);
});

test('watch filters: types, jails, log only on request', () => {
  const f = parseEventFilter(['ban,unban', 'jail=sshd']);
  assert.ok(typeof f !== 'string');
  assert.equal(eventMatches(f, { type: 'ban', time: 1, jail: 'sshd', ip: '1.2.3.4', bantime: 1, banCount: 1 }), true);
  assert.equal(eventMatches(f, { type: 'ban', time: 1, jail: 'web', ip: '1.2.3.4', bantime: 1, banCount: 1 }), false);
  assert.equal(eventMatches(f, { type: 'jail.start', time: 1, jail: 'sshd' }), false);
  const all = parseEventFilter([]);
  assert.ok(typeof all !== 'string');
  assert.equal(eventMatches(all, { type: 'log', time: 1, level: 'INFO', logger: 'x', message: 'm' }), false);
  assert.equal(eventMatches(all, { type: 'jail.stop', time: 1, jail: 'a' }), true);
  assert.equal(typeof parseEventFilter(['type=nosuch']), 'string');
  assert.equal(typeof parseEventFilter(['color=red']), 'string');
  const byJail = parseEventFilter(['sshd']);
  assert.ok(typeof byJail !== 'string' && byJail.jails.has('sshd'));
});

test('EventHub isolates throwing listeners', () => {
  const hub = new EventHub();
  const got: string[] = [];
  hub.subscribe(() => {
    throw new Error('bad listener');
  });
  const off = hub.subscribe((e) => got.push(e.type));
  hub.publish({ type: 'jail.start', time: 1, jail: 'a' });
  off();
  hub.publish({ type: 'jail.stop', time: 1, jail: 'a' });
  assert.deepEqual(got, ['jail.start']);
});
