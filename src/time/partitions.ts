/**
 * Partition calendars: which dates a pipeline's partitions are keyed by.
 *
 * - Weekly data (FINRA OTC transparency) is keyed by `week_ending`, the Friday of the trading
 *   week. FINRA publishes each week on the Monday after that Friday, and its files may be named
 *   by either date, so both directions are here.
 * - Daily market data is keyed by session date, from a trading calendar.
 *
 * Weeks run Monday..Sunday (ISO). The week_ending of a Saturday or Sunday is therefore the
 * Friday just before it: the most recent trading week, which is what a weekend run wants.
 */
import { TimeInputError } from './errors.js';
import { FRIDAY, MONDAY, addDays, dayOfWeek, parseDate, parseDateRange, toEpochDay, type DateString, type RangeFieldNames } from './civil-date.js';
import type { TradingCalendar } from './trading-calendar.js';
import { validateTimezone, zonedDate } from './zoned.js';

export { parseDateRange } from './civil-date.js';

/** The Friday of `date`'s Monday-Sunday week. */
export function weekEndingFor(date: DateString): DateString {
  const d = parseDate(date, 'date');
  // Days from Monday: Mon 0 ... Sun 6; Friday is 4 days after Monday.
  const sinceMonday = (dayOfWeek(d) - MONDAY + 7) % 7;
  return addDays(d, 4 - sinceMonday);
}

/** Every Friday from `from` to `to`, both inclusive, oldest first. */
export function weekEndingFridays(from: DateString, to: DateString, field: RangeFieldNames = { from: 'from', to: 'to' }): DateString[] {
  const r = parseDateRange(from, to, field);
  const out: DateString[] = [];
  let d = addDays(r.from, (FRIDAY - dayOfWeek(r.from) + 7) % 7);
  while (toEpochDay(d) <= toEpochDay(r.to)) {
    out.push(d);
    d = addDays(d, 7);
  }
  return out;
}

/** FINRA's publication Monday -> the week_ending Friday it publishes (3 days earlier). */
export function fridayForPublicationMonday(date: DateString): DateString {
  const d = parseDate(date, 'date');
  if (dayOfWeek(d) !== MONDAY) {
    throw new TimeInputError('date', d, 'be a Monday (a FINRA publication date)');
  }
  return addDays(d, -3);
}

/** The week_ending Friday -> FINRA's publication Monday (3 days later). */
export function publicationMondayFor(weekEnding: DateString): DateString {
  const d = parseDate(weekEnding, 'week_ending');
  if (dayOfWeek(d) !== FRIDAY) {
    throw new TimeInputError('week_ending', d, 'be a Friday');
  }
  return addDays(d, 3);
}

/**
 * The last `n` complete weeks at or before `asOf`, as week_ending Fridays, oldest first.
 * A week counts once its Friday has arrived (asOf on a Friday includes that Friday).
 * A `Date` is read as its local date in `timezone` (default America/New_York, the market's
 * zone: a run at 21:00 ET on Friday is still Friday, although it is Saturday in UTC).
 */
export function lastNWeekEndings(asOf: Date | DateString, n: number, timezone = 'America/New_York'): DateString[] {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new TimeInputError('n', n, 'must be a positive integer');
  }
  let day: DateString;
  if (asOf instanceof Date) {
    if (Number.isNaN(asOf.getTime())) throw new TimeInputError('asOf', asOf, 'must be a valid Date');
    day = zonedDate(asOf, validateTimezone(timezone));
  } else {
    day = parseDate(asOf, 'asOf');
  }
  // Most recent Friday on or before `day`.
  const latest = addDays(day, -((dayOfWeek(day) - FRIDAY + 7) % 7));
  const out: DateString[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(addDays(latest, -7 * i));
  return out;
}

/** Session dates of `calendar` from `from` to `to`, inclusive: daily partition keys. */
export function sessionDates(calendar: TradingCalendar, from: DateString, to: DateString): DateString[] {
  parseDateRange(from, to);
  return calendar.sessionDates(from, to);
}
