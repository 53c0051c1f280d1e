/**
 * Template order in the date detector when a datepattern line is also one of fail2ban's
 * line-anchored default copies (`{^LN-BEG}Epoch` next to `{^LN-BEG}`): fail2ban shares the template
 * object, so it sorts with the copies' weight 100 and a later winner does not pass it. `^Epoch` is
 * another object (weight 1) and is passed. Expected orders observed with fail2ban 1.0.2's
 * DateDetector on the same three lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateDetector } from '../../src/filter/date/index.ts';

const LINES = ['[1387288694] a', '[1387348935] b', '[2021-03-05 05:25:14.562] c'];

function firstTwo(datepattern: string): string[] {
  const d = new DateDetector({ datepattern, now: () => 1700000000 });
  for (const line of LINES) assert.ok(d.find(line), line);
  return d.templates.slice(0, 2).map((t) => `${t.name.slice(0, 24)}:${t.hits}`);
}

test('a datepattern line equal to an anchored default copy sorts with weight 100', () => {
  assert.deepEqual(firstTwo('{^LN-BEG}Epoch\n{^LN-BEG}'), ['{^LN-BEG}Epoch:2', '{^LN-BEG}ExYear(?P<_sep>:1']);
  assert.deepEqual(firstTwo('{^LN-BEG}epoch\n{^LN-BEG}'), ['{^LN-BEG}Epoch:2', '{^LN-BEG}ExYear(?P<_sep>:1']);
  assert.deepEqual(firstTwo('^Epoch\n{^LN-BEG}'), ['{^LN-BEG}ExYear(?P<_sep>:1', '{^LN-BEG}Epoch:2']);
});
