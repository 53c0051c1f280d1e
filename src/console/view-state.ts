/**
 * The console's UI state (focus, selections, prompt, overlays, messages) and the key handler that
 * changes it. Pure: keys in, state changes plus an optional effect out; the app runs the effects.
 */
import { canonicalIp } from '../net/ip.ts';

export type PaneId = 'jails' | 'failures' | 'bans' | 'report';
export const PANES: readonly PaneId[] = ['jails', 'failures', 'bans', 'report'];

export interface Prompt {
  kind: 'ban' | 'unban' | 'filter';
  label: string;
  text: string;
  /** Cursor position in code units of `text`. */
  cursor: number;
  /** Jail the ban/unban goes to. */
  jail: string | null;
}

export interface Message {
  text: string;
  error: boolean;
  /** Local epoch seconds when shown. */
  time: number;
}

export interface Selection {
  index: number;
  /** First visible row (virtualized lists only draw rows top..top+height). */
  top: number;
}

export interface UiState {
  focus: PaneId;
  /** Failures and bans panes show the selected jail, or every jail. */
  scope: 'jail' | 'all';
  jails: Selection;
  failures: Selection;
  bans: Selection;
  /** Report lines scrolled back from the newest. */
  reportBack: number;
  filter: string;
  prompt: Prompt | null;
  overlay: 'help' | 'detail' | null;
  message: Message | null;
}

export function initialUiState(): UiState {
  return {
    focus: 'jails',
    scope: 'jail',
    jails: { index: 0, top: 0 },
    failures: { index: 0, top: 0 },
    bans: { index: 0, top: 0 },
    reportBack: 0,
    filter: '',
    prompt: null,
    overlay: null,
    message: null,
  };
}

/** What the key handler needs to know about the current lists. */
export interface KeyContext {
  jailNames: string[];
  failureCount: number;
  bans: { jail: string; ip: string }[];
  reportCount: number;
  /** Visible rows of each list pane, for paging. */
  pageSize: Record<PaneId, number>;
  now: number;
}

export type Effect =
  | { type: 'quit' }
  | { type: 'ban'; jail: string; ip: string }
  | { type: 'unban'; jail: string; ip: string }
  | { type: 'reload' };

/** A key as blessed reports it: `name` (e.g. `up`, `enter`, `a`) and `full` (e.g. `C-c`, `S-tab`). */
export interface KeyInput {
  name?: string;
  full?: string;
  ch?: string;
  ctrl?: boolean;
  meta?: boolean;
}

export function selectedJail(ui: UiState, ctx: Pick<KeyContext, 'jailNames'>): string | null {
  return ctx.jailNames[Math.min(ui.jails.index, ctx.jailNames.length - 1)] ?? null;
}

function move(sel: Selection, delta: number, count: number): void {
  if (count <= 0) {
    sel.index = 0;
    return;
  }
  sel.index = Math.max(0, Math.min(count - 1, sel.index + delta));
}

function say(ui: UiState, text: string, error: boolean, now: number): void {
  ui.message = { text, error, time: now };
}

/** Handles one key; returns the effect to run, if any. */
export function handleKey(ui: UiState, ctx: KeyContext, key: KeyInput): Effect | null {
  const name = key.name ?? '';
  const full = key.full ?? name;
  if (full === 'C-c') return { type: 'quit' };
  if (ui.prompt) return promptKey(ui, ui.prompt, ctx, key);
  if (ui.overlay) {
    if (name === 'escape' || name === 'enter' || name === 'q' || (ui.overlay === 'help' && full === '?')) ui.overlay = null;
    return null;
  }
  const pane = ui.focus;
  const count =
    pane === 'jails' ? ctx.jailNames.length : pane === 'failures' ? ctx.failureCount : pane === 'bans' ? ctx.bans.length : ctx.reportCount;
  const page = Math.max(1, ctx.pageSize[pane] - 1);
  let delta = 0;
  switch (name) {
    case 'up':
    case 'k':
      delta = -1;
      break;
    case 'down':
    case 'j':
      delta = 1;
      break;
    case 'pageup':
      delta = -page;
      break;
    case 'pagedown':
      delta = page;
      break;
    case 'home':
    case 'g':
      delta = -Infinity;
      break;
    case 'end':
      delta = Infinity;
      break;
  }
  if (full === 'G') delta = Infinity;
  if (delta !== 0) {
    if (pane === 'report') {
      // Up goes back in time (the newest line is at the bottom).
      ui.reportBack = Math.max(0, Math.min(Math.max(0, count - ctx.pageSize.report), ui.reportBack - delta));
    } else {
      move(ui[pane], Number.isFinite(delta) ? delta : delta > 0 ? count : -count, count);
      if (pane === 'jails') {
        ui.failures = { index: 0, top: 0 };
        ui.bans = { index: 0, top: 0 };
      }
    }
    return null;
  }
  if (full === 'S-tab' || name === 'backtab') {
    ui.focus = PANES[(PANES.indexOf(pane) + PANES.length - 1) % PANES.length] as PaneId;
    return null;
  }
  switch (name) {
    case 'tab':
      ui.focus = PANES[(PANES.indexOf(pane) + 1) % PANES.length] as PaneId;
      return null;
    case 'q':
      return { type: 'quit' };
    case 'enter':
      if (pane === 'jails' && selectedJail(ui, ctx) !== null) ui.overlay = 'detail';
      return null;
    case 'escape':
      if (ui.filter !== '') {
        ui.filter = '';
        say(ui, 'filter cleared', false, ctx.now);
      }
      return null;
    case 'a':
      ui.scope = ui.scope === 'all' ? 'jail' : 'all';
      ui.failures = { index: 0, top: 0 };
      ui.bans = { index: 0, top: 0 };
      return null;
    case 'b': {
      const jail = selectedJail(ui, ctx);
      if (jail === null) {
        say(ui, 'no jail to ban in', true, ctx.now);
        return null;
      }
      ui.prompt = { kind: 'ban', label: `Ban IP in ${jail}: `, text: '', cursor: 0, jail };
      return null;
    }
    case 'u': {
      // Pre-filled with the selected ban, in the ban's own jail (the pane may list every jail).
      const ban = ctx.bans[Math.min(ui.bans.index, ctx.bans.length - 1)];
      const jail = ban?.jail ?? selectedJail(ui, ctx);
      if (jail === null) {
        say(ui, 'no jail to unban in', true, ctx.now);
        return null;
      }
      const text = ban?.ip ?? '';
      ui.prompt = { kind: 'unban', label: `Unban IP in ${jail}: `, text, cursor: text.length, jail };
      return null;
    }
    case 'r':
      say(ui, 'reloading configuration…', false, ctx.now);
      return { type: 'reload' };
  }
  if (full === '/' || key.ch === '/') {
    ui.prompt = { kind: 'filter', label: 'Filter (IP or text): ', text: ui.filter, cursor: ui.filter.length, jail: null };
    return null;
  }
  if (full === '?' || key.ch === '?') {
    ui.overlay = 'help';
    return null;
  }
  return null;
}

function promptKey(ui: UiState, p: Prompt, ctx: KeyContext, key: KeyInput): Effect | null {
  const name = key.name ?? '';
  switch (name) {
    case 'escape':
      ui.prompt = null;
      say(ui, p.kind === 'filter' ? 'filter unchanged' : 'cancelled', false, ctx.now);
      return null;
    case 'enter':
      return confirmPrompt(ui, p, ctx);
    case 'backspace':
      ui.message = null;
      if (p.cursor > 0) {
        p.text = p.text.slice(0, p.cursor - 1) + p.text.slice(p.cursor);
        p.cursor--;
      }
      return null;
    case 'delete':
      p.text = p.text.slice(0, p.cursor) + p.text.slice(p.cursor + 1);
      return null;
    case 'left':
      p.cursor = Math.max(0, p.cursor - 1);
      return null;
    case 'right':
      p.cursor = Math.min(p.text.length, p.cursor + 1);
      return null;
    case 'home':
      p.cursor = 0;
      return null;
    case 'end':
      p.cursor = p.text.length;
      return null;
  }
  if (key.full === 'C-u') {
    p.text = p.text.slice(p.cursor);
    p.cursor = 0;
    return null;
  }
  const ch = key.ch;
  ui.message = null;
  // Printable characters only: no control bytes reach the text (or the daemon).
  if (ch !== undefined && ch.length === 1 && ch >= ' ' && ch !== '\x7f' && !key.ctrl && !key.meta && p.text.length < 200) {
    p.text = p.text.slice(0, p.cursor) + ch + p.text.slice(p.cursor);
    p.cursor++;
  }
  return null;
}

function confirmPrompt(ui: UiState, p: Prompt, ctx: KeyContext): Effect | null {
  const text = p.text.trim();
  if (p.kind === 'filter') {
    ui.prompt = null;
    ui.filter = text;
    ui.failures = { index: 0, top: 0 };
    ui.bans = { index: 0, top: 0 };
    ui.jails = { index: 0, top: 0 };
    ui.reportBack = 0;
    say(ui, text === '' ? 'filter cleared' : `filter: ${text}`, false, ctx.now);
    return null;
  }
  if (text === '') {
    say(ui, 'enter an IP address (Esc cancels)', true, ctx.now);
    return null;
  }
  const ip = canonicalIp(text);
  if (ip === null) {
    // Stay in the prompt so the address can be corrected.
    say(ui, `not a valid IP address: ${text}`, true, ctx.now);
    return null;
  }
  ui.prompt = null;
  const jail = p.jail as string;
  return p.kind === 'ban' ? { type: 'ban', jail, ip } : { type: 'unban', jail, ip };
}

/** Keeps `sel.top` so that the selection is visible in a list of `height` rows. */
export function scrollIntoView(sel: Selection, count: number, height: number): void {
  if (count <= 0 || height <= 0) {
    sel.index = 0;
    sel.top = 0;
    return;
  }
  sel.index = Math.max(0, Math.min(sel.index, count - 1));
  if (sel.index < sel.top) sel.top = sel.index;
  if (sel.index >= sel.top + height) sel.top = sel.index - height + 1;
  sel.top = Math.max(0, Math.min(sel.top, Math.max(0, count - height)));
}
