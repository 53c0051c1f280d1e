/** Pure text helpers of the console: countdowns, durations, fixed-width cells. */

/** Seconds left as `mm:ss` (under an hour) or `h:mm:ss`; `∞` for permanent, `?` when unknown. */
export function formatCountdown(end: number | null | undefined, now: number): string {
  if (end === null) return '∞';
  if (end === undefined) return '?';
  const left = Math.max(0, Math.ceil(end - now));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** A duration in fail2ban's short units: 600 → `10m`, 90 → `90s`, 86400 → `1d`, -1 → `∞`. */
export function formatDuration(seconds: number): string {
  if (seconds < 0) return '∞';
  const units: [number, string][] = [
    [7 * 86400, 'w'],
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
  ];
  for (const [size, unit] of units) if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  return `${Math.round(seconds)}s`;
}

/** Uptime as `3d 4:05:06` / `4:05:06`. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const r = s % 86400;
  const p = (n: number): string => String(n).padStart(2, '0');
  const hms = `${Math.floor(r / 3600)}:${p(Math.floor((r % 3600) / 60))}:${p(r % 60)}`;
  return d > 0 ? `${d}d ${hms}` : hms;
}

/** Local wall-clock time in syslog style: `Nov 14 22:13:20`. */
export function formatSyslogTime(epochSeconds: number): string {
  const d = new Date(Math.floor(epochSeconds) * 1000);
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${month} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * Terminal cell width of a string. The console only shows ASCII from the daemon plus a few BMP symbols
 * of its own that are one cell wide, so this counts code points and treats wide CJK as two.
 */
export function cellWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += isWide(ch.codePointAt(0) ?? 0) ? 2 : 1;
  return w;
}

function isWide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/** Cuts to `width` cells, marking the cut with `…`. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (cellWidth(text) <= width) return text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = isWide(ch.codePointAt(0) ?? 0) ? 2 : 1;
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}

/** Left-aligned cell of exactly `width` cells. */
export function padEnd(text: string, width: number): string {
  const t = truncate(text, width);
  return t + ' '.repeat(Math.max(0, width - cellWidth(t)));
}

/** Right-aligned cell of exactly `width` cells. */
export function padStart(text: string, width: number): string {
  const t = truncate(text, width);
  return ' '.repeat(Math.max(0, width - cellWidth(t))) + t;
}

/** Removes control characters so daemon text can never move the cursor or switch charsets. */
export function sanitize(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

/** Escapes blessed tag braces in text that goes into a `tags: true` box. */
export function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}
