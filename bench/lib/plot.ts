/**
 * A dependency-free SVG plot of latency distributions: one empirical CDF per series on a
 * logarithmic time axis (moat's milliseconds and fail2ban's hundreds of milliseconds fit one
 * picture), with an optional target line. Used for figure 2's `bench/results/latency.svg`.
 */

export interface CdfSeries {
  label: string;
  /** Samples in ms (any order; non-finite and non-positive values are left out). */
  values: number[];
}

export interface CdfPlotOptions {
  title: string;
  /** A vertical dashed line, e.g. the p99 target. */
  target?: { ms: number; label: string };
}

const WIDTH = 760;
const PLOT_HEIGHT = 252;
/** Bottom margin: axis labels, then the legend, a line per series. */
const MARGIN = { left: 56, right: 16, top: 36, bottom: 54 };
const LEGEND_LINE = 16;
const COLOURS = ['#1b7f3b', '#2c7a7b', '#c05621', '#9b2c2c', '#6b46c1', '#2b6cb0'];

/** The decades [10^lo, 10^hi] that hold every sample (and the target). */
export function decadeRange(series: CdfSeries[], extra: number[] = []): { lo: number; hi: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of [...series.flatMap((s) => s.values), ...extra]) {
    if (!(v > 0) || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return { lo: 0, hi: 1 };
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  return { lo, hi };
}

export function cdfSvg(series: CdfSeries[], opts: CdfPlotOptions): string {
  const { lo, hi } = decadeRange(series, opts.target ? [opts.target.ms] : []);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PLOT_HEIGHT;
  const HEIGHT = MARGIN.top + plotH + MARGIN.bottom + series.length * LEGEND_LINE;
  const x = (ms: number) => MARGIN.left + ((Math.log10(ms) - lo) / (hi - lo)) * plotW;
  const y = (fraction: number) => MARGIN.top + (1 - fraction) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(opts.title)}</text>`,
  );
  // grid: decades and their 2× / 5× steps on x, quarters on y
  for (let d = lo; d <= hi; d++) {
    for (const step of [1, 2, 5]) {
      const ms = step * 10 ** d;
      if (Math.log10(ms) > hi + 1e-9) continue;
      const gx = x(ms).toFixed(1);
      out.push(`<line x1="${gx}" y1="${MARGIN.top}" x2="${gx}" y2="${MARGIN.top + plotH}" stroke="${step === 1 ? '#bbbbbb' : '#e5e5e5'}"/>`);
      if (step === 1) out.push(`<text x="${gx}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${msLabel(ms)}</text>`);
    }
  }
  for (const q of [0, 0.25, 0.5, 0.75, 1]) {
    const gy = y(q).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" y1="${gy}" x2="${MARGIN.left + plotW}" y2="${gy}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${(y(q) + 4).toFixed(1)}" text-anchor="end">${q * 100}%</text>`);
  }
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 34}" text-anchor="middle">latency (log scale)</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">trials at or below</text>`,
  );
  if (opts.target) {
    const tx = x(opts.target.ms).toFixed(1);
    out.push(
      `<line x1="${tx}" y1="${MARGIN.top}" x2="${tx}" y2="${MARGIN.top + plotH}" stroke="#444444" stroke-dasharray="5 4"/>`,
      `<text x="${(x(opts.target.ms) + 4).toFixed(1)}" y="${MARGIN.top + 12}">${escapeXml(opts.target.label)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const pts = cdfPoints(s.values).map(([ms, f]) => [x(ms), y(f)] as const);
    if (pts.length) {
      // steps: up at each sample, flat until the next one
      const path = [`M${pts[0]![0].toFixed(1)},${y(0).toFixed(1)}`];
      let prevY = y(0);
      for (const [px, py] of pts) {
        path.push(`L${px.toFixed(1)},${prevY.toFixed(1)}`, `L${px.toFixed(1)},${py.toFixed(1)}`);
        prevY = py;
      }
      out.push(`<path d="${path.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    }
    const lx = MARGIN.left;
    const ly = MARGIN.top + plotH + MARGIN.bottom + i * LEGEND_LINE;
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${lx + 24}" y="${ly}">${escapeXml(s.label)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}

/** Sorted samples with the fraction of samples at or below each (duplicates collapse to the last). */
export function cdfPoints(values: number[]): [number, number][] {
  const v = values.filter((n) => n > 0 && Number.isFinite(n)).sort((a, b) => a - b);
  const pts: [number, number][] = [];
  v.forEach((ms, i) => {
    if (i + 1 < v.length && v[i + 1] === ms) return;
    pts.push([ms, (i + 1) / v.length]);
  });
  return pts;
}

function msLabel(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
