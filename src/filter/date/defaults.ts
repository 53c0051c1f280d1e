/**
 * The built-in date templates (reference §3.1) and the lists derived from them: the 31-entry default
 * list (line-anchored copies first), the `{^LN-BEG}` subset and `{DATE}` expansion.
 * Specs are compiled once per process and shared; detectors wrap them in their own DateTemplate.
 */
import type { ErrorLocation } from '../../errors.ts';
import { createSpec, patternKey, type TemplateSpec } from './template.ts';
import { unboundPattern } from './template-regex.ts';

/** The 17 built-in patterns, in the order they are tried. */
export const DEFAULT_PATTERNS: readonly string[] = [
  // ISO 8601 and friends: 2005-01-23T21:59:59.981746, 2005/01/23 21:59:59, 2006.12.21 06:43:20
  '%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?',
  // asctime / syslog: Sun Jan 23 21:59:59.011 2005, Jan 23 21:59:59
  '(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?',
  // asctime with the year after the day: Sun Jan 23 2005 21:59:59
  '(?:%a )?%b %d %ExY %k:%M:%S(?:\\.%f)?',
  // 23/01/2005 21:59:59, 17-07-2008 17:23:25, 23/01/05 21:59:59
  '%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S',
  // Apache [31/Oct/2006:09:22:55 -0000], 26-Jul-2007 15:20:52.252
  '%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\\.%f)?(?: %z)?',
  // CPanel 05/20/2008:01:57:39
  '%m/%d/%ExY:%H:%M:%S',
  // 01-27-2012 16:22:44.252
  '%m-%d-%ExY %k:%M:%S(?:\\.%f)?',
  'EPOCH',
  // time only, at line start
  '{^LN-BEG}%H:%M:%S',
  // <09/16/08@05:03:30>
  '^<%m/%d/%Exy@%H:%M:%S>',
  // MySQL 130322 11:46:11
  '%Exy%Exm%Exd  ?%H:%M:%S',
  // Tomcat Jan 23, 2005 9:59:59 PM
  '%b %d, %ExY %I:%M:%S %p',
  // ASSP Apr-27-13 02:33:06
  '^%b-%d-%Exy %k:%M:%S',
  // 20050123T215959, 20050123 215959
  '%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\\s*%z)?',
  // monit: PDT Apr 16 21:05:29
  '(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?',
  // +00:00 Jan 23 21:59:59.011 2005
  '(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?',
  'TAI64N',
];

export interface DefaultEntry {
  spec: TemplateSpec;
  /** 100 for the line-anchored copies (preferred when sorting), 1 for the originals. */
  weight: number;
  /** A line-anchored copy's datepattern key (patternKey of the text it was made from). */
  key?: string;
}

let baseSpecs: TemplateSpec[] | null = null;
let defaultList: DefaultEntry[] | null = null;

/** The 17 built-in templates, compiled once. */
export function defaultBaseSpecs(): readonly TemplateSpec[] {
  baseSpecs ??= DEFAULT_PATTERNS.map((p) => createSpec(p, { builtin: true }));
  return baseSpecs;
}

/**
 * The 31-entry default list: a `{^LN-BEG}` copy of every template not already line-anchored (weight
 * 100, tried first), then the 17 originals.
 */
export function defaultTemplateList(): readonly DefaultEntry[] {
  if (defaultList) return defaultList;
  const anchored: DefaultEntry[] = [];
  const originals: DefaultEntry[] = [];
  for (const spec of defaultBaseSpecs()) {
    if (!spec.name.startsWith('{^LN-BEG}') && !spec.name.startsWith('^')) {
      const text = `{^LN-BEG}${spec.pattern ?? spec.name}`;
      const copy = createSpec(text, { builtin: true });
      if (copy.name !== spec.name) anchored.push({ spec: copy, weight: 100, key: patternKey(text) });
    }
    originals.push({ spec, weight: 1 });
  }
  defaultList = [...anchored, ...originals];
  return defaultList;
}

const DATE_PLACEHOLDER = /(?<!\\)\{DATE\}/gi;

/**
 * `{DATE}` expansion: one template per built-in pattern, with `{DATE}` replaced by that pattern
 * stripped of its boundaries. The keyword templates contribute their name ("Epoch", "TAI64N"), which
 * only becomes a real epoch/TAI64N template when the result is a keyword itself (`^{DATE}`).
 */
export function expandDatePlaceholder(preMatch: string, where: ErrorLocation): TemplateSpec[] {
  return defaultBaseSpecs().map((spec) => {
    const inner = unboundPattern(spec.pattern ?? spec.name);
    const pattern = preMatch.replace(DATE_PLACEHOLDER, () => inner);
    return createSpec(pattern, { builtin: false, where });
  });
}
