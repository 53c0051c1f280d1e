import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExportParser, toExportFormat } from '../../src/sources/journal-export.ts';
import { formatJournalEntry, isoLocal, JOURNAL_LINE_FIELDS, type JournalLine } from '../../src/sources/journal-line.ts';
import { JournalLineReader } from '../../src/sources/journal-reader.ts';

type Entry = Record<string, string | Buffer | (string | Buffer)[]>;

/** Entries that exercise every rule of the line format and of the export stream. */
const ENTRIES: Entry[] = [
  { __CURSOR: 'c1', __REALTIME_TIMESTAMP: '1700000000123456', _HOSTNAME: 'web1', SYSLOG_IDENTIFIER: 'sshd', SYSLOG_PID: '77', _PID: '78', _COMM: 'x', MESSAGE: 'Failed password', _UID: '0' },
  // same host and identifier again (the reader reuses the strings), a whole second (no fraction)
  { __CURSOR: 'c2', __REALTIME_TIMESTAMP: '1700000001000000', _HOSTNAME: 'web1', SYSLOG_IDENTIFIER: 'sshd', _PID: '79', MESSAGE: 'again' },
  // non-ASCII host twice: UTF-8 text, never taken for its latin1 look-alike
  { __CURSOR: 'c3', __REALTIME_TIMESTAMP: '1700000002000001', _HOSTNAME: 'hôte', _COMM: 'dovecot', _PID: '9', MESSAGE: 'auth failed für x' },
  { __CURSOR: 'c4', __REALTIME_TIMESTAMP: '1700000002000002', _HOSTNAME: 'hÃ´te', _COMM: 'dovecot', _PID: '9', MESSAGE: 'm' },
  { __CURSOR: 'c5', __REALTIME_TIMESTAMP: '1700000002000003', _HOSTNAME: 'hôte', _COMM: 'dovecot', _PID: '9', MESSAGE: 'm' },
  // source time wins; hex and odd pids; a repeated MESSAGE; a repeated identifier (first wins)
  { __CURSOR: 'c6', __REALTIME_TIMESTAMP: '1', _SOURCE_REALTIME_TIMESTAMP: '1600000000000000', SYSLOG_IDENTIFIER: ['a', 'b'], SYSLOG_PID: '0x10', MESSAGE: ['one', 'two'] },
  { __CURSOR: 'c7', __REALTIME_TIMESTAMP: '1700000003000000', SYSLOG_IDENTIFIER: 'a', SYSLOG_PID: '012', MESSAGE: 'm' },
  { __CURSOR: 'c8', __REALTIME_TIMESTAMP: '1700000003000000', SYSLOG_IDENTIFIER: 'a', SYSLOG_PID: ' 12', _PID: '5', MESSAGE: 'm' },
  // kernel: monotonic seconds, source first
  { __CURSOR: 'c9', __REALTIME_TIMESTAMP: '1700000004000000', __MONOTONIC_TIMESTAMP: '5123456789', _HOSTNAME: 'h', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: 'oops' },
  { __CURSOR: 'c10', __REALTIME_TIMESTAMP: '1700000004000000', __MONOTONIC_TIMESTAMP: '5', _SOURCE_MONOTONIC_TIMESTAMP: '12', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: 'x' },
  // binary-form values: a multi-line message, invalid UTF-8, a binary host and timestamp
  { __CURSOR: 'c11', __REALTIME_TIMESTAMP: '1700000005000000', SYSLOG_IDENTIFIER: 'a', MESSAGE: 'x\ny' },
  { __CURSOR: 'c12', __REALTIME_TIMESTAMP: '1700000005000000', _HOSTNAME: Buffer.from('h\x01'), MESSAGE: Buffer.from([0x66, 0xff, 0x00, 0x0a]) },
  { __CURSOR: 'c13', __REALTIME_TIMESTAMP: Buffer.from('1700000005000007'), MESSAGE: 'binary time' },
  // empty values: empty host/identifier are left out, an empty pid too
  { __CURSOR: 'c14', __REALTIME_TIMESTAMP: '1700000006000000', _HOSTNAME: '', SYSLOG_IDENTIFIER: '', _COMM: 'c', SYSLOG_PID: '', _PID: '3', MESSAGE: '' },
  { __CURSOR: 'c15', __REALTIME_TIMESTAMP: '1700000006000000', SYSLOG_IDENTIFIER: 'a' },
  // no line: no cursor, a timestamp that is not a number, no timestamp
  { __REALTIME_TIMESTAMP: '1700000007000000', MESSAGE: 'no cursor' },
  { __CURSOR: 'c16', __REALTIME_TIMESTAMP: '17e5', MESSAGE: 'bad time' },
  { __CURSOR: 'c17', MESSAGE: 'no time' },
  // names of a wanted length that are not wanted; a huge timestamp
  { __CURSOR: 'c18', __REALTIME_TIMESTAMP: '1700000008000000', MESSAGX: 'no', _UID: '5', _HOSTNAMX: 'no', MESSAGE: 'yes' },
  { __CURSOR: 'c19', __REALTIME_TIMESTAMP: '99999999999999999999', MESSAGE: 'far future' },
  // an entry of unwanted fields only, then a normal one
  { _UID: '1', PRIORITY: '6' },
  { __CURSOR: 'c20', __REALTIME_TIMESTAMP: '1700000009000000', _HOSTNAME: 'web1', SYSLOG_IDENTIFIER: 'sshd', _PID: '80', MESSAGE: 'last' },
];

function reference(stream: Buffer, decodeBinary?: (b: Buffer) => string): JournalLine[] {
  const entries = new ExportParser({ fields: JOURNAL_LINE_FIELDS, ...(decodeBinary ? { decodeBinary } : {}) }).push(stream);
  return entries.map(formatJournalEntry).filter((l): l is JournalLine => l !== null);
}

test('journal line reader: the same lines as ExportParser + formatJournalEntry, for every chunk split', () => {
  const stream = toExportFormat(ENTRIES);
  const expected = reference(stream);
  assert.equal(expected.length, 18); // c1..c20 without c16 and c17
  assert.deepEqual(
    expected.map((l) => l.text).slice(0, 3),
    ['web1 sshd[77]: Failed password', 'web1 sshd[79]: again', 'hôte dovecot[9]: auth failed für x'],
  );
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = new JournalLineReader();
    const got = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
    assert.deepEqual(got, expected, `cut at ${cut}`);
    assert.equal(r.pendingBytes, 0);
  }
  // three pieces, and byte by byte
  const r = new JournalLineReader();
  const got: JournalLine[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...r.push(stream.subarray(i, i + 1)));
  assert.deepEqual(got, expected);
});

test('journal line reader: binary values go through the given decoder; reset drops a partial entry', () => {
  const stream = toExportFormat(ENTRIES);
  const latin1 = (b: Buffer) => b.toString('latin1');
  assert.deepEqual(new JournalLineReader({ decodeBinary: latin1 }).push(stream), reference(stream, latin1));

  const r = new JournalLineReader();
  r.push(Buffer.from('__CURSOR=x\n__REALTIME_TIMESTAMP=1\nMESSAGE=half'));
  r.reset();
  assert.equal(r.pendingBytes, 0);
  assert.deepEqual(r.push(toExportFormat([ENTRIES[1]!])).map((l) => [l.cursor, l.text]), [['c2', 'web1 sshd[79]: again']]);
  assert.throws(() => new JournalLineReader().push(Buffer.from('MESSAGE\n\x05\0\0\0\0\0\0\0abcdeX\n')), /not followed by a newline/);
  assert.throws(() => new JournalLineReader({ maxFieldBytes: 4 }).push(Buffer.from('MESSAGE\n\x05\0\0\0\0\0\0\0abcde\n')), /exceeds the limit/);
});

test('journal line: date part is the local ISO text and one space, the same as formatting each time', () => {
  process.env.TZ = 'Europe/Zurich';
  // one entry every 0.7 s across the end of daylight saving time (2026-10-25 03:00 CEST → 02:00 CET)
  const start = Date.UTC(2026, 9, 25, 0, 59, 50) * 1000;
  const entries = Array.from({ length: 40 }, (_, i) => ({ __CURSOR: `c${i}`, __REALTIME_TIMESTAMP: String(start + i * 700_000), MESSAGE: 'm' }));
  const lines = new JournalLineReader().push(toExportFormat(entries));
  const plain = (micros: number) => {
    const d = new Date(micros / 1000);
    const p = (n: number) => String(n).padStart(2, '0');
    const frac = micros % 1e6;
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${frac ? `.${String(frac).padStart(6, '0')}` : ''}`;
  };
  assert.equal(lines.length, 40);
  lines.forEach((l, i) => assert.equal(l.datePart, `${plain(start + i * 700_000)} `, `entry ${i}`));
  assert.ok(lines.some((l) => l.datePart.includes('T02:59:5')) && lines.some((l) => l.datePart.includes('T02:00:0')), 'crosses the change');
  assert.match(isoLocal(start), /T02:59:50$/); // no fraction when 0 µs, like isoformat()
});
