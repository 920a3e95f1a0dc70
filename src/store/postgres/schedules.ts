import type { TickRecord } from '../schedule-store.js';
import type { EnqueueOutcome, EnqueueSpec } from '../store.js';
import type { PgContext } from './context.js';
import { toTick, type TickRow } from './rows.js';
import { enqueueOn } from './enqueue.js';
import { DB_NOW, type PgNames } from './sql-names.js';

/** Schedule ticks: the exactly-once point of the scheduler, enqueued in the same transaction. */

/** The statements of this family; see `pgStatements`. */
export function schedulesSql(n: PgNames) {
  const { ticks } = n;
  return {
    // Scheduler. The tick row is the exactly-once point: unique on (schedule, kind, scheduled_at).
    insertTick: `
      INSERT INTO ${ticks} (schedule, kind, scheduled_at, outcome, detail, scheduler_id)
      VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT DO NOTHING
      RETURNING schedule`,
    markTickFired: `
      UPDATE ${ticks} SET fired_at = ${DB_NOW}, item_ids = $4::jsonb
      WHERE schedule = $1 AND kind = $2 AND scheduled_at = $3`,
    listTicks: `SELECT * FROM ${ticks} WHERE schedule = $1 ORDER BY scheduled_at DESC LIMIT $2`,
    lastTickAt: `SELECT max(scheduled_at) AS at FROM ${ticks} WHERE schedule = $1 AND kind = 'cron'`,
  };
}

export async function fireTick(ctx: PgContext, tick: Omit<TickRecord, 'itemIds' | 'firedAt'>, specs: readonly EnqueueSpec[]): Promise<{ recorded: boolean; outcomes: EnqueueOutcome[] }> {
  const result = await ctx.tx(async (client) => {
    const inserted = await client.query(ctx.stmt('insertTick'), [tick.schedule, tick.kind, tick.scheduledAt, tick.outcome, tick.detail, tick.schedulerId]);
    if (inserted.rowCount !== 1 || tick.outcome !== 'fired') return { recorded: inserted.rowCount === 1, outcomes: [] };
    const outcomes = specs.length > 0 ? await enqueueOn(ctx, client, specs) : [];
    await client.query(ctx.stmt('markTickFired'), [tick.schedule, tick.kind, tick.scheduledAt, JSON.stringify(outcomes.map((o) => o.item.id))]);
    return { recorded: true, outcomes };
  });
  if (result.outcomes.some((o) => o.created)) ctx.emitWake();
  return result;
}

export async function listTicks(ctx: PgContext, schedule: string, limit: number): Promise<TickRecord[]> {
  const { rows } = await ctx.pool.query<TickRow>(ctx.stmt('listTicks'), [schedule, limit]);
  return rows.map(toTick);
}

export async function lastTickAt(ctx: PgContext, schedule: string): Promise<Date | null> {
  const { rows } = await ctx.pool.query<{ at: Date | null }>(ctx.stmt('lastTickAt'), [schedule]);
  return rows[0]?.at ?? null;
}
