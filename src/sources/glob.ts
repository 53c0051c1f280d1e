/**
 * logpath globbing with Python `glob.glob` semantics (§8.2): `*`, `?` and
 * `[...]` (with `!` negation) inside one path segment, no `**`, and names
 * starting with a dot are only matched by a pattern segment that starts
 * with a dot. Only regular files are returned.
 */

import { readdirSync, statSync, lstatSync } from 'node:fs';
import { join, isAbsolute, resolve, sep } from 'node:path';

const MAGIC = /[*?[]/;

export function hasGlobMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

/** fnmatch-style translation of one path segment to an anchored RegExp. */
export function segmentToRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('!')) {
        negate = true;
        body = body.slice(1);
      }
      body = body.replace(/\\/g, '\\\\').replace(/\^/g, '\\^').replace(/\]/g, '\\]');
      re += `[${negate ? '^' : ''}${body}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** Whether a directory entry name matches `segment` (a dot name only when the segment starts with a dot). */
function segmentTest(segment: string): (name: string) => boolean {
  if (!hasGlobMagic(segment)) return (name) => name === segment;
  const re = segmentToRegExp(segment);
  const dotOk = segment.startsWith('.');
  return (name) => (dotOk || !name.startsWith('.')) && re.test(name);
}

/**
 * The longest magic-free directory prefix of `pattern` and the remaining
 * segments. For `/var/log/apache*\/*.log` that is `/var/log` + 2 segments.
 */
export function splitGlob(pattern: string): { base: string; segments: string[] } {
  const abs = isAbsolute(pattern) ? pattern : resolve(pattern);
  const parts = abs.split(sep);
  let i = 0;
  while (i < parts.length - 1 && !hasGlobMagic(parts[i]!)) i++;
  const base = parts.slice(0, i).join(sep) || sep;
  return { base, segments: parts.slice(i).filter((p) => p !== '') };
}

export interface GlobResult {
  files: string[];
  /** Symlinks whose target does not exist (skipped, worth a warning). */
  dangling: string[];
}

/** Expands `pattern` to existing regular files, sorted. */
export function expandGlob(pattern: string): GlobResult {
  const out: GlobResult = { files: [], dangling: [] };
  const { base, segments } = splitGlob(pattern);
  walk(base, segments, out);
  out.files.sort();
  out.dangling.sort();
  return out;
}

function walk(dir: string, segments: string[], out: GlobResult): void {
  const [head, ...rest] = segments;
  if (head === undefined) return;
  let names: string[];
  if (!hasGlobMagic(head)) names = [head];
  else {
    try {
      names = readdirSync(dir).filter(segmentTest(head));
    } catch {
      return;
    }
  }
  for (const name of names) {
    const p = join(dir, name);
    if (rest.length) {
      if (isDirectory(p)) walk(p, rest, out);
      continue;
    }
    try {
      if (statSync(p).isFile()) out.files.push(p);
    } catch {
      try {
        if (lstatSync(p).isSymbolicLink()) out.dangling.push(p);
      } catch {
        /* vanished or never there */
      }
    }
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export interface CompiledGlob {
  pattern: string;
  /** Longest magic-free directory prefix. */
  base: string;
  /** True when only the last segment has wildcards (a watch on `base` sees every candidate). */
  flat: boolean;
  /** True when `path` (absolute) is one of the names the pattern can produce. */
  matches(path: string): boolean;
}

export function compileGlob(pattern: string): CompiledGlob {
  const { base, segments } = splitGlob(pattern);
  const parts = [...base.split(sep).filter(Boolean), ...segments];
  const tests = parts.map(segmentTest);
  return {
    pattern,
    base,
    flat: segments.length === 1,
    matches(path: string): boolean {
      const names = (isAbsolute(path) ? path : resolve(path)).split(sep).filter(Boolean);
      return names.length === tests.length && tests.every((t, i) => t(names[i]!));
    },
  };
}
