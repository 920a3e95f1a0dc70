import type { Database as DB } from 'better-sqlite3';
import type { WorkState } from '../../core/states.js';
import { statementFamily, type SqliteContext } from './context.js';
import type { ItemRow } from './rows.js';

/** Item leases (heartbeat, reclaiming expired ones) and the named leases the scheduler elects its leader with. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function leasesStatements(db: DB) {
  return statementFamily({
    heartbeat: db.prepare(`
      UPDATE work_items SET lease_expires_at = @lease
      WHERE id = @id AND state = 'RUNNING' AND locked_by = @worker
      RETURNING id`),
    expired: db.prepare(`SELECT * FROM work_items WHERE state = 'RUNNING' AND lease_expires_at < ?`),
  });
}

export async function heartbeat(ctx: SqliteContext, workerId: string, itemIds: readonly number[], leaseMs: number): Promise<number[]> {
  if (itemIds.length === 0) return [];
  const lease = Date.now() + leaseMs;
  return ctx.db.transaction(() => itemIds.filter((id) => ctx.s.heartbeat.get({ id, worker: workerId, lease }) !== undefined)).immediate();
}

export async function reclaimExpired(ctx: SqliteContext, at?: Date): Promise<number> {
  const now = (at ?? new Date()).getTime();
  const run = ctx.db.transaction(() => {
    const rows = ctx.s.expired.all(now) as ItemRow[];
    for (const row of rows) {
      const error = `lease expired: worker ${row.locked_by} stopped heartbeating (crashed or stalled)`;
      ctx.s.finishAttempt.run({ attempt: row.current_attempt_id, status: 'lost', now, error, output: null, result: null });
      const retry = row.attempts < row.max_attempts;
      const state: WorkState = retry ? 'RETRY_WAIT' : 'FAILED';
      // A lost worker is not the item's fault: retry right away rather than backing off.
      ctx.s.failItem.run({
        id: row.id,
        worker: row.locked_by,
        attempt: row.current_attempt_id,
        state,
        error,
        retry_at: retry ? now : null,
        now,
      });
      ctx.event(row.id, now, 'lease_expired', 'RUNNING', state, null, error);
    }
    return rows.length;
  });
  const n = run.immediate();
  if (n > 0) ctx.wake.emit('wake');
  return n;
}

export async function acquireLease(ctx: SqliteContext, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const now = Date.now();
  const row = ctx.db
    .prepare(
      `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expires)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at < @now
       RETURNING holder`,
    )
    .get({ name, holder, expires: now + ttlMs, now }) as { holder: string } | undefined;
  return row?.holder === holder;
}

export async function releaseLease(ctx: SqliteContext, name: string, holder: string): Promise<void> {
  ctx.db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder);
}

export async function leaseHolder(ctx: SqliteContext, name: string): Promise<{ holder: string; expiresAt: Date } | null> {
  const row = ctx.db.prepare('SELECT holder, expires_at FROM leases WHERE name = ? AND expires_at >= ?').get(name, Date.now()) as
    { holder: string; expires_at: number } | undefined;
  return row ? { holder: row.holder, expiresAt: new Date(row.expires_at) } : null;
}
