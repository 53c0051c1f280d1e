/** Text forms of times in ban log lines, as fail2ban's MyTime prints them. */

/** Local time `YYYY-mm-dd HH:MM:SS` (MyTime.time2str). */
export function time2str(epochSeconds: number): string {
  if (!Number.isFinite(epochSeconds) || epochSeconds >= 253402214400) return '9999-12-31 23:59:59';
  const d = new Date(Math.floor(epochSeconds) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Python round() to an int, ties to even. */
function round(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/** Short duration with automatic accuracy (MyTime.seconds2str): `1y 3w 4d`, `2d 7h 15m`, `59m 50s`, `10s`. */
export function seconds2str(sec: number): string {
  let s = sec;
  const parts: string[] = [];
  if (s >= 31536000) {
    s = round(s / 86400);
    parts.push(`${Math.floor(s / 365)}y`);
    s %= 365;
    if (s >= 7) {
      parts.push(`${Math.floor(s / 7)}w`);
      s %= 7;
    }
    if (s) parts.push(`${s}d`);
    return parts.join(' ');
  }
  if (s >= 604800) {
    s = round(s / 3600);
    parts.push(`${Math.floor(s / 168)}w`);
    s %= 168;
    if (s >= 24) {
      parts.push(`${Math.floor(s / 24)}d`);
      s %= 24;
    }
    if (s) parts.push(`${s}h`);
    return parts.join(' ');
  }
  if (s >= 86400) {
    s = round(s / 60);
    parts.push(`${Math.floor(s / 1440)}d`);
    s %= 1440;
    if (s >= 60) {
      parts.push(`${Math.floor(s / 60)}h`);
      s %= 60;
    }
    if (s) parts.push(`${s}m`);
    return parts.join(' ');
  }
  if (s >= 3595) {
    s = round(s / 10);
    parts.push(`${Math.floor(s / 360)}h`);
    s %= 360;
    if (s >= 6) parts.push(`${Math.floor(s / 6)}m`);
    return parts.join(' ');
  }
  if (s >= 60) {
    parts.push(`${Math.floor(s / 60)}m`);
    s %= 60;
  }
  if (s) parts.push(`${s}s`);
  else if (!sec) return '0';
  return parts.join(' ');
}
