// Invalid patterns: Python's re.error becomes a RegexError with Python's position; edge inputs do not crash.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegexError } from '../../src/errors.ts';
import { PyRegexSyntaxError, compilePythonRegex } from '../../src/filter/pyregex/index.ts';
import { runPython } from './python-oracle.ts';

const invalid = [
  '(abc', 'abc)', '*a', 'a**', 'a{2}{3}', '^*', String.raw`\q`, String.raw`a\ub`, String.raw`\x4`, '[abc',
  '[z-a]', String.raw`[\d-z]`, '(?P<n>a)(?P=m)', String.raw`(a)\2`, String.raw`(a\1)`, '(?P<1a>x)',
  '(?P<n>a)(?P<n>b)', '(?(x)a|b)', '(?(1)a|b|c)(x)', '(?(2)a)(b)', '(?<=a+)b', '(?<n>a)', 'a(?i)b',
  '(?L)a', '(?z)a', 'a{3,2}', String.raw`\8`, String.raw`[\8]`, String.raw`\400`, '(?#unterminated',
  '(?P<n', '(?P=n', '(?-i)a', '(?a-a:x)', '(?(0)a)', '(?P', '(?<x', String.raw`[\A]`, 'a{1,2}{3}',
];

const results = runPython(invalid.map((pattern) => ({ pattern, subject: '' })));

invalid.forEach((pattern, k) => {
  const expected = results[k]!;
  test(`invalid ${JSON.stringify(pattern)} is rejected like Python`, () => {
    assert.ok('error' in expected, `Python accepts ${pattern}`);
    const where = { file: '/etc/moat/filter.d/x.conf', line: 7, option: 'failregex' };
    assert.throws(() => compilePythonRegex(pattern, { where }), (err: unknown) => {
      assert.ok(err instanceof RegexError);
      assert.equal(err.code, 'MOAT_ERR_REGEX');
      assert.equal(err.file, where.file);
      assert.equal(err.option, 'failregex');
      assert.match(err.message, /x\.conf:7/);
      assert.ok(err.message.includes(JSON.stringify(pattern)), err.message);
      assert.ok(err instanceof PyRegexSyntaxError);
      // Python gives no position for a few errors (variable-width look-behind)
      if (expected.position !== null) assert.equal(err.position, expected.position, `Python: ${expected.error} at ${expected.position}; us: ${err.message}`);
      return true;
    });
  });
});

test('conditionals that cannot be expanded exactly are an error, not a silent change', () => {
  for (const pattern of ['(?:(a)?b)+(?(1)c|d)', '(?=(a)?)(?(1)b|c)', '(?:(a)|b)+(?(1)c)']) {
    assert.throws(() => compilePythonRegex(pattern), (err: unknown) => {
      assert.ok(err instanceof RegexError);
      assert.match(err.message, /conditional/);
      return true;
    }, pattern);
  }
});

test('pathological patterns do not crash', () => {
  // catastrophic backtracking stays bounded for a small subject
  const re = compilePythonRegex('^(a+)+$');
  assert.equal(re.exec('a'.repeat(20) + 'b'), null);
  // deep nesting: either compiles or gives a RegexError, never a RangeError
  for (const depth of [500, 20000]) {
    const pattern = '('.repeat(depth) + 'a' + ')'.repeat(depth);
    try {
      const deep = compilePythonRegex(pattern);
      assert.equal(deep.exec('a')?.text, 'a');
    } catch (err) {
      assert.ok(err instanceof RegexError, String(err));
    }
  }
  // many conditionals: bounded expansion
  const many = Array.from({ length: 12 }, (_, i) => `(x${i})?`).join('') +
    Array.from({ length: 12 }, (_, i) => `(?(${i + 1})a|b)`).join('');
  try {
    compilePythonRegex(many);
  } catch (err) {
    assert.ok(err instanceof RegexError, String(err));
  }
  // huge repetition counts and long alternations
  assert.equal(compilePythonRegex('a{1,100000}').exec('aaa')?.text, 'aaa');
  const words = Array.from({ length: 5000 }, (_, i) => `w${i}`).join('|');
  assert.equal(compilePythonRegex(`^(?:${words})$`).exec('w4999\n')?.text, 'w4999');
});
