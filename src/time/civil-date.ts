/**
 * Calendar dates ("civil dates") as 'YYYY-MM-DD' strings, with no time zone attached.
 *
 * Trading days, holidays and partition keys (`week_ending`) are calendar dates, not instants:
 * "2026-11-27" is the same day in every time zone. Keeping them as plain strings (sortable,
 * JSON-friendly, usable directly as partition keys) and doing arithmetic on a day number
 * avoids the classic bug of a `Date` at local midnight shifting to the previous day in UTC.
 * All arithmetic here goes through UTC-based epoch days, so it never touches the host zone.
 */
import { TimeInputError } from './errors.js';

/** A calendar date, 'YYYY-MM-DD'. A type alias for readability; validation is runtime. */
export type DateString = string;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Day of week numbers as JavaScript (and cron) use them: 0 = Sunday ... 6 = Saturday. */
export const SUNDAY = 0;
export const MONDAY = 1;
export const TUESDAY = 2;
export const WEDNESDAY = 3;
export const THURSDAY = 4;
export const FRIDAY = 5;
export const SATURDAY = 6;

/** Year/month/day from a string, or undefined if it is not a real date ("2026-02-30" is not). */
function split(value: string): { year: number; month: number; day: number } | undefined {
  const m = DATE_RE.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

/** True when `value` is a 'YYYY-MM-DD' string naming a day that exists. */
export function isValidDate(value: unknown): value is DateString {
  return typeof value === 'string' && split(value) !== undefined;
}

/**
 * Validate a date input and return it. Throws TimeInputError naming `field` so the caller's
 * user sees which argument was wrong ("--from", "adhoc_closures[2]", ...).
 */
export function parseDate(value: unknown, field = 'date'): DateString {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TimeInputError(field, value, 'be given, formatted YYYY-MM-DD');
  }
  if (!DATE_RE.test(value)) {
    throw new TimeInputError(field, value, 'be formatted YYYY-MM-DD');
  }
  if (!split(value)) {
    throw new TimeInputError(field, value, 'be a date that exists in the calendar');
  }
  return value;
}

export function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return utcDate(year, month + 1, 0).getUTCDate();
}

/**
 * A Date at UTC midnight of the given y/m/d. setUTCFullYear instead of Date.UTC because
 * Date.UTC maps years 0-99 to 1900-1999.
 */
function utcDate(year: number, month: number, day: number): Date {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d;
}

/** Format numeric parts as 'YYYY-MM-DD'. Month is 1-12. */
export function formatDate(year: number, month: number, day: number): DateString {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Days since 1970-01-01 (negative before). The unit all date arithmetic is done in. */
export function toEpochDay(date: DateString): number {
  const p = split(date);
  if (!p) throw new TimeInputError('date', date, 'be a real date formatted YYYY-MM-DD');
  return Math.round(utcDate(p.year, p.month, p.day).getTime() / MS_PER_DAY);
}

export function fromEpochDay(epochDay: number): DateString {
  const d = new Date(epochDay * MS_PER_DAY);
  return formatDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

export function addDays(date: DateString, days: number): DateString {
  return fromEpochDay(toEpochDay(date) + days);
}

/** 0 = Sunday ... 6 = Saturday. 1970-01-01 was a Thursday (4). */
export function dayOfWeek(date: DateString): number {
  return (((toEpochDay(date) + 4) % 7) + 7) % 7;
}

export function isWeekend(date: DateString): boolean {
  const dow = dayOfWeek(date);
  return dow === SATURDAY || dow === SUNDAY;
}

/** Whole days from `a` to `b` (positive when b is later). */
export function daysBetween(a: DateString, b: DateString): number {
  return toEpochDay(b) - toEpochDay(a);
}

export function yearOf(date: DateString): number {
  return Number(date.slice(0, 4));
}

/** The n-th (1-based) given weekday of a month, e.g. 3rd Monday of January. */
export function nthWeekdayOfMonth(year: number, month: number, weekday: number, n: number): DateString {
  const first = formatDate(year, month, 1);
  const shift = (weekday - dayOfWeek(first) + 7) % 7;
  return addDays(first, shift + (n - 1) * 7);
}

/** The last given weekday of a month, e.g. last Monday of May. */
export function lastWeekdayOfMonth(year: number, month: number, weekday: number): DateString {
  const last = formatDate(year, month, daysInMonth(year, month));
  const shift = (dayOfWeek(last) - weekday + 7) % 7;
  return addDays(last, -shift);
}

/** Names for the two ends of a range in error messages, e.g. `{from: '--from', to: '--to'}`. */
export type RangeFieldNames = string | { from: string; to: string };

/**
 * Validate an inclusive date range. Both ends must be real dates and `to` must not be before
 * `from` (a one-day range, from === to, is fine). A string `field` names the ends
 * `${field}.from` / `${field}.to`; pass an object to name them exactly (CLI flags, API keys).
 */
export function parseDateRange(from: unknown, to: unknown, field: RangeFieldNames = { from: 'from', to: 'to' }): { from: DateString; to: DateString } {
  const names = typeof field === 'string' ? { from: `${field}.from`, to: `${field}.to` } : field;
  const first = parseDate(from, names.from);
  const last = parseDate(to, names.to);
  if (toEpochDay(last) < toEpochDay(first)) {
    throw new TimeInputError(names.to, last, `not be before ${names.from} (${first}): the range is reversed`);
  }
  return { from: first, to: last };
}
