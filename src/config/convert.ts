/**
 * Typed conversion of option values the way fail2ban's readers do it.
 */
import { ConfigValueError, type ErrorLocation } from '../errors.ts';

/** fail2ban's bool rule: `1 on true yes` (any case) are true, anything else false. */
export function parseConfigBool(text: string): boolean {
  return ['1', 'on', 'true', 'yes'].includes(text.trim().toLowerCase());
}

/** Python int(): optional sign, digits with single underscores, surrounding blanks. */
export function parseConfigInt(text: string, where: ErrorLocation = {}): number {
  if (!/^\s*[+-]?\d+(?:_\d+)*\s*$/.test(text)) {
    throw new ConfigValueError(`invalid integer ${JSON.stringify(text)}`, where);
  }
  return Number(text.trim().replace(/_/g, ''));
}

/** fail2ban's splitwords: split on spaces, commas and newlines, dropping empties. */
export function splitWords(text: string | null | undefined): string[] {
  if (!text) return [];
  return text
    .split(/[ ,\n]+/)
    .map((w) => w.trim())
    .filter(Boolean);
}
