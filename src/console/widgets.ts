/**
 * Thin typed wrappers around the blessed pieces the console uses. blessed-contrib is deep-imported
 * (one widget) so the console does not load its map, markdown and picture widgets.
 */
import blessed from 'blessed';
import Sparkline from 'blessed-contrib/lib/widget/sparkline.js';

export type Screen = blessed.Widgets.Screen;
export type Box = blessed.Widgets.BoxElement;
export type SparklineBox = Box & { setData(titles: string[], datasets: number[][]): void };

export interface ScreenOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** terminfo name; default $TERM. */
  terminal?: string;
}

/**
 * Creates the full-screen blessed screen. blessed's terminfo compiler prints JavaScript to stderr for
 * some capabilities it cannot translate (screen-256color, xterm-256color Setulc): silenced here, it
 * would land on the alternate screen and garble the first frame.
 */
export function createScreen(opts: ScreenOptions): Screen {
  const error = console.error;
  console.error = () => {};
  try {
    return blessed.screen({
      input: opts.input as never,
      output: opts.output as never,
      ...(opts.terminal ? { terminal: opts.terminal } : {}),
      smartCSR: true,
      fullUnicode: false,
      forceUnicode: true,
      autoPadding: false,
      warnings: false,
      title: 'moat console',
      // Our own key handling: blessed must not grab Ctrl-C or Tab focus.
      ignoreLocked: [],
    } as blessed.Widgets.IScreenOptions);
  } finally {
    console.error = error;
  }
}

export function createBox(screen: Screen, options: blessed.Widgets.BoxOptions): Box {
  return blessed.box({ parent: screen, tags: true, ...options });
}

export function createSparkline(screen: Screen, options: blessed.Widgets.BoxOptions & { titleFg: string }): SparklineBox {
  const { titleFg, ...rest } = options;
  const style = { ...(rest.style ?? {}), titleFg };
  return Sparkline({ parent: screen, tags: true, ...rest, style }) as SparklineBox;
}
