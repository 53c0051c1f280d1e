/**
 * networkContains compares an address with a network without building a masked copy, and
 * ipv4NetworkContains does it for a dotted quad given as a number (the ignore check, per failure):
 * both against a bit-string reference on seeded random networks and addresses, near misses included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../bench/lib/prng.ts';
import { dottedQuad, ipv4NetworkContains, networkContains, parseIp, type IpAddress } from '../../src/net/ip.ts';

const bitsOf = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');

/** In the network when the first `prefix` bits agree and the network has no bits after its prefix. */
function reference(net: IpAddress, addr: IpAddress): boolean {
  if (net.family !== addr.family || addr.prefix < net.prefix) return false;
  const n = bitsOf(net.bytes);
  const a = bitsOf(addr.bytes);
  return a.slice(0, net.prefix) === n.slice(0, net.prefix) && !n.slice(net.prefix).includes('1');
}

function randomBytes(prng: Prng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => prng.int(0, 255));
}

function v6Text(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return words.join(':');
}

test('networkContains and ipv4NetworkContains agree with a bit-by-bit reference', () => {
  const prng = new Prng(20261121);
  let inside = 0;
  for (let i = 0; i < 4000; i++) {
    const v6 = i % 2 === 1;
    const size = v6 ? 16 : 4;
    const max = size * 8;
    const prefix = prng.int(0, max);
    const netText = v6 ? v6Text(randomBytes(prng, 16)) : [...randomBytes(prng, 4)].join('.');
    const net = parseIp(`${netText}/${prefix}`)!;
    // an address from the network with one random bit flipped half of the time (near misses)
    const bytes = Uint8Array.from(net.bytes);
    for (let b = prefix; b < max; b++) if (prng.next() < 0.5) bytes[b >> 3]! |= 0x80 >> (b & 7);
    if (prng.next() < 0.5) {
      const flip = prng.int(0, max - 1);
      bytes[flip >> 3]! ^= 0x80 >> (flip & 7);
    }
    const addrText = v6 ? v6Text(bytes) : [...bytes].join('.');
    const addr = parseIp(addrText)!;
    const want = reference(net, addr);
    if (want) inside++;
    assert.equal(networkContains(net, addr), want, `${addrText} in ${netText}/${prefix}`);
    if (!v6) assert.equal(ipv4NetworkContains(net, dottedQuad(addrText)), want, `${addrText} in ${netText}/${prefix} (as a number)`);
    else assert.equal(ipv4NetworkContains(net, 0), false, 'an IPv6 network holds no dotted quad');
  }
  // both answers are exercised
  assert.ok(inside > 1000 && inside < 3000, `${inside} of 4000 inside`);
  // a network whose bytes carry bits after the prefix (not made by parseIp) holds nothing, as before
  const odd: IpAddress = { family: 'inet4', address: '10.0.0.1', bytes: Uint8Array.of(10, 0, 0, 1), prefix: 8 };
  assert.equal(networkContains(odd, parseIp('10.0.0.1')!), false);
  assert.equal(ipv4NetworkContains(odd, dottedQuad('10.0.0.1')), false);
});
