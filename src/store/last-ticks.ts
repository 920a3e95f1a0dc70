import type { Store } from './store.js';

/**
 * The catch-up cursor of every schedule in one query (`lastTickAt` for all of them): the
 * latest scheduled_at of each schedule's cron ticks. A scheduler with 10,000 schedules reads
 * its cursors with this once when it becomes leader, instead of one query per schedule on
 * every evaluation.
 */
export async function lastCronTicks(store: Store): Promise<Map<string, Date>> {
  const conn = store.dataConnection();
  const out = new Map<string, Date>();
  if (conn.backend === 'sqlite') {
    const rows = conn.database.prepare(`SELECT schedule, max(scheduled_at) AS at FROM schedule_ticks WHERE kind = 'cron' GROUP BY schedule`).all() as {
      schedule: string;
      at: number;
    }[];
    for (const r of rows) out.set(r.schedule, new Date(r.at));
  } else {
    const q = `"${conn.schema.replace(/"/g, '""')}"`;
    const { rows } = await conn.pool.query<{ schedule: string; at: Date }>(
      `SELECT schedule, max(scheduled_at) AS at FROM ${q}.schedule_ticks WHERE kind = 'cron' GROUP BY schedule`,
    );
    for (const r of rows) out.set(r.schedule, r.at);
  }
  return out;
}
