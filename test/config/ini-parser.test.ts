import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIni } from '../../src/config/index.ts';
import { ConfigSyntaxError } from '../../src/errors.ts';

const opt = (text: string, section: string, name: string) => {
  const f = parseIni(text, 'x.conf');
  const s = section === 'DEFAULT' ? f.defaults : f.sections.find((x) => x.name === section);
  return s?.options.get(name);
};

test('both delimiters, first one wins, keys lower-cased and stripped', () => {
  const f = parseIni('[S]\nA = 1\nb: 2\nMixed_Case = x:y=z\nc:=d\nempty =\n', 'x.conf');
  const o = f.sections[0]!.options;
  assert.equal(o.get('a')!.value, '1');
  assert.equal(o.get('b')!.value, '2');
  assert.equal(o.get('mixed_case')!.value, 'x:y=z');
  assert.equal(o.get('c')!.value, '=d');
  assert.equal(o.get('empty')!.value, '');
  assert.equal(o.get('mixed_case')!.line, 4);
});

test('section names are case-sensitive; DEFAULT is special', () => {
  const f = parseIni('[DEFAULT]\nx = 1\n[sshd]\na = 1\n[SSHD]\na = 2\n', 'x.conf');
  assert.deepEqual(f.sections.map((s) => s.name), ['sshd', 'SSHD']);
  assert.equal(f.defaults!.options.get('x')!.value, '1');
});

test('comment lines and inline ; comments only after whitespace', () => {
  const text = '# top\n; top2\n[S]\n  # indented comment\na = v ; comment\nb = v;not\nc = v # kept\nd = v\t; tab comment\n';
  assert.equal(opt(text, 'S', 'a')!.value, 'v');
  assert.equal(opt(text, 'S', 'b')!.value, 'v;not');
  assert.equal(opt(text, 'S', 'c')!.value, 'v # kept');
  assert.equal(opt(text, 'S', 'd')!.value, 'v');
});

test('continuation lines: inner blank lines kept, trailing dropped, comments skipped', () => {
  const text = '[S]\nmulti = line1\n    line2 ; c\n\n      line3#x\n   # a comment inside\n    line4\n\n\nnext = 1\n';
  assert.equal(opt(text, 'S', 'multi')!.value, 'line1\nline2\n\nline3#x\nline4');
  assert.equal(opt(text, 'S', 'next')!.value, '1');
});

test('value starting on the next line keeps a leading newline like configparser', () => {
  assert.equal(opt('[S]\nfailregex =\n    ^a$\n    ^b$\n', 'S', 'failregex')!.value, '\n^a$\n^b$');
});

test('an indented line right after a section header is not a continuation', () => {
  assert.equal(opt('[S]\n  a = 1\n', 'S', 'a')!.value, '1');
});

test('duplicate section or option in one file is an error naming file and line', () => {
  assert.throws(() => parseIni('[S]\na=1\n[T]\n[S]\n', 'dup.conf'), (e: unknown) => {
    assert.ok(e instanceof ConfigSyntaxError);
    assert.equal(e.file, 'dup.conf');
    assert.equal(e.line, 4);
    assert.match(e.message, /section 'S' already exists/);
    return true;
  });
  assert.throws(() => parseIni('[S]\na=1\nA = 2\n', 'dup.conf'), (e: unknown) => {
    assert.ok(e instanceof ConfigSyntaxError);
    assert.equal(e.line, 3);
    assert.equal(e.option, 'a');
    return true;
  });
  assert.throws(() => parseIni('[DEFAULT]\na=1\n[DEFAULT]\na=2\n', 'dup.conf'), ConfigSyntaxError);
});

test('a line without delimiter, or an option before any section, is an error', () => {
  assert.throws(() => parseIni('[S]\njust words\n', 'bad.conf'), (e: unknown) => e instanceof ConfigSyntaxError && e.line === 2);
  assert.throws(() => parseIni('a = 1\n', 'bad.conf'), (e: unknown) => e instanceof ConfigSyntaxError && e.line === 1);
  assert.throws(() => parseIni('[S]\n= 1\n', 'bad.conf'), ConfigSyntaxError);
});

test('conditional section headers are kept as written by the file parser', () => {
  const f = parseIni('[Init]\na=1\n[Init?family=inet6]\na=2\n', 'x.conf');
  assert.deepEqual(f.sections.map((s) => s.name), ['Init', 'Init?family=inet6']);
});

test('CRLF line endings and a BOM are accepted', () => {
  assert.equal(opt('\uFEFF[S]\r\na = 1\r\n  b\r\n', 'S', 'a')!.value, '1\nb');
});
