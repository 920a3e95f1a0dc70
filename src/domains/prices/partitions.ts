import { z } from 'zod';
import { getCalendar } from '../../time/calendars.js';
import { isValidDate } from '../../time/civil-date.js';
import { PRICES_CALENDAR, SYMBOL_RE } from './constants.js';

/** Why `date` is not an XNYS session (`weekend`, `Christmas Day`, …), or null if it is one. */
export function sessionProblem(date: string, calendar = PRICES_CALENDAR): string | null {
  if (!isValidDate(date)) return 'must be a date YYYY-MM-DD';
  try {
    const reason = getCalendar(calendar).closureReason(date);
    return reason === undefined ? null : `must be an ${calendar} session (${date} is closed: ${reason})`;
  } catch (err) {
    return `must be an ${calendar} session (${(err as Error).message})`;
  }
}

export function isSession(date: string, calendar = PRICES_CALENDAR): boolean {
  return sessionProblem(date, calendar) === null;
}

/** A session date of the XNYS calendar, e.g. 2025-12-19 (shared by prices, fred and features). */
export const sessionDateSchema = z.string().superRefine((value, ctx) => {
  const problem = sessionProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const symbolSchema = z.string().regex(SYMBOL_RE, 'must be an upper-case ticker such as AAPL or BRK.B');

/** prices.daily_ohlcv: one symbol on one session. */
export const priceDayPartition = z.strictObject({ date: sessionDateSchema, symbol: symbolSchema });

/** The last session strictly before `date`. */
export function previousSession(date: string, calendar = PRICES_CALENDAR): string {
  return getCalendar(calendar).previousSession(date);
}

/** Session dates from `from` to `to`, both inclusive. */
export function sessionsBetween(from: string, to: string, calendar = PRICES_CALENDAR): string[] {
  return getCalendar(calendar).sessionDates(from, to);
}
