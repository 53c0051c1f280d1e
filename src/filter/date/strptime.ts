/**
 * Named strptime fields of a date match → epoch seconds (reference §3.5).
 *
 * Mirrors fail2ban's rules: a missing year is the current one (last year when that puts the date more
 * than a day ahead), a missing date is today (yesterday when that is ahead), `%z`/`%Z` or the
 * jail's `logtimezone` give UTC, otherwise the fields are local time of the process. Fractions of a
 * second (`%f`) are dropped. Anything that cannot make a valid date gives NaN ("no date").
 */
import { DAY_ABBREVIATIONS, DAY_NAMES, MONTH_ABBREVIATIONS, MONTH_NAMES } from './directives.ts';
import { daysFromCivil, daysInMonth, civilFromDays, localNow, localToEpoch, naiveSeconds, weekday } from './calendar.ts';
import { zoneOffsetMinutes } from './timezone.ts';

export type DateFields = Readonly<Record<string, string | undefined>>;

const DAY = 86400;

export class FieldConverter {
  /** Set by {@link convert}: whether the last result depended on "now" (year or date inferred). */
  usedNow = false;
  /** The "now" (epoch seconds) the last inference read. */
  lastNow = NaN;

  /**
   * @param now epoch seconds used for year/date inference
   * @param defaultZone offset in minutes for fields without a zone (`logtimezone`), null = local time
   */
  constructor(
    private readonly now: () => number,
    private readonly defaultZone: number | null,
  ) {}

  private readNow(): ReturnType<typeof localNow> {
    this.lastNow = this.now();
    // many conversions see the same clock reading (a fixed --now, or lines within a millisecond)
    if (this.lastNow !== this.localNowOf) {
      this.localNowOf = this.lastNow;
      this.localNowValue = localNow(this.lastNow);
    }
    return this.localNowValue!;
  }

  private localNowOf = NaN;
  private localNowValue: ReturnType<typeof localNow> | null = null;

  convert(fields: DateFields): number {
    const names = Object.keys(fields);
    return this.convertList(names, names.map((k) => fields[k]));
  }

  /**
   * The same for fields given as parallel lists (a match's group names and values, in group
   * order): what the built-in templates use, without building an object per conversion.
   */
  convertList(names: readonly (string | undefined)[], values: ArrayLike<string | undefined>): number {
    this.usedNow = false;
    let year = NaN;
    let month = NaN;
    let day = NaN;
    let hour = 0;
    let minute = 0;
    let second = 0;
    let zone: number | null = null;
    let dayOfWeek = NaN;
    let yearDay = NaN;
    let week = NaN;
    let weekStartsMonday = true;
    for (let i = 0; i < names.length; i++) {
      const key = names[i];
      const value = values[i];
      if (key === undefined || value === undefined || value === null) continue;
      switch (key) {
        case 'y':
          year = toInt(value);
          if (year <= 2000) year += 2000; // two-digit years are in this century
          break;
        case 'Y':
          year = toInt(value);
          break;
        case 'm':
          month = toInt(value);
          break;
        case 'B':
          month = indexOrNaN(MONTH_NAMES, value) + 1;
          break;
        case 'b':
          month = indexOrNaN(MONTH_ABBREVIATIONS, value) + 1;
          break;
        case 'd':
          day = toInt(value);
          break;
        case 'H':
          hour = toInt(value);
          break;
        case 'I': {
          hour = toInt(value);
          const p = names.indexOf('p');
          const ampm = ((p < 0 ? undefined : values[p]) ?? '').toLowerCase();
          if (ampm === '' || ampm === 'am') {
            if (hour === 12) hour = 0;
          } else if (ampm === 'pm') {
            if (hour !== 12) hour += 12;
          }
          break;
        }
        case 'M':
          minute = toInt(value);
          break;
        case 'S':
          second = toInt(value);
          break;
        case 'A':
          dayOfWeek = indexOrNaN(DAY_NAMES, value);
          break;
        case 'a':
          dayOfWeek = indexOrNaN(DAY_ABBREVIATIONS, value);
          break;
        case 'w':
          dayOfWeek = toInt(value) - 1;
          if (dayOfWeek < 0) dayOfWeek = 6;
          break;
        case 'j':
          yearDay = toInt(value);
          break;
        case 'U':
        case 'W':
          week = toInt(value);
          weekStartsMonday = key === 'W';
          break;
        case 'z':
        case 'Z':
          zone = value === 'Z' || value === 'UTC' || value === 'GMT' ? 0 : zoneOffsetMinutes(value);
          if (Number.isNaN(zone)) return NaN;
          break;
        default:
          break; // f (fraction), _sep and custom groups carry no date information
      }
    }

    let now: ReturnType<typeof localNow> | null = null;
    const assumeYear = Number.isNaN(year);
    if (assumeYear) {
      now = this.readNow();
      year = now.year;
    }
    if (Number.isNaN(month) || Number.isNaN(day)) {
      if (Number.isNaN(yearDay) && !Number.isNaN(week) && !Number.isNaN(dayOfWeek)) {
        yearDay = julianFromWeek(year, week, dayOfWeek, weekStartsMonday);
      }
      if (!Number.isNaN(yearDay)) {
        const date = civilFromDays(daysFromCivil(year, 1, 1) + yearDay - 1);
        year = date.year;
        month = date.month;
        day = date.day;
      }
    }
    const assumeToday = Number.isNaN(month) && Number.isNaN(day);
    if (assumeToday) {
      now ??= this.readNow();
      month = now.month;
      day = now.day;
    }
    if (!validDateTime(year, month, day, hour, minute, second)) return NaN;

    let naive = naiveSeconds(year, month, day, hour, minute, second);
    if (zone === null) zone = this.defaultZone;
    if (zone !== null) naive -= zone * 60;

    if (assumeToday || assumeYear) {
      this.usedNow = true;
      now ??= this.readNow();
      // naive values are compared, as fail2ban compares naive datetimes (even after a zone shift)
      if (assumeToday && naive > now.naive) naive -= DAY;
      if (assumeYear && naive > now.naive + DAY) {
        // last year, same month and day; the time of day stays as shifted (upstream quirk)
        const timeOfDay = naive - Math.floor(naive / DAY) * DAY;
        if (day > daysInMonth(year - 1, month) || year - 1 < 1) return NaN;
        naive = daysFromCivil(year - 1, month, day) * DAY + timeOfDay;
      }
    }
    return zone !== null ? naive : localToEpoch(naive);
  }
}

function toInt(text: string): number {
  // values come from digit-only groups, %d/%k may carry a leading space: read those directly
  const n = text.length;
  let i = 0;
  while (i < n && text.charCodeAt(i) === 32) i++;
  if (i < n && n - i <= 9) {
    let v = 0;
    for (let j = i; j < n; j++) {
      const d = text.charCodeAt(j) - 48;
      if (d < 0 || d > 9) return Number(text.trim());
      v = v * 10 + d;
    }
    return v;
  }
  return Number(text.trim());
}

function indexOrNaN(names: readonly string[], value: string): number {
  const i = names.indexOf(value.toLowerCase());
  return i < 0 ? NaN : i;
}

function validDateTime(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  return (
    Number.isInteger(year) && year >= 1 && year <= 9999 &&
    Number.isInteger(month) && month >= 1 && month <= 12 &&
    Number.isInteger(day) && day >= 1 && day <= daysInMonth(year, month) &&
    Number.isInteger(hour) && hour >= 0 && hour <= 23 &&
    Number.isInteger(minute) && minute >= 0 && minute <= 59 &&
    Number.isInteger(second) && second >= 0 && second <= 59
  );
}

/** Day of the year from a week number and weekday (Monday = 0), like Python's `_strptime`. */
export function julianFromWeek(year: number, week: number, dayOfWeek: number, weekStartsMonday: boolean): number {
  let firstWeekday = weekday(year, 1, 1);
  if (!weekStartsMonday) {
    firstWeekday = (firstWeekday + 1) % 7;
    dayOfWeek = (dayOfWeek + 1) % 7;
  }
  const week0Length = (7 - firstWeekday) % 7;
  if (week === 0) return 1 + dayOfWeek - firstWeekday;
  return 1 + week0Length + 7 * (week - 1) + dayOfWeek;
}
