import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandAction } from '../../src/actions/action.ts';
import {
  escapeTagValue,
  pythonFloatText,
  replaceStaticTags,
  resolvePropertyTags,
} from '../../src/actions/tags.ts';
import { ConfigValueError } from '../../src/errors.ts';
import { definition, tempDir, ticket } from './helpers.ts';

test('static pass: recursive, nested, conditional, unknown tags kept', () => {
  const props = {
    iptables: 'iptables <lockingopt>',
    'iptables?family=inet6': 'ip6tables <lockingopt>',
    lockingopt: '-w',
    chain: 'f2b-<name>',
    name: 'sshd',
    type: 'multi',
    'rule-multi': 'M',
  };
  const cmd = '<iptables> -I <chain> 1 -s <ip> -j X <rule-<type>><br>x<sp>y';
  const v4 = replaceStaticTags(cmd, resolvePropertyTags(props, 'family=inet4'), 'family=inet4');
  assert.equal(v4, 'iptables -w -I f2b-sshd 1 -s <ip> -j X M\nx y');
  const v6 = replaceStaticTags(cmd, resolvePropertyTags(props, 'family=inet6'), 'family=inet6');
  assert.equal(v6, 'ip6tables -w -I f2b-sshd 1 -s <ip> -j X M\nx y');
});

test('static pass: self reference is a ConfigValueError naming the option', () => {
  assert.throws(
    () => resolvePropertyTags({ a: 'x<a>' }, '', { file: 'action.d/x.conf' }),
    (e: unknown) => e instanceof ConfigValueError && e.option === 'a' && /action\.d\/x\.conf/.test(e.message),
  );
});

test('escapeTagValue and python float text', () => {
  assert.equal(escapeTagValue('a;b\n$(c)'), 'a\\;b\\n\\$\\(c\\)');
  assert.equal(pythonFloatText(1795238403), '1795238403.0');
  assert.equal(pythonFloatText(1795238403.553), '1795238403.553');
});

// Every dynamic tag, through a real shell, written one per line to a file.
test('dynamic tags table (real /bin/sh)', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const tags = [
    'ip', 'fid', 'family', 'ip-rev', 'ip-host', 'failures', 'time', 'bantime', 'bancount', 'matches',
    'ipmatches', 'ipjailmatches', 'ipfailures', 'ipjailfailures', 'restored', 'F-USER', 'F-ID', 'F-PORT',
    'F-MISSING', 'name', 'actname', 'jail.banned', 'jail.found_total', 'sp',
  ];
  // one file per tag: the file content is exactly the value the shell received
  const cmd = tags.map((tg) => `printf '%s' "<${tg}>" > '${dir}/${tg}'`).join('\n');
  const action = new CommandAction(definition({ actionban: cmd }), {
    jail: 'sshd',
    resolveHost: async (ip) => (ip === '192.0.2.1' ? 'host.example' : null),
    history: {
      matches: (ip, jail) => [`${ip} ${jail ?? 'all'} a`, `${ip} ${jail ?? 'all'} b`],
      failures: (_ip, jail) => (jail ? 7 : 11),
    },
    jailCounters: () => ({ banned: 4, bannedTotal: 5, found: 6, foundTotal: 9 }),
  });
  await action.ban(
    ticket('192.0.2.1', { data: { user: 'root', fid: 'FID', fport: '22' }, banCount: 2, bantime: -1 }),
  );
  const got = Object.fromEntries(tags.map((tg) => [tg, readFileSync(join(dir, tg), 'utf8')]));
  assert.deepEqual(got, {
    ip: '192.0.2.1', fid: '192.0.2.1', family: 'inet4', 'ip-rev': '1.2.0.192.', 'ip-host': 'host.example',
    failures: '3', time: '1795238403.553', bantime: '-1', bancount: '2', matches: 'line one\nline two',
    ipmatches: '192.0.2.1 all a\n192.0.2.1 all b', ipjailmatches: '192.0.2.1 sshd a\n192.0.2.1 sshd b',
    ipfailures: '11', ipjailfailures: '7', restored: '0', 'F-USER': 'root', 'F-ID': 'FID', 'F-PORT': '22',
    'F-MISSING': '', name: 'sshd', actname: 'test-action', 'jail.banned': '4', 'jail.found_total': '9', sp: ' ',
  });
});

test('start/stop use an empty pseudo ticket: ip empty, failures 0, time now', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const action = new CommandAction(
    definition({ actionstart: `echo "ip=[<ip>] f=<failures> t=<time> fam=<family>" > ${out}` }),
    { jail: 'j' },
  );
  const before = Date.now() / 1000;
  await action.start();
  const m = /^ip=\[\] f=0 t=(\d+\.\d+) fam=\n$/.exec(readFileSync(out, 'utf8'));
  assert.ok(m, readFileSync(out, 'utf8'));
  assert.ok(Number(m[1]) >= before - 1 && Number(m[1]) <= Date.now() / 1000 + 1);
});
