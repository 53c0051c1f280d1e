/**
 * blessed wiring of the console: lays out the panes, feeds them the rows from view.ts, routes keys to
 * view-state.ts and runs the resulting effects through the session.
 *
 * Redraws are throttled to at most 10 per second whatever the event rate; a 1 s tick moves the
 * countdowns (computed from ban end times, never fetched).
 */
import { sanitize, escapeTags, padEnd, cellWidth, truncate } from './format.ts';
import { ConsoleState, perMinuteSeries } from './state.ts';
import { handleKey, initialUiState, scrollIntoView, selectedJail, type Effect, type KeyInput, type PaneId, type UiState } from './view-state.ts';
import {
  banList,
  computeLayout,
  failureList,
  innerRows,
  jailList,
  paneTitle,
  renderBans,
  renderDetail,
  renderFailures,
  renderFooter,
  renderHelp,
  renderJails,
  renderReport,
  renderStatus,
  reportList,
  type ConnectionInfo,
  type Layout,
  type Rect,
  type Row,
} from './view.ts';
import { createBox, createScreen, createSparkline, type Box, type Screen, type SparklineBox } from './widgets.ts';
import type { Command } from '../server/protocol.ts';

/** What the app needs from the daemon link (ConsoleSession, or a stand-in in tests). */
export interface SessionLike {
  readonly info: ConnectionInfo;
  start(): void;
  stop(): void;
  refreshRetry(): void;
  request(cmd: Command): Promise<unknown>;
}

export interface AppOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  terminal?: string;
  noColor: boolean;
  state: ConsoleState;
  session: SessionLike;
  /** Local clock, epoch seconds (tests freeze it). */
  now?: () => number;
  /** Minimum ms between two frames (default 100 = 10 redraws/s). */
  frameMs?: number;
  /** Countdown tick, ms (0 = none; tests drive frames themselves). */
  tickMs?: number;
}

const MIN_FRAME_MS = 100;

export class ConsoleApp {
  readonly ui: UiState = initialUiState();
  readonly screen: Screen;
  readonly #opts: AppOptions;
  readonly #now: () => number;
  readonly #boxes: Record<'status' | 'jails' | 'failures' | 'bans' | 'report' | 'footer' | 'overlay', Box>;
  readonly #spark: SparklineBox;
  #frameTimer: NodeJS.Timeout | null = null;
  #tick: NodeJS.Timeout | null = null;
  #lastFrame = 0;
  #destroyed = false;
  #resolveDone!: (code: number) => void;
  readonly done: Promise<number>;
  // Sorted lists are rebuilt only when the data, the filter or the scope changed.
  #listKey = '';
  #lists = { jails: [] as ReturnType<typeof jailList>, failures: [] as ReturnType<typeof failureList>, bans: [] as ReturnType<typeof banList> };
  /** Frames drawn (for tests and the throttle check). */
  frames = 0;

  constructor(opts: AppOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => Date.now() / 1000);
    this.done = new Promise((r) => (this.#resolveDone = r));
    this.screen = createScreen({ input: opts.input, output: opts.output, ...(opts.terminal ? { terminal: opts.terminal } : {}) });
    const s = this.screen;
    const border = { type: 'line' as const };
    const paneStyle = opts.noColor ? {} : { border: { fg: 'gray' }, label: { fg: 'white' } };
    const pane = (): Box => createBox(s, { border, style: paneStyle, wrap: false });
    this.#boxes = {
      status: createBox(s, { height: 1, wrap: false }),
      jails: pane(),
      failures: pane(),
      bans: pane(),
      report: pane(),
      footer: createBox(s, { height: 1, wrap: false }),
      overlay: createBox(s, { border, style: paneStyle, hidden: true, wrap: false }),
    };
    this.#spark = createSparkline(s, { border, style: paneStyle, label: ' Per minute ', wrap: false, titleFg: opts.noColor ? 'default' : 'cyan' });
    s.program.hideCursor();
    s.on('keypress', (ch: string | undefined, key: KeyInput | undefined) => this.#onKey(ch, key));
    s.on('resize', () => {
      // blessed-contrib widgets recompute their size on attach (as gtop does).
      this.#spark.emit('attach');
      this.frame();
    });
  }

  start(): void {
    this.#opts.session.start();
    const tick = this.#opts.tickMs ?? 1000;
    if (tick > 0) this.#tick = setInterval(() => this.requestRender(), tick);
    this.frame();
  }

  /** Asks for a redraw; coalesced so that bursts of events cost at most one frame per 100 ms. */
  requestRender(): void {
    if (this.#destroyed || this.#frameTimer) return;
    const wait = Math.max(0, (this.#opts.frameMs ?? MIN_FRAME_MS) - (Date.now() - this.#lastFrame));
    this.#frameTimer = setTimeout(() => {
      this.#frameTimer = null;
      this.frame();
    }, wait);
  }

  /** Leaves the screen and restores the terminal; resolves `done` with `code`. Idempotent. */
  destroy(code = 0): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#frameTimer) clearTimeout(this.#frameTimer);
    if (this.#tick) clearInterval(this.#tick);
    this.#opts.session.stop();
    try {
      this.screen.program.showCursor();
      this.screen.destroy();
    } finally {
      this.#resolveDone(code);
    }
  }

  #onKey(ch: string | undefined, key: KeyInput | undefined): void {
    if (this.#destroyed) return;
    // blessed reports Enter twice (`return` then `enter`) and Ctrl-J as `linefeed`: keep one.
    if (key?.name === 'return' || key?.name === 'linefeed') return;
    const effect = handleKey(this.ui, this.#keyContext(), { ...(key ?? {}), ...(ch !== undefined ? { ch } : {}) });
    if (effect) this.#run(effect);
    this.frame();
  }

  /** Applies a key as if typed (tests). */
  key(input: KeyInput): void {
    this.#onKey(input.ch, input);
  }

  #keyContext() {
    const layout = this.#layout();
    this.#refreshLists();
    return {
      jailNames: this.#lists.jails.map((j) => j.name),
      failureCount: this.#lists.failures.length,
      bans: this.#lists.bans,
      reportCount: reportList(this.#opts.state, this.ui).length,
      pageSize: {
        jails: innerRows(layout.jails, true),
        failures: innerRows(layout.failures, true),
        bans: innerRows(layout.bans, true),
        report: innerRows(layout.report, false),
      },
      now: this.#now(),
    };
  }

  #run(effect: Effect): void {
    const { state, session } = this.#opts;
    const say = (text: string, error: boolean): void => {
      this.ui.message = { text: sanitize(text), error, time: this.#now() };
      state.note(this.#now(), error ? 'error' : 'info', text);
      this.requestRender();
    };
    switch (effect.type) {
      case 'quit':
        this.destroy(0);
        return;
      case 'ban':
        session.request(['set', effect.jail, 'banip', effect.ip]).then(
          (n) => say(Number(n) > 0 ? `banned ${effect.ip} in ${effect.jail}` : `${effect.ip} is already banned in ${effect.jail}`, false),
          (err: Error) => say(`ban ${effect.ip} in ${effect.jail} failed: ${err.message}`, true),
        );
        return;
      case 'unban':
        session.request(['set', effect.jail, 'unbanip', '--report-absent', effect.ip]).then(
          () => say(`unbanned ${effect.ip} in ${effect.jail}`, false),
          (err: Error) => say(`unban ${effect.ip} in ${effect.jail} failed: ${err.message}`, true),
        );
        return;
      case 'reload':
        session.request(['reload', '--all', [], []]).then(
          (r) => say(`configuration reloaded: ${String(r)}`, false),
          (err: Error & { wire?: Record<string, unknown> }) => {
            const w = err.wire;
            const where = w && typeof w.file === 'string' ? ` (${w.file}${typeof w.line === 'number' ? `:${w.line}` : ''})` : '';
            say(`reload failed: ${err.message}${where}`, true);
          },
        );
        return;
    }
  }

  #layout(): Layout {
    const cols = Math.max(20, this.screen.width as number);
    const rows = Math.max(10, this.screen.height as number);
    return computeLayout(cols, rows, this.#opts.state.jails.size);
  }

  #refreshLists(): void {
    const { state } = this.#opts;
    const now = this.#now();
    // Failures expire with findtime, so the key includes the second.
    const key = `${state.revision}|${this.ui.filter}|${this.ui.scope}|${this.ui.jails.index}|${Math.floor(now)}`;
    if (key === this.#listKey) return;
    this.#listKey = key;
    const jails = jailList(state);
    this.#lists = { jails, failures: failureList(state, this.ui, jails, state.daemonNow(now)), bans: banList(state, this.ui, jails) };
  }

  /** Draws one frame now. */
  frame(): void {
    if (this.#destroyed) return;
    try {
      this.#draw();
      this.screen.render();
      this.#lastFrame = Date.now();
      this.frames++;
    } catch (err) {
      // A rendering bug must not leave the terminal in raw mode on the alternate screen.
      this.destroy(1);
      process.stderr.write(`moat console: internal error: ${(err as Error).stack ?? String(err)}\n`);
    }
  }

  #draw(): void {
    const { state, session } = this.#opts;
    const ui = this.ui;
    const now = this.#now();
    const dnow = state.daemonNow(now);
    session.refreshRetry();
    this.#refreshLists();
    const L = this.#layout();
    const lists = this.#lists;
    const place = (box: Box, r: Rect): void => {
      box.top = r.top;
      box.left = r.left;
      box.width = r.width;
      box.height = r.height;
    };

    // Status and footer lines.
    place(this.#boxes.status, L.status);
    this.#boxes.status.setContent(this.#line(renderStatus(state, session.info, L.status.width, now), L.status.width));
    place(this.#boxes.footer, L.footer);
    const footer = renderFooter(ui, L.footer.width, now);
    this.#boxes.footer.setContent(this.#line(footer.row, L.footer.width, footer.cursor));

    // Jails.
    const jailRows = innerRows(L.jails, true);
    scrollIntoView(ui.jails, lists.jails.length, jailRows);
    const jailName = selectedJail(ui, { jailNames: lists.jails.map((j) => j.name) });
    const counts = { failures: lists.failures.length, bans: lists.bans.length };
    this.#pane('jails', L.jails, renderJails(state, lists.jails, ui.jails, L.jails.width - 2, jailRows + 1, dnow), jailName, counts);

    // Failures and bans of the selected jail (or all).
    const all = ui.scope === 'all';
    const failRows = innerRows(L.failures, true);
    scrollIntoView(ui.failures, lists.failures.length, failRows);
    this.#pane('failures', L.failures, renderFailures(state, lists.failures, ui.failures, L.failures.width - 2, failRows + 1, all, dnow), jailName, counts);
    const banRows = innerRows(L.bans, true);
    scrollIntoView(ui.bans, lists.bans.length, banRows);
    this.#pane('bans', L.bans, renderBans(lists.bans, ui.bans, L.bans.width - 2, banRows + 1, all, dnow), jailName, counts);

    // Report and sparklines.
    const report = reportList(state, ui);
    this.#pane('report', L.report, renderReport(report, ui.reportBack, L.report.width - 2, innerRows(L.report, false)), jailName, counts);
    place(this.#spark, L.spark);
    const points = Math.max(1, L.spark.width - 2);
    const fails = perMinuteSeries(state.failuresPerMinute, dnow, points);
    const bans = perMinuteSeries(state.bansPerMinute, dnow, points);
    this.#spark.setData(
      [`Fails/min ${fails[fails.length - 1]}, max ${Math.max(...fails)}`, `Bans/min ${bans[bans.length - 1]}, max ${Math.max(...bans)}`],
      [fails, bans],
    );

    // Overlay (help or jail detail) on top.
    const overlay = this.#boxes.overlay;
    const detailJail = jailName === null ? undefined : state.jails.get(jailName);
    if (ui.overlay === 'help' || (ui.overlay === 'detail' && detailJail)) {
      const rows = ui.overlay === 'help' ? renderHelp() : renderDetail(state, detailJail!, dnow);
      const cols = this.screen.width as number;
      const lines = this.screen.height as number;
      const width = Math.min(cols - 4, Math.max(50, ...rows.map((r) => cellWidth(r.text) + 4)));
      const height = Math.min(lines - 2, rows.length + 2);
      place(overlay, { top: Math.max(1, Math.floor((lines - height) / 2)), left: Math.floor((cols - width) / 2), width, height });
      overlay.setLabel(ui.overlay === 'help' ? ' Help ' : ` Jail ${jailName} `);
      overlay.setContent(rows.map((r) => this.#line(r, width - 2)).join('\n'));
      overlay.show();
      overlay.setFront();
    } else {
      ui.overlay = null;
      overlay.hide();
    }
  }

  #pane(id: PaneId, rect: Rect, rows: Row[], jailName: string | null, counts: { failures: number; bans: number }): void {
    const box = this.#boxes[id];
    const focused = this.ui.focus === id;
    box.top = rect.top;
    box.left = rect.left;
    box.width = rect.width;
    box.height = rect.height;
    const title = paneTitle(id, this.ui, jailName, counts);
    box.setLabel(escapeTags(truncate(focused ? `▶ ${title} ` : ` ${title} `, Math.max(1, rect.width - 4))));
    if (!this.#opts.noColor) {
      (box.style as { border: { fg: string } }).border.fg = focused ? 'cyan' : 'gray';
    }
    const inner = rect.width - 2;
    box.setContent(rows.map((r) => this.#line(r, inner, null, focused)).join('\n'));
  }

  /** One row as blessed tagged text, padded to `width` so a selection bar spans the pane. */
  #line(row: Row, width: number, cursor: number | null = null, focused = true): string {
    let text = padEnd(sanitize(row.text), width);
    let body: string;
    if (cursor !== null) {
      // The prompt's cursor is drawn as an inverse cell: visible in every terminal and in captures.
      const chars = [...text];
      const at = Math.min(cursor, chars.length - 1);
      body = `${escapeTags(chars.slice(0, at).join(''))}{inverse}${escapeTags(chars[at] ?? ' ')}{/inverse}${escapeTags(chars.slice(at + 1).join(''))}`;
    } else {
      body = escapeTags(text);
    }
    text = body;
    if (row.selected) text = focused ? `{inverse}${text}{/inverse}` : `{underline}${text}{/underline}`;
    const tone = row.tone ?? 'normal';
    if (tone === 'header') return `{bold}${text}{/bold}`;
    if (this.#opts.noColor) return tone === 'error' ? `{bold}${text}{/bold}` : text;
    const color = { error: 'red', warn: 'yellow', ok: 'green', dim: 'gray', normal: '' }[tone];
    return color ? `{${color}-fg}${text}{/${color}-fg}` : text;
  }
}
