import type { TickRecord } from '../schedule-store.js';
import type { SqliteContext } from './context.js';
import { toTick, type TickRow } from './rows.js';

/** Reading schedule ticks (firing them is fire-ticks.ts). */

export async function listTicks(ctx: SqliteContext, schedule: string, limit: number): Promise<TickRecord[]> {
  const rows = ctx.db.prepare('SELECT * FROM schedule_ticks WHERE schedule = ? ORDER BY scheduled_at DESC LIMIT ?').all(schedule, limit) as TickRow[];
  return rows.map(toTick);
}

export async function lastTickAt(ctx: SqliteContext, schedule: string): Promise<Date | null> {
  const at = ctx.db.prepare(`SELECT max(scheduled_at) FROM schedule_ticks WHERE schedule = ? AND kind = 'cron'`).pluck().get(schedule) as number | null;
  return at === null ? null : new Date(at);
}
