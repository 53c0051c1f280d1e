// Expected epochs were computed independently with Python under TZ=Europe/Zurich:
// time.mktime((Y, m, d, H, M, S, 0, 0, -1)) for local times, calendar.timegm(...) for UTC ones.
process.env.TZ = 'Europe/Zurich';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateDetector, DEFAULT_PATTERNS, defaultTemplateList } from '../../src/filter/date/index.ts';
import { DateError } from '../../src/errors.ts';

/** Sun 2005-08-14 12:00:00 CEST, the "now" of fail2ban's own test-suite. */
const NOW = 1124013600;
const detector = (datepattern: string | null = null, logtimezone: string | null = null): DateDetector =>
  new DateDetector({ datepattern, logtimezone, now: () => NOW });

function timeOf(line: string, d = detector()): number | null {
  return d.detect(line)?.time ?? null;
}

// One line per built-in template (reference §3.1): [example, expected date text, expected epoch].
const TEMPLATE_CASES: Array<[string, string, number]> = [
  ['2005-01-23T21:59:59.981746 x', '2005-01-23T21:59:59.981746', 1106513999],
  ['2005/01/23 21:59:59 x', '2005/01/23 21:59:59', 1106513999],
  ['2006.12.21 06:43:20 x', '2006.12.21 06:43:20', 1166679800],
  ['Sun Jan 23 21:59:59.011 2005 x', 'Sun Jan 23 21:59:59.011 2005', 1106513999],
  ['Jan 23 21:59:59 host sshd[1]: x', 'Jan 23 21:59:59', 1106513999],
  ['Sun Jan 23 2005 21:59:59 x', 'Sun Jan 23 2005 21:59:59', 1106513999],
  ['23/01/2005 21:59:59 x', '23/01/2005 21:59:59', 1106513999],
  ['17-07-2008 17:23:25 x', '17-07-2008 17:23:25', 1216308205],
  ['[31/Oct/2006:09:22:55 -0000] x', '31/Oct/2006:09:22:55 -0000', 1162286575],
  ['26-Jul-2007 15:20:52.252 x', '26-Jul-2007 15:20:52.252', 1185456052],
  ['05/20/2008:01:57:39 x', '05/20/2008:01:57:39', 1211241459],
  ['01-27-2012 16:22:44.252 x', '01-27-2012 16:22:44.252', 1327677764],
  ['1136239445 x', '1136239445', 1136239445],
  ['[1136239445.123] x', '1136239445.123', 1136239445.123],
  ['05:03:30 time only', '05:03:30', 1123988610],
  ['<09/16/08@05:03:30> x', '<09/16/08@05:03:30>', 1221534210],
  ['130322 11:46:11 x', '130322 11:46:11', 1363949171],
  ['Jan 23, 2005 9:59:59 PM x', 'Jan 23, 2005 9:59:59 PM', 1106513999],
  ['Apr-27-13 02:33:06 x', 'Apr-27-13 02:33:06', 1367022786],
  ['20050123T215959 x', '20050123T215959', 1106513999],
  ['PDT Apr 16 21:05:29 2005 x', 'PDT Apr 16 21:05:29 2005', 1113710729],
  ['+00:00 Jan 23 21:59:59.011 2005 x', '+00:00 Jan 23 21:59:59.011 2005', 1106517599],
  ['@4000000043bd5b1e0a9b8c2c x', '@4000000043bd5b1e0a9b8c2c', 0x43bd5b1e],
];

for (const [line, date, epoch] of TEMPLATE_CASES) {
  test(`default templates: ${line}`, () => {
    const found = detector().detect(line);
    assert.ok(found, 'a date is found');
    assert.equal(found.date, date);
    assert.equal(found.before + found.date + found.after, line);
    assert.equal(found.time, epoch);
  });
}

test('the default list: 17 patterns, 31 templates, anchored copies first', () => {
  assert.equal(DEFAULT_PATTERNS.length, 17);
  const list = defaultTemplateList();
  assert.equal(list.length, 31);
  assert.deepEqual(list.slice(0, 14).map((e) => e.weight), Array(14).fill(100));
  assert.ok(list.slice(0, 14).every((e) => e.spec.name.startsWith('{^LN-BEG}')));
  assert.equal(list[1]?.spec.name, '{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?');
  assert.equal(list[7]?.spec.name, '{^LN-BEG}Epoch');
  assert.equal(list[13]?.spec.name, '{^LN-BEG}TAI64N');
  assert.equal(list[23]?.spec.name, '^<Month/Day/ExYear2@24hour:Minute:Second>');
  assert.equal(list[30]?.spec.name, 'TAI64N');
  // the syslog template: (?iu) kept in front, line-start boundary, group 1 = date, word-end boundary
  assert.match(list[1]?.spec.regex ?? '', /^\(\?iu\)\^\(\?:\\W\{0,2\}\)\?\(\(\?:\(\?P<a>mon\|/);
  assert.ok(list[1]?.spec.regex.endsWith(')(?=\\b|\\W|$)'));
});

test('%ExY accepts this century up to three years ahead', () => {
  const d = detector();
  const year = new Date().getFullYear();
  assert.ok(d.detect(`${year + 2}-01-02 03:04:05 x`));
  assert.equal(d.detect('1999-01-02 03:04:05 x'), null);
});

test('year inference around New Year (now = 2005-08-14 12:00 CEST)', () => {
  assert.equal(timeOf('Aug 15 11:59:59 x'), 1124099999); // within a day ahead: this year
  assert.equal(timeOf('Aug 15 12:00:00 x'), 1124100000); // exactly one day ahead: still this year
  assert.equal(timeOf('Aug 16 12:00:01 x'), 1092650401); // more than a day ahead: last year
  assert.equal(timeOf('Dec 31 23:59:59 x'), 1104533999); // 2004-12-31
  // time only: today, or yesterday when ahead of now
  assert.equal(timeOf('08:00:00 x'), 1123999200);
  assert.equal(timeOf('21:59:59 x'), 1123963199);
});

test('year inference follows now() as it moves', () => {
  let now = NOW;
  const d = new DateDetector({ now: () => now });
  assert.equal(d.detect('Aug 16 12:00:01 x')?.time, 1092650401);
  now = NOW + 2 * 86400; // same text, two days later: now this year
  assert.equal(d.detect('Aug 16 12:00:01 x')?.time, 1092650401 + 365 * 86400);
});

test('12-hour clock: 12 AM is midnight, 12 PM is noon', () => {
  assert.equal(timeOf('Jan 23, 2005 12:00:00 AM x'), 1106434800);
  assert.equal(timeOf('Jan 23, 2005 12:00:00 PM x'), 1106478000);
});

test('%z offsets and Z', () => {
  assert.equal(timeOf('2005-01-23 21:59:59 +0130 x'), 1106512199);
  assert.equal(timeOf('2005-01-23 21:59:59 +01:30 x'), 1106512199);
  assert.equal(timeOf('2005-01-23T21:59:59Z x'), 1106517599);
  assert.equal(timeOf('192.0.2.1 - - [31/Oct/2006:09:22:55 +0200] "GET /"'), 1162279375);
});

test('apache line: the date after the host, cut out of the line', () => {
  const line = '192.0.2.1 - - [31/Oct/2006:09:22:55 -0000] "GET / HTTP/1.1" 401';
  const found = detector().detect(line);
  assert.ok(found);
  assert.equal(found.before, '192.0.2.1 - - [');
  assert.equal(found.date, '31/Oct/2006:09:22:55 -0000');
  assert.equal(found.after, '] "GET / HTTP/1.1" 401');
  assert.equal(found.time, 1162286575);
});

test('{^LN-BEG}: only line-anchored templates (17), no date in the middle of a line', () => {
  const d = detector('{^LN-BEG}');
  assert.equal(d.templates.length, 17);
  assert.equal(d.detect('Jan 23 21:59:59 host x')?.time, 1106513999);
  assert.equal(d.detect('[Jan 23 21:59:59] host x')?.date, 'Jan 23 21:59:59');
  assert.equal(d.detect('host 2005-01-23 21:59:59 x'), null);
  assert.equal(d.describe(), '{^LN-BEG} : Default Detectors');
});

test('a date inside the message does not win over the real one', () => {
  const d = detector();
  const first = d.detect('2005-01-23 21:59:59 host msg');
  assert.equal(first?.time, 1106513999);
  const line = 'host 2005-01-23 21:59:59 said: Jan 01 10:00:00 was 2006-01-01 10:00:00';
  const found = d.detect(line);
  assert.equal(found?.date, '2005-01-23 21:59:59');
  assert.equal(found?.before, 'host ');
});

test('custom datepattern, %% for a literal percent, display name', () => {
  const d = detector('^100%% %m/%d/%Y %H:%M:%S');
  const found = d.detect('100% 01/23/2005 21:59:59 rest');
  assert.equal(found?.date, '100% 01/23/2005 21:59:59');
  assert.equal(found?.time, 1106513999);
  assert.equal(d.templates.length, 1);
  assert.equal(d.templates[0]?.name, '^100% Month/Day/Year 24hour:Minute:Second');
  assert.deepEqual(d.patternInfo(), { pattern: '^100%% %m/%d/%Y %H:%M:%S', name: '^100% Month/Day/Year 24hour:Minute:Second' });
  assert.equal(d.detect('x 01/23/2005 21:59:59'), null);
});

test('multi-line datepattern: one template per non-blank line, in order', () => {
  const d = detector('\n  ^%Y:%m:%d-%H:%M:%S  \n\n{^LN-BEG}%b %d %H:%M:%S\n');
  assert.equal(d.templates.length, 2);
  assert.equal(d.detect('2005:01:23-21:59:59 x')?.time, 1106513999);
  assert.equal(d.detect('Jan 23 21:59:59 x')?.time, 1106513999);
});

test('{DATE}: one template per default pattern inside the given frame', () => {
  const d = detector('^[^\\[]*\\[({DATE})');
  assert.equal(d.templates.length, 17);
  const found = d.detect('192.0.2.1 - - [31/Oct/2006:09:22:55 -0000] "GET /"');
  assert.equal(found?.date, '31/Oct/2006:09:22:55 -0000');
  assert.equal(found?.time, 1162286575);
  const rfc5424 = detector('^<\\d+>\\d+\\s+{DATE}');
  const r = rfc5424.detect('<34>1 2005-01-23T21:59:59.003Z host app');
  assert.equal(r?.date, '<34>1 2005-01-23T21:59:59.003Z');
  assert.equal(r?.time, 1106517599);
});

test('EPOCH: start of line, after [ and inside audit(...)', () => {
  const found = detector('EPOCH').detect('type=AVC msg=audit(1136239445.123:42): avc: denied');
  assert.equal(found?.date, '1136239445.123');
  assert.equal(found?.before, 'type=AVC msg=audit(');
  assert.equal(found?.time, 1136239445.123);
  assert.equal(timeOf('1136239445 x', detector('{^LN-BEG}Epoch')), 1136239445);
  assert.equal(timeOf('[1136239445] x', detector('^\\[{EPOCH}\\]')), 1136239445);
  assert.equal(timeOf('x 1136239445 y', detector('EPOCH')), null);
});

test('LEPOCH: milli- and microseconds', () => {
  const d = detector('LEPOCH');
  assert.equal(d.detect('1136239445123 x')?.time, 1136239445.123);
  assert.equal(d.detect('1136239445123456 x')?.time, 1136239445.123456);
  assert.equal(d.detect('1136239445 x')?.time, 1136239445);
});

test('TAI64N: seconds from the label, nanoseconds ignored', () => {
  const d = detector('{^LN-BEG}TAI64N');
  const found = d.detect('@4000000043bd5b1e0a9b8c2c dovecot: auth failed');
  assert.equal(found?.date, '@4000000043bd5b1e0a9b8c2c');
  assert.equal(found?.time, 1136483102);
  assert.equal(d.templates[0]?.name, '{^LN-BEG}TAI64N');
});

test('{NONE}: an empty date at line start, time NaN', () => {
  const found = detector('{NONE}').detect('Jan 23 21:59:59 host x');
  assert.ok(found);
  assert.equal(found.date, '');
  assert.equal(found.before, '');
  assert.equal(found.after, 'Jan 23 21:59:59 host x');
  assert.ok(Number.isNaN(found.time));
});

test('zone abbreviations are fixed offsets', () => {
  const d = detector('^%Y-%m-%d %H:%M:%S %ExZ');
  assert.equal(d.detect('2005-01-23 21:59:59 CEST x')?.time, 1106510399);
  assert.equal(d.detect('2005-01-23 21:59:59 EST x')?.time, 1106535599);
  assert.equal(d.detect('2005-01-23 21:59:59 NPT x')?.time, 1106496899);
  // unknown abbreviation: the date is cut out but has no time (the filter treats the line as undated)
  const q = d.detect('2005-01-23 21:59:59 QQQ x');
  assert.ok(q && q.date === '2005-01-23 21:59:59 QQQ' && Number.isNaN(q.time));
  const withOffset = detector('^%Y-%m-%d %H:%M:%S %Exz');
  assert.equal(withOffset.detect('2005-01-23 21:59:59 UTC+0200 x')?.time, 1106510399);
});

test('logtimezone applies to dates without a zone, not to dates with one', () => {
  assert.equal(timeOf('2005-01-23 21:59:59 x', detector(null, 'UTC+0200')), 1106510399);
  assert.equal(timeOf('2005-01-23 21:59:59 x', detector(null, 'UTC')), 1106517599);
  assert.equal(timeOf('2005-01-23 21:59:59 x', detector(null, 'CET')), 1106513999);
  assert.equal(timeOf('2005-01-23 21:59:59 +0130 x', detector(null, 'UTC+0200')), 1106512199);
  assert.equal(timeOf('1136239445 x', detector(null, 'UTC+0200')), 1136239445);
});

test('local time is DST-aware (summer and winter in Europe/Zurich)', () => {
  assert.equal(timeOf('2005-08-14 10:00:00 x'), 1124006400);
  assert.equal(timeOf('2005-01-23 21:59:59 x'), 1106513999);
  assert.equal(timeOf('2020-03-29 02:30:00 x'), 1585445400); // in the spring-forward gap: moves ahead
});

test('dates that cannot exist are cut out but carry no time', () => {
  const feb30 = detector().detect('2005-02-30 10:00:00 x');
  assert.ok(feb30 && feb30.date === '2005-02-30 10:00:00' && feb30.after === ' x' && Number.isNaN(feb30.time));
  assert.ok(Number.isNaN(detector().detect('Jan 23 25:59:59 x')?.time));
  assert.ok(Number.isNaN(detector('^%Y-%m-%d %H:%M:%S').detect('2005-02-29 10:00:00 x')?.time));
});

test('invalid patterns and zones raise DateError naming the option', () => {
  assert.throws(() => detector('^%Y-%m-%d %Q'), (err: unknown) => {
    assert.ok(err instanceof DateError);
    assert.equal(err.option, 'datepattern');
    assert.match(err.message, /Failed to set datepattern '\^%Y-%m-%d %Q'/);
    return true;
  });
  assert.throws(() => detector('^%Y-(%m'), DateError);
  assert.throws(() => detector('^%Y-%m\n^%Y-%m'), /There is already a template with name \^Year-Month/);
  assert.throws(
    () => new DateDetector({ logtimezone: 'Europe/Zurich', where: { file: 'jail.local', line: 3 } }),
    (err: unknown) => err instanceof DateError && err.option === 'logtimezone' && /jail\.local:3/.test(err.message),
  );
});

test('describe() and patternInfo() as fail2ban reports them', () => {
  const d = detector();
  assert.equal(d.describe(), 'Default Detectors');
  d.detect('Jan 23 21:59:59 x');
  assert.equal(d.templates.length, 31);
  assert.deepEqual(d.patternInfo(), { pattern: null, name: 'Default Detectors' });
  assert.equal(detector('EPOCH').describe(), 'EPOCH : Epoch');
  assert.equal(detector('{DEFAULT}').describe(), '{DEFAULT} : Default Detectors');
});

test('hits count the winning template; the last winner is reused', () => {
  const d = detector();
  for (let i = 0; i < 5; i++) d.detect(`Jan 23 21:59:0${i} host x`);
  d.detect('2005-01-23 21:59:59 host x');
  const hits = d.templates.filter((t) => t.hits > 0).map((t) => [t.name, t.hits]);
  // the syslog template won first and bubbled up to the top of the list
  assert.deepEqual(hits, [
    ['{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?', 5],
    ['{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  ?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?', 1],
  ]);
});

test('directives: names in any case, %A %B %l %p, %j, %W/%U with a weekday, %Ex*', () => {
  assert.equal(timeOf('jan 23 21:59:59 x'), 1106513999); // (?iu) for month names
  assert.equal(timeOf('Sunday, January 23 2005  9:59 PM x', detector('^%A, %B %d %Y %l:%M %p')), 1106513940);
  assert.equal(timeOf('2005 040 10:00:00 x', detector('^%Y %j %H:%M:%S')), 1107939600);
  assert.equal(timeOf('2005 05 Wed 10:00:00 x', detector('^%Y %W %a %H:%M:%S')), 1107334800);
  assert.equal(timeOf('2005 05 Wed 10:00:00 x', detector('^%Y %U %a %H:%M:%S')), 1107334800);
  const exact = detector('^%ExY%Exm%Exd %ExH%ExM%ExS');
  assert.equal(timeOf('20050123 215959 x', exact), 1106513999);
  assert.equal(exact.detect('2005123 215959 x'), null);
  assert.equal(exact.templates[0]?.name, '^ExYearExMonthExDay Ex24hourExMinuteExSecond');
  assert.equal(detector('^%k:%M %Exl').templates[0]?.name, '^%k:Minute %Exl');
  assert.equal(detector('^%Exk %l').templates[0]?.name, '^%Exk %l');
  // the same field twice is a regex error, as in Python
  assert.throws(() => detector('^%H %k'), /redefinition of group name/);
});

test('{UNB} and ** drop the word boundaries', () => {
  assert.equal(detector('%Y-%m-%d %H:%M:%S').detect('x2005-01-23 21:59:59 y'), null);
  assert.equal(timeOf('x2005-01-23 21:59:59 y', detector('{UNB}%Y-%m-%d %H:%M:%S')), 1106513999);
  assert.equal(timeOf('x2005-01-23 21:59:59y', detector('**%Y-%m-%d %H:%M:%S**')), 1106513999);
});
