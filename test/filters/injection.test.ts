/**
 * CVE-2013-7176 class: text a client controls (user names, URLs, headers, HELO, e-mail
 * addresses) must never decide which address gets banned. For every moat filter, every corpus
 * line that matches is re-run with a fake address injected into its client-controlled parts;
 * the failure id must never become the fake address. Client-controlled parts are the values
 * the filter captured as data (user, alt_user ...) and quoted/bracketed fields ('...', "...",
 * <...>, (...)) that do not hold the real address. Plus fail2ban's static lint (§9.3): no greedy
 * catch-all before <HOST> unless the regex is hard-anchored at the end.
 */
process.env.TZ = 'Europe/Zurich';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fail2banPackage } from '../helpers/fail2ban-package.ts';
import { HOST_REGEX } from '../../src/filter/regex-tags.ts';
import { canonicalIp } from '../../src/net/ip.ts';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MOAT_CONFIG, buildFilter, corpusLines, moatFilters, variantsOf, type Options, type SampleLine } from './corpus-lines.ts';

const FAKE = '6.6.6.6';
const PAYLOADS = [
  ` from ${FAKE}`,
  ` ${FAKE}`,
  ` from ${FAKE} port 22 ssh2`,
  ` rhost=${FAKE}`,
  ` [${FAKE}]`,
  `, client: ${FAKE},`,
  `@${FAKE}`,
  ` IP: ${FAKE}`,
];
const SAMPLES_PER_VARIANT = Number(process.env.MOAT_INJECTION_SAMPLES ?? 12);
/** Word boundaries inside a field where an attacker's text could continue. */
const BOUNDARY = /[\s'"\])>,;:@]/;
const QUOTED = /'[^']*'|"[^"]*"|<[^<>]*>|\([^()]*\)/g;
const NOT_CLIENT_TEXT = new Set(['ip4', 'ip6', 'dns', 'fid', 'cidr', 'mlfid', 'content', 'matches']);

/** Insert positions inside the client-controlled spans of `line` (the real host excluded). */
function injectionPoints(line: string, data: Record<string, unknown>, host: string): number[] {
  const spans: [number, number][] = [];
  for (const [k, v] of Object.entries(data)) {
    if (NOT_CLIENT_TEXT.has(k) || k.startsWith('skiplines') || typeof v !== 'string' || !v) continue;
    for (let at = line.indexOf(v); at >= 0; at = line.indexOf(v, at + 1)) spans.push([at, at + v.length]);
  }
  for (const m of line.matchAll(QUOTED)) spans.push([m.index! + 1, m.index! + m[0].length - 1]);
  const points = new Set<number>();
  for (const [from, to] of spans) {
    if (line.slice(from, to).includes(host)) continue;
    for (let pos = from; pos <= to; pos++) if (pos === to || BOUNDARY.test(line[pos]!)) points.add(pos);
  }
  return [...points];
}

function idOf(m: { id: string | null }): string | null {
  return m.id === null ? null : (canonicalIp(m.id) ?? m.id);
}

function firstMatch(filter: ReturnType<typeof buildFilter>, line: string) {
  const found = filter.processLine(line).filter((r) => r.id !== null && !r.nofail);
  return found[0] ?? null;
}

interface InjectionResult {
  injected: number;
  stillReal: number;
  violations: string[];
}

/** Runs the injection check for one filter over its matching sample lines. */
function injectionCheck(name: string, lines: SampleLine[], configDir?: string): InjectionResult {
  const r: InjectionResult = { injected: 0, stillReal: 0, violations: [] };
  for (const variant of variantsOf(lines)) {
    const filter = buildFilter(name, variant, 'raw', configDir);
    for (const sample of lines.filter((l) => l.variants.some((v) => JSON.stringify(v) === JSON.stringify(variant)))) {
      const expected = canonicalIp(sample.host) ?? sample.host;
      // lines are fed in corpus order, so multi-line sessions build up as in the corpus run
      const base = firstMatch(filter, sample.text);
      if (!base || idOf(base) !== expected) continue;
      for (const pos of injectionPoints(sample.text, base.data, sample.host)) {
        for (const payload of PAYLOADS) {
          const text = sample.text.slice(0, pos) + payload + sample.text.slice(pos);
          const ids = filter.processLine(text).filter((m) => m.id !== null && !m.nofail).map(idOf);
          r.injected++;
          if (ids.includes(FAKE)) r.violations.push(`${name}${JSON.stringify(variant)} line ${sample.line}: ${text}`);
          else if (ids.includes(expected)) r.stillReal++;
        }
      }
    }
  }
  return r;
}

test('a fake address injected into client-controlled text never becomes the failure id', () => {
  const logs = fail2banPackage().logs;
  const total: InjectionResult = { injected: 0, stillReal: 0, violations: [] };
  for (const name of moatFilters()) {
    const r = injectionCheck(name, corpusLines(logs, name));
    total.injected += r.injected;
    total.stillReal += r.stillReal;
    total.violations.push(...r.violations);
  }
  for (const v of total.violations.slice(0, 40)) console.log(`INJECTED ADDRESS WON: ${v}`);
  console.log(`injection: ${total.injected} injected lines, ${total.stillReal} still matched the real address, ${total.violations.length} took the fake one`);
  assert.ok(total.stillReal > 2000, 'too few injected lines still matched: the test would prove nothing');
  assert.deepEqual(total.violations, []);
});

test('the injection check catches a CVE-2013-7176 style filter', () => {
  // a deliberately unsafe sshd filter: free-text user name, address not anchored at the end
  const dir = mkdtempSync(join(tmpdir(), 'moat-vuln-'));
  try {
    mkdirSync(join(dir, 'filter.d'));
    copyFileSync(join(MOAT_CONFIG, 'filter.d', 'common.conf'), join(dir, 'filter.d', 'common.conf'));
    writeFileSync(
      join(dir, 'filter.d', 'vuln.conf'),
      '[INCLUDES]\nbefore = common.conf\n[Definition]\n_daemon = sshd\n' +
        'failregex = ^%(__prefix_line)sFailed \\S+ for <F-USER>.*?</F-USER> from <HOST>\n',
    );
    const lines = corpusLines(fail2banPackage().logs, 'sshd').filter((l) => /Failed password for \S+ from/.test(l.text));
    assert.ok(lines.length > 3);
    const r = injectionCheck('vuln', lines, dir);
    assert.ok(r.violations.length > 0, 'the unsafe filter was not caught');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// fail2ban's RE_WRONG_GREED (tests/samplestestcase.py), applied to the expanded regexes
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const RE_WRONG_GREED = new RegExp(String.raw`\.[+*](?!\?)[^$^]*` + escapeRe(HOST_REGEX) + String.raw`.*(?:\.[+*].*|[^$])$`);

test('lint: RE_WRONG_GREED itself tells good from bad', () => {
  assert.ok(RE_WRONG_GREED.test(`greedy .* test${HOST_REGEX} test not hard-anchored`));
  assert.ok(RE_WRONG_GREED.test(`greedy .+ test${HOST_REGEX} test vary .* anchored$`));
  assert.ok(!RE_WRONG_GREED.test(`greedy .* test${HOST_REGEX} test no catch-all, hard-anchored$`));
  assert.ok(!RE_WRONG_GREED.test(`non-greedy .*? test${HOST_REGEX} test not hard-anchored`));
});

test('lint: no moat failregex has a greedy catch-all before <HOST> that is not end-anchored', () => {
  const logs = fail2banPackage().logs;
  const bad: string[] = [];
  let checked = 0;
  for (const name of moatFilters()) {
    const variants: Options[] = [{}, ...variantsOf(corpusLines(logs, name))];
    for (const variant of variants) {
      const filter = buildFilter(name, variant, 'yes');
      for (const fr of filter.failregex) {
        checked++;
        if (RE_WRONG_GREED.test(fr.expanded)) bad.push(`${name}${JSON.stringify(variant)}: ${fr.source}`);
      }
    }
  }
  for (const b of bad) console.log(`GREEDY: ${b}`);
  assert.ok(checked > 100, `too few regexes checked: ${checked}`);
  assert.deepEqual(bad, []);
});
