/**
 * Cron fire times, in a time zone, optionally restricted to trading sessions.
 *
 * Parsing and matching are croner's job (project rule: never hand-parse cron). What this file
 * adds is the project's DST policy, applied the same way to every expression:
 *
 *   A cron expression names LOCAL WALL-CLOCK times. Each matching wall time fires once:
 *   - at its only instant, normally;
 *   - at its FIRST occurrence when the wall time happens twice (fall back: "30 1 * * *" on
 *     2026-11-01 in New York fires at 01:30 EDT = 05:30Z, not again at 01:30 EST = 06:30Z);
 *   - at the FIRST INSTANT AFTER THE GAP when it does not exist (spring forward: "30 2 * * *"
 *     on 2026-03-08 in New York fires at 03:00 EDT = 07:00Z). Several gap times collapse into
 *     that one instant, which fires once.
 *
 * What croner v11 does on its own (checked empirically, see test/time/cron.test.ts "croner
 * baseline"): with a `timezone`, a "fixed-time" job — seconds, minutes and hours each a single
 * value, like "30 2 * * *" — already follows this policy. Any other job is an "interval" job
 * to croner: it SKIPS wall times in the gap ("30 2,14 * * *" does not fire on 2026-03-08 at
 * all for 02:30) and fires repeated wall times TWICE ("30 1-2 * * *" fires 05:30Z, 06:30Z and
 * 07:30Z on 2026-11-01). Its `fixedTimeRule: "no-wildcard"` option fixes lists and ranges but
 * not `*` or steps.
 *
 * The correction: let croner enumerate matches in wall-clock time (croner in UTC, reading the
 * UTC fields as local wall-clock fields — no DST exists there, so nothing is skipped or
 * doubled), then map each wall time to an instant with zoned.ts, which implements the policy,
 * and drop instants already emitted. For fixed-time jobs the result is identical to croner's.
 *
 * Consequence worth knowing: an interval job such as "*\/15 * * * *" in New York pauses for
 * the repeated hour on the fall-back night (01:00-01:45 fire once, in EDT). Jobs that want
 * elapsed-time intervals regardless of DST should use timezone "UTC".
 */
import { Cron } from 'croner';
import { TimeInputError } from './errors.js';
import { addDays } from './civil-date.js';
import type { TradingCalendar } from './trading-calendar.js';
import { sessionOnOrAfter, type WindowKind } from './session-window.js';
import { instantToWallClockMs, validateTimezone, wallClockMsToInstant, zonedDate, zonedDateTimeToInstant } from './zoned.js';

export { validateTimezone } from './zoned.js';

export interface FireTimeOptions {
  /** IANA zone the expression's wall-clock times are in. Default: the calendar's zone, else UTC. */
  timezone?: string;
  /** results are strictly after this instant */
  from: Date;
  /**
   * Only fire on sessions of this calendar. The session day of a fire time is its local date
   * in the CALENDAR's zone (for XNYS, the New York date), so a Tokyo job at 08:00 Tuesday
   * follows Monday's New York session.
   */
  calendar?: TradingCalendar;
  /**
   * With `calendar`: "session" keeps only fire times inside a session's real [open, close]
   * (both included). See session-window.ts.
   */
  window?: WindowKind;
}

export interface NextFireOptions extends FireTimeOptions {
  /** how many fire times, 1..MAX_FIRE_TIMES */
  count: number;
}

export const MAX_FIRE_TIMES = 100_000;

/** How long a stretch without any fire we search before concluding there are no more. */
const SEARCH_HORIZON_MS = 10 * 366 * 86_400_000;

/** Fields croner names in "Invalid value for <part>", with the range a user should write. */
const FIELD_RANGES: Readonly<Record<string, string>> = {
  second: 'second must be 0-59',
  minute: 'minute must be 0-59',
  hour: 'hour must be 0-23',
  day: 'day of month must be 1-31',
  month: 'month must be 1-12 or JAN-DEC',
  dayOfWeek: 'day of week must be 0-7 (0 and 7 are Sunday) or SUN-SAT',
};

/** Croner's error text, minus its class prefix, plus the valid range when it is a range error. */
function cronerReason(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const reason = raw.replace(/^CronPattern:\s*/, '').trim();
  const part = /Invalid value for (\w+)/i.exec(reason)?.[1];
  const range = part !== undefined ? FIELD_RANGES[part] : undefined;
  return range ? `${reason} (${range})` : reason;
}

/**
 * Compile `expr` for wall-clock enumeration. UTC is deliberate: see the file comment.
 * `utcOffset: 0` rather than `timezone: 'Etc/UTC'`: the same wall-clock matches, but croner
 * then computes them with plain Date arithmetic instead of an Intl zone conversion per step
 * (about 9x faster; it was most of a 10,000-schedule scheduler's CPU).
 * `paused` and no callback: this instance only computes dates, it never schedules a timer.
 */
function compile(expr: string, field: string): Cron {
  try {
    return new Cron(expr, { utcOffset: 0, paused: true });
  } catch (err) {
    throw new TimeInputError(field, expr, `be a valid cron expression: ${cronerReason(err)}`);
  }
}

/**
 * Check a cron expression with croner: 5 fields (minute hour day-of-month month day-of-week),
 * or 6/7 with seconds/year, or a nickname like "@daily". Also rejects expressions that can
 * never fire ("0 0 30 2 *"), which croner accepts but which would make a schedule silently
 * dead. Returns the expression unchanged.
 */
export function validateCron(expr: unknown, field = 'cron'): string {
  compileChecked(expr, field);
  return expr as string;
}

/**
 * Checked expressions, compiled once: a scheduler asks for the next fire time of each of its
 * schedules over and over, and compiling plus the "can it ever fire" probe cost far more
 * than the answer (10,000 schedules spent seconds per pass here). A paused Cron with no
 * callback only computes dates from the instant it is given, so sharing one is safe.
 */
const compiled = new Map<string, Cron>();
const COMPILED_MAX = 50_000;

function compileChecked(expr: unknown, field: string): Cron {
  if (typeof expr !== 'string' || expr.trim() === '') {
    throw new TimeInputError(field, expr, 'be given as a cron expression, e.g. "30 10 * * 1-5"');
  }
  const hit = compiled.get(expr);
  if (hit) return hit;
  const cron = compile(expr, field);
  if (cron.nextRun(new Date(Date.UTC(1970, 0, 1))) === null) {
    throw new TimeInputError(field, expr, 'match at least one date (not e.g. a day that no month has)');
  }
  if (compiled.size >= COMPILED_MAX) compiled.clear();
  compiled.set(expr, cron);
  return cron;
}

function checkFrom(from: unknown): Date {
  if (!(from instanceof Date) || Number.isNaN(from.getTime())) {
    throw new TimeInputError('from', from, 'must be a valid Date');
  }
  return from;
}

/**
 * Fire times of `expr` strictly after `opts.from`, in order, lazily. Stops when croner has no
 * more matches, or after 10 years without a fire (an expression that only matches non-session
 * days, like "0 12 * * 0" on XNYS, would otherwise search forever).
 */
export function* iterateFireTimes(expr: string, opts: FireTimeOptions): Generator<Date, void, undefined> {
  const cron = compileChecked(expr, 'cron');
  const from = checkFrom(opts.from);
  const tz = validateTimezone(opts.timezone ?? opts.calendar?.timezone ?? 'UTC');
  const calendar = opts.calendar;
  if (opts.window !== undefined && opts.window !== 'session') throw new TimeInputError('window', opts.window, 'must be "session"');
  if (opts.window && !calendar) throw new TimeInputError('calendar', undefined, 'must be given with window "session" (e.g. "XNYS")');

  const fromMs = from.getTime();
  // Starting from the local wall time of `from` loses nothing: wall->instant is monotonic, so
  // every earlier wall time maps to an instant at or before `from`.
  let cursor = instantToWallClockMs(from, tz);
  let lastEmitted = fromMs;

  for (;;) {
    const match = cron.nextRun(new Date(cursor));
    if (match === null) return;
    cursor = match.getTime();
    const instant = wallClockMsToInstant(cursor, tz);
    const t = instant.getTime();
    if (t > lastEmitted + SEARCH_HORIZON_MS) return;
    // <= lastEmitted: before `from` (the second pass through a repeated hour maps back to the
    // first), or a gap time collapsed onto an instant already fired.
    if (t <= lastEmitted) continue;
    if (calendar) {
      const day = zonedDate(instant, calendar.timezone);
      if (!calendar.isSession(day)) {
        // Nothing on this calendar day can fire: jump to the wall time just before the next
        // calendar midnight instead of walking every match (matters for "* * * * *").
        const nextMidnight = zonedDateTimeToInstant(addDays(day, 1), '00:00', calendar.timezone);
        const skipTo = instantToWallClockMs(nextMidnight, tz) - 1000;
        if (skipTo > cursor) cursor = skipTo;
        continue;
      }
      if (opts.window === 'session') {
        const session = sessionOnOrAfter(calendar, day);
        if (t < session.open.getTime()) {
          // Before the open: jump to just before it (the wall time of the real open).
          const skipTo = instantToWallClockMs(session.open, tz) - 1000;
          if (skipTo > cursor) cursor = skipTo;
          continue;
        }
        if (t > session.close.getTime()) {
          const nextMidnight = zonedDateTimeToInstant(addDays(day, 1), '00:00', calendar.timezone);
          const skipTo = instantToWallClockMs(nextMidnight, tz) - 1000;
          if (skipTo > cursor) cursor = skipTo;
          continue;
        }
      }
    }
    lastEmitted = t;
    yield instant;
  }
}

/**
 * The next `count` fire times of `expr` strictly after `from`. Fewer when the expression has
 * no more fire times within the search horizon.
 */
export function nextFireTimes(expr: string, opts: NextFireOptions): Date[] {
  const { count } = opts;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_FIRE_TIMES) {
    throw new TimeInputError('count', count, `must be an integer from 1 to ${MAX_FIRE_TIMES}`);
  }
  const out: Date[] = [];
  for (const t of iterateFireTimes(expr, opts)) {
    out.push(t);
    if (out.length >= count) break;
  }
  return out;
}

/**
 * Fire times in (from, to] — what a scheduler needs to catch up after downtime or to decide
 * a misfire. At most `limit` (default MAX_FIRE_TIMES) are returned.
 */
export function fireTimesBetween(expr: string, opts: FireTimeOptions & { to: Date; limit?: number }): Date[] {
  const to = opts.to;
  if (!(to instanceof Date) || Number.isNaN(to.getTime())) {
    throw new TimeInputError('to', to, 'must be a valid Date');
  }
  if (to.getTime() < checkFrom(opts.from).getTime()) {
    throw new TimeInputError('to', to, `not be before from (${opts.from.toISOString()}): the range is reversed`);
  }
  const limit = opts.limit ?? MAX_FIRE_TIMES;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FIRE_TIMES) {
    throw new TimeInputError('limit', limit, `must be an integer from 1 to ${MAX_FIRE_TIMES}`);
  }
  const out: Date[] = [];
  for (const t of iterateFireTimes(expr, opts)) {
    if (t.getTime() > to.getTime() || out.length >= limit) break;
    out.push(t);
  }
  return out;
}
