import type { Database as DB } from 'better-sqlite3';
import type { FireTickResult, TickToFire } from '../schedule-store.js';
import type { EnqueueSpec } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';
import { enqueueRows } from './enqueue.js';

/** Firing schedule ticks: the exactly-once point of the scheduler (the tick row, unique on
 * schedule, kind and scheduled_at, and its enqueue commit together). */

/** The prepared statements of this family; see `sqliteStatements`. */
export function fireTicksStatements(db: DB) {
  return statementFamily({
    insertTick: db.prepare(`
      INSERT INTO schedule_ticks (schedule, kind, scheduled_at, outcome, detail, scheduler_id)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    markTickFired: db.prepare('UPDATE schedule_ticks SET fired_at = ?, item_ids = ? WHERE schedule = ? AND kind = ? AND scheduled_at = ?'),
  });
}

/**
 * Every tick in one write transaction: a scheduler with 10,000 once-a-minute schedules has
 * ~170 ticks due each second, and one commit per tick was what made them late. A tick
 * another scheduler already recorded is skipped (`recorded: false`) and enqueues nothing.
 */
export async function fireTicks(ctx: SqliteContext, ticks: readonly TickToFire[]): Promise<FireTickResult[]> {
  if (ticks.length === 0) return [];
  const now = Date.now();
  const results = ctx.db
    .transaction(() =>
      ticks.map(({ tick, specs }): FireTickResult => {
        const at = tick.scheduledAt.getTime();
        const inserted = ctx.s.insertTick.run(tick.schedule, tick.kind, at, tick.outcome, tick.detail, tick.schedulerId).changes === 1;
        if (!inserted || tick.outcome !== 'fired') return { recorded: inserted, outcomes: [] };
        const outcomes = enqueueRows(ctx, specs, now);
        ctx.s.markTickFired.run(now, JSON.stringify(outcomes.map((o) => o.item.id)), tick.schedule, tick.kind, at);
        return { recorded: true, outcomes };
      }),
    )
    .immediate();
  if (results.some((r) => r.outcomes.some((o) => o.created))) ctx.wake.emit('wake');
  return results;
}

/** One tick: `fireTicks` of one. */
export async function fireTick(ctx: SqliteContext, tick: TickToFire['tick'], specs: readonly EnqueueSpec[]): Promise<FireTickResult> {
  return (await fireTicks(ctx, [{ tick, specs }]))[0]!;
}
