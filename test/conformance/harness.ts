/**
 * Runs fail2ban's sample-log corpus through moat's filter engine with fail2ban's own rules
 * (reference §9.3): fixed clock 1124013600, TZ Europe/Zurich, check-all-regex, raw hosts,
 * filterOptions variants, constraints, addFILE, journal-type variants; unannotated lines
 * must not match; exactly one failregex per matched line; every failregex must have a sample.
 *
 * A "check" is one test line evaluated against one filter variant, plus one "has samples"
 * check per failregex per variant.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readFilter } from '../../src/config/index.ts';
import { Filter, type FilterMatch } from '../../src/filter/filter.ts';
import { canonicalIp } from '../../src/net/ip.ts';

export const TEST_NOW = 1124013600;
/** fail2ban's TEST_NOW_STR: the date text used for journal-type lines. */
export const TEST_NOW_STR = '2005-08-14T10:00:00';

export interface CheckFailure {
  filter: string;
  variant: string;
  file: string;
  line: number;
  text: string;
  reason: string;
}

export interface FilterReport {
  filter: string;
  checks: number;
  passed: number;
  failures: CheckFailure[];
  error?: string;
}

type Opts = Record<string, unknown>;

interface Variant {
  name: string;
  opts: Opts;
  filter: Filter | null;
  loadError?: string;
  regexUsed: Set<number>;
}

export const DIRECTIVE_RE = /^#+ ?(failJSON|fileOptions|filterOptions|addFILE):(.+)$/;

/** The constraint expressions found in the corpus: `name == 'x'`, `opts.get('k') ==|!= 'v'`, joined by and/or. */
export function evalCondition(expr: string, name: string, opts: Opts): boolean {
  const parts = expr.split(/\s+(and|or)\s+/);
  let result = evalAtom(parts[0]!, name, opts);
  for (let i = 1; i < parts.length; i += 2) {
    const v = evalAtom(parts[i + 1]!, name, opts);
    result = parts[i] === 'and' ? result && v : result || v;
  }
  return result;
}

function evalAtom(atom: string, name: string, opts: Opts): boolean {
  const m = /^\s*(name|opts\.get\((['"])([^'"]+)\2\))\s*(==|!=)\s*(['"])(.*?)\5\s*$/.exec(atom);
  if (!m) throw new Error(`unsupported test condition: ${atom}`);
  const left = m[1] === 'name' ? name : (opts[m[3]!] as string | undefined);
  const eq = left === m[6];
  return m[4] === '==' ? eq : !eq;
}

/** A sample's filterOptions entry as filter options: values as text, `test.*` keys left out. */
export function filterOptions(opts: Opts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts)) if (!k.startsWith('test.')) out[k] = String(v);
  return out;
}

/** `name[k="v", ...]`: the filter reference a jail would write. */
export function filterReference(name: string, opts: Record<string, string>): string {
  const parts = Object.entries(opts).map(([k, v]) => `${k}="${v}"`);
  return parts.length ? `${name}[${parts.join(', ')}]` : name;
}

function localTime(text: string): number {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`bad time in annotation: ${text}`);
  const d = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const frac = m[7] ? Number(`0.${m[7]}`) : 0;
  return d.getTime() / 1000 + frac;
}

function sortedJson(v: unknown): string {
  if (v instanceof Set) v = [...v];
  if (Array.isArray(v)) return JSON.stringify([...v].map(String).sort());
  if (v && typeof v === 'object') return JSON.stringify(Object.entries(v as object).sort());
  return JSON.stringify(v);
}

function compareValue(key: string, expected: unknown, m: FilterMatch): string | null {
  let actual: unknown = m.data[key];
  if (actual === null || actual === undefined) {
    if (key === 'host') actual = m.id;
    if (key === 'attempts') actual = (m.data.matches ?? []).length;
  }
  if (actual instanceof Set || Array.isArray(actual) || (actual && typeof actual === 'object')) {
    return sortedJson(actual) === sortedJson(expected) ? null : `${key}: expected ${sortedJson(expected)}, got ${sortedJson(actual)}`;
  }
  if (key === 'host' && typeof actual === 'string' && typeof expected === 'string') {
    const a = canonicalIp(actual) ?? actual;
    const e = canonicalIp(expected) ?? expected;
    return a === e ? null : `host: expected ${expected}, got ${actual}`;
  }
  return actual === expected ? null : `${key}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

export interface RunOptions {
  /** Config dir whose filter.d holds the filters. */
  configDir: string;
  /** Sample logs dir. */
  logsDir: string;
}

/** Runs the samples of one filter. */
export function runFilterSamples(name: string, o: RunOptions): FilterReport {
  const report: FilterReport = { filter: name, checks: 0, passed: 0, failures: [] };
  const variants = new Map<string, Variant>();
  // fail2ban counts a regex as used when the same regex text was used by any variant
  const usedRegexText = new Set<string>();
  const fail = (v: Variant, file: string, line: number, text: string, reason: string) => {
    report.failures.push({ filter: name, variant: v.name, file, line, text, reason });
  };

  const getVariant = (opts: Opts): Variant => {
    const fo = filterOptions(opts);
    let vname = (opts['test.filter-name'] as string | undefined) ?? (Object.keys(fo).length ? JSON.stringify(fo) : '');
    vname = name + vname;
    let v = variants.get(vname);
    if (v) return v;
    v = { name: vname, opts, filter: null, regexUsed: new Set() };
    try {
      const def = readFilter(filterReference(name, fo), { configDir: o.configDir });
      v.filter = new Filter(
        {
          prefregex: def.prefregex,
          failregex: def.failregex,
          ignoreregex: def.ignoreregex,
          maxlines: def.maxlines,
          datepattern: def.datepattern,
          usedns: 'raw',
        },
        { checkAllRegex: true, checkFindTime: false, rawHosts: true, now: () => TEST_NOW },
      );
    } catch (e) {
      v.loadError = (e as Error).message;
    }
    variants.set(vname, v);
    return v;
  };

  const files = [name];
  let current: Variant[] | null = null;
  let commonOpts: Opts = {};
  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi]!;
    const path = join(o.logsDir, file);
    if (!existsSync(path)) {
      report.checks++;
      report.failures.push({ filter: name, variant: name, file, line: 0, text: '', reason: 'sample file missing' });
      continue;
    }
    // universal newlines, as Python's text mode reads the samples
    const lines = readFileSync(path, 'utf8').split(/\r\n|\n|\r/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    let ignoreBlock = false;
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!;
      let lineNo = i + 1;
      let faildata: Record<string, unknown> = {};
      const d = DIRECTIVE_RE.exec(line);
      if (d) {
        const data = JSON.parse(d[2]!);
        if (d[1] === 'fileOptions') {
          commonOpts = data;
          continue;
        }
        if (d[1] === 'filterOptions') {
          current = [];
          ignoreBlock = false;
          for (const entry of Array.isArray(data) ? data : [data]) {
            const opts: Opts = { ...commonOpts, ...entry };
            if (opts['test.condition']) ignoreBlock = !evalCondition(String(opts['test.condition']), name, opts);
            if (!ignoreBlock) current.push(getVariant(opts));
          }
          continue;
        }
        if (d[1] === 'addFILE') {
          files.push(data as string);
          continue;
        }
        faildata = data;
        i++;
        if (i >= lines.length) break;
        line = lines[i]!;
        lineNo = i + 1;
      } else if (ignoreBlock || line.startsWith('#') || line.trim() === '') {
        continue;
      }
      if (ignoreBlock) continue;
      if (!current) current = [getVariant({})];
      line = line.replace(/[\r\n]+$/, '');
      for (const v of current) {
        if (faildata['constraint'] && !evalCondition(String(faildata['constraint']), name, v.opts)) continue;
        report.checks++;
        if (!v.filter) {
          fail(v, file, lineNo, line, `filter failed to load: ${v.loadError}`);
          continue;
        }
        let results: FilterMatch[];
        try {
          if (v.opts['logtype'] !== 'journal') {
            results = v.filter.processLine(line);
          } else {
            const prefix = (v.opts['test.prefix-line'] as string | undefined) ?? '';
            results = v.filter.processLine(prefix + line, { time: TEST_NOW, dateText: TEST_NOW_STR });
          }
        } catch (e) {
          fail(v, file, lineNo, line, `exception: ${(e as Error).stack}`);
          continue;
        }
        const found = results.filter((r) => {
          if (r.id === null || r.nofail) {
            v.regexUsed.add(r.regexIndex);
            usedRegexText.add(v.filter!.failregex[r.regexIndex]!.expanded);
            return false;
          }
          return true;
        });
        const shouldMatch = faildata['match'] === true;
        if (!found.length) {
          if (shouldMatch) fail(v, file, lineNo, line, 'line not matched when it should have');
          else report.passed++;
          continue;
        }
        if (!shouldMatch) {
          fail(v, file, lineNo, line, `line matched when it should not have (regex ${found.map((f) => f.regexIndex)})`);
          continue;
        }
        if (found.length !== 1) {
          fail(v, file, lineNo, line, `multiple regexes matched: ${found.map((f) => f.regexIndex)}`);
          continue;
        }
        const m = found[0]!;
        const problems: string[] = [];
        for (const [k, expected] of Object.entries(faildata)) {
          if (k === 'time' || k === 'match' || k === 'desc' || k === 'constraint') continue;
          const p = compareValue(k, expected, m);
          if (p) problems.push(p);
        }
        if (typeof faildata['time'] === 'string') {
          const expected = localTime(faildata['time']);
          if (m.time !== expected) problems.push(`time: expected ${expected} (${faildata['time']}), got ${m.time}`);
        }
        v.regexUsed.add(m.regexIndex);
        usedRegexText.add(v.filter.failregex[m.regexIndex]!.expanded);
        if (problems.length) fail(v, file, lineNo, line, problems.join('; '));
        else report.passed++;
      }
    }
  }
  for (const v of variants.values()) {
    if (!v.filter) continue;
    v.filter.failregex.forEach((fr, idx) => {
      report.checks++;
      if (v.regexUsed.has(idx) || usedRegexText.has(fr.expanded)) report.passed++;
      else fail(v, name, 0, fr.source, `regex has no samples: ${idx}`);
    });
  }
  return report;
}

/** Filters of a config dir that fail2ban's sample test covers: filter.d/*.conf not ending in common.conf. */
export function testableFilters(configDir: string): string[] {
  return readdirSync(join(configDir, 'filter.d'))
    .filter((f) => f.endsWith('.conf') && !f.endsWith('common.conf') && !f.startsWith('.'))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function summarize(reports: FilterReport[]): { checks: number; passed: number } {
  let checks = 0;
  let passed = 0;
  for (const r of reports) {
    checks += r.checks;
    passed += r.passed;
  }
  return { checks, passed };
}
