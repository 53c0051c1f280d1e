/**
 * Hostile values from log lines must reach commands intact and never execute
 * (§5.6; CVE-2021-32749 class). Every context a stock action puts a tag in is
 * exercised through a real /bin/sh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandAction } from '../../src/actions/action.ts';
import { bindDynamicTags } from '../../src/actions/shell-bind.ts';
import { ActionError } from '../../src/errors.ts';
import { definition, tempDir, ticket } from './helpers.ts';

function hostileValues(pwn: string): string[] {
  return [
    `$(touch ${pwn}1)`,
    `\`touch ${pwn}2\``,
    `x; touch ${pwn}3`,
    `x | touch ${pwn}4`,
    `x\ntouch ${pwn}5`,
    `x' ; touch ${pwn}6; echo '`,
    `x" ; touch ${pwn}7; echo "`,
    `~! touch ${pwn}8`,
    `x'"$(touch ${pwn}9)"'`,
    `EOF\ntouch ${pwn}10\nEOF`,
    `}; touch ${pwn}11; {`,
    `$HOME * ?? [a] \\ \\\\ && || > ${pwn}12`,
    `a\r\nb\ttab  two  spaces`,
    `\\$(touch ${pwn}13)\\`,
  ];
}

// context name → command writing the value into FILE; the expected content is derived from the value
const contexts: [string, string, (v: string) => string][] = [
  ['unquoted', `printf '%s' <T> > FILE`, (v) => v],
  ['double quotes', `printf '%s' "<T>" > FILE`, (v) => v],
  ['single quotes', `printf '%s' '<T>' > FILE`, (v) => v],
  ['json in single quotes', `printf '%s' '{"v":"<T>"}' > FILE`, (v) => `{"v":"${v}"}`],
  ['$(...) unquoted', `x=$(printf '%s' <T>); printf '%s' "$x" > FILE`, (v) => v.replace(/\n+$/, '')],
  ['"$(... "...")"', `printf '%s' "$(printf '%s' "<T>")" > FILE`, (v) => v.replace(/\n+$/, '')],
  ['backticks', 'x=`printf \'%s\' "<T>"`; printf \'%s\' "$x" > FILE', (v) => v.replace(/\n+$/, '')],
  ['here-document', `cat > FILE <<EOF\n<T>\nEOF`, (v) => `${v}\n`],
  ['abuseipdb style', `lgm=$(printf '%.1000s\\n...' "<T>"); printf '%s' "$lgm" > FILE`, (v) => `${v}\n...`],
  ['comment', `printf 'c' > FILE # <T>`, () => 'c'],
];

for (const tag of ['F-USER', 'matches', 'fid', 'ip']) {
  test(`hostile values in <${tag}> never execute and arrive intact`, async (t) => {
    const dir = tempDir(t);
    const pwn = join(dir, 'pwn');
    const values = hostileValues(pwn);
    for (const [ci, [name, template, expected]] of contexts.entries()) {
      for (const [vi, value] of values.entries()) {
        const file = join(dir, `out-${ci}-${vi}`);
        const cmd = template.replaceAll('<T>', `<${tag}>`).replaceAll('FILE', `'${file}'`);
        const a = new CommandAction(definition({ actionban: cmd }), { jail: 'j' });
        const tk =
          tag === 'F-USER'
            ? ticket('192.0.2.1', { data: { user: value } })
            : tag === 'matches'
              ? ticket('192.0.2.1', { matches: value.split('\n') })
              : ticket(value, { ip: null, family: null });
        await a.ban(tk);
        assert.equal(readFileSync(file, 'utf8'), expected(value), `${name} / ${JSON.stringify(value)}`);
      }
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('pwn')), [], 'something executed');
    assert.equal(existsSync(`${pwn}1`), false);
  });
}

test('bound script carries references, not values', async () => {
  const source = { get: (tag: string) => (tag === 'ip' ? "1'2" : undefined), filterValue: () => '$(x)' };
  const b = await bindDynamicTags(`a <ip> "<ip>" '<ip>' <F-USER> <br> <unknown>`, source, (t) => (t === 'br' ? 'BR' : undefined));
  assert.equal(b.script, `a "\${_MOAT_T0}" "\${_MOAT_T0}" ''"\${_MOAT_T0}"'' "\${_MOAT_T1}" BR <unknown>`);
  assert.deepEqual(b.env, { _MOAT_T0: "1'2", _MOAT_T1: '$(x)' });
  assert.ok(!b.script.includes('$(x)'));
});

test('empty values vanish like fail2ban literal substitution', async () => {
  const source = { get: (tag: string) => (tag === 'ip' ? '' : undefined), filterValue: () => '' };
  const b = await bindDynamicTags(`echo <ip> [<ip>] <F-X>`, source, () => undefined);
  assert.equal(b.script, 'echo  [] ');
  assert.deepEqual(b.env, {});
});

test('a dynamic tag in a quoted here-document is refused', async () => {
  const a = new CommandAction(definition({ actionban: `cat <<'EOF'\n<ip>\nEOF` }), { jail: 'j' });
  await assert.rejects(a.ban(ticket('192.0.2.1')), ActionError);
});
