// The PyRegex API around the translation: groups, spans, positions, dialect choice, errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegexError } from '../../src/errors.ts';
import { compilePythonRegex, isAscii, parsePythonRegex } from '../../src/filter/pyregex/index.ts';

test('named and numbered groups, groupNames, groupCount', () => {
  const re = compilePythonRegex('(?P<user>\\w+)@(\\w+)(?P<port>:\\d+)?');
  assert.deepEqual(re.groupNames, ['user', 'port']);
  assert.equal(re.groupCount, 3);
  const m = re.exec('mail bob@host x');
  assert.ok(m);
  assert.equal(m.text, 'bob@host');
  assert.equal(m.index, 5);
  assert.equal(m.end, 13);
  assert.deepEqual(m.groups, { user: 'bob', port: undefined });
  assert.equal(m.group(0), 'bob@host');
  assert.equal(m.group(2), 'host');
  assert.equal(m.group('user'), 'bob');
  assert.deepEqual(m.span('user'), [5, 8]);
  assert.deepEqual(m.span(2), [9, 13]);
  assert.equal(m.span('port'), undefined);
  assert.throws(() => m.group('nope'), RangeError);
  assert.throws(() => m.group(4), RangeError);
});

test('indices option gives the same spans', () => {
  const re = compilePythonRegex('(a)?(?(1)b|c)(d)', { indices: true });
  const m = re.exec('xxabd');
  assert.deepEqual([m?.span(1), m?.span(2)], [[2, 3], [4, 5]]);
  const n = re.exec('xcd');
  assert.deepEqual([n?.span(1), n?.span(2)], [undefined, [2, 3]]);
});

test('no state leaks between calls (lastIndex is set every time)', () => {
  const re = compilePythonRegex('\\d+');
  assert.equal(re.exec('a1b22c333', 0)?.text, '1');
  assert.equal(re.exec('a1b22c333', 2)?.text, '22');
  assert.equal(re.exec('a1b22c333')?.text, '1');
  assert.equal(re.exec('a1b22c333', 9), null);
  assert.equal(re.test('x9'), true);
  assert.equal(re.test('x9'), true);
  assert.equal(re.match('a1', 0), null);
  assert.equal(re.match('a1', 1)?.text, '1');
  assert.equal(re.match('a1', 0), null);
});

test('ASCII and Unicode subjects use the matching dialect', () => {
  const re = compilePythonRegex('^(\\w+) (\\d+)\\b');
  assert.equal(isAscii('abc 12'), true);
  assert.equal(isAscii('äbc'), false);
  assert.equal(re.exec('abc 12')?.group(1), 'abc');
  assert.equal(re.exec('äbc ٣')?.group(2), '٣');
  assert.equal(re.exec('abc 12')?.group(2), '12');
  const t = (re as unknown as { translations: { ascii: string; unicode: string } }).translations;
  assert.match(t.ascii, /\\w\+/);
  assert.match(t.unicode, /\\p\{L\}/);
});

test('compile options: ignoreCase and multiline', () => {
  assert.equal(compilePythonRegex('failed', { ignoreCase: true }).test('FAILED'), true);
  assert.equal(compilePythonRegex('^b$', { multiline: true }).exec('a\nb\nc')?.index, 2);
  assert.equal(compilePythonRegex('^b$').exec('a\nb\nc'), null);
});

test('case-insensitive backreference inside a scoped (?i:) is refused with a RegexError', () => {
  assert.throws(() => compilePythonRegex('(a)x(?i:\\1)'), RegexError);
  assert.equal(compilePythonRegex('(?i)(a)x\\1').test('aXA'), true);
});

test('errors carry the location passed in', () => {
  const where = { file: 'filter.d/sshd.conf', line: 12, section: 'Definition', option: 'failregex' };
  try {
    compilePythonRegex('^Failed (for', { where });
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof RegexError);
    assert.equal(err.message, "filter.d/sshd.conf:12 [Definition] option 'failregex': invalid regex \"^Failed (for\": missing ), unterminated subpattern at position 8");
  }
});

test('parsePythonRegex exposes the AST', () => {
  const parsed = parsePythonRegex('(?P<x>a)|b');
  assert.equal(parsed.groupCount, 1);
  assert.deepEqual([...parsed.names], [['x', 1]]);
  assert.equal(parsed.ast.type, 'alt');
});
