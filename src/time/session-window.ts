/**
 * Session windows: "only while the market is open".
 *
 * An instant is INSIDE the session window of a calendar when its local date in the
 * calendar's zone is a session and open <= instant <= close, using that day's REAL open and
 * close from the calendar rules (early closes, ad-hoc closures and DST all come from there).
 * Open and close are both inside: "every 15m" on a 09:30-16:00 day fires at 09:30 and 16:00;
 * on the 13:00 early close of 2026-11-27 the last tick is 13:00.
 */
import type { DateString } from './civil-date.js';
import type { Session, TradingCalendar } from './trading-calendar.js';
import { zonedDate } from './zoned.js';

export type WindowKind = 'session';

/** The session whose [open, close] contains `instant`, or undefined. */
export function sessionContaining(calendar: TradingCalendar, instant: Date): Session | undefined {
  const s = calendar.session(zonedDate(instant, calendar.timezone));
  if (!s) return undefined;
  const t = instant.getTime();
  return t >= s.open.getTime() && t <= s.close.getTime() ? s : undefined;
}

export function isInSession(calendar: TradingCalendar, instant: Date): boolean {
  return sessionContaining(calendar, instant) !== undefined;
}

/** The session on `day` or the first after it. */
export function sessionOnOrAfter(calendar: TradingCalendar, day: DateString): Session {
  return calendar.session(day) ?? calendar.session(calendar.nextSession(day))!;
}
