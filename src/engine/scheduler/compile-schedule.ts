import { parseDuration } from '../../core/duration.js';
import { SluiceError, ValidationError } from '../../core/errors.js';
import type { ScheduleConfig, SluiceConfig } from '../../config/schema.js';
import { getCalendar } from '../../time/calendars.js';
import { fireTimesBetween, nextFireTimes, validateCron } from '../../time/cron.js';
import { nextMarketTimes, parseMarketTime } from '../../time/market-time.js';
import type { TradingCalendar } from '../../time/trading-calendar.js';
import { validateTimezone } from '../../time/zoned.js';
import { checkIntervalSpec, intervalTimesBetween, nextIntervalTimes, type IntervalSpec } from '../../time/interval.js';
import { isInSession } from '../../time/session-window.js';
import { TimeInputError } from '../../time/errors.js';
import type { PipelineRegistry, RegisteredPipeline } from '../registry.js';
import type { MisfirePolicy } from './misfire-policy.js';
import { expandTickPartitions, type ExpandedTick } from './tick-partitions.js';

export type OverlapPolicy = 'skip' | 'buffer_one' | 'allow';

/** A schedule from config, validated and ready to compute fire times. */
export interface CompiledSchedule {
  readonly name: string;
  readonly config: ScheduleConfig;
  readonly pipeline: RegisteredPipeline;
  readonly timezone: string;
  readonly calendar: TradingCalendar | undefined;
  readonly enabled: boolean;
  readonly priority: number | undefined;
  readonly misfire: MisfirePolicy;
  readonly maxInstances: number;
  readonly overlap: OverlapPolicy;
  /** Fire times strictly after `from`, at most `count`. */
  nextTimes(from: Date, count: number): Date[];
  /** Fire times in (from, to], at most `limit`. */
  timesBetween(from: Date, to: Date, limit: number): Date[];
  partitionsFor(at: Date): ExpandedTick;
}

export const DEFAULT_MISFIRE_GRACE = '1m';

/**
 * The next fire time of a cron trigger after an instant, shared by every schedule with the
 * same expression, zone, calendar and window: 10,000 schedules usually hold a few dozen
 * expressions, and the ones due in the same second ask about the same instant (at start-up,
 * all of them ask about the scheduler's start). A pure function of its key, so a hit is the
 * answer; bounded, since instants move on.
 */
const NO_CALENDAR = {};
const nextCronTimes = new WeakMap<object, Map<string, number | null>>();
const NEXT_CRON_MAX = 20_000;

function nextCronTime(cron: string, timezone: string, calendar: TradingCalendar | undefined, window: ScheduleConfig['window'], from: Date): Date | null {
  let memo = nextCronTimes.get(calendar ?? NO_CALENDAR);
  if (!memo) nextCronTimes.set(calendar ?? NO_CALENDAR, (memo = new Map()));
  const key = `${cron}\u0000${timezone}\u0000${window ?? ''}\u0000${from.getTime()}`;
  let next = memo.get(key);
  if (next === undefined) {
    next = nextFireTimes(cron, { timezone, from, count: 1, calendar, window })[0]?.getTime() ?? null;
    if (memo.size >= NEXT_CRON_MAX) memo.clear();
    memo.set(key, next);
  }
  // A fresh Date: callers own what they are given.
  return next === null ? null : new Date(next);
}

/** Validates every schedule up front; errors name the schedule and the field. */
export function compileSchedules(config: SluiceConfig, registry: PipelineRegistry, source?: string): CompiledSchedule[] {
  const seen = new Set<string>();
  return config.schedules.map((s, i) => {
    if (seen.has(s.name)) throw new ValidationError(`schedules[${i}].name`, s.name, 'be unique among schedules', source);
    seen.add(s.name);
    return compileSchedule(s, `schedules[${i}] (${s.name})`, registry, config, source);
  });
}

export function compileSchedule(
  s: ScheduleConfig,
  where: string,
  registry: PipelineRegistry,
  config: Pick<SluiceConfig, 'timezone' | 'calendars'> & { scheduler?: { max_lookback_weeks: number } },
  source?: string,
): CompiledSchedule {
  // Re-throw time-layer and registry errors with the schedule's position in the config.
  const field = (name: string) => `${where}.${name}`;
  const wrap = <T>(name: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      // Keep a deeper path the check already named (`schedules[0] (x).params.argv`).
      if (err instanceof ValidationError) throw new ValidationError(err.field.startsWith(field(name)) ? err.field : field(name), err.value, err.rule, source);
      if (err instanceof SluiceError && 'rule' in err) {
        const e = err as SluiceError & { value: unknown; rule: string };
        throw new ValidationError(field(name), e.value, e.rule, source);
      }
      throw err;
    }
  };
  const pipeline = wrap('pipeline', () => registry.require(s.pipeline));
  const triggers = (['cron', 'at', 'every'] as const).filter((k) => s[k] !== undefined);
  if (triggers.length === 0)
    throw new ValidationError(field('cron'), undefined, 'be given (or "every", e.g. "15m", or "calendar" with "at", e.g. "close+15m")', source);
  if (triggers.length > 1)
    throw new ValidationError(field(triggers[1]!), s[triggers[1]!], `not be combined with "${triggers[0]}": use one of cron, at, every`, source);
  const calendar = s.calendar
    ? wrap('calendar', () => getCalendar(s.calendar!, config.calendars[s.calendar!] ?? config.calendars[s.calendar!.toUpperCase()]))
    : undefined;
  if (s.at && !calendar) throw new ValidationError(field('calendar'), undefined, 'be given when "at" is used (e.g. "XNYS")', source);
  if (s.window && !calendar) throw new ValidationError(field('calendar'), undefined, 'be given when "window" is used (e.g. "XNYS")', source);
  if (s.start !== undefined && s.every === undefined) throw new ValidationError(field('start'), s.start, 'only be used with "every"', source);
  if (s.jitter !== undefined && s.every === undefined) throw new ValidationError(field('jitter'), s.jitter, 'only be used with "every"', source);
  if (s.every !== undefined && calendar && !s.window) {
    throw new ValidationError(
      field('window'),
      undefined,
      'be "session" when "every" has a "calendar" (a calendar without a window would not say which instants of a session day fire)',
      source,
    );
  }
  const timezone = wrap('timezone', () => validateTimezone(s.timezone ?? config.timezone));
  const cron = s.cron ? wrap('cron', () => validateCron(s.cron)) : undefined;
  const at = s.at ? wrap('at', () => parseMarketTime(s.at)) : undefined;
  const window = s.window;
  const start = s.start === undefined ? undefined : new Date(s.start);
  if (start && (Number.isNaN(start.getTime()) || !/\d{4}-\d{2}-\d{2}T/.test(s.start!))) {
    throw new ValidationError(field('start'), s.start, 'be an ISO-8601 instant with a time, e.g. 2026-01-05T09:00:00Z', source);
  }
  if (start && window)
    throw new ValidationError(field('start'), s.start, 'not be combined with window "session": ticks are anchored at each session\'s open', source);
  const interval: IntervalSpec | undefined =
    s.every === undefined
      ? undefined
      : (() => {
          const spec: IntervalSpec = {
            everyMs: parseDuration(s.every!, field('every')),
            start,
            window,
            calendar,
            jitterMs: s.jitter === undefined ? 0 : parseDuration(s.jitter, field('jitter')),
            jitterSeed: s.name,
          };
          try {
            checkIntervalSpec(spec);
          } catch (err) {
            // The time layer names the field it rejected (every, jitter); show the config's value.
            if (err instanceof TimeInputError)
              throw new ValidationError(field(err.field), s[err.field as 'every' | 'jitter'] ?? err.value, err.rule.replace(/^must /, ''), source);
            throw err;
          }
          return spec;
        })();
  // `at` with a window keeps only the market times inside the session (open-5m never fires).
  const atInWindow = (times: Date[]) => times.filter((t) => isInSession(calendar!, t));
  if (at && window && calendar) {
    const probe = nextMarketTimes(at, { calendar, from: new Date(), count: 10 });
    if (!probe.some((t) => isInSession(calendar, t))) {
      throw new ValidationError(field('at'), s.at, 'fall inside the session (between open and close) when window is "session"', source);
    }
  }
  const catchupMs =
    s.catchup === true ? Number.MAX_SAFE_INTEGER : s.catchup === false || s.catchup === undefined ? 0 : parseDuration(s.catchup, field('catchup'));

  const compiled: CompiledSchedule = {
    name: s.name,
    config: s,
    pipeline,
    timezone,
    calendar,
    enabled: s.enabled !== false,
    priority: s.priority,
    misfire: {
      misfireGraceMs: parseDuration(s.misfire_grace ?? DEFAULT_MISFIRE_GRACE, field('misfire_grace')),
      catchupMs,
      coalesce: s.coalesce ?? true,
    },
    maxInstances: s.max_instances ?? 1,
    overlap: s.overlap ?? 'skip',
    nextTimes(from, count) {
      if (interval) return nextIntervalTimes(interval, from, count);
      if (cron && count === 1) {
        const next = nextCronTime(cron, timezone, calendar, window, from);
        return next ? [next] : [];
      }
      if (cron) return nextFireTimes(cron, { timezone, from, count, calendar, window });
      if (!window) return nextMarketTimes(at!, { calendar: calendar!, from, count });
      // Some sessions (early closes) may not contain the time: ask for more, keep `count`.
      return atInWindow(nextMarketTimes(at!, { calendar: calendar!, from, count: Math.min(100_000, count * 2 + 8) })).slice(0, count);
    },
    timesBetween(from, to, limit) {
      if (to.getTime() <= from.getTime()) return [];
      if (interval) return intervalTimesBetween(interval, from, to, limit);
      if (cron) return fireTimesBetween(cron, { timezone, from, to, calendar, limit, window });
      const out: Date[] = [];
      let cursor = from;
      while (out.length < limit) {
        const batch = nextMarketTimes(at!, { calendar: calendar!, from: cursor, count: Math.min(64, limit - out.length) });
        for (const t of batch) {
          if (t.getTime() > to.getTime()) return out;
          if (window && !isInSession(calendar!, t)) continue;
          out.push(t);
        }
        if (batch.length === 0) return out;
        cursor = batch.at(-1)!;
      }
      return out;
    },
    partitionsFor(atInstant) {
      return expandTickPartitions(
        s.partitions,
        { at: atInstant, timezone, calendar, marketTime: at !== undefined, maxLookbackWeeks: config.scheduler?.max_lookback_weeks },
        field('partitions'),
      );
    },
  };
  // Expand one sample tick now so a partition spec the pipeline would reject fails at start,
  // not at 3 a.m. when the tick fires.
  const [sample] = compiled.nextTimes(new Date(), 1);
  if (sample) {
    const { partitions } = wrap('partitions', () => compiled.partitionsFor(sample));
    for (const p of partitions) wrap('partitions', () => registry.validatePartition(pipeline, p, field('partitions'), true));
    wrap('params', () => registry.validateParams(pipeline, s.params, field('params'), true));
  }
  return compiled;
}
