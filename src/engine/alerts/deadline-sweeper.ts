import { partitionKey } from '../../core/partition.js';
import type { Logger } from '../../core/pipeline.js';
import { addDays, type DateString } from '../../time/civil-date.js';
import { zonedDate } from '../../time/zoned.js';
import type { AlertStore, DeadlineDecision } from '../../store/alert-store.js';
import type { DeadlineRule } from './deadline-rules.js';

/** Days searched around the cursor: offsets reach at most 7 days, next_* one more session. */
const SEARCH_MARGIN_DAYS = 12;
/** A sweeper that was down longer than this starts again from (now - this). */
const MAX_CATCHUP_DAYS = 400;

/**
 * Decides deadlines as they pass. Per pipeline, a cursor in the database says up to which
 * instant deadlines are decided; each sweep takes the partition days whose deadline falls in
 * (cursor, now] and records each partition of such a day as met (its first COMPLETE was at
 * or before the deadline) or missed, moving the cursor in the same transaction. A missed row
 * writes its deadline_missed event there too, and the row is unique per partition, so a miss
 * alerts once, however many sweepers (schedulers) run. A first sweep only creates the cursor:
 * deadlines that passed before Sluice tracked the pipeline are not replayed.
 */
export class DeadlineSweeper {
  constructor(
    private readonly alerts: AlertStore,
    private readonly rules: readonly DeadlineRule[],
    private readonly logger: Logger,
  ) {}

  async sweep(now: Date = new Date()): Promise<number> {
    let missed = 0;
    for (const rule of this.rules) {
      try {
        missed += await this.sweepRule(rule, now);
      } catch (err) {
        this.logger.warn({ err, pipeline: rule.pipelineKey }, 'deadline sweep failed; will retry');
      }
    }
    return missed;
  }

  private async sweepRule(rule: DeadlineRule, now: Date): Promise<number> {
    const cursor = await this.alerts.deadlineCursor(rule.pipelineKey);
    if (cursor === null) {
      await this.alerts.recordDeadlines({ pipeline: rule.pipelineKey, from: null, to: now, decisions: [], now });
      return 0;
    }
    if (now.getTime() <= cursor.getTime()) return 0;
    const floor = Math.max(cursor.getTime(), now.getTime() - MAX_CATCHUP_DAYS * 86_400_000);
    const decisions: DeadlineDecision[] = [];
    for (const day of this.candidateDays(rule, new Date(floor), now)) {
      const due = rule.dueAt(day);
      if (due.getTime() <= floor || due.getTime() > now.getTime()) continue;
      const items = await this.alerts.itemsOfDay(rule.domain, rule.pipeline, rule.dayKey, day);
      const seen = new Set<string>();
      for (const item of items) {
        seen.add(item.partitionKey);
        const met = item.firstCompletedAt && item.firstCompletedAt.getTime() <= due.getTime() ? item.firstCompletedAt : null;
        decisions.push({ domain: rule.domain, pipeline: rule.pipeline, partitionKey: item.partitionKey, itemId: item.id, dueAt: due, metAt: met });
      }
      for (const dims of rule.expected) {
        const key = partitionKey({ ...dims, [rule.dayKey]: day });
        if (!seen.has(key)) decisions.push({ domain: rule.domain, pipeline: rule.pipeline, partitionKey: key, itemId: null, dueAt: due, metAt: null });
      }
    }
    const { moved, missed } = await this.alerts.recordDeadlines({ pipeline: rule.pipelineKey, from: cursor, to: now, decisions, now });
    if (moved && missed > 0) this.logger.warn({ pipeline: rule.pipelineKey, missed }, 'freshness deadline missed');
    return missed;
  }

  /** Partition days whose deadline may fall in (from, to]: sessions for `date`, Fridays for
   * `week_ending` (a week_ending Friday need not be a session). */
  private *candidateDays(rule: DeadlineRule, from: Date, to: Date): Generator<DateString> {
    const tz = rule.calendar.timezone;
    // A day in another zone ("17:00 Asia/Tokyo") can be due before the calendar's date turns.
    const last = addDays(zonedDate(to, tz), 2);
    for (let day = addDays(zonedDate(from, tz), -SEARCH_MARGIN_DAYS); day <= last; day = addDays(day, 1)) {
      if (rule.dayKey === 'date' ? rule.calendar.isSession(day) : new Date(`${day}T12:00:00Z`).getUTCDay() === 5) yield day;
    }
  }
}
