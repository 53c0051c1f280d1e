import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExportParser, toExportFormat } from '../../src/sources/journal-export.ts';
import { formatJournalEntry, isoLocal } from '../../src/sources/journal-line.ts';
import { journalMatchArgs, journalSelectionArgs } from '../../src/sources/journal-source.ts';

const base = { __CURSOR: 'c1', __REALTIME_TIMESTAMP: '1700000000123456', __MONOTONIC_TIMESTAMP: '5123456789' };

test('export parser: text and binary fields, repeated fields, any chunk split', () => {
  const stream = toExportFormat([
    { ...base, MESSAGE: 'line one\nline two', _HOSTNAME: 'h', X: ['a', 'b'] },
    { __CURSOR: 'c2', __REALTIME_TIMESTAMP: '1', MESSAGE: Buffer.from([0x66, 0xff, 0x00, 0x0a]), EMPTY: '' },
  ]);
  // binary form really used for the multi-line message
  assert.ok(stream.includes(Buffer.from('MESSAGE\n\x11\0\0\0\0\0\0\0line one\nline two\n', 'latin1')));
  for (let cut = 0; cut <= stream.length; cut++) {
    const p = new ExportParser();
    const got = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
    assert.equal(got.length, 2, `cut at ${cut}`);
    assert.equal(got[0]!.MESSAGE, 'line one\nline two');
    assert.deepEqual(got[0]!.X, ['a', 'b']);
    assert.equal(got[1]!.MESSAGE, 'f\ufffd\0\n');
    assert.equal(got[1]!.EMPTY, '');
    assert.equal(p.pendingBytes, 0);
  }
  const only = new ExportParser({ fields: new Set(['__CURSOR']) }).push(stream);
  assert.deepEqual(only.map((e) => Object.keys(e)), [['__CURSOR'], ['__CURSOR']]);
  assert.throws(() => new ExportParser().push(Buffer.from('K\n\x05\0\0\0\0\0\0\0abcdeX\n')), /not followed by a newline/);
});

test('entry → line as fail2ban builds it (§8.3)', () => {
  const line = (fields: Record<string, string | string[]>) => formatJournalEntry({ ...base, ...fields })!.text;
  assert.equal(
    line({ _HOSTNAME: 'web1', SYSLOG_IDENTIFIER: 'sshd', SYSLOG_PID: '77', _PID: '78', _COMM: 'x', MESSAGE: 'Failed password' }),
    'web1 sshd[77]: Failed password',
  );
  // _COMM and _PID are the fallbacks; no hostname → no leading part
  assert.equal(line({ _COMM: 'dovecot', _PID: '9', MESSAGE: 'auth failed' }), 'dovecot[9]: auth failed');
  // pid only with an identifier; no identifier → host + message
  assert.equal(line({ _HOSTNAME: 'h', _PID: '9', MESSAGE: 'm' }), 'h m');
  assert.equal(line({ _HOSTNAME: 'h', SYSLOG_IDENTIFIER: 'su', MESSAGE: 'm' }), 'h su: m');
  // Python int(v, 0): hex pids are converted, non-numbers kept as they are
  assert.equal(line({ SYSLOG_IDENTIFIER: 'a', SYSLOG_PID: '0x10', MESSAGE: 'm' }), 'a[16]: m');
  assert.equal(line({ SYSLOG_IDENTIFIER: 'a', SYSLOG_PID: '012', MESSAGE: 'm' }), 'a[012]: m');
  // kernel: monotonic seconds, %12.6f
  assert.equal(line({ _HOSTNAME: 'h', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: 'oops' }), 'h kernel: [ 5123.456789] oops');
  assert.equal(
    line({ SYSLOG_IDENTIFIER: 'kernel', _SOURCE_MONOTONIC_TIMESTAMP: '12', MESSAGE: 'x' }),
    'kernel: [    0.000012] x',
  );
  // list MESSAGE joined with spaces, newlines escaped, empty message keeps the separator
  assert.equal(line({ SYSLOG_IDENTIFIER: 'a', MESSAGE: ['one', 'two'] }), 'a: one two');
  assert.equal(line({ SYSLOG_IDENTIFIER: 'a', MESSAGE: 'x\ny' }), 'a: x\\ny');
  assert.equal(line({ SYSLOG_IDENTIFIER: 'a' }), 'a: ');

  const e = formatJournalEntry({ ...base, MESSAGE: 'm' })!;
  assert.equal(e.time, 1700000000.123456);
  assert.equal(e.cursor, 'c1');
  assert.equal(e.datePart, `${isoLocal(1700000000123456)} `);
  assert.match(e.datePart, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123456 $/);
  assert.match(isoLocal(1700000000000000), /T\d\d:\d\d:\d\d$/); // no fraction when 0 µs, like isoformat()
  // _SOURCE_REALTIME_TIMESTAMP wins over the receive time
  assert.equal(formatJournalEntry({ ...base, _SOURCE_REALTIME_TIMESTAMP: '1600000000000000' })!.time, 1600000000);
  assert.equal(formatJournalEntry({ MESSAGE: 'no cursor' }), null);
});

test('journalmatch and backend options → journalctl arguments', () => {
  assert.deepEqual(
    journalMatchArgs([['_SYSTEMD_UNIT=sshd.service', '+', '_COMM=sshd'], ['SYSLOG_IDENTIFIER=x']]),
    ['_SYSTEMD_UNIT=sshd.service', '+', '_COMM=sshd', '+', 'SYSLOG_IDENTIFIER=x'],
  );
  assert.throws(() => journalMatchArgs([['--output=json']]), {
    code: 'MOAT_ERR_CONFIG_VALUE',
    message: /option 'journalmatch'.*--output=json/,
  });
  assert.throws(() => journalMatchArgs([['+', 'A=b']]), /starts or ends with '\+'/);
  assert.deepEqual(journalSelectionArgs({}), ['--system']);
  assert.deepEqual(journalSelectionArgs({ journalpath: '/j' }), ['--directory=/j']);
  assert.deepEqual(journalSelectionArgs({ journalfiles: '/a/*.journal, /b/x.journal' }), [
    '--file=/a/*.journal',
    '--file=/b/x.journal',
  ]);
  assert.deepEqual(journalSelectionArgs({ journalflags: '8', namespace: 'ns' }), ['--user', '--namespace=ns']);
  assert.deepEqual(journalSelectionArgs({ journalpath: '/r', journalflags: 16 }), ['--root=/r']);
  assert.throws(() => journalSelectionArgs({ journalflags: 'x' }), /option 'journalflags'/);
});
