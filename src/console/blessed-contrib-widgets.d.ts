// Types for the one blessed-contrib widget the console deep-imports (the package's index.d.ts
// covers `blessed-contrib` only, and importing that loads every widget, map included).
declare module 'blessed-contrib/lib/widget/sparkline.js' {
  import type { Widgets } from 'blessed';
  interface SparklineOptions extends Widgets.BoxOptions {
    style?: Widgets.BoxOptions['style'] & { titleFg?: string };
  }
  interface SparklineElement extends Widgets.BoxElement {
    setData(titles: string[], datasets: number[][]): void;
  }
  const Sparkline: (options: SparklineOptions) => SparklineElement;
  export default Sparkline;
}
