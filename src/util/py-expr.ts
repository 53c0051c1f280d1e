/**
 * A safe evaluator for the small subset of Python expressions fail2ban
 * evaluates from configuration: time values (§1.11, `1h+30m` after unit
 * rewriting) and `bantime.formula` / `bantime.factor` (§4.5).
 *
 * The source is tokenised and parsed into a tree of closures; nothing is ever
 * handed to `eval` or `Function`. Names resolve only through the scope object
 * given by the caller (own properties of plain objects, numbers, booleans) and
 * a fixed set of built-ins, so `__import__('os')`, string literals, lambdas or
 * dunder attributes cannot be expressed at all.
 *
 * Supported: int/float literals (`1_000`, `0x1f`, `1e3`), `True`/`False`,
 * `+ - * / // % **`, `<< >>`, `| & ^ ~`, unary `+ - ~`, parentheses,
 * comparisons (chained, `< <= > >= == !=`), `and` / `or` / `not`,
 * `x if c else y`, calls of `float int min max abs round` and
 * `math.exp/log/log10/log2/pow/sqrt/floor/ceil` (+ `math.e`, `math.pi`),
 * attribute access on scope objects (`ban.Time`).
 *
 * Numbers are JS doubles: the int/float distinction of Python is not kept
 * (`2629800.0` and `2629800` are the same value here).
 */
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

export type PyScopeValue = number | boolean | { readonly [name: string]: PyScopeValue };
export type PyScope = { readonly [name: string]: PyScopeValue };
export type PyValue = number | boolean | PyNamespace | PyFunction;

/** Longest source accepted; config expressions are one-liners. */
const MAX_SOURCE_LENGTH = 4096;
/** Deepest nesting of parentheses/operators accepted by the parser. */
const MAX_DEPTH = 64;

/** A callable built-in. Only instances of this class can be called. */
class PyFunction {
  constructor(
    readonly name: string,
    readonly call: (args: number[]) => number,
  ) {}
}

/** A module-like object (`math`) or a scope object (`ban`). */
class PyNamespace {
  constructor(readonly attrs: ReadonlyMap<string, PyValue>) {}
}

export interface CompiledPyExpr {
  readonly source: string;
  /** Evaluates with the given scope; throws ConfigValueError on a runtime error. */
  evaluate(scope?: PyScope): PyValue;
  /** Evaluates and converts the result to a number (booleans become 0/1). */
  evaluateNumber(scope?: PyScope): number;
}

/** Parses once; the result can be evaluated many times with different scopes. */
export function compilePyExpr(source: string, where: ErrorLocation = {}): CompiledPyExpr {
  if (source.length > MAX_SOURCE_LENGTH) {
    throw exprError(`expression longer than ${MAX_SOURCE_LENGTH} characters`, source, where);
  }
  const parser = new Parser(tokenize(source, where), source, where);
  const node = parser.parseAll();
  return {
    source,
    evaluate: (scope = {}) => node(new Env(scope, source, where)),
    evaluateNumber(scope = {}) {
      const v = node(new Env(scope, source, where));
      if (typeof v === 'number') return v;
      if (typeof v === 'boolean') return v ? 1 : 0;
      throw exprError(`expression does not give a number`, source, where);
    },
  };
}

/** One-shot evaluation: `evaluatePyExpr('ban.Time * 2', { ban: { Time: 600 } })` → 1200. */
export function evaluatePyExpr(source: string, scope: PyScope = {}, where: ErrorLocation = {}): PyValue {
  return compilePyExpr(source, where).evaluate(scope);
}

function exprError(message: string, source: string, where: ErrorLocation): ConfigValueError {
  return new ConfigValueError(`${message} in expression ${JSON.stringify(source)}`, where);
}

// ---------------------------------------------------------------------------
// Tokenizer

type TokenKind = 'num' | 'name' | 'op' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
  value: number;
  pos: number;
}

const OPERATORS = ['**', '//', '<<', '>>', '<=', '>=', '==', '!=', '+', '-', '*', '/', '%', '<', '>', '(', ')', ',', '.', '~', '|', '&', '^'];
const NUMBER_RE = /^(?:0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|0[oO][0-7](?:_?[0-7])*|0[bB][01](?:_?[01])*|(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)/;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(src: string, where: ErrorLocation): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    const rest = src.slice(i);
    const num = NUMBER_RE.exec(rest);
    if (num && /[0-9.]/.test(ch) && num[0] !== '.') {
      const text = num[0];
      const clean = text.replace(/_/g, '');
      let value: number;
      if (/^0[xX]/.test(clean)) value = parseInt(clean.slice(2), 16);
      else if (/^0[oO]/.test(clean)) value = parseInt(clean.slice(2), 8);
      else if (/^0[bB]/.test(clean)) value = parseInt(clean.slice(2), 2);
      else value = Number(clean);
      // Python rejects a name glued to a number (`1x`), so do we
      if (NAME_RE.test(src.slice(i + text.length))) {
        throw exprError(`invalid syntax at offset ${i}`, src, where);
      }
      tokens.push({ kind: 'num', text, value, pos: i });
      i += text.length;
      continue;
    }
    const name = NAME_RE.exec(rest);
    if (name) {
      tokens.push({ kind: 'name', text: name[0], value: 0, pos: i });
      i += name[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ kind: 'op', text: op, value: 0, pos: i });
      i += op.length;
      continue;
    }
    throw exprError(`unexpected character ${JSON.stringify(ch)} at offset ${i}`, src, where);
  }
  tokens.push({ kind: 'end', text: '', value: 0, pos: src.length });
  return tokens;
}

// ---------------------------------------------------------------------------
// Evaluation environment and value helpers

class Env {
  constructor(
    readonly scope: PyScope,
    readonly source: string,
    readonly where: ErrorLocation,
  ) {}
  fail(message: string): never {
    throw exprError(message, this.source, this.where);
  }
}

type Node = (env: Env) => PyValue;

function typeName(v: PyValue): string {
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof PyFunction) return 'builtin_function';
  return 'object';
}

function num(env: Env, v: PyValue, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return env.fail(`unsupported operand type for ${what}: '${typeName(v)}'`);
}

function int(env: Env, v: PyValue, what: string): number {
  const n = num(env, v, what);
  if (!Number.isInteger(n)) env.fail(`unsupported operand type for ${what}: 'float'`);
  return n;
}

function truthy(v: PyValue): boolean {
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  return true;
}

/** Python's round(): half to even. */
function pyRound(x: number, digits: number): number {
  const f = 10 ** digits;
  const y = x * f;
  let r = Math.round(y);
  if (Math.abs(y % 1) === 0.5 && r % 2 !== 0) r -= 1;
  return r / f;
}

function mathFn(name: string, arity: [number, number], fn: (...a: number[]) => number): PyFunction {
  return new PyFunction(name, (args) => {
    if (args.length < arity[0] || args.length > arity[1]) {
      throw new RangeError(`${name}() takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]}..${arity[1]}`} argument(s) (${args.length} given)`);
    }
    const r = fn(...args);
    if (Number.isNaN(r)) throw new RangeError(`math domain error in ${name}()`);
    return r;
  });
}

const MATH = new PyNamespace(
  new Map<string, PyValue>([
    ['exp', mathFn('exp', [1, 1], Math.exp)],
    ['log', mathFn('log', [1, 2], (x, b) => (x! <= 0 || (b !== undefined && b <= 0) ? NaN : b === undefined ? Math.log(x!) : Math.log(x!) / Math.log(b)))],
    ['log10', mathFn('log10', [1, 1], (x) => (x! <= 0 ? NaN : Math.log10(x!)))],
    ['log2', mathFn('log2', [1, 1], (x) => (x! <= 0 ? NaN : Math.log2(x!)))],
    ['pow', mathFn('pow', [2, 2], (a, b) => a! ** b!)],
    ['sqrt', mathFn('sqrt', [1, 1], (x) => (x! < 0 ? NaN : Math.sqrt(x!)))],
    ['floor', mathFn('floor', [1, 1], Math.floor)],
    ['ceil', mathFn('ceil', [1, 1], Math.ceil)],
    ['e', Math.E],
    ['pi', Math.PI],
  ]),
);

const BUILTINS = new Map<string, PyValue>([
  ['True', true],
  ['False', false],
  ['math', MATH],
  ['float', mathFn('float', [0, 1], (x = 0) => x)],
  ['int', mathFn('int', [0, 1], (x = 0) => Math.trunc(x))],
  ['abs', mathFn('abs', [1, 1], Math.abs)],
  ['round', mathFn('round', [1, 2], (x, d) => (d === undefined ? pyRound(x!, 0) : pyRound(x!, Math.trunc(d))))],
  ['min', mathFn('min', [1, Infinity], (...a) => Math.min(...a))],
  ['max', mathFn('max', [1, Infinity], (...a) => Math.max(...a))],
]);

/** Wraps a scope value; only own properties of plain objects become attributes. */
function fromScope(v: PyScopeValue): PyValue {
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    const attrs = new Map<string, PyValue>();
    for (const key of Object.keys(v)) {
      const inner = v[key];
      if (inner !== undefined) attrs.set(key, fromScope(inner));
    }
    return new PyNamespace(attrs);
  }
  throw new TypeError('unsupported scope value');
}

function lookupName(env: Env, name: string): PyValue {
  if (name.startsWith('__')) env.fail(`name '${name}' is not allowed`);
  if (Object.prototype.hasOwnProperty.call(env.scope, name)) {
    const v = env.scope[name];
    if (v !== undefined) {
      try {
        return fromScope(v);
      } catch {
        env.fail(`name '${name}' has an unsupported value`);
      }
    }
  }
  const builtin = BUILTINS.get(name);
  if (builtin !== undefined) return builtin;
  return env.fail(`name '${name}' is not defined`);
}

// ---------------------------------------------------------------------------
// Parser: precedence climbing in Python's grammar order, producing closures.

const COMPARISON_OPS = new Set(['<', '<=', '>', '>=', '==', '!=']);

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
    private readonly where: ErrorLocation,
  ) {}

  parseAll(): Node {
    if (this.peek().kind === 'end') this.fail('empty expression');
    const node = this.conditional();
    if (this.peek().kind !== 'end') this.fail(`unexpected ${JSON.stringify(this.peek().text)} at offset ${this.peek().pos}`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }
  private next(): Token {
    return this.tokens[this.pos++]!;
  }
  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }
  private isKeyword(text: string): boolean {
    const t = this.peek();
    return t.kind === 'name' && t.text === text;
  }
  private expectOp(text: string): void {
    if (!this.isOp(text)) this.fail(`expected '${text}' at offset ${this.peek().pos}`);
    this.pos++;
  }
  private fail(message: string): never {
    throw exprError(message, this.source, this.where);
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail('expression nested too deeply');
  }

  // test: or_test ['if' or_test 'else' test]
  private conditional(): Node {
    this.enter();
    const body = this.orTest();
    let result = body;
    if (this.isKeyword('if')) {
      this.pos++;
      const cond = this.orTest();
      if (!this.isKeyword('else')) this.fail(`expected 'else' at offset ${this.peek().pos}`);
      this.pos++;
      const other = this.conditional();
      result = (env) => (truthy(cond(env)) ? body(env) : other(env));
    }
    this.depth--;
    return result;
  }

  private orTest(): Node {
    let left = this.andTest();
    while (this.isKeyword('or')) {
      this.pos++;
      const l = left;
      const r = this.andTest();
      left = (env) => {
        const v = l(env);
        return truthy(v) ? v : r(env);
      };
    }
    return left;
  }

  private andTest(): Node {
    let left = this.notTest();
    while (this.isKeyword('and')) {
      this.pos++;
      const l = left;
      const r = this.notTest();
      left = (env) => {
        const v = l(env);
        return truthy(v) ? r(env) : v;
      };
    }
    return left;
  }

  private notTest(): Node {
    if (this.isKeyword('not')) {
      this.pos++;
      this.enter();
      const operand = this.notTest();
      this.depth--;
      return (env) => !truthy(operand(env));
    }
    return this.comparison();
  }

  private comparison(): Node {
    const first = this.bitOr();
    const ops: string[] = [];
    const operands: Node[] = [first];
    while (this.peek().kind === 'op' && COMPARISON_OPS.has(this.peek().text)) {
      ops.push(this.next().text);
      operands.push(this.bitOr());
    }
    if (ops.length === 0) return first;
    return (env) => {
      let left = num(env, operands[0]!(env), ops[0]!);
      for (let i = 0; i < ops.length; i++) {
        const right = num(env, operands[i + 1]!(env), ops[i]!);
        if (!compare(ops[i]!, left, right)) return false;
        left = right;
      }
      return true;
    };
  }

  private binaryLevel(ops: string[], operand: () => Node, apply: (env: Env, op: string, a: PyValue, b: PyValue) => PyValue): Node {
    let left = operand();
    while (this.peek().kind === 'op' && ops.includes(this.peek().text)) {
      const op = this.next().text;
      const l = left;
      const r = operand();
      left = (env) => apply(env, op, l(env), r(env));
    }
    return left;
  }

  private bitOr(): Node {
    return this.binaryLevel(['|'], () => this.bitXor(), (env, _op, a, b) => bitwise(env, '|', a, b));
  }
  private bitXor(): Node {
    return this.binaryLevel(['^'], () => this.bitAnd(), (env, _op, a, b) => bitwise(env, '^', a, b));
  }
  private bitAnd(): Node {
    return this.binaryLevel(['&'], () => this.shift(), (env, _op, a, b) => bitwise(env, '&', a, b));
  }

  private shift(): Node {
    return this.binaryLevel(['<<', '>>'], () => this.arith(), (env, op, a, b) => {
      const x = int(env, a, op);
      const n = int(env, b, op);
      if (n < 0) env.fail('negative shift count');
      // multiply instead of JS's 32-bit `<<`: Python ints are unbounded
      return op === '<<' ? x * 2 ** n : Math.floor(x / 2 ** n);
    });
  }

  private arith(): Node {
    return this.binaryLevel(['+', '-'], () => this.term(), (env, op, a, b) => {
      const x = num(env, a, op);
      const y = num(env, b, op);
      return op === '+' ? x + y : x - y;
    });
  }

  private term(): Node {
    return this.binaryLevel(['*', '/', '//', '%'], () => this.factor(), (env, op, a, b) => {
      const x = num(env, a, op);
      const y = num(env, b, op);
      if (op === '*') return x * y;
      if (y === 0) env.fail(op === '%' ? 'modulo by zero' : 'division by zero');
      if (op === '/') return x / y;
      if (op === '//') return Math.floor(x / y);
      return x - y * Math.floor(x / y); // Python modulo takes the divisor's sign
    });
  }

  // factor: ('+'|'-'|'~') factor | power
  private factor(): Node {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '~')) {
      this.pos++;
      this.enter();
      const operand = this.factor();
      this.depth--;
      if (t.text === '-') return (env) => -num(env, operand(env), 'unary -');
      if (t.text === '+') return (env) => num(env, operand(env), 'unary +');
      return (env) => -int(env, operand(env), 'unary ~') - 1;
    }
    return this.power();
  }

  // power: primary ['**' factor]   (right-associative, binds tighter than a unary minus on its left)
  private power(): Node {
    const base = this.primary();
    if (!this.isOp('**')) return base;
    this.pos++;
    this.enter();
    const exponent = this.factor();
    this.depth--;
    return (env) => {
      const b = num(env, base(env), '**');
      const e = num(env, exponent(env), '**');
      if (b === 0 && e < 0) env.fail('0.0 cannot be raised to a negative power');
      const r = b ** e;
      if (Number.isNaN(r)) env.fail('complex result of ** is not supported');
      return r;
    };
  }

  // primary: atom ( '.' NAME | '(' args ')' )*
  private primary(): Node {
    let node = this.atom();
    for (;;) {
      if (this.isOp('.')) {
        this.pos++;
        const t = this.next();
        if (t.kind !== 'name') this.fail(`expected attribute name at offset ${t.pos}`);
        const attr = t.text;
        const obj = node;
        node = (env) => {
          const v = obj(env);
          if (attr.startsWith('_')) env.fail(`attribute '${attr}' is not allowed`);
          if (!(v instanceof PyNamespace)) return env.fail(`'${typeName(v)}' object has no attribute '${attr}'`);
          const a = v.attrs.get(attr);
          if (a === undefined) return env.fail(`object has no attribute '${attr}'`);
          return a;
        };
      } else if (this.isOp('(')) {
        this.pos++;
        this.enter();
        const args: Node[] = [];
        while (!this.isOp(')')) {
          args.push(this.conditional());
          if (!this.isOp(',')) break;
          this.pos++;
        }
        this.expectOp(')');
        this.depth--;
        const callee = node;
        node = (env) => {
          const fn = callee(env);
          if (!(fn instanceof PyFunction)) return env.fail(`'${typeName(fn)}' object is not callable`);
          const values = args.map((a) => num(env, a(env), `${fn.name}()`));
          try {
            return fn.call(values);
          } catch (err) {
            return env.fail((err as Error).message);
          }
        };
      } else {
        return node;
      }
    }
  }

  private atom(): Node {
    const t = this.next();
    if (t.kind === 'num') {
      const v = t.value;
      return () => v;
    }
    if (t.kind === 'name') {
      if (['and', 'or', 'not', 'if', 'else', 'lambda', 'import', 'for', 'in', 'is', 'None'].includes(t.text)) {
        this.fail(`unexpected keyword '${t.text}' at offset ${t.pos}`);
      }
      const name = t.text;
      return (env) => lookupName(env, name);
    }
    if (t.kind === 'op' && t.text === '(') {
      this.enter();
      const inner = this.conditional();
      this.expectOp(')');
      this.depth--;
      return inner;
    }
    if (t.kind === 'end') this.fail('unexpected end of expression');
    return this.fail(`unexpected ${JSON.stringify(t.text)} at offset ${t.pos}`);
  }
}

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    default:
      return a !== b;
  }
}

function bitwise(env: Env, op: string, a: PyValue, b: PyValue): PyValue {
  const x = BigInt(int(env, a, op));
  const y = BigInt(int(env, b, op));
  const r = op === '|' ? x | y : op === '&' ? x & y : x ^ y;
  return Number(r);
}
