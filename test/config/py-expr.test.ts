import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePyExpr, evaluatePyExpr, parseTimeValue } from '../../src/config/index.ts';
import { MoatError } from '../../src/errors.ts';
import { DEFAULT_BANTIME_FORMULA } from '../../src/config/index.ts';

test('arithmetic follows Python semantics', () => {
  const cases: Array<[string, number | boolean]> = [
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['7 / 2', 3.5],
    ['7 // 2', 3],
    ['-7 // 2', -4],
    ['-7 % 3', 2],
    ['7 % -3', -2],
    ['2 ** 10', 1024],
    ['2 ** 3 ** 2', 512],
    ['-2 ** 2', -4],
    ['2 ** -1', 0.5],
    ['1 << 20', 1048576],
    ['1 << 40', 1099511627776],
    ['1024 >> 3', 128],
    ['-(-3)', 3],
    ['1 < 2 < 3', true],
    ['3 > 2 > 2', false],
    ['1 == 1.0', true],
    ['not 0', true],
    ['0 or 5', 5],
    ['2 and 0', 0],
    ['1 if 2 > 1 else 2', 1],
    ['1 if 0 else 2 if 0 else 3', 3],
    ['float(3) / 2', 1.5],
    ['int(-3.7)', -3],
    ['min(3, 1, 2) + max(4, 5)', 6],
    ['abs(-4.5)', 4.5],
    ['round(2.5)', 2],
    ['round(3.5)', 4],
    ['round(2.675, 1)', 2.7],
    ['math.floor(2.5) + math.ceil(2.1)', 5],
    ['math.sqrt(16)', 4],
    ['math.pow(2, 3)', 8],
    ['True + True', 2],
    ['1_000 + 0x10', 1016],
    ['1e3', 1000],
  ];
  for (const [src, want] of cases) assert.equal(evaluatePyExpr(src), want, src);
  assert.ok(Math.abs((evaluatePyExpr('math.exp(1)') as number) - Math.E) < 1e-12);
  assert.ok(Math.abs((evaluatePyExpr('math.log(100, 10)') as number) - 2) < 1e-12);
});

test('the default bantime.formula doubles per ban count, capped at 2^20', () => {
  const f = compilePyExpr(DEFAULT_BANTIME_FORMULA);
  const at = (count: number, factor = 1) => f.evaluateNumber({ ban: { Time: 600, Count: count }, banFactor: factor });
  assert.equal(at(0), 600);
  assert.equal(at(1), 1200);
  assert.equal(at(2), 2400);
  assert.equal(at(3, 2), 9600);
  assert.equal(at(20), 600 * 2 ** 20);
  assert.equal(at(25), 600 * 2 ** 20);
});

test('the exponential formula from jail.conf comments and multiplier-style expressions', () => {
  const f = compilePyExpr('ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)');
  assert.ok(Math.abs(f.evaluateNumber({ ban: { Time: 600, Count: 1 }, banFactor: 1 }) - 600 * Math.E) < 1e-9);
  const m = compilePyExpr('ban.Time * banFactor * (1 if ban.Count < 1 else 2 if ban.Count < 2 else 4)');
  assert.deepEqual([0, 1, 5].map((c) => m.evaluateNumber({ ban: { Time: 60, Count: c }, banFactor: 1 })), [60, 120, 240]);
  assert.equal(compilePyExpr('max(ban.Time, 3600)').evaluateNumber({ ban: { Time: 60 } }), 3600);
});

test('time values (§1.11)', () => {
  const cases: Array<[string, number]> = [
    ['1d12h30m', 131400],
    ['1mo', 2629800],
    ['-1', -1],
    ['1h+30m', 5400],
    ['1year-6mo', 15778800],
    ['6 months', 15778800],
    ['0d 1h 30m', 5400],
    ['10m', 600],
    ['1w', 604800],
    ['600', 600],
    ['2.5', 2.5],
    ['1 day', 86400],
    ['3 hours', 10800],
    ['1H', 3600],
    ['1y', 31557600],
    ['30s', 30],
    ['1hour+30min', 5400],
  ];
  for (const [text, want] of cases) assert.equal(parseTimeValue(text), want, text);
});

test('bad time values are MoatErrors with a code and location', () => {
  for (const bad of ['abc', '1x', '1 2 3', '', '10m+']) {
    assert.throws(
      () => parseTimeValue(bad, { file: 'jail.local', line: 7, option: 'bantime' }),
      (e: unknown) => e instanceof MoatError && e.code === 'MOAT_ERR_CONFIG_VALUE' && e.line === 7,
      bad,
    );
  }
});

test('hostile input is rejected, never executed', () => {
  const hostile = [
    "__import__('os')",
    "__import__('os').system('id')",
    'ban.__class__',
    'ban._private',
    '().__class__',
    'lambda: 1',
    'open',
    'globals()',
    '[1][0]',
    'ban.Time.real',
    'math.__dict__',
    'constructor',
    'toString',
    'ban.constructor',
    'ban.toString()',
    '1; 2',
    'exec("1")',
    'a = 1',
    '((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))',
  ];
  for (const src of hostile) {
    assert.throws(() => evaluatePyExpr(src, { ban: { Time: 1, Count: 0 } }), MoatError, src);
  }
  // functions from the scope cannot be called (only built-ins are callable)
  const scope = { f: (() => 1) as unknown as number };
  assert.throws(() => evaluatePyExpr('f()', scope), MoatError);
  assert.throws(() => evaluatePyExpr('1 / 0'), /division by zero/);
  assert.throws(() => evaluatePyExpr('math.log(0)'), /math domain error/);
  assert.throws(() => evaluatePyExpr('undefined_name'), /not defined/);
});

test('compile once, evaluate with different scopes', () => {
  const c = compilePyExpr('ban.Count * banFactor');
  assert.equal(c.source, 'ban.Count * banFactor');
  assert.equal(c.evaluate({ ban: { Count: 2 }, banFactor: 3 }), 6);
  assert.equal(c.evaluate({ ban: { Count: 5 }, banFactor: 1 }), 5);
  assert.throws(() => compilePyExpr('1 +'), (e: unknown) => e instanceof MoatError && /unexpected end/.test(e.message));
});
