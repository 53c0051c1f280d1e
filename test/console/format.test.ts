import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellWidth, escapeTags, formatCountdown, formatDuration, formatUptime, padEnd, padStart, sanitize, truncate } from '../../src/console/format.ts';

test('countdown: mm:ss under an hour, h:mm:ss above, ∞ permanent, ? unknown, never negative', () => {
  assert.equal(formatCountdown(1000 + 600, 1000), '10:00');
  assert.equal(formatCountdown(1000 + 59.2, 1000), '01:00');
  assert.equal(formatCountdown(1000 + 5, 1000), '00:05');
  assert.equal(formatCountdown(1000 + 3600, 1000), '1:00:00');
  assert.equal(formatCountdown(1000 + 36 * 3600 + 61, 1000), '36:01:01');
  assert.equal(formatCountdown(null, 1000), '∞');
  assert.equal(formatCountdown(undefined, 1000), '?');
  assert.equal(formatCountdown(900, 1000), '00:00');
});

test('durations and uptime', () => {
  assert.equal(formatDuration(600), '10m');
  assert.equal(formatDuration(90), '90s');
  assert.equal(formatDuration(86400), '1d');
  assert.equal(formatDuration(3600), '1h');
  assert.equal(formatDuration(604800), '1w');
  assert.equal(formatDuration(-1), '∞');
  assert.equal(formatUptime(3723), '1:02:03');
  assert.equal(formatUptime(86400 * 2 + 5), '2d 0:00:05');
});

test('cells: truncate with an ellipsis, pad to exact widths, strip control characters', () => {
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 4), 'abc');
  assert.equal(padEnd('ab', 4), 'ab  ');
  assert.equal(padStart('ab', 4), '  ab');
  assert.equal(padEnd('abcdef', 4), 'abc…');
  assert.equal(cellWidth('日本'), 4);
  assert.equal(sanitize('a\x1b[2Jb\nc'), 'a [2Jb c');
  assert.equal(escapeTags('{bold}x{/bold}'), '{open}bold{close}x{open}/bold{close}');
});
