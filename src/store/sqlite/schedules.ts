import type { TickRecord } from '../schedule-store.js';
import type { EnqueueOutcome, EnqueueSpec } from '../store.js';
import type { SqliteContext } from './context.js';
import { enqueueRows } from './enqueue.js';
import { toTick, type TickRow } from './rows.js';

/** Schedule ticks: the exactly-once point of the scheduler, enqueued in the same transaction. */

export async function fireTick(ctx: SqliteContext, tick: Omit<TickRecord, 'itemIds' | 'firedAt'>, specs: readonly EnqueueSpec[]): Promise<{ recorded: boolean; outcomes: EnqueueOutcome[] }> {
  const now = Date.now();
  const run = ctx.db.transaction(() => {
    const inserted = ctx.db
      .prepare(
        `INSERT INTO schedule_ticks (schedule, kind, scheduled_at, outcome, detail, scheduler_id)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(tick.schedule, tick.kind, tick.scheduledAt.getTime(), tick.outcome, tick.detail, tick.schedulerId).changes === 1;
    if (!inserted || tick.outcome !== 'fired') return { recorded: inserted, outcomes: [] };
    const outcomes = enqueueRows(ctx, specs, now);
    ctx.db
      .prepare('UPDATE schedule_ticks SET fired_at = ?, item_ids = ? WHERE schedule = ? AND kind = ? AND scheduled_at = ?')
      .run(now, JSON.stringify(outcomes.map((o) => o.item.id)), tick.schedule, tick.kind, tick.scheduledAt.getTime());
    return { recorded: true, outcomes };
  });
  const result = run.immediate();
  if (result.outcomes.some((o) => o.created)) ctx.wake.emit('wake');
  return result;
}

export async function listTicks(ctx: SqliteContext, schedule: string, limit: number): Promise<TickRecord[]> {
  const rows = ctx.db.prepare('SELECT * FROM schedule_ticks WHERE schedule = ? ORDER BY scheduled_at DESC LIMIT ?').all(schedule, limit) as TickRow[];
  return rows.map(toTick);
}

export async function lastTickAt(ctx: SqliteContext, schedule: string): Promise<Date | null> {
  const at = ctx.db.prepare(`SELECT max(scheduled_at) FROM schedule_ticks WHERE schedule = ? AND kind = 'cron'`).pluck().get(schedule) as number | null;
  return at === null ? null : new Date(at);
}
