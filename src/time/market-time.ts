/**
 * Market-relative schedule times: `at: "close+15m"` on a calendar.
 *
 * Why not cron: "15 minutes after the close" is 16:15 ET on most days but 13:15 ET on an early
 * close (the day after Thanksgiving, Christmas Eve...), and never on a holiday. A cron line
 * cannot say that; anchoring to each session's REAL open/close can.
 *
 * Grammar (no spaces, lower case): `open` | `close`, optionally followed by a signed offset
 * made of hours and/or minutes: `open-5m`, `close+15m`, `close+1h`, `close+1h30m`.
 * Offsets are limited to 24h so a time stays attached to its own session's day.
 */
import { TimeInputError } from './errors.js';
import { addDays, type DateString } from './civil-date.js';
import type { TradingCalendar } from './trading-calendar.js';
import { zonedDate } from './zoned.js';

export interface MarketTime {
  anchor: 'open' | 'close';
  /** signed offset from the anchor, in minutes */
  offsetMinutes: number;
}

export interface NextMarketTimeOptions {
  calendar: TradingCalendar;
  /** results are strictly after this instant */
  from: Date;
  count: number;
}

const AT_RE = /^(open|close)(?:([+-])(?:(\d+)h)?(?:(\d+)m)?)?$/;
const MAX_OFFSET_MINUTES = 24 * 60;
const MAX_COUNT = 100_000;
const GRAMMAR = 'be open or close with an optional offset such as open-5m, close+15m or close+1h30m';

/** Parse an `at` string. Throws TimeInputError (field "at") when it does not parse. */
export function parseMarketTime(at: unknown, field = 'at'): MarketTime {
  if (typeof at !== 'string') throw new TimeInputError(field, at, GRAMMAR);
  const m = AT_RE.exec(at.trim());
  if (!m) throw new TimeInputError(field, at, GRAMMAR);
  const [, anchor, sign, hours, minutes] = m;
  if (sign !== undefined && hours === undefined && minutes === undefined) {
    throw new TimeInputError(field, at, `have hours and/or minutes after "${sign}", e.g. ${anchor}${sign}15m`);
  }
  const magnitude = Number(hours ?? 0) * 60 + Number(minutes ?? 0);
  if (magnitude > MAX_OFFSET_MINUTES) {
    throw new TimeInputError(field, at, 'have an offset of at most 24h');
  }
  return {
    anchor: anchor === 'open' ? 'open' : 'close',
    offsetMinutes: sign === '-' ? -magnitude : magnitude,
  };
}

/** Canonical text form, e.g. `{close, 90}` -> "close+1h30m". */
export function formatMarketTime(t: MarketTime): string {
  if (t.offsetMinutes === 0) return t.anchor;
  const abs = Math.abs(t.offsetMinutes);
  const h = Math.floor(abs / 60);
  const m = abs % 60;
  return `${t.anchor}${t.offsetMinutes < 0 ? '-' : '+'}${h ? `${h}h` : ''}${m ? `${m}m` : ''}`;
}

/** The instant of `at` on one session (its real open/close, early closes included). */
export function marketTimeOn(at: MarketTime | string, calendar: TradingCalendar, date: DateString): Date {
  const t = typeof at === 'string' ? parseMarketTime(at) : at;
  const anchor = t.anchor === 'open' ? calendar.sessionOpen(date) : calendar.sessionClose(date);
  return new Date(anchor.getTime() + t.offsetMinutes * 60_000);
}

/**
 * The next `count` instants of `at` strictly after `from`: for each session in order, its
 * real open or close plus the offset.
 */
export function nextMarketTimes(at: MarketTime | string, opts: NextMarketTimeOptions): Date[] {
  const t = typeof at === 'string' ? parseMarketTime(at) : at;
  const { calendar, from, count } = opts;
  if (!(from instanceof Date) || Number.isNaN(from.getTime())) {
    throw new TimeInputError('from', from, 'must be a valid Date');
  }
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new TimeInputError('count', count, `must be an integer from 1 to ${MAX_COUNT}`);
  }
  // Start a couple of days back: with a negative offset (or a positive one past midnight) a
  // session earlier than `from`'s local date can still produce a time after `from`.
  let day = calendar.previousSession(addDays(zonedDate(from, calendar.timezone), -1));
  const out: Date[] = [];
  while (out.length < count) {
    const instant = marketTimeOn(t, calendar, day);
    if (instant.getTime() > from.getTime()) out.push(instant);
    day = calendar.nextSession(day);
  }
  return out;
}
