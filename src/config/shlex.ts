/**
 * POSIX shell-word splitting as Python's `shlex.split` does it (no comments, errors in its words):
 * used for `journalmatch` lines (`_SYSTEMD_UNIT=sshd.service + _COMM=sshd`) and `moat -i` input.
 */
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

export function shellSplit(text: string, where: ErrorLocation = {}): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) throw new ConfigValueError(`No closing quotation in ${JSON.stringify(text)}`, where);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        // inside double quotes a backslash escapes only these
        if (d === '\\' && i + 1 < text.length && '\\"$`\n'.includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) throw new ConfigValueError(`No closing quotation in ${JSON.stringify(text)}`, where);
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new ConfigValueError(`No escaped character in ${JSON.stringify(text)}`, where);
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
