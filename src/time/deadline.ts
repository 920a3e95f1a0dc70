/**
 * Freshness deadlines: when a partition is due, relative to its own calendar time.
 * (The instants; engine/alerts/ stores each partition's state and alerts on misses.)
 *
 * Grammar (no spaces, lower case):
 *   open | close | next_open | next_close   optionally with a signed offset (+2h, -15m, +1h30m)
 *   HH:MM [ZONE]                            a fixed local time on the partition's day, in ZONE
 *                                           (an IANA zone, e.g. "17:00 America/New_York") or the calendar's
 *   next_session@HH:MM                      a fixed local time on the session after the partition's day
 *
 * The partition's day is its `date` (a session) or its `week_ending` (a Friday). `open`/`close`
 * are that day's real open and close; `next_open`/`next_close` those of the first session
 * strictly after it. So a daily price partition with `close+2h` is due at 18:00 ET (15:00 on an
 * early close), and a FINRA week with `next_open+3h` at 12:30 ET on the Monday after its Friday
 * (Tuesday when that Monday is a holiday). Offsets are limited to 7 days.
 */
import { TimeInputError } from './errors.js';
import { parseDate, type DateString } from './civil-date.js';
import type { TradingCalendar } from './trading-calendar.js';
import { parseTimeOfDay, validateTimezone, zonedDateTimeToInstant } from './zoned.js';

export type DeadlineSpec =
  | { kind: 'market'; anchor: 'open' | 'close' | 'next_open' | 'next_close'; offsetMinutes: number }
  | { kind: 'local'; nextSession: boolean; time: string; timezone?: string };

const MARKET_RE = /^(open|close|next_open|next_close)(?:([+-])(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?)?$/;
const LOCAL_RE = /^(next_session@)?(\d{2}:\d{2})(?: +([A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*))?$/;
const MAX_OFFSET_MINUTES = 7 * 24 * 60;
const GRAMMAR =
  'must be open, close, next_open or next_close with an optional offset (close+2h, next_open+3h), HH:MM or "HH:MM Area/City", or next_session@HH:MM';

export function parseDeadline(value: unknown, field = 'deadline'): DeadlineSpec {
  if (typeof value !== 'string') throw new TimeInputError(field, value, GRAMMAR);
  const text = value.trim();
  const local = LOCAL_RE.exec(text);
  if (local) {
    parseTimeOfDay(local[2], field);
    if (local[3] !== undefined) validateTimezone(local[3]);
    return { kind: 'local', nextSession: local[1] !== undefined, time: local[2]!, ...(local[3] ? { timezone: local[3] } : {}) };
  }
  const m = MARKET_RE.exec(text);
  if (!m) throw new TimeInputError(field, value, GRAMMAR);
  const [, anchor, sign, days, hours, minutes] = m;
  if (sign !== undefined && days === undefined && hours === undefined && minutes === undefined) {
    throw new TimeInputError(field, value, `must have days, hours and/or minutes after "${sign}", e.g. ${anchor}${sign}2h`);
  }
  const magnitude = Number(days ?? 0) * 1440 + Number(hours ?? 0) * 60 + Number(minutes ?? 0);
  if (magnitude > MAX_OFFSET_MINUTES) throw new TimeInputError(field, value, 'must have an offset of at most 7d');
  return { kind: 'market', anchor: anchor as 'open' | 'close' | 'next_open' | 'next_close', offsetMinutes: sign === '-' ? -magnitude : magnitude };
}

/** The partition's calendar day: its `date`, else its `week_ending`. */
export function partitionDay(partition: Readonly<Record<string, string>>): DateString | undefined {
  const raw = partition.date ?? partition.week_ending;
  return raw === undefined ? undefined : parseDate(raw, partition.date !== undefined ? 'partition.date' : 'partition.week_ending');
}

/** The instant a partition of `day` is due under `spec`, on `calendar`'s rules. */
export function deadlineFor(spec: DeadlineSpec | string, calendar: TradingCalendar, day: DateString): Date {
  const d = typeof spec === 'string' ? parseDeadline(spec) : spec;
  if (d.kind === 'local') {
    const onDay = d.nextSession ? calendar.nextSession(day) : day;
    return zonedDateTimeToInstant(onDay, d.time, d.timezone ?? calendar.timezone);
  }
  const next = d.anchor.startsWith('next_');
  // A partition day that is not a session (a Friday holiday week_ending) anchors on the
  // session before it for open/close, so the deadline still belongs to that week.
  const session = next ? calendar.nextSession(day) : calendar.isSession(day) ? day : calendar.previousSession(day);
  const anchor = d.anchor.endsWith('open') ? calendar.sessionOpen(session) : calendar.sessionClose(session);
  return new Date(anchor.getTime() + d.offsetMinutes * 60_000);
}
