/**
 * The canonical-IPv4 fast path of src/net/ip.ts (isCanonicalIPv4, used by the filter to skip
 * parsing a captured address) must accept exactly what node:net's isIPv4 accepts, and for those
 * texts the full parser must give the text back unchanged: the fast path and the slow path agree.
 * Edge cases by hand, then seeded random texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { canonicalIp, isCanonicalIPv4, parseIp } from '../../src/net/ip.ts';
import { Prng } from '../../bench/lib/prng.ts';

/** Independent statement of "canonical dotted quad": four decimal numbers 0-255 without leading zeros. */
function referenceQuad(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function check(s: string): void {
  const fast = isCanonicalIPv4(s);
  const ref = referenceQuad(s);
  assert.equal(fast, isIPv4(s), `isCanonicalIPv4 vs node:net isIPv4 for ${JSON.stringify(s)}`);
  assert.equal(fast, ref !== null, `isCanonicalIPv4 vs reference for ${JSON.stringify(s)}`);
  if (ref !== null) {
    const ip = parseIp(s);
    assert.ok(ip, `parseIp(${JSON.stringify(s)})`);
    assert.equal(ip.family, 'inet4');
    assert.equal(ip.address, s, 'a canonical text is its own canonical form');
    assert.equal(ip.prefix, 32);
    assert.deepEqual([...ip.bytes], ref);
    assert.equal(canonicalIp(s), s);
  }
}

test('edge cases: leading zeros, 256, spaces, short and long forms', () => {
  const accepted = ['1.2.3.4', '0.0.0.0', '255.255.255.255', '10.0.0.0', '9.9.9.9', '100.200.250.255', '192.0.2.1'];
  const rejected = [
    '256.1.1.1', '1.2.3.256', '199.299.1.1', '01.2.3.4', '001.1.1.1', '1.2.3.04', '1.2.3.00', '00.0.0.0',
    '1.2.3', '1.2.3.4.5', '1..3.4', '1.2.3.', '.1.2.3', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-4', '+1.2.3.4',
    'a.b.c.d', '1.2.3.4/24', '1.2.3.1000', '1234.1.1.1', '', '....', '1.2.3.4\n', '１.2.3.4', '::ffff:1.2.3.4',
  ];
  for (const s of accepted) {
    assert.ok(isCanonicalIPv4(s), s);
    check(s);
  }
  for (const s of rejected) {
    assert.ok(!isCanonicalIPv4(s), JSON.stringify(s));
    check(s);
  }
  // what the fast path turns down, the slow path may still read (and canonicalise)
  assert.equal(canonicalIp(' 1.2.3.4'), '1.2.3.4');
  assert.equal(canonicalIp('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(canonicalIp('1.2.3.4/24'), '1.2.3.0/24');
  assert.equal(parseIp('01.2.3.4'), null);
  assert.equal(parseIp('1.2.3'), null);
});

test('random texts of digits and dots', () => {
  const prng = new Prng(20240611);
  const rnd = () => prng.next();
  const chars = '0123456789...';
  let accepted = 0;
  for (let i = 0; i < 200_000; i++) {
    const length = 1 + Math.floor(rnd() * 16);
    let s = '';
    for (let j = 0; j < length; j++) s += chars[Math.floor(rnd() * chars.length)];
    check(s);
    if (isCanonicalIPv4(s)) accepted++;
  }
  // the generator must reach the accepting side too, or the comparison says little
  assert.ok(accepted > 100, `only ${accepted} accepted texts`);
});

test('random quads: numbers 0-299, some with leading zeros, some stray characters', () => {
  const prng = new Prng(7);
  const rnd = () => prng.next();
  const stray = [' ', '-', '+', 'a', '/', ':', '\t', '٣'];
  let accepted = 0;
  for (let i = 0; i < 100_000; i++) {
    const parts = [0, 1, 2, 3].map(() => {
      const n = String(Math.floor(rnd() * 300));
      return rnd() < 0.05 ? `0${n}` : n;
    });
    let s = parts.join('.');
    if (rnd() < 0.05) {
      const at = Math.floor(rnd() * (s.length + 1));
      s = s.slice(0, at) + stray[Math.floor(rnd() * stray.length)] + s.slice(at);
    }
    check(s);
    if (isCanonicalIPv4(s)) accepted++;
  }
  assert.ok(accepted > 10_000, `only ${accepted} accepted quads`);
});
