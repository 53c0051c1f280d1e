/**
 * Pure renderers: console state + UI state → rows of text for each pane. No blessed here, so every
 * view is unit-testable and the golden screens only check the wiring.
 *
 * Lists are virtualized: a renderer only formats the rows that fit its pane (10,000 bans cost one
 * sort when the data changes, and ~20 formatted rows per frame).
 */
import { formatCountdown, formatDuration, formatSyslogTime, formatUptime, padEnd, padStart, sanitize, truncate } from './format.ts';
import type { BanEntry, ConsoleState, FailureEntry, JailState, ReportLine } from './state.ts';
import { selectedJail, type PaneId, type Selection, type UiState } from './view-state.ts';

export type Tone = 'normal' | 'header' | 'error' | 'warn' | 'ok' | 'dim';

export interface Row {
  text: string;
  selected?: boolean;
  tone?: Tone;
}

export interface ConnectionInfo {
  socket: string;
  connected: boolean;
  /** Why the daemon is unreachable. */
  error: string | null;
  /** Seconds until the next connection attempt. */
  retryIn: number | null;
  /** 'fallback' when moatd lacks `console-state` (reduced data, see PROTOCOL.md). */
  mode: 'full' | 'fallback';
}

export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

export interface Layout {
  status: Rect;
  jails: Rect;
  failures: Rect;
  bans: Rect;
  report: Rect;
  spark: Rect;
  footer: Rect;
}

/** Pane geometry for a terminal of cols × rows (80×24 is the smallest supported). */
export function computeLayout(cols: number, rows: number, jailCount: number): Layout {
  const body = Math.max(9, rows - 2);
  // Jails: header + rows + borders, at most ~35% of the body.
  const jailsHeight = Math.max(4, Math.min(jailCount + 3, Math.floor(body * 0.35)));
  const rest = body - jailsHeight;
  // The bottom row needs 8 lines for the two sparklines; the lists get the rest.
  const bottom = Math.max(3, Math.min(rest - 5, Math.max(8, Math.floor(rest * 0.45))));
  const middle = rest - bottom;
  const failWidth = Math.max(28, Math.floor(cols * 0.4));
  const sparkWidth = Math.max(24, Math.floor(cols * 0.3));
  const midTop = 1 + jailsHeight;
  const botTop = midTop + middle;
  return {
    status: { top: 0, left: 0, width: cols, height: 1 },
    jails: { top: 1, left: 0, width: cols, height: jailsHeight },
    failures: { top: midTop, left: 0, width: failWidth, height: middle },
    bans: { top: midTop, left: failWidth, width: cols - failWidth, height: middle },
    report: { top: botTop, left: 0, width: cols - sparkWidth, height: bottom },
    spark: { top: botTop, left: cols - sparkWidth, width: sparkWidth, height: bottom },
    footer: { top: rows - 1, left: 0, width: cols, height: 1 },
  };
}

/** Rows a bordered pane of this rect can show (minus a header row when `header`). */
export function innerRows(rect: Rect, header: boolean): number {
  return Math.max(0, rect.height - 2 - (header ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Lists (sorted, filtered) — computed once per data change by the app.

function matchesFilter(ip: string, jail: string, filter: string): boolean {
  return filter === '' || ip.includes(filter) || jail.includes(filter);
}

/** Jails in name order. The filter does not hide jails: it narrows the lists inside them. */
export function jailList(state: ConsoleState): JailState[] {
  return [...state.jails.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function scopedJails(state: ConsoleState, ui: UiState, jails: JailState[]): JailState[] {
  if (ui.scope === 'all') return jails;
  const name = selectedJail(ui, { jailNames: jails.map((j) => j.name) });
  const j = name === null ? undefined : state.jails.get(name);
  return j ? [j] : [];
}

/** Failure counters of the selected jail (or all), most failures first. */
export function failureList(state: ConsoleState, ui: UiState, jails: JailState[], now: number): FailureEntry[] {
  const out: FailureEntry[] = [];
  for (const j of scopedJails(state, ui, jails)) {
    for (const f of state.liveFailures(j, now)) if (matchesFilter(f.ip, f.jail, ui.filter)) out.push(f);
  }
  return out.sort((a, b) => b.count - a.count || b.lastTime - a.lastTime || (a.ip < b.ip ? -1 : 1));
}

/** Active bans of the selected jail (or all), soonest unban first, permanent and unknown last. */
export function banList(state: ConsoleState, ui: UiState, jails: JailState[]): BanEntry[] {
  const out: BanEntry[] = [];
  for (const j of scopedJails(state, ui, jails)) {
    for (const b of j.bans.values()) if (matchesFilter(b.ip, b.jail, ui.filter)) out.push(b);
  }
  const key = (b: BanEntry): number => (b.end === null ? Infinity : b.end === undefined ? Number.MAX_VALUE : b.end);
  return out.sort((a, b) => key(a) - key(b) || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

export function reportList(state: ConsoleState, ui: UiState): ReportLine[] {
  if (ui.filter === '') return state.report;
  return state.report.filter((l) => l.text.includes(ui.filter) || (l.jail ?? '').includes(ui.filter));
}

// ---------------------------------------------------------------------------------------------
// Panes

function windowRows<T>(items: T[], sel: Selection | null, height: number, render: (item: T, index: number) => Row): Row[] {
  const top = sel ? sel.top : 0;
  const rows: Row[] = [];
  for (let i = top; i < Math.min(items.length, top + height); i++) {
    const row = render(items[i] as T, i);
    if (sel && i === sel.index) row.selected = true;
    rows.push(row);
  }
  return rows;
}

interface JailColumns {
  name: number;
  health: number;
}

function jailColumns(width: number): JailColumns {
  // backend 8, filter 10, failed 9, banned 9, max 3, find 5, ban 5, plus 8 separators = 57
  const rest = Math.max(14, width - 57);
  const name = Math.max(8, Math.min(24, Math.floor(rest * 0.5)));
  return { name, health: Math.max(6, rest - name) };
}

function jailCells(c: JailColumns, cells: string[]): string {
  const [name, backend, filter, failed, banned, max, find, ban, health] = cells as [string, string, string, string, string, string, string, string, string];
  return [
    padEnd(name, c.name),
    padEnd(backend, 8),
    padEnd(filter, 10),
    padStart(failed, 9),
    padStart(banned, 9),
    padStart(max, 3),
    padStart(find, 5),
    padStart(ban, 5),
    padEnd(health, c.health),
  ].join(' ');
}

export function healthText(j: JailState): { text: string; bad: boolean } {
  const h = j.health;
  if (h === null) return { text: '?', bad: false };
  const down = h.sources.filter((s) => !s.reachable);
  if (down.length > 0) {
    const s = down[0] as (typeof down)[number];
    return { text: `✗ ${s.name}: ${s.error ?? 'unreachable'}`, bad: true };
  }
  if (h.lastError) return { text: `! ${sanitize(h.lastError.message)}`, bad: true };
  return { text: h.ok ? 'ok' : '✗', bad: !h.ok };
}

/** Jails table: a header row then the visible jails. */
export function renderJails(state: ConsoleState, jails: JailState[], sel: Selection, width: number, height: number, now: number): Row[] {
  const c = jailColumns(width);
  const rows: Row[] = [
    { text: jailCells(c, ['Jail', 'Backend', 'Filter', 'Failed', 'Banned', 'Max', 'Find', 'Ban', 'Health']), tone: 'header' },
  ];
  if (jails.length === 0) return [...rows, { text: '(no jails)', tone: 'dim' }];
  rows.push(
    ...windowRows(jails, sel, height - 1, (j) => {
      const health = healthText(j);
      return {
        text: jailCells(c, [
          j.name,
          j.backend,
          j.filter,
          `${state.currentlyFailed(j, now)}/${j.totalFailed}`,
          `${j.bans.size}/${j.totalBanned}`,
          String(j.maxretry),
          formatDuration(j.findtime),
          formatDuration(j.bantime),
          health.text,
        ]),
        tone: health.bad ? 'error' : 'normal',
      };
    }),
  );
  return rows;
}

export function renderFailures(
  state: ConsoleState,
  list: FailureEntry[],
  sel: Selection,
  width: number,
  height: number,
  showJail: boolean,
  now: number,
): Row[] {
  const jailW = showJail ? Math.min(12, Math.max(6, Math.floor(width * 0.25))) : 0;
  const ipW = Math.max(7, width - 7 - 7 - (showJail ? jailW + 1 : 0) - 2);
  const cells = (ip: string, n: string, age: string, jail: string): string =>
    padEnd(ip, ipW) + ' ' + padStart(n, 7) + ' ' + padStart(age, 7) + (showJail ? ' ' + padEnd(jail, jailW) : '');
  const rows: Row[] = [{ text: cells('IP', 'Fails', 'Last', 'Jail'), tone: 'header' }];
  if (list.length === 0) return [...rows, { text: '(no failures)', tone: 'dim' }];
  rows.push(
    ...windowRows(list, sel, height - 1, (f) => {
      const max = state.jails.get(f.jail)?.maxretry;
      const near = max !== undefined && f.count >= max - 1;
      return {
        text: cells(f.ip, `${f.count}/${max ?? '?'}`, formatAgo(now - f.lastTime), f.jail),
        tone: near ? 'warn' : 'normal',
      };
    }),
  );
  return rows;
}

function formatAgo(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function renderBans(list: BanEntry[], sel: Selection, width: number, height: number, showJail: boolean, now: number): Row[] {
  const jailW = showJail ? Math.min(12, Math.max(6, Math.floor(width * 0.2))) : 0;
  const ipW = Math.max(7, width - 9 - 5 - (showJail ? jailW + 1 : 0) - 2);
  const cells = (ip: string, left: string, count: string, jail: string): string =>
    padEnd(ip, ipW) + ' ' + padStart(left, 9) + ' ' + padStart(count, 5) + (showJail ? ' ' + padEnd(jail, jailW) : '');
  const rows: Row[] = [{ text: cells('IP', 'Unban in', 'Bans', 'Jail'), tone: 'header' }];
  if (list.length === 0) return [...rows, { text: '(no active bans)', tone: 'dim' }];
  rows.push(
    ...windowRows(list, sel, height - 1, (b) => ({
      text: cells(b.ip, formatCountdown(b.end, now), b.banCount > 1 ? `×${b.banCount}` : String(b.banCount), b.jail),
      tone: b.banCount > 1 ? 'warn' : 'normal',
    })),
  );
  return rows;
}

/** Syslog-style report line: `Nov 14 22:13:20 [sshd] Ban 192.0.2.1`. */
export function reportText(line: ReportLine): string {
  return `${formatSyslogTime(line.time)} ${line.jail !== null ? `[${line.jail}] ` : ''}${sanitize(line.text)}`;
}

export function renderReport(lines: ReportLine[], back: number, width: number, height: number): Row[] {
  const end = Math.max(0, lines.length - back);
  const start = Math.max(0, end - height);
  const rows: Row[] = [];
  for (let i = start; i < end; i++) {
    const l = lines[i] as ReportLine;
    const tone: Tone = l.kind === 'error' ? 'error' : l.kind === 'ban' || l.kind === 'restore' ? 'warn' : l.kind === 'unban' ? 'ok' : 'normal';
    rows.push({ text: truncate(reportText(l), width), tone });
  }
  if (rows.length === 0) rows.push({ text: 'waiting for events…', tone: 'dim' });
  return rows;
}

/** Top line: version, uptime, socket, jails, daemon reachable or not. */
export function renderStatus(state: ConsoleState, conn: ConnectionInfo, width: number, now: number): Row {
  // Most important first: the socket path is the part cut on narrow terminals.
  if (conn.connected) {
    const parts = [`moatd ${state.version}`, conn.mode === 'full' ? 'connected' : 'connected (reduced data)'];
    if (state.startedAt !== null) parts.push(`up ${formatUptime(state.daemonNow(now) - state.startedAt)}`);
    parts.push(`${state.jails.size} jail${state.jails.size === 1 ? '' : 's'}`, conn.socket);
    return { text: truncate(parts.join(' │ '), width), tone: 'header' };
  }
  const parts = ['moatd UNREACHABLE'];
  if (conn.retryIn !== null) parts.push(`retrying in ${Math.max(0, Math.ceil(conn.retryIn))}s`);
  if (conn.error) parts.push(sanitize(conn.error));
  parts.push(conn.socket);
  return { text: truncate(parts.join(' │ '), width), tone: 'error' };
}

const HINTS = 'q quit  ? help  Tab pane  jk/↑↓ move  Enter detail  b ban  u unban  r reload  / filter';

/** Bottom line: the prompt being edited, else the last message (10 s), else key hints. */
export function renderFooter(ui: UiState, width: number, now: number): { row: Row; cursor: number | null } {
  if (ui.prompt) {
    const p = ui.prompt;
    // A refused entry keeps the prompt open: its error shows after the text being corrected.
    const error = ui.message?.error && now - ui.message.time < 10 ? `   ✗ ${ui.message.text}` : '';
    const text = p.label + p.text + ' ' + error;
    return { row: { text: truncate(text, width), tone: error ? 'error' : 'normal' }, cursor: Math.min(width - 1, p.label.length + p.cursor) };
  }
  if (ui.message && now - ui.message.time < 10) {
    return { row: { text: truncate(ui.message.text, width), tone: ui.message.error ? 'error' : 'ok' }, cursor: null };
  }
  const filter = ui.filter !== '' ? `[filter: ${ui.filter}]  ` : '';
  return { row: { text: truncate(filter + HINTS, width), tone: 'dim' }, cursor: null };
}

export function paneTitle(pane: PaneId, ui: UiState, jailName: string | null, counts: { failures: number; bans: number }): string {
  const scope = ui.scope === 'all' ? 'all jails' : (jailName ?? '-');
  switch (pane) {
    case 'jails':
      return 'Jails';
    case 'failures':
      return `Failures: ${scope} (${counts.failures})`;
    case 'bans':
      return `Bans: ${scope} (${counts.bans})`;
    case 'report':
      return ui.reportBack > 0 ? `Report (-${ui.reportBack})` : 'Report';
  }
}

export function renderDetail(state: ConsoleState, jail: JailState, now: number): Row[] {
  const h = jail.health;
  const rows: Row[] = [
    { text: `Jail      ${jail.name}`, tone: 'header' },
    { text: `Backend   ${jail.backend}` },
    { text: `Filter    ${jail.filter}` },
    { text: `Maxretry  ${jail.maxretry}    Findtime ${formatDuration(jail.findtime)}    Bantime ${formatDuration(jail.bantime)}` },
    { text: `Failed    ${state.currentlyFailed(jail, now)} now, ${jail.totalFailed} total` },
    { text: `Banned    ${jail.bans.size} now, ${jail.totalBanned} total` },
    { text: 'Sources', tone: 'header' },
  ];
  if (!h || h.sources.length === 0) rows.push({ text: '  (unknown)', tone: 'dim' });
  for (const s of h?.sources ?? []) {
    rows.push({
      text: `  ${s.reachable ? 'ok' : '✗ '} ${sanitize(s.name)}${s.error ? ` - ${sanitize(s.error)}` : ''}`,
      tone: s.reachable ? 'normal' : 'error',
    });
  }
  rows.push({
    text: `Last error ${h?.lastError ? `${formatSyslogTime(h.lastError.time)} ${sanitize(h.lastError.message)}` : 'none'}`,
    tone: h?.lastError ? 'error' : 'normal',
  });
  rows.push({ text: '' }, { text: 'Esc or Enter closes', tone: 'dim' });
  return rows;
}

export function renderHelp(): Row[] {
  const lines: [string, string][] = [
    ['↑ ↓  j k', 'move in the focused pane (PgUp/PgDn, Home/End)'],
    ['Tab  S-Tab', 'next / previous pane'],
    ['Enter', "open the selected jail's detail"],
    ['a', 'failures and bans: selected jail / all jails'],
    ['b', 'ban an IP in the selected jail'],
    ['u', 'unban an IP (pre-filled with the selected ban)'],
    ['r', 'reload the configuration'],
    ['/', 'filter failures, bans and report by IP or text'],
    ['Esc', 'clear the filter; cancel a prompt'],
    ['?', 'this help'],
    ['q  Ctrl-C', 'quit'],
  ];
  return [
    { text: 'moat console keys', tone: 'header' },
    { text: '' },
    ...lines.map(([k, d]) => ({ text: `${padEnd(k, 12)} ${d}` })),
    { text: '' },
    { text: 'Countdowns: mm:ss or h:mm:ss, ∞ = permanent. Fails: N/maxretry.', tone: 'dim' },
  ];
}
