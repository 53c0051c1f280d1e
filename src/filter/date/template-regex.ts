/**
 * Turns a date pattern into the regex a template searches with (reference §3.3): word or line-start
 * boundaries, the date group (group 1 is the text cut out of the line), `**` markers, global flags.
 * Everything here works on Python-syntax regex text; compiling is the matcher's job.
 */
import { expandDirectives, needsIgnoreCase } from './directives.ts';

/** Template flags, as fail2ban numbers them. */
export const LINE_BEGIN = 8;
export const LINE_END = 4;
export const WORD_BEGIN = 2;
export const WORD_END = 1;

export const LINE_START_PREFIX = '^(?:\\W{0,2})?';
export const WORD_START_PREFIX = '(?=^|\\b|\\W)';
export const WORD_END_SUFFIX = '(?=\\b|\\W|$)';

const GLOBAL_FLAGS = /((?:^|(?!<\\))\(\?[a-z]+\))/;
const NO_WORD_BOUND_BEGIN = /^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)/;
const NO_WORD_BOUND_END = /(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$/;
/** An opening paren of a capturing group without a name (not escaped, not `(?`). */
const HAS_PLAIN_GROUP = /(?<!\(\?)(?<!\\)\((?!\?)/;
const WRAP_IN_GROUP = /^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)(.*?)(\$?)$/;
const LINE_BOUND_BEGIN = /^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))/;
const LINE_BOUND_END = /(?<![\\|])(?:\$\)?)$/;
const STAR_MARKERS = /^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$/g;

const UNBOUND_PREFIX = /^\{UNB\}/;
const LINE_BEGIN_PREFIX = /^\{\^LN-BEG\}/;

export type WordBegin = boolean | 'start';

export interface TemplateRegex {
  /** Python-syntax regex; group 1 is the date text. */
  regex: string;
  flags: number;
  name: string;
}

/**
 * Adds boundaries and the date group to `regex` (already free of `%` directives). `name` gets the
 * `{^LN-BEG}` prefix when a line-start boundary is added.
 */
export function boundRegex(source: string, name: string, wordBegin: WordBegin, wordEnd: boolean): TemplateRegex {
  let regex = source.trim();
  // global flags like (?iu) are put back at the very start once the rest is built
  const globalFlags = GLOBAL_FLAGS.exec(regex);
  if (globalFlags) regex = regex.replace(GLOBAL_FLAGS, '');
  const boundBegin = wordBegin !== false && !NO_WORD_BOUND_BEGIN.test(regex);
  const boundEnd = wordEnd && !NO_WORD_BOUND_END.test(regex);
  if (!HAS_PLAIN_GROUP.test(regex)) regex = regex.replace(WRAP_IN_GROUP, '$1($2)$3');
  let flags = 0;
  if (boundBegin) {
    if (wordBegin === 'start') {
      flags |= LINE_BEGIN;
      regex = LINE_START_PREFIX + regex;
      if (!name.startsWith('{^LN-BEG}')) name = `{^LN-BEG}${name}`;
    } else {
      flags |= WORD_BEGIN;
      regex = WORD_START_PREFIX + regex;
    }
  }
  if (boundEnd) {
    flags |= WORD_END;
    regex += WORD_END_SUFFIX;
  }
  if (!(flags & LINE_BEGIN) && LINE_BOUND_BEGIN.test(regex)) flags |= LINE_BEGIN;
  if (!(flags & LINE_END) && LINE_BOUND_END.test(regex)) flags |= LINE_END;
  regex = regex.replace(STAR_MARKERS, (m) => m.replaceAll('**', ''));
  if (globalFlags) regex = (globalFlags[1] as string) + regex;
  return { regex, flags, name };
}

/**
 * A strptime-like date pattern (`{UNB}`/`{^LN-BEG}` prefixes, `%X` directives, regex syntax) → its
 * template regex and display name. Throws an Error (reason only) for a bad directive.
 */
export function patternRegex(pattern: string, wordBegin: WordBegin = true, wordEnd = true): TemplateRegex {
  let body = pattern;
  if (UNBOUND_PREFIX.test(body)) {
    body = body.replace(UNBOUND_PREFIX, '');
    wordBegin = false;
    wordEnd = false;
  }
  if (wordBegin !== false && LINE_BEGIN_PREFIX.test(body)) {
    body = body.replace(LINE_BEGIN_PREFIX, '');
    wordBegin = 'start';
  }
  const expanded = expandDirectives(body);
  const regex = needsIgnoreCase(body) ? `(?iu)${expanded.regex}` : expanded.regex;
  return boundRegex(regex, expanded.name, wordBegin, wordEnd);
}

/** A pattern without its boundary markers, as it is spliced into a `{DATE}` pattern. */
export function unboundPattern(pattern: string): string {
  return pattern
    .replace(UNBOUND_PREFIX, '')
    .replace(LINE_BEGIN_PREFIX, '')
    .replace(/^\((?:\?:)?\^\|\\b\|\\W\)/, '')
    .replace(/\(\?=\\b\|\\W\|\$\)$/, '');
}
