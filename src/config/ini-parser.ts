/**
 * One INI file → sections and options with line numbers, reproducing Python's
 * `configparser` as fail2ban configures it (§1.2): `=`/`:` delimiters (first
 * wins), lower-cased option names, case-sensitive section names, `#`/`;`
 * comment lines, `;` inline comments only after whitespace, indented
 * continuation lines (inner blank lines kept, trailing ones dropped), strict
 * duplicate checks within the file. Values stay raw: `%(x)s` is resolved when
 * an option is fetched (see interpolate.ts).
 */
import { ConfigSyntaxError } from '../errors.ts';

export interface IniOption {
  /** Lower-cased option name. */
  name: string;
  /** Raw value (continuation lines joined with `\n`). */
  value: string;
  file: string;
  /** Line of the `key = value` line (1-based). */
  line: number;
}

export interface IniSection {
  /** Section name as written (`[Init?family=inet6]` keeps its condition here). */
  name: string;
  file: string;
  line: number;
  options: Map<string, IniOption>;
}

export interface IniFile {
  file: string;
  /** `[DEFAULT]` options (several `[DEFAULT]` headers in one file share one section). */
  defaults: IniSection | null;
  /** Named sections in file order. */
  sections: IniSection[];
}

export const DEFAULT_SECTION = 'DEFAULT';

/** `[name]`: like Python, the header runs to the last `]` of the (comment-stripped) line. */
const SECTION_RE = /^\[(.+)\]/;
/** `key = value` / `key: value`; the key is the shortest prefix before a delimiter. */
const OPTION_RE = /^(.*?)\s*([=:])\s*(.*)$/s;

/** Where an inline `;` comment starts, or -1 (it must follow whitespace, or start the line). */
function inlineCommentStart(line: string): number {
  let i = line.indexOf(';');
  while (i !== -1) {
    if (i === 0 || /\s/.test(line[i - 1]!)) return i;
    i = line.indexOf(';', i + 1);
  }
  return -1;
}

export function parseIni(text: string, file: string): IniFile {
  const result: IniFile = { file, defaults: null, sections: [] };
  const byName = new Map<string, IniSection>();
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > 0) lines[0] = lines[0]!.replace(/^\uFEFF/, '');

  let section: IniSection | null = null;
  // lines of the option currently being read (null between options)
  let current: { option: IniOption; parts: string[] } | null = null;
  let indentLevel = 0;

  const finish = () => {
    if (current) {
      current.option.value = current.parts.join('\n').replace(/\s+$/, '');
      current = null;
    }
  };

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const isCommentLine = /^\s*[#;]/.test(raw);
    const inline = isCommentLine ? 0 : inlineCommentStart(raw);
    const value = (inline === -1 ? raw : raw.slice(0, inline)).trim();
    if (value === '') {
      // blank lines belong to a multi-line value; comment lines are just skipped
      if (!isCommentLine && inline === -1 && current) current.parts.push('');
      return;
    }
    const indent = raw.search(/\S/);
    if (current && indent > indentLevel) {
      current.parts.push(value);
      return;
    }
    finish();
    indentLevel = indent;

    const header = SECTION_RE.exec(value);
    if (header) {
      const name = header[1]!;
      if (name === DEFAULT_SECTION) {
        result.defaults ??= { name, file, line: lineNo, options: new Map() };
        section = result.defaults;
        return;
      }
      if (byName.has(name)) {
        throw new ConfigSyntaxError(`section '${name}' already exists (first at line ${byName.get(name)!.line})`, {
          file,
          line: lineNo,
          section: name,
        });
      }
      section = { name, file, line: lineNo, options: new Map() };
      byName.set(name, section);
      result.sections.push(section);
      return;
    }
    if (!section) {
      throw new ConfigSyntaxError('file contains no section headers', { file, line: lineNo });
    }
    const opt = OPTION_RE.exec(value);
    if (!opt || opt[1]!.trim() === '') {
      throw new ConfigSyntaxError(`cannot parse line: ${JSON.stringify(raw.trim())}`, { file, line: lineNo, section: section.name });
    }
    const name = opt[1]!.trimEnd().toLowerCase();
    const previous = section.options.get(name);
    if (previous) {
      throw new ConfigSyntaxError(`option '${name}' already exists (first at line ${previous.line})`, {
        file,
        line: lineNo,
        section: section.name,
        option: name,
      });
    }
    const option: IniOption = { name, value: opt[3]!.trim(), file, line: lineNo };
    section.options.set(name, option);
    current = { option, parts: [option.value] };
  });
  finish();
  return result;
}
