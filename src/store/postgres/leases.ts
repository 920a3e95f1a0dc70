import { TRANSITIONS } from '../../core/states.js';
import type { PgContext } from './context.js';
import { FROM, DB_NOW, nowOr, type PgNames } from './sql-names.js';

/** Item leases (heartbeat, reclaiming expired ones) and the named leases the scheduler elects its leader with. */

/** The statements of this family; see `pgStatements`. */
export function leasesSql(n: PgNames) {
  const { items, attempts, events, leases } = n;
  return {
    heartbeat: `
      UPDATE ${items} SET lease_expires_at = ${DB_NOW} + $3::int * interval '1 millisecond'
      WHERE id = ANY ($1::bigint[]) AND state = 'RUNNING' AND locked_by = $2
      RETURNING id`,
    // $1 now | $2 channel | $3 payload. Rows being completed right now are skipped, not waited for.
    reclaimExpired: `
      WITH expired AS MATERIALIZED (
        SELECT id, locked_by, current_attempt_id FROM ${items}
        WHERE state = 'RUNNING' AND lease_expires_at < ${nowOr('$1')}
        ORDER BY id
        FOR UPDATE SKIP LOCKED
      ),
      upd AS (
        UPDATE ${items} w
        SET state = CASE WHEN w.attempts < w.max_attempts THEN '${TRANSITIONS.fail_retry.to}' ELSE '${TRANSITIONS.fail_final.to}' END,
            locked_by = NULL, lease_expires_at = NULL,
            last_error = 'lease expired: worker ' || e.locked_by || ' stopped heartbeating (crashed or stalled)',
            -- A lost worker is not the item's fault: retry right away rather than backing off.
            desired_at = CASE WHEN w.attempts < w.max_attempts THEN ${nowOr('$1')} ELSE w.desired_at END,
            updated_at = ${nowOr('$1')},
            finished_at = CASE WHEN w.attempts < w.max_attempts THEN NULL ELSE ${nowOr('$1')} END
        FROM expired e
        WHERE w.id = e.id AND w.state IN (${FROM('fail_retry', 'fail_final')})
        RETURNING w.id, w.state, w.last_error, e.current_attempt_id, w.updated_at
      ),
      lost_attempts AS (
        UPDATE ${attempts} a
        SET status = 'lost', finished_at = u.updated_at, error = u.last_error, output_tail = NULL, result = NULL
        FROM upd u
        WHERE a.id = u.current_attempt_id AND a.status = 'running'
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor, detail)
        SELECT id, updated_at, 'lease_expired', 'RUNNING', state, NULL, last_error FROM upd ORDER BY id
      ),
      woke AS MATERIALIZED (SELECT pg_notify($2, $3) FROM (SELECT 1 FROM upd LIMIT 1) AS any_reclaimed)
      SELECT (SELECT count(*) FROM upd)::int AS n, (SELECT count(*) FROM woke)::int AS notified`,
    // Leases are stamped and checked with the database clock, so hosts need not agree.
    acquireLease: `
      INSERT INTO ${leases} AS l (name, holder, expires_at)
      VALUES ($1, $2, ${DB_NOW} + $3::int * interval '1 millisecond')
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE l.holder = excluded.holder OR l.expires_at < ${DB_NOW}
      RETURNING holder`,
    releaseLease: `DELETE FROM ${leases} WHERE name = $1 AND holder = $2`,
    leaseHolder: `SELECT holder, expires_at FROM ${leases} WHERE name = $1 AND expires_at >= ${DB_NOW}`,
  };
}

export async function heartbeat(ctx: PgContext, workerId: string, itemIds: readonly number[], leaseMs: number): Promise<number[]> {
  if (itemIds.length === 0) return [];
  const { rows } = await ctx.pool.query<{ id: string }>(ctx.stmt('heartbeat'), [[...itemIds], workerId, Math.round(leaseMs)]);
  const owned = new Set(rows.map((r) => Number(r.id)));
  return itemIds.filter((id) => owned.has(id));
}

export async function reclaimExpired(ctx: PgContext, now?: Date): Promise<number> {
  const { rows } = await ctx.pool.query<{ n: number }>(ctx.stmt('reclaimExpired'), [now ?? null, ctx.wakeChannel, ctx.wakePayload()]);
  const n = rows[0]?.n ?? 0;
  if (n > 0) ctx.emitWake();
  return n;
}

export async function acquireLease(ctx: PgContext, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const { rows } = await ctx.pool.query<{ holder: string }>(ctx.stmt('acquireLease'), [name, holder, Math.round(ttlMs)]);
  return rows[0]?.holder === holder;
}

export async function releaseLease(ctx: PgContext, name: string, holder: string): Promise<void> {
  await ctx.pool.query(ctx.stmt('releaseLease'), [name, holder]);
}

export async function leaseHolder(ctx: PgContext, name: string): Promise<{ holder: string; expiresAt: Date } | null> {
  const { rows } = await ctx.pool.query<{ holder: string; expires_at: Date }>(ctx.stmt('leaseHolder'), [name]);
  return rows[0] ? { holder: rows[0].holder, expiresAt: rows[0].expires_at } : null;
}
