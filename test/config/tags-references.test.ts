import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference, splitReferences, substituteRecursiveTags, substituteTags } from '../../src/config/index.ts';
import { ConfigValueError } from '../../src/errors.ts';

test('tags: recursive, innermost first, unknown tags kept', () => {
  const out = substituteRecursiveTags({
    logtype: 'file',
    'lt_file/__prefix_line': 'PFX',
    a: '3',
    b: '<a>_3',
    c: '<b>-<a>-<HOST>-<F-USER>-<NOSRV>',
    nested: '<lt_<logtype>/__prefix_line> x',
    'cmnfailed-nofail': 'NF',
    publickey: 'nofail',
    comp: '<cmnfailed-<publickey>>',
  });
  assert.equal(out.b, '3_3');
  assert.equal(out.c, '3_3-3-<HOST>-<F-USER>-<NOSRV>');
  assert.equal(out.nested, 'PFX x');
  assert.equal(out.comp, 'NF');
});

test('tags: conditional lookup, ignore list, fallback', () => {
  const tags = { blocktype: 'REJECT', 'blocktype?family=inet6': 'REJECT6', cmd: 'x -j <blocktype> <matches> <sec/opt>', matches: 'm' };
  const fallback = (t: string) => (t === 'sec/opt' ? 'FROM-FILE' : undefined);
  assert.equal(substituteRecursiveTags(tags, { ignore: ['matches'], fallback }).cmd, 'x -j REJECT <matches> FROM-FILE');
  assert.equal(substituteRecursiveTags(tags, { conditional: 'family=inet6' }).cmd, 'x -j REJECT6 m <sec/opt>');
});

test('tags: self reference and runaway replacement are errors', () => {
  assert.throws(() => substituteRecursiveTags({ a: 'x<a>' }), ConfigValueError);
  assert.throws(() => substituteRecursiveTags({ a: '<b>', b: '<a>' }), /self referencing/);
  assert.throws(() => substituteRecursiveTags({ a: '<b>', b: '<c>', c: '<a>' }), /self referencing/);
});

test('substituteTags: one value against a lookup (execution time use)', () => {
  const props: Record<string, string> = { iptables: 'iptables <lockingopt>', 'iptables?family=inet6': 'ip6tables <lockingopt>', lockingopt: '-w' };
  const lookup6 = (t: string) => props[`${t}?family=inet6`] ?? props[t];
  assert.equal(substituteTags('<iptables> -I f2b 1 -s <ip>', lookup6), 'ip6tables -w -I f2b 1 -s <ip>');
  assert.throws(() => substituteTags('<a>', (t) => (t === 'a' ? '<a>' : undefined)), /self referencing/);
});

test('references: name[opts][more], quotes, trailing comma, errors', () => {
  assert.deepEqual(parseReference('sshd'), { name: 'sshd', options: {} });
  assert.deepEqual(parseReference('sshd[mode=aggressive]'), { name: 'sshd', options: { mode: 'aggressive' } });
  assert.deepEqual(parseReference('a[x=1, b="x,y]", c=\'q\'] [c=2, d= spaced ,]'), {
    name: 'a',
    options: { x: '1', b: 'x,y]', c: '2', d: 'spaced' },
  });
  assert.deepEqual(parseReference('dummy[target=/x][port="1:2"]').options, { target: '/x', port: '1:2' });
  assert.deepEqual(parseReference('act[a="multi\nline"]').options, { a: 'multi\nline' });
  assert.throws(() => parseReference('a[b]'), /expected option/);
  assert.throws(() => parseReference('a[b="x" junk]'), /unexpected syntax/);
  assert.throws(() => parseReference("a[c='q' ]"), /unexpected syntax/); // as fail2ban: nothing may follow a quote
  assert.throws(() => parseReference('a[b=1'), /unexpected option syntax/);
});

test('splitting a multi-line action value', () => {
  const v =
    'iptables-multiport[name=x, port="1,2", protocol="tcp"]\n' +
    'sendmail-whois[name=x, dest="a@b",\n   sender="c@d"]\n\n' +
    'a b[x=1] c [y=2]';
  assert.deepEqual(splitReferences(v), [
    'iptables-multiport[name=x, port="1,2", protocol="tcp"]',
    'sendmail-whois[name=x, dest="a@b",\n   sender="c@d"]',
    'a',
    'b[x=1]',
    'c [y=2]',
  ]);
  assert.deepEqual(splitReferences('  \n '), []);
  assert.deepEqual(splitReferences('x[a=1][b=2] y'), ['x[a=1][b=2]', 'y']);
});
