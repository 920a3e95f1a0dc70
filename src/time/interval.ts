/**
 * Interval triggers: `every: "15m"` (APScheduler's IntervalTrigger), in elapsed time.
 *
 * Without a window, the ticks are start + k*every for every integer k, where `start` defaults
 * to the UTC epoch, so "15m" fires at :00, :15, :30, :45 UTC and "1h" on the hour (in zones
 * with whole-hour offsets, on the local hour too). Elapsed time knows no DST: "1h" fires 24
 * times on every day, 23 or 25 local hours notwithstanding.
 *
 * With `window: "session"` the ticks are anchored at each session's REAL open:
 * open, open+every, open+2*every, ... while <= that session's close. A 09:30-16:00 session
 * with "15m" fires 27 times, 09:30 through 16:00; the 13:00 early close fires 09:30 through
 * 13:00; a holiday fires nothing.
 *
 * Jitter (optional): each tick is moved later by a pseudo-random amount in [0, jitter),
 * derived from the schedule name and the nominal instant, so every scheduler computes the
 * same instant and the exactly-once tick row still holds. With a window the jittered instant
 * is capped at the session's close, so it stays inside the window.
 */
import { TimeInputError } from './errors.js';
import { addDays } from './civil-date.js';
import type { TradingCalendar } from './trading-calendar.js';
import { zonedDate } from './zoned.js';

export interface IntervalSpec {
  everyMs: number;
  /** anchor for windowless intervals; default the UTC epoch */
  start?: Date;
  /** with calendar: ticks only inside sessions, anchored at each open */
  window?: 'session';
  calendar?: TradingCalendar;
  jitterMs?: number;
  /** seeds the jitter; the schedule name */
  jitterSeed?: string;
}

export const MIN_INTERVAL_MS = 1000;

export function checkIntervalSpec(spec: IntervalSpec): void {
  if (!Number.isFinite(spec.everyMs) || spec.everyMs < MIN_INTERVAL_MS) {
    throw new TimeInputError('every', spec.everyMs, 'must be at least 1s');
  }
  if (spec.window && !spec.calendar) throw new TimeInputError('calendar', undefined, 'must be given with window "session" (e.g. "XNYS")');
  if (spec.window && spec.start)
    throw new TimeInputError('start', spec.start, 'must not be combined with window "session": ticks are anchored at each session\'s open');
  const jitter = spec.jitterMs ?? 0;
  if (!Number.isFinite(jitter) || jitter < 0 || jitter >= spec.everyMs) {
    throw new TimeInputError('jitter', jitter, 'must be a duration shorter than "every"');
  }
}

/** FNV-1a of seed + instant, mapped to [0, jitterMs). Deterministic on purpose. */
function jitterFor(seed: string, nominalMs: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  let h = 0x811c9dc5;
  const text = `${seed}@${nominalMs}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % Math.floor(jitterMs);
}

/** Interval tick instants strictly after `from`, in order, lazily. */
export function* iterateIntervalTimes(spec: IntervalSpec, from: Date): Generator<Date, void, undefined> {
  checkIntervalSpec(spec);
  if (!(from instanceof Date) || Number.isNaN(from.getTime())) throw new TimeInputError('from', from, 'must be a valid Date');
  const every = spec.everyMs;
  const jitterMs = spec.jitterMs ?? 0;
  const seed = spec.jitterSeed ?? '';
  const fromMs = from.getTime();

  if (!spec.window) {
    const anchor = spec.start?.getTime() ?? 0;
    // First k whose nominal+jitter could be > from: start one step back (jitter < every).
    let k = Math.floor((fromMs - anchor) / every) - 1;
    for (;;) {
      const nominal = anchor + k * every;
      k++;
      if (nominal < anchor) continue; // nothing before an explicit start
      const t = nominal + jitterFor(seed, nominal, jitterMs);
      if (t > fromMs) yield new Date(t);
    }
  }

  const calendar = spec.calendar!;
  // The session of `from`'s local date, or the one before it: either may still hold ticks.
  let day = calendar.previousSession(addDays(zonedDate(from, calendar.timezone), 1));
  let last = fromMs;
  for (;;) {
    const open = calendar.sessionOpen(day).getTime();
    const close = calendar.sessionClose(day).getTime();
    const firstK = Math.max(0, Math.floor((fromMs - open) / every) - 1);
    for (let nominal = open + firstK * every; nominal <= close; nominal += every) {
      // Capping at the close can land two jittered ticks on one instant: fire it once.
      const t = Math.min(close, nominal + jitterFor(seed, nominal, jitterMs));
      if (t > last) {
        last = t;
        yield new Date(t);
      }
    }
    day = calendar.nextSession(day);
  }
}

export function nextIntervalTimes(spec: IntervalSpec, from: Date, count: number): Date[] {
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new TimeInputError('count', count, 'must be an integer from 1 to 100000');
  const out: Date[] = [];
  for (const t of iterateIntervalTimes(spec, from)) {
    out.push(t);
    if (out.length >= count) break;
  }
  return out;
}

/** Ticks in (from, to], at most `limit`. */
export function intervalTimesBetween(spec: IntervalSpec, from: Date, to: Date, limit: number): Date[] {
  const out: Date[] = [];
  if (to.getTime() <= from.getTime()) return out;
  for (const t of iterateIntervalTimes(spec, from)) {
    if (t.getTime() > to.getTime() || out.length >= limit) break;
    out.push(t);
  }
  return out;
}
