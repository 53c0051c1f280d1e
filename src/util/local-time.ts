/**
 * Local date-time text of whole seconds, `YYYY-MM-DD<sep>HH:MM:SS`, for text made many times a
 * second or second after second (log lines, journal entries, "Found" times): the date, hour and
 * minute come from a `Date` once per local minute, the seconds are added; the last second's text
 * is remembered. Exact as long as UTC offsets change only at whole local minutes (all of tzdata
 * since 1972).
 */
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

export class LocalSecondText {
  readonly #sep: string;
  #second = NaN;
  #text = '';
  /** Epoch second at which the cached local minute starts, and its text up to the seconds. */
  #minuteStart = NaN;
  #prefix = '';

  constructor(sep: string) {
    this.#sep = sep;
  }

  /** The text of epoch second `second` (an integer). */
  of(second: number): string {
    if (second === this.#second) return this.#text;
    let sec = second - this.#minuteStart;
    if (!(sec >= 0 && sec < 60)) {
      const d = new Date(second * 1000);
      const p = (n: number) => TWO_DIGITS[n] ?? String(n).padStart(2, '0');
      this.#prefix = `${String(d.getFullYear()).padStart(4, '0')}-${p(d.getMonth() + 1)}-${p(d.getDate())}${this.#sep}${p(d.getHours())}:${p(d.getMinutes())}:`;
      sec = d.getSeconds();
      this.#minuteStart = second - sec;
    }
    this.#second = second;
    this.#text = this.#prefix + TWO_DIGITS[sec];
    return this.#text;
  }
}
