/**
 * Calendar arithmetic on "naive" date-times (no zone): seconds counted as if the wall-clock fields
 * were UTC. Converting a naive value to a real epoch is either plain (the fields were UTC after an
 * offset was applied) or `localToEpoch` (the process's local time, DST-aware via JS Date, so `TZ`
 * is respected).
 */

const SECONDS_PER_DAY = 86400;

/** Days since 1970-01-01 of a proleptic Gregorian date (any year). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** Inverse of {@link daysFromCivil}. */
export function civilFromDays(days: number): CivilDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Weekday of a date, Monday = 0 (Python's `date.weekday()`). */
export function weekday(year: number, month: number, day: number): number {
  // 1970-01-01 was a Thursday (3)
  return (((daysFromCivil(year, month, day) + 3) % 7) + 7) % 7;
}

export function naiveSeconds(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  return daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
}

/**
 * Epoch seconds of naive local wall-clock seconds, in the process's time zone. A time that falls into
 * a DST gap moves forward (like mktime); an ambiguous time takes the first (summer-time) occurrence.
 */
export function localToEpoch(naive: number): number {
  const days = Math.floor(naive / SECONDS_PER_DAY);
  let rest = naive - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const minute = Math.floor(rest / 60);
  const second = rest - minute * 60;
  // one local-time conversion instead of three; checked to agree with the setter form below
  // second by second around every zone transition 1850-2060 in zones with odd rules
  if (year >= 100) return new Date(year, month - 1, day, hour, minute, second).getTime() / 1000;
  const date = new Date(2000, 0, 1, 0, 0, 0, 0);
  date.setFullYear(year, month - 1, day); // setFullYear: years 0–99 stay literal
  date.setHours(hour, minute, second, 0);
  return date.getTime() / 1000;
}

/** Local wall clock of an epoch (seconds): naive seconds and the civil date. */
export interface LocalNow extends CivilDate {
  naive: number;
}

export function localNow(epoch: number): LocalNow {
  const date = new Date(epoch * 1000);
  return {
    year: date.getFullYear(),
    month: date.getMonth() + 1,
    day: date.getDate(),
    naive: epoch - date.getTimezoneOffset() * 60,
  };
}
