import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handleKey, initialUiState, scrollIntoView, type KeyContext, type KeyInput } from '../../src/console/view-state.ts';

const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({
  jailNames: ['nginx', 'sshd'],
  failureCount: 3,
  bans: [
    { jail: 'sshd', ip: '203.0.113.5' },
    { jail: 'sshd', ip: '2001:db8::1' },
  ],
  reportCount: 50,
  pageSize: { jails: 5, failures: 5, bans: 5, report: 5 },
  now: 1000,
  ...over,
});
const k = (name: string, extra: KeyInput = {}): KeyInput => ({ name, full: name, ...(name.length === 1 ? { ch: name } : {}), ...extra });
const type = (ui: ReturnType<typeof initialUiState>, c: KeyContext, text: string) => {
  for (const ch of text) handleKey(ui, c, { ch, name: /[a-z]/.test(ch) ? ch : undefined, full: ch });
};

test('arrows and j/k move within bounds; Tab cycles panes; q and Ctrl-C quit', () => {
  const ui = initialUiState();
  const c = ctx();
  handleKey(ui, c, k('down'));
  handleKey(ui, c, k('j'));
  assert.equal(ui.jails.index, 1);
  handleKey(ui, c, k('k'));
  handleKey(ui, c, k('up'));
  handleKey(ui, c, k('up'));
  assert.equal(ui.jails.index, 0);
  handleKey(ui, c, k('tab'));
  assert.equal(ui.focus, 'failures');
  handleKey(ui, c, k('end'));
  assert.equal(ui.failures.index, 2);
  handleKey(ui, c, k('tab'));
  handleKey(ui, c, k('tab'));
  assert.equal(ui.focus, 'report');
  handleKey(ui, c, k('up'));
  assert.equal(ui.reportBack, 1);
  handleKey(ui, c, k('tab'));
  assert.equal(ui.focus, 'jails');
  assert.deepEqual(handleKey(ui, c, k('q')), { type: 'quit' });
  assert.deepEqual(handleKey(ui, c, { name: 'c', full: 'C-c', ctrl: true }), { type: 'quit' });
});

test('b asks for an IP, validates it before sending, Enter confirms, Esc cancels', () => {
  const ui = initialUiState();
  const c = ctx();
  handleKey(ui, c, k('down'));
  handleKey(ui, c, k('b'));
  assert.equal(ui.prompt?.label, 'Ban IP in sshd: ');
  type(ui, c, '192.0.2.300');
  assert.equal(handleKey(ui, c, k('enter')), null);
  assert.equal(ui.message?.error, true);
  assert.match(ui.message!.text, /not a valid IP address: 192\.0\.2\.300/);
  assert.ok(ui.prompt, 'the prompt stays open to correct the address');
  handleKey(ui, c, k('backspace'));
  handleKey(ui, c, k('backspace'));
  assert.deepEqual(handleKey(ui, c, k('enter')), { type: 'ban', jail: 'sshd', ip: '192.0.2.3' });
  assert.equal(ui.prompt, null);
  handleKey(ui, c, k('b'));
  type(ui, c, '10.0.0.1');
  assert.equal(handleKey(ui, c, k('escape')), null);
  assert.equal(ui.prompt, null);
});

test('u is pre-filled with the selected ban and unbans in that ban\'s jail', () => {
  const ui = initialUiState();
  const c = ctx();
  handleKey(ui, c, k('tab'));
  handleKey(ui, c, k('tab'));
  handleKey(ui, c, k('down'));
  handleKey(ui, c, k('u'));
  assert.equal(ui.prompt?.text, '2001:db8::1');
  assert.equal(ui.prompt?.label, 'Unban IP in sshd: ');
  assert.deepEqual(handleKey(ui, c, k('enter')), { type: 'unban', jail: 'sshd', ip: '2001:db8::1' });
});

test('/ sets the filter, Esc clears it; r reloads; ? and Enter open overlays', () => {
  const ui = initialUiState();
  const c = ctx();
  handleKey(ui, c, { ch: '/', full: '/' });
  type(ui, c, '203.0');
  handleKey(ui, c, k('enter'));
  assert.equal(ui.filter, '203.0');
  handleKey(ui, c, k('escape'));
  assert.equal(ui.filter, '');
  assert.deepEqual(handleKey(ui, c, k('r')), { type: 'reload' });
  handleKey(ui, c, { ch: '?', full: '?' });
  assert.equal(ui.overlay, 'help');
  handleKey(ui, c, k('escape'));
  handleKey(ui, c, k('enter'));
  assert.equal(ui.overlay, 'detail');
  handleKey(ui, c, k('j'));
  assert.equal(ui.jails.index, 0, 'keys go to the overlay while it is open');
});

test('scrollIntoView keeps the selection inside the window', () => {
  const sel = { index: 30, top: 0 };
  scrollIntoView(sel, 100, 10);
  assert.deepEqual(sel, { index: 30, top: 21 });
  sel.index = 5;
  scrollIntoView(sel, 100, 10);
  assert.deepEqual(sel, { index: 5, top: 5 });
  scrollIntoView(sel, 3, 10);
  assert.deepEqual(sel, { index: 2, top: 0 });
});
