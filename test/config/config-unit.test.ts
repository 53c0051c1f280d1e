import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConfigUnit, unitFiles } from '../../src/config/index.ts';
import { ConfigNotFoundError, ConfigSyntaxError, ConfigValueError } from '../../src/errors.ts';
import { fixtureTree } from './fixture-tree.ts';

test('unit file order: .conf, .d/*.conf, .local, .d/*.local (code-point sorted)', () => {
  const dir = fixtureTree({
    'jail.conf': '[a]\nv = conf\n',
    'jail.d/b.conf': '[a]\nv = d-b-conf\n',
    'jail.d/A.conf': '[a]\nv = d-A-conf\n',
    'jail.local': '[a]\nv = local\n',
    'jail.d/z.local': '[a]\nv = d-z-local\n',
    'jail.d/ignored.txt': '[a]\nv = nope\n',
  });
  assert.deepEqual(
    unitFiles(dir, 'jail').map((f) => f.slice(dir.length + 1)),
    ['jail.conf', 'jail.d/A.conf', 'jail.d/b.conf', 'jail.local', 'jail.d/z.local'],
  );
  const unit = ConfigUnit.read(dir, 'jail')!;
  assert.equal(unit.get('a', 'v'), 'd-z-local');
  // KNOWN keeps the value before the last override
  assert.equal(unit.get('a', 'x', { x: '%(known/v)s' }), 'local');
});

test('includes before/after relative to the including file, sibling .local, loops, missing files', () => {
  const dir = fixtureTree({
    'jail.conf': '[INCLUDES]\nbefore = sub/paths.conf\n   missing.conf\nafter = after.conf\n[DEFAULT]\norder = jail\n[j]\nx = %(p)s\n',
    'sub/paths.conf': '[INCLUDES]\nbefore = common.conf\n[DEFAULT]\np = paths\norder = paths\n',
    'sub/common.conf': '[INCLUDES]\nafter = ../jail.conf\n        common.conf\n[DEFAULT]\ncommon = 1\norder = common\n',
    'sub/common.local': '[DEFAULT]\ncommon = local\n',
    'after.conf': '[j]\ny = after\n',
  });
  const unit = ConfigUnit.read(dir, 'jail')!;
  const rel = unit.files.map((f) => f.slice(dir.length + 1));
  assert.deepEqual(rel, ['sub/common.conf', 'sub/common.local', 'sub/paths.conf', 'jail.conf', 'after.conf']);
  assert.equal(unit.get('j', 'x'), 'paths');
  assert.equal(unit.get('j', 'y'), 'after');
  assert.equal(unit.get('j', 'common'), 'local');
  assert.equal(unit.get('j', 'order'), 'jail');
});

test('a unit without files: read() is null, require() throws ConfigNotFoundError', () => {
  const dir = fixtureTree({ 'x.conf': '[a]\n' });
  assert.equal(ConfigUnit.read(dir, 'filter.d/nothing'), null);
  assert.throws(() => ConfigUnit.require(dir, 'filter.d/nothing'), ConfigNotFoundError);
  assert.throws(() => ConfigUnit.require(join(dir, 'nope'), 'jail'), ConfigNotFoundError);
});

test('a syntax error in any file of the unit names that file and line', () => {
  const dir = fixtureTree({ 'jail.conf': '[a]\nx=1\n', 'jail.local': '[a]\ny = 1\ny = 2\n' });
  assert.throws(
    () => ConfigUnit.read(dir, 'jail'),
    (e: unknown) => e instanceof ConfigSyntaxError && e.file === join(dir, 'jail.local') && e.line === 3,
  );
});

test('duplicates across files are the normal override mechanism', () => {
  const dir = fixtureTree({ 'jail.conf': '[a]\nx=1\n', 'jail.local': '[a]\nx = 2\n' });
  assert.equal(ConfigUnit.read(dir, 'jail')!.get('a', 'x'), '2');
});

test('conditional sections merge as key?cond; KNOWN copies per overridden option', () => {
  const dir = fixtureTree({
    'action.d/a.conf': '[Init]\nblocktype = REJECT\nchain = INPUT\n[Init?family=inet6]\nblocktype = REJECT6\n',
    'action.d/a.local': '[Init]\nchain = FORWARD\n',
  });
  const unit = ConfigUnit.read(dir, 'action.d/a')!;
  assert.deepEqual(unit.ownOptions('Init'), ['blocktype', 'chain', 'blocktype?family=inet6']);
  assert.equal(unit.get('Init', 'blocktype?family=inet6'), 'REJECT6');
  assert.equal(unit.get('Init', 'chain'), 'FORWARD');
  assert.equal(unit.get('Init', 'x', { x: '%(known/chain)s' }), 'INPUT');
  assert.deepEqual(unit.sectionNames(), ['Init']);
});

function unitOf(text: string): ConfigUnit {
  const dir = fixtureTree({ 'u.conf': text });
  return ConfigUnit.read(dir, 'u')!;
}

test('%(x)s: section, DEFAULT fallback, vars first, DEFAULT values interpolated in the section context', () => {
  const u = unitOf(
    '[DEFAULT]\nmode = normal\nfilter = %(__name__)s[mode=%(mode)s]\nport = 0:65535\n' +
      '[sshd]\nmode = aggressive\nport = ssh\n[other]\nline = %(port)s\n',
  );
  assert.equal(u.get('sshd', 'filter'), 'sshd[mode=aggressive]');
  assert.equal(u.get('other', 'filter'), 'other[mode=normal]');
  assert.equal(u.get('other', 'line'), '0:65535');
  assert.equal(u.get('other', 'line', { port: '22' }), '22');
  assert.equal(u.get('sshd', 'port', { port: 'vars-win' }), 'vars-win');
  assert.equal(u.get('sshd', 'missing'), undefined);
});

test('%(sec/opt)s only for lower-case sections; default/ and known/ references', () => {
  const u = unitOf(
    '[DEFAULT]\nproto = tcp\naction_ = act[p=%(proto)s]\n' +
      '[lt_file]\ndatepattern = {^LN-BEG}\n[Upper]\nv = 1\n' +
      '[j]\nproto = udp\na = %(lt_file/datepattern)s\nb = %(default/action_)s\nc = %(Upper/v)s\nd = %(known/proto)s\ne = %(lt_file/proto)s\n',
  );
  assert.equal(u.get('j', 'a'), '{^LN-BEG}');
  // the raw DEFAULT value is interpolated in j's context (proto = udp)
  assert.equal(u.get('j', 'b'), 'act[p=udp]');
  assert.throws(() => u.get('j', 'c'), /interpolation key 'upper\/v'/);
  // nothing overridden: known/ falls back to DEFAULT
  assert.equal(u.get('j', 'd'), 'tcp');
  // a section reference falls back to DEFAULT's raw value for a missing option
  assert.equal(u.get('j', 'e'), 'tcp');
});

test('%% is a literal percent; bad % syntax, missing keys and depth > 10 are located errors', () => {
  const u = unitOf(
    '[s]\ndp = %%Y-%%m-%%d %%H\nlone = 50% off\nunclosed = %(x\nmissing = a %(nothere)s b\n' +
      'l0 = %(l1)s\nl1 = %(l2)s\nl2 = %(l3)s\nl3 = %(l4)s\nl4 = %(l5)s\nl5 = %(l6)s\nl6 = %(l7)s\nl7 = %(l8)s\nl8 = %(l9)s\nl9 = %(l10)s\nl10 = %(l11)s\nl11 = end\n' +
      'k2 = %(k3)s\nk3 = %(k4)s\nk4 = %(k5)s\nk5 = %(k6)s\nk6 = %(k7)s\nk7 = %(k8)s\nk8 = %(k9)s\nk9 = %(k10)s\nk10 = end\n' +
      'self = %(self)s\n',
  );
  assert.equal(u.get('s', 'dp'), '%Y-%m-%d %H');
  assert.throws(() => u.get('s', 'lone'), (e: unknown) => e instanceof ConfigValueError && /must be followed by/.test(e.message) && e.line === 3);
  assert.throws(() => u.get('s', 'unclosed'), /bad interpolation variable reference/);
  assert.throws(
    () => u.get('s', 'missing'),
    (e: unknown) => e instanceof ConfigValueError && e.line === 5 && e.option === 'missing' && e.section === 's' && /'nothere'/.test(e.message),
  );
  assert.equal(u.get('s', 'k2'), 'end');
  assert.equal(u.get('s', 'l1'), 'end'); // 10 nested references: the limit
  assert.throws(() => u.get('s', 'l0'), /interpolation depth exceeded/); // 11
  assert.throws(() => u.get('s', 'self'), /interpolation depth exceeded/);
});
