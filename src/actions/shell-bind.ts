/**
 * Binding untrusted values into a `/bin/sh -c` script without splicing them
 * into the script text (§5.6, stricter than fail2ban).
 *
 * A dynamic tag (`<ip>`, `<matches>`, `<F-USER>`...) is replaced by a
 * reference to an environment variable (`_MOAT_T0`...) and the value travels
 * in the child's environment. The reference is written to suit the quoting
 * context the tag sits in, so the value arrives as exactly one intact word:
 *
 *   unquoted, `$(...)`, backticks   →  "${_MOAT_T0}"
 *   inside "..." or a here-document →  ${_MOAT_T0}
 *   inside '...'                     →  '"${_MOAT_T0}"'   (close, expand, reopen)
 *
 * An empty value is replaced by nothing, which is what fail2ban's literal
 * substitution produces. A tag inside a quoted here-document (`<<'EOF'`) cannot
 * be expanded safely at all and is refused.
 */
import { ActionError } from '../errors.ts';

/** Prefix of the environment variables that carry tag values. */
export const ENV_PREFIX = '_MOAT_T';

/** Marker pair the placeholders are built from: private-use characters no config contains. */
const OPEN = '\uE000';
const CLOSE = '\uE001';
const PLACEHOLDER_RE = /\uE000(\d+)\uE001/g;

type Quoting = 'plain' | 'double' | 'single' | 'heredoc' | 'heredoc-quoted' | 'comment';

export interface BoundScript {
  script: string;
  env: Record<string, string>;
}

/**
 * Collects values and hands out placeholders; `finish` turns the placeholder
 * text into the final script and environment.
 */
export class ShellBinder {
  private readonly values: string[] = [];
  private readonly byKey = new Map<string, number>();

  /** Placeholder for `value` (same key → same variable). */
  placeholder(key: string, value: string): string {
    let idx = this.byKey.get(key);
    if (idx === undefined) {
      idx = this.values.length;
      // NUL cannot travel through execve(); nothing else is altered
      this.values.push(value.replace(/\0/g, ''));
      this.byKey.set(key, idx);
    }
    return `${OPEN}${idx}${CLOSE}`;
  }

  get size(): number {
    return this.values.length;
  }

  finish(text: string): BoundScript {
    if (this.values.length === 0) return { script: text, env: {} };
    const quoting = placeholderQuoting(text);
    const env: Record<string, string> = {};
    let n = 0;
    const script = text.replace(PLACEHOLDER_RE, (_m, idxText: string) => {
      const idx = Number(idxText);
      const value = this.values[idx]!;
      const q = quoting[n++]!;
      if (value === '' || q === 'comment') return '';
      const name = `${ENV_PREFIX}${idx}`;
      env[name] = value;
      switch (q) {
        case 'plain':
          return `"\${${name}}"`;
        case 'double':
        case 'heredoc':
          return `\${${name}}`;
        case 'single':
          return `'"\${${name}}"'`;
        case 'heredoc-quoted':
          throw new ActionError(
            'a dynamic tag inside a quoted here-document cannot be substituted safely; use an unquoted delimiter',
          );
      }
    });
    return { script, env };
  }
}

interface Frame {
  kind: 'top' | 'cmdsub' | 'backtick' | 'double' | 'single' | 'param';
  /** Open parentheses inside a $( ... ) frame. */
  depth: number;
  /** For 'param': whether the ${...} sits inside double quotes. */
  quoted?: boolean;
}

/**
 * Walks the script like a POSIX shell tokenizer (quotes, escapes, `$(...)`,
 * backticks, `${...}`, comments, here-documents) and reports the quoting
 * context of every placeholder in order of appearance.
 */
export function placeholderQuoting(text: string): Quoting[] {
  const result: Quoting[] = [];
  const stack: Frame[] = [{ kind: 'top', depth: 0 }];
  const pendingHeredocs: { delim: string; quoted: boolean; stripTabs: boolean }[] = [];
  let wordStart = true;
  let i = 0;
  const top = () => stack[stack.length - 1]!;
  const inDouble = () => {
    const f = top();
    return f.kind === 'double' || (f.kind === 'param' && f.quoted === true);
  };

  while (i < text.length) {
    const c = text[i]!;
    const f = top();

    if (c === OPEN) {
      const end = text.indexOf(CLOSE, i);
      result.push(f.kind === 'single' ? 'single' : inDouble() ? 'double' : 'plain');
      i = end + 1;
      wordStart = false;
      continue;
    }

    if (f.kind === 'single') {
      if (c === "'") stack.pop();
      i++;
      continue;
    }

    if (c === '\\') {
      i += 2;
      wordStart = false;
      continue;
    }

    if (f.kind === 'double') {
      if (c === '"') stack.pop();
      else if (c === '`') stack.push({ kind: 'backtick', depth: 0 });
      else if (c === '$' && text[i + 1] === '(') {
        stack.push({ kind: 'cmdsub', depth: 0 });
        i++;
      } else if (c === '$' && text[i + 1] === '{') {
        stack.push({ kind: 'param', depth: 0, quoted: true });
        i++;
      }
      i++;
      continue;
    }

    // unquoted contexts: top, cmdsub, backtick, param
    if (c === "'") stack.push({ kind: 'single', depth: 0 });
    else if (c === '"') stack.push({ kind: 'double', depth: 0 });
    else if (c === '`') {
      if (f.kind === 'backtick') stack.pop();
      else stack.push({ kind: 'backtick', depth: 0 });
    } else if (c === '$' && text[i + 1] === '(') {
      stack.push({ kind: 'cmdsub', depth: 0 });
      i++;
    } else if (c === '$' && text[i + 1] === '{') {
      stack.push({ kind: 'param', depth: 0, quoted: inDouble() });
      i++;
    } else if (c === '}' && f.kind === 'param') stack.pop();
    else if (c === '(' && f.kind === 'cmdsub') f.depth++;
    else if (c === ')' && f.kind === 'cmdsub') {
      if (f.depth === 0) stack.pop();
      else f.depth--;
    } else if (c === '#' && wordStart && f.kind !== 'param') {
      const nl = text.indexOf('\n', i);
      const stop = nl < 0 ? text.length : nl;
      for (const _ of text.slice(i, stop).matchAll(PLACEHOLDER_RE)) result.push('comment');
      i = stop;
      continue;
    } else if (c === '<' && text[i + 1] === '<' && text[i + 2] !== '<') {
      // here-document operator: remember the delimiter, the body starts after the line ends
      let j = i + 2;
      const stripTabs = text[j] === '-';
      if (stripTabs) j++;
      while (text[j] === ' ' || text[j] === '\t') j++;
      const m = /^(?:'([^']*)'|"([^"]*)"|\\?([^\s;&|<>()]+))/.exec(text.slice(j));
      if (m) {
        const quoted = m[1] !== undefined || m[2] !== undefined || m[0].startsWith('\\');
        pendingHeredocs.push({ delim: m[1] ?? m[2] ?? m[3]!, quoted, stripTabs });
        i = j + m[0].length;
        wordStart = false;
        continue;
      }
    } else if (c === '\n' && pendingHeredocs.length) {
      i = skipHeredocBodies(text, i + 1, pendingHeredocs.splice(0), result);
      wordStart = true;
      continue;
    }
    wordStart = c === ' ' || c === '\t' || c === '\n' || c === ';' || c === '&' || c === '|' || c === '(' || c === ')';
    i++;
  }
  return result;
}

/** Consumes here-document bodies starting at `from`; returns the index after the last delimiter line. */
function skipHeredocBodies(
  text: string,
  from: number,
  docs: { delim: string; quoted: boolean; stripTabs: boolean }[],
  result: Quoting[],
): number {
  let i = from;
  for (const doc of docs) {
    while (i < text.length) {
      const nl = text.indexOf('\n', i);
      const end = nl < 0 ? text.length : nl;
      const line = text.slice(i, end);
      const bare = doc.stripTabs ? line.replace(/^\t+/, '') : line;
      i = end + 1;
      if (bare === doc.delim) break;
      for (const _ of line.matchAll(PLACEHOLDER_RE)) result.push(doc.quoted ? 'heredoc-quoted' : 'heredoc');
    }
  }
  return Math.min(i, text.length);
}

/** Where dynamic values come from (ActionInfo, or a family-only source for check/repair). */
export interface DynamicTagSource {
  /** Value for a dynamic tag; undefined leaves the tag to the fallbacks. */
  get(tag: string): Promise<string | undefined> | string | undefined;
  /** `<F-NAME>` value ('' when not captured). */
  filterValue(name: string): string;
}

/**
 * §5.3 pass 2: one non-recursive pass over the command; every dynamic value
 * becomes an environment variable reference. `<br>`, `<sp>` and host names are
 * configuration-side text; unknown tags are left in place.
 */
export async function bindDynamicTags(
  command: string,
  source: DynamicTagSource,
  fallback: (tag: string) => string | undefined,
): Promise<BoundScript> {
  const binder = new ShellBinder();
  if (!command.includes('<')) return binder.finish(command);
  const tagRe = /<([^ <>]+)>/g;
  const filterRe = /^F-([A-Z0-9_-]+)$/;
  const parts: string[] = [];
  let last = 0;
  for (const m of command.matchAll(tagRe)) {
    const tag = m[1]!;
    let repl: string | undefined;
    const v = await source.get(tag);
    if (v !== undefined) repl = binder.placeholder(tag, v);
    else {
      const f = filterRe.exec(tag);
      if (f) repl = binder.placeholder(tag, source.filterValue(f[1]!));
      else repl = fallback(tag);
    }
    if (repl === undefined) continue;
    parts.push(command.slice(last, m.index), repl);
    last = m.index + m[0].length;
  }
  parts.push(command.slice(last));
  return binder.finish(parts.join(''));
}
