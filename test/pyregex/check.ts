/** Compares our translation with CPython on a table of cases (one node:test per case). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegexError } from '../../src/errors.ts';
import { compilePythonRegex, type PyRegex } from '../../src/filter/pyregex/index.ts';
import { runPython, type OracleCase } from './python-oracle.ts';

export function compareWithPython(title: string, cases: OracleCase[]): void {
  const results = runPython(cases);
  const compiled = new Map<string, PyRegex>();
  cases.forEach((c, k) => {
    const expected = results[k]!;
    const shown = c.pattern.length > 90 ? c.pattern.slice(0, 87) + '...' : c.pattern;
    const name = `${title}: ${JSON.stringify(shown)} ${c.mode ?? 'search'} ${JSON.stringify(c.subject)}` +
      (c.pos ? ` pos=${c.pos}` : '') + (c.ignoreCase ? ' I' : '') + (c.multiline ? ' M' : '');
    test(name, () => {
      const opts = { ignoreCase: !!c.ignoreCase, multiline: !!c.multiline };
      if ('error' in expected) {
        if (c.pythonPattern) assert.fail(`Python rejects ${c.pythonPattern}: ${expected.error}`);
        assert.throws(() => compilePythonRegex(c.pattern, opts), (err: unknown) => {
          assert.ok(err instanceof RegexError, `expected RegexError, got ${String(err)}`);
          return true;
        }, `Python rejects it: ${expected.error}`);
        return;
      }
      const key = `${c.pattern}\0${c.ignoreCase}\0${c.multiline}`;
      let re = compiled.get(key);
      if (!re) compiled.set(key, (re = compilePythonRegex(c.pattern, opts)));
      const m = c.mode === 'match' ? re.match(c.subject, c.pos) : re.exec(c.subject, c.pos);
      const translation = JSON.stringify((re as unknown as { translations: unknown }).translations);
      if (expected.match === null) {
        assert.equal(m, null, `Python finds no match; we matched ${JSON.stringify(m?.text)} via ${translation}`);
        if (!c.pos && c.mode !== 'match') assert.equal(re.test(c.subject), false);
        return;
      }
      assert.ok(m, `Python matches at ${expected.match.span}; we found nothing via ${translation}`);
      assert.deepEqual([m.index, m.end], expected.match.span, `span via ${translation}`);
      expected.match.groups.forEach((span, g) => {
        const want = span ? c.subject.slice(span[0], span[1]) : undefined;
        assert.equal(m.group(g + 1), want, `group ${g + 1} via ${translation}`);
        assert.deepEqual(m.span(g + 1), span ?? undefined, `span of group ${g + 1}`);
      });
      const groupdict = Object.fromEntries(Object.entries(expected.match.groupdict).map(([n, v]) => [n, v ?? undefined]));
      assert.deepEqual({ ...m.groups }, groupdict, `groupdict via ${translation}`);
      if (!c.pos && c.mode !== 'match') assert.equal(re.test(c.subject), true);
    });
  });
}
