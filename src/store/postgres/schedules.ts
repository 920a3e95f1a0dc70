import type { TickRecord } from '../schedule-store.js';
import type { PgContext } from './context.js';
import { toTick, type TickRow } from './rows.js';
import type { PgNames } from './sql-names.js';

/** Reading schedule ticks (firing them is fire-ticks.ts). */

/** The statements of this family; see `pgStatements`. */
export function schedulesSql(n: PgNames) {
  const { ticks } = n;
  return {
    listTicks: `SELECT * FROM ${ticks} WHERE schedule = $1 ORDER BY scheduled_at DESC LIMIT $2`,
    lastTickAt: `SELECT max(scheduled_at) AS at FROM ${ticks} WHERE schedule = $1 AND kind = 'cron'`,
  };
}

export async function listTicks(ctx: PgContext, schedule: string, limit: number): Promise<TickRecord[]> {
  const { rows } = await ctx.pool.query<TickRow>(ctx.stmt('listTicks'), [schedule, limit]);
  return rows.map(toTick);
}

export async function lastTickAt(ctx: PgContext, schedule: string): Promise<Date | null> {
  const { rows } = await ctx.pool.query<{ at: Date | null }>(ctx.stmt('lastTickAt'), [schedule]);
  return rows[0]?.at ?? null;
}
