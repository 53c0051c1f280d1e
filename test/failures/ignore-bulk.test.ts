import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreList } from '../../src/failures/ignore.ts';
import { ipv6Words, parseIp } from '../../src/net/ip.ts';

// IgnoreList.bulkCheck answers restores of millions of bans without a parse per address: its
// verdict must be isIgnoredSync's for every kind of id.

test('bulkCheck: the same verdict as isIgnoredSync for IPv4, IPv6 (any spelling), mapped, networks and non-addresses', () => {
  const list = new IgnoreList({
    ignoreSelf: true,
    ignoreIp: ['192.0.2.0/24', '2001:db8:1::/48', '198.51.100.7', '2001:db8::5', '10.0.0.0/8', 'not-resolved.invalid'],
    ownAddresses: () => ['127.0.0.1', '::1', '203.0.113.9'],
    ownNames: () => [],
    resolve: async () => [],
  });
  const check = list.bulkCheck();
  const ids = [
    '192.0.2.5', '192.0.3.5', '198.51.100.7', '198.51.100.8', '10.9.9.9', '11.0.0.1', '127.0.0.1', '203.0.113.9', '0.0.0.0',
    '2001:db8::5', '2001:db8:0::5', '2001:DB8:0:0:0:0:0:5', '2001:db8:1:ffff::1', '2001:db8:2::1', '::1', '0:0:0:0:0:0:0:1', '::',
    '::ffff:192.0.2.1', '::ffff:c000:201', '::ffff:198.51.100.9', 'host.example', '2001:db8::/64', '192.0.2.0/25', '',
  ];
  for (const id of ids) assert.equal(check(id), list.isIgnoredSync(id)?.ignored === true, id);
  // spot checks that the list above exercises both answers
  assert.equal(check('2001:DB8:0:0:0:0:0:5'), true);
  assert.equal(check('::ffff:c000:201'), true);
  assert.equal(check('11.0.0.1'), false);
});

test('ipv6Words: plain IPv6 text to words, anything else refused', () => {
  const w = new Uint16Array(8);
  for (const s of ['::', '::1', '1::', '2001:db8::1', '2001:DB8:0:0:0:0:0:1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8']) {
    assert.ok(ipv6Words(s, w), s);
    const p = parseIp(s)!;
    const bytes = Array.from(w).flatMap((x) => [x >> 8, x & 255]);
    assert.deepEqual(bytes, Array.from(p.bytes), s);
  }
  for (const s of ['1::2::3', ':1', '1:', '12345::', 'g::1', '1.2.3.4', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '[::1]', '::1/64', 'fe80::1%eth0', '1:2:3:4:5:6:7:8::']) {
    assert.equal(ipv6Words(s, w), false, s);
  }
});
