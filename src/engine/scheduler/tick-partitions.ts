import { ValidationError } from '../../core/errors.js';
import type { Partition } from '../../core/partition.js';
import { lastNWeekEndings } from '../../time/partitions.js';
import type { TradingCalendar } from '../../time/trading-calendar.js';
import { zonedDate } from '../../time/zoned.js';
import { nightDate } from '../../time/night.js';

/**
 * What one schedule tick enqueues, from the schedule's `partitions` spec:
 *
 *   lookback_weeks: N        -> week_ending = the last N week-ending Fridays up to the tick's local date
 *   lookback_sessions: N     -> date = the last N sessions of the calendar up to the tick's local date
 *   date: "tick"             -> date = the tick's local date
 *   date: "session"          -> the tick's date if it is a session, else the session before it
 *   date: "previous_session" -> the session before the tick's date
 *   date: "night"            -> the night the tick belongs to (local noon to noon, named by
 *                               its evening's date; see time/night.ts)
 *   key: [a, b]              -> one partition per value (the cross product over all such keys);
 *                               `symbols` and `tiers` name the dimensions `symbol` and `tier`
 *   key: "value" | 123       -> the same value in every partition
 *
 * A schedule on market times (`at: close+15m`) adds `date: "session"` unless the spec names a
 * date or week itself. With no spec at all, each tick enqueues one partition
 * `{tick: <scheduled instant>}`, so every tick is its own work item.
 */
export interface TickContext {
  at: Date;
  timezone: string;
  calendar?: TradingCalendar;
  marketTime: boolean;
  /** Lookbacks above this are clamped (with a warning) unless the schedule says force. */
  maxLookbackWeeks?: number;
}

export interface ExpandedTick {
  partitions: Partition[];
  warnings: string[];
}

const ALIASES: Record<string, string> = { symbols: 'symbol', tiers: 'tier' };
const TIME_KEYS = new Set(['date', 'week_ending', 'lookback_weeks', 'lookback_sessions', 'tick']);

export function expandTickPartitions(spec: Record<string, unknown> | undefined, ctx: TickContext, field = 'partitions'): ExpandedTick {
  const warnings: string[] = [];
  const dims: [string, string[]][] = [];
  const entries = Object.entries(spec ?? {});
  if (entries.length === 0 && !ctx.marketTime) return { partitions: [{ tick: ctx.at.toISOString() }], warnings };
  const localDate = zonedDate(ctx.at, ctx.timezone);
  const force = spec?.force === true;

  for (const [rawKey, value] of entries) {
    if (rawKey === 'force') continue;
    const where = `${field}.${rawKey}`;
    if (rawKey === 'lookback_weeks') {
      let n = positiveInt(value, where);
      const max = ctx.maxLookbackWeeks ?? 12;
      if (n > max && !force) {
        warnings.push(`${where}: ${n} weeks is over the maximum of ${max}; clamped to ${max} (set partitions.force: true to allow)`);
        n = max;
      }
      dims.push(['week_ending', lastNWeekEndings(localDate, n)]);
    } else if (rawKey === 'lookback_sessions') {
      const n = positiveInt(value, where);
      const cal = requireCalendar(ctx, where);
      const dates: string[] = [];
      let d = cal.isSession(localDate) ? localDate : cal.previousSession(localDate);
      while (dates.length < n) {
        dates.unshift(d);
        d = cal.previousSession(d);
      }
      dims.push(['date', dates]);
    } else if (rawKey === 'date' && value === 'night') {
      dims.push(['date', [nightDate(ctx.at, ctx.timezone)]]);
    } else if (rawKey === 'date' && typeof value === 'string' && ['tick', 'session', 'previous_session'].includes(value)) {
      dims.push(['date', [resolveDate(value, localDate, ctx, where)]]);
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw new ValidationError(where, value, 'list at least one value');
      dims.push([ALIASES[rawKey] ?? rawKey, value.map((v, i) => scalar(v, `${where}[${i}]`))]);
    } else {
      dims.push([ALIASES[rawKey] ?? rawKey, [scalar(value, where)]]);
    }
  }
  if (ctx.marketTime && !entries.some(([k]) => TIME_KEYS.has(k))) {
    dims.unshift(['date', [resolveDate('session', localDate, ctx, field)]]);
  }
  return { partitions: crossProduct(dims), warnings };
}

function resolveDate(mode: string, localDate: string, ctx: TickContext, where: string): string {
  if (mode === 'tick') return localDate;
  const cal = requireCalendar(ctx, where);
  if (mode === 'session') return cal.isSession(localDate) ? localDate : cal.previousSession(localDate);
  return cal.previousSession(localDate);
}

function requireCalendar(ctx: TickContext, where: string): TradingCalendar {
  if (!ctx.calendar) throw new ValidationError(where, undefined, 'needs the schedule to name a calendar (e.g. "calendar": "XNYS")');
  return ctx.calendar;
}

function positiveInt(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ValidationError(where, value, 'be a positive integer');
  return value;
}

function scalar(value: unknown, where: string): string {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new ValidationError(where, value, 'be a non-empty string, a number, or a list of them');
}

function crossProduct(dims: [string, string[]][]): Partition[] {
  let out: Record<string, string>[] = [{}];
  for (const [key, values] of dims) {
    const next: Record<string, string>[] = [];
    for (const base of out) for (const v of values) next.push({ ...base, [key]: v });
    out = next;
  }
  return out;
}
