/**
 * Helpers shared by the filter safety tests: which moat filters exist, which variants (modes,
 * logtypes) the corpus exercises, the corpus lines that must match (with their expected host),
 * and building a moat `Filter` for one variant.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFilter } from '../../src/config/index.ts';
import { Filter } from '../../src/filter/filter.ts';
import { DIRECTIVE_RE, filterOptions, filterReference, TEST_NOW, testableFilters } from '../conformance/harness.ts';

/** The config tree under test; MOAT_FILTERS_CONFIG_DIR lets the same checks run on another tree (e.g. stock fail2ban, to see them fail). */
export const MOAT_CONFIG = process.env.MOAT_FILTERS_CONFIG_DIR ?? fileURLToPath(new URL('../../config/', import.meta.url));
export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/filters/', import.meta.url));

export type Options = Record<string, string>;

export interface SampleLine {
  text: string;
  host: string;
  /** Variants (filter options) this line was annotated for. */
  variants: Options[];
  line: number;
}

export function moatFilters(): string[] {
  return testableFilters(MOAT_CONFIG);
}

export function buildFilter(name: string, opts: Options, usedns = 'raw', configDir = MOAT_CONFIG): Filter {
  const def = readFilter(filterReference(name, opts), { configDir, logtype: opts['logtype'] });
  return new Filter(
    {
      prefregex: def.prefregex,
      failregex: def.failregex,
      ignoreregex: def.ignoreregex,
      maxlines: def.maxlines,
      datepattern: def.datepattern,
      usedns,
    },
    { checkAllRegex: true, checkFindTime: false, rawHosts: usedns === 'raw', now: () => TEST_NOW },
  );
}

/**
 * Lines annotated `match: true` with a `host` in a sample file (journal-type variants are
 * left out: they need the journal entry path of the filter). Constraints are not evaluated:
 * a line is kept for the variants of its block, which is enough to find matching lines.
 */
export function matchingLines(file: string): SampleLine[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split(/\r\n|\n|\r/);
  const out: SampleLine[] = [];
  let variants: Options[] = [{}];
  let fileOpts: Options = {};
  for (let i = 0; i < lines.length; i++) {
    const d = DIRECTIVE_RE.exec(lines[i]!);
    if (!d) continue;
    const data = JSON.parse(d[2]!);
    if (d[1] === 'fileOptions') fileOpts = filterOptions(data);
    else if (d[1] === 'filterOptions') {
      variants = (Array.isArray(data) ? data : [data]).map((e: Record<string, unknown>) => ({ ...fileOpts, ...filterOptions(e) }));
    } else if (d[1] === 'failJSON' && data.match === true && typeof data.host === 'string' && i + 1 < lines.length) {
      const usable = variants.filter((v) => v['logtype'] !== 'journal');
      if (usable.length) out.push({ text: lines[i + 1]!.replace(/\r$/, ''), host: data.host, variants: usable, line: i + 2 });
      i++;
    }
  }
  return out;
}

export function corpusLines(logsDir: string, name: string): SampleLine[] {
  return [...matchingLines(join(logsDir, name)), ...matchingLines(join(GOLDEN_DIR, name))];
}

/** Distinct variants (as JSON keys) used by a set of lines. */
export function variantsOf(lines: SampleLine[]): Options[] {
  const seen = new Map<string, Options>();
  for (const l of lines) for (const v of l.variants) seen.set(JSON.stringify(v), v);
  if (!seen.size) seen.set('{}', {});
  return [...seen.values()];
}
