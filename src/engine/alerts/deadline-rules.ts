import { ValidationError } from '../../core/errors.js';
import type { Partition } from '../../core/partition.js';
import type { DeadlineConfig } from '../../config/alerts-schema.js';
import type { SluiceConfig } from '../../config/schema.js';
import { getCalendar } from '../../time/calendars.js';
import { deadlineFor, parseDeadline, type DeadlineSpec } from '../../time/deadline.js';
import { TimeInputError } from '../../time/errors.js';
import type { TradingCalendar } from '../../time/trading-calendar.js';
import type { PipelineRegistry } from '../registry.js';

/** One pipeline's freshness deadline, compiled: the partition day comes from `dayKey`. */
export interface DeadlineRule {
  /** domain.name */
  readonly pipelineKey: string;
  readonly domain: string;
  readonly pipeline: string;
  readonly text: string;
  readonly spec: DeadlineSpec;
  readonly calendar: TradingCalendar;
  readonly dayKey: 'date' | 'week_ending';
  /** The other dimensions the pipeline's schedules enqueue for each day (symbols, tiers):
   * a partition of the day that never got a work item is still due, and missed. */
  readonly expected: readonly Partition[];
  dueAt(day: string): Date;
}

const TIME_SPEC_KEYS = new Set(['date', 'week_ending', 'lookback_weeks', 'lookback_sessions', 'tick', 'force']);
const ALIASES: Record<string, string> = { symbols: 'symbol', tiers: 'tier' };

/** Validates every `deadline` in pipelines[] and schedules[]; errors name the field. */
export function compileDeadlines(config: SluiceConfig, registry: PipelineRegistry, source?: string): DeadlineRule[] {
  const declared: { field: string; key: string; deadline: DeadlineConfig; calendar?: string }[] = [];
  config.pipelines.forEach((p, i) => {
    if (p.deadline !== undefined) declared.push({ field: `pipelines[${i}].deadline`, key: `${p.domain}.${p.name}`, deadline: p.deadline });
  });
  config.schedules.forEach((s, i) => {
    if (s.deadline !== undefined) declared.push({ field: `schedules[${i}] (${s.name}).deadline`, key: s.pipeline, deadline: s.deadline, calendar: s.calendar });
  });
  const seen = new Map<string, string>();
  return declared.map((d) => {
    const registered = registry.require(d.key);
    const key = registered.key;
    const first = seen.get(key);
    if (first) throw new ValidationError(d.field, d.deadline, `be declared once per pipeline (${key} already has one at ${first})`, source);
    seen.set(key, d.field);
    const obj = typeof d.deadline === 'string' ? { at: d.deadline } : d.deadline;
    let spec: DeadlineSpec;
    try {
      spec = parseDeadline(obj.at, d.field);
    } catch (err) {
      if (err instanceof TimeInputError)
        throw new ValidationError(typeof d.deadline === 'string' ? d.field : `${d.field}.at`, obj.at, err.rule.replace(/^must /, ''), source);
      throw err;
    }
    const calendarName = obj.calendar ?? d.calendar ?? 'XNYS';
    let calendar: TradingCalendar;
    try {
      calendar = getCalendar(calendarName, config.calendars[calendarName] ?? config.calendars[calendarName.toUpperCase()]);
    } catch (err) {
      throw new ValidationError(
        `${d.field}${typeof d.deadline === 'string' ? '' : '.calendar'}`,
        calendarName,
        (err as { rule?: string }).rule?.replace(/^must /, '') ?? 'name a known calendar (XNYS)',
        source,
      );
    }
    const shape = (registered.definition.partition as { shape?: Record<string, unknown> } | undefined)?.shape;
    const dayKey = obj.key ?? (shape && 'week_ending' in shape ? 'week_ending' : 'date');
    const [domain, pipeline] = [registered.definition.domain, registered.definition.name];
    return {
      pipelineKey: key,
      domain,
      pipeline,
      text: obj.at,
      spec,
      calendar,
      dayKey,
      expected: expectedDimensions(config, key, dayKey, registry),
      dueAt: (day: string) => deadlineFor(spec, calendar, day),
    };
  });
}

/** Cross product of the non-time dimensions of the enabled schedules that enqueue `key` with
 * partitions by `dayKey` (lookback_weeks names week_ending; date modes and lookback_sessions
 * name date). A schedule without such a spec contributes nothing. */
function expectedDimensions(config: SluiceConfig, key: string, dayKey: 'date' | 'week_ending', registry: PipelineRegistry): Partition[] {
  const out = new Map<string, Partition>();
  for (const s of config.schedules) {
    if (s.enabled === false || registry.require(s.pipeline).key !== key) continue;
    const spec = s.partitions ?? {};
    const names = Object.keys(spec);
    const byWeek = names.includes('lookback_weeks') || names.includes('week_ending');
    const byDate = names.includes('lookback_sessions') || names.includes('date') || (s.at !== undefined && !byWeek);
    if ((dayKey === 'week_ending' && !byWeek) || (dayKey === 'date' && !byDate)) continue;
    let dims: Record<string, string>[] = [{}];
    for (const [raw, value] of Object.entries(spec)) {
      if (TIME_SPEC_KEYS.has(raw)) continue;
      const values = (Array.isArray(value) ? value : [value]).map(String);
      dims = dims.flatMap((base) => values.map((v) => ({ ...base, [ALIASES[raw] ?? raw]: v })));
    }
    for (const d of dims) out.set(JSON.stringify(Object.entries(d).sort()), d);
  }
  return [...out.values()];
}
