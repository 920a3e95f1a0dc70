import { parseDuration } from '../../core/duration.js';
import { SluiceError, ValidationError } from '../../core/errors.js';
import type { ScheduleConfig, SluiceConfig } from '../../config/schema.js';
import { getCalendar } from '../../time/calendars.js';
import { fireTimesBetween, nextFireTimes, validateCron } from '../../time/cron.js';
import { nextMarketTimes, parseMarketTime } from '../../time/market-time.js';
import type { TradingCalendar } from '../../time/trading-calendar.js';
import { validateTimezone } from '../../time/zoned.js';
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

/** Validates every schedule up front; errors name the schedule and the field. */
export function compileSchedules(config: SluiceConfig, registry: PipelineRegistry, source?: string): CompiledSchedule[] {
  const seen = new Set<string>();
  return config.schedules.map((s, i) => {
    if (seen.has(s.name)) throw new ValidationError(`schedules[${i}].name`, s.name, 'be unique among schedules', source);
    seen.add(s.name);
    return compileSchedule(s, `schedules[${i}] (${s.name})`, registry, config, source);
  });
}

export function compileSchedule(s: ScheduleConfig, where: string, registry: PipelineRegistry, config: Pick<SluiceConfig, 'timezone' | 'calendars'> & { scheduler?: { max_lookback_weeks: number } }, source?: string): CompiledSchedule {
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
  if (!s.cron && !s.at) throw new ValidationError(field('cron'), undefined, 'be given (or use "calendar" with "at", e.g. "close+15m")', source);
  if (s.cron && s.at) throw new ValidationError(field('at'), s.at, 'not be combined with "cron": use one or the other', source);
  const calendar = s.calendar ? wrap('calendar', () => getCalendar(s.calendar!, config.calendars[s.calendar!] ?? config.calendars[s.calendar!.toUpperCase()])) : undefined;
  if (s.at && !calendar) throw new ValidationError(field('calendar'), undefined, 'be given when "at" is used (e.g. "XNYS")', source);
  const timezone = wrap('timezone', () => validateTimezone(s.timezone ?? config.timezone));
  const cron = s.cron ? wrap('cron', () => validateCron(s.cron)) : undefined;
  const at = s.at ? wrap('at', () => parseMarketTime(s.at)) : undefined;
  const catchupMs = s.catchup === true ? Number.MAX_SAFE_INTEGER : s.catchup === false || s.catchup === undefined ? 0 : parseDuration(s.catchup, field('catchup'));

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
      if (cron) return nextFireTimes(cron, { timezone, from, count, calendar });
      return nextMarketTimes(at!, { calendar: calendar!, from, count });
    },
    timesBetween(from, to, limit) {
      if (to.getTime() <= from.getTime()) return [];
      if (cron) return fireTimesBetween(cron, { timezone, from, to, calendar, limit });
      const out: Date[] = [];
      let cursor = from;
      while (out.length < limit) {
        const batch = nextMarketTimes(at!, { calendar: calendar!, from: cursor, count: Math.min(64, limit - out.length) });
        for (const t of batch) {
          if (t.getTime() > to.getTime()) return out;
          out.push(t);
        }
        if (batch.length === 0) return out;
        cursor = batch.at(-1)!;
      }
      return out;
    },
    partitionsFor(atInstant) {
      return expandTickPartitions(s.partitions, { at: atInstant, timezone, calendar, marketTime: at !== undefined, maxLookbackWeeks: config.scheduler?.max_lookback_weeks }, field('partitions'));
    },
  };
  // Expand one sample tick now so a partition spec the pipeline would reject fails at start,
  // not at 3 a.m. when the tick fires.
  const [sample] = compiled.nextTimes(new Date(), 1);
  if (sample) {
    const { partitions } = wrap('partitions', () => compiled.partitionsFor(sample));
    for (const p of partitions) wrap('partitions', () => registry.validatePartition(pipeline, p, field('partitions')));
    wrap('params', () => registry.validateParams(pipeline, s.params, field('params')));
  }
  return compiled;
}
