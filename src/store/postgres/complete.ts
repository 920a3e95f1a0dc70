import { crashPoint } from '../../core/crash-points.js';
import { TRANSITIONS } from '../../core/states.js';
import type { CompletionReport } from '../store.js';
import type { PgContext } from './context.js';
import { LOCK_CLASS } from './migrations.js';
import { FROM, DB_NOW, type PgNames } from './sql-names.js';

/** Completing a batch of attempts, promoting WAITING dependents whose last open upstream this was. */

const LOST_COMPLETION = 'completed after the worker lost its claim (lease expired or cancelled)';

/** The statements of this family; see `pgStatements`. */
export function completeSql(n: PgNames) {
  const { items, attempts, events, upstreamKey } = n;
  return {
    // Runs inside a transaction (see `complete`). Besides finishing the items, it takes the
    // upstream lock of every completed partition, so an enqueue that is deciding whether a
    // new item must wait on one of them is ordered before or after this completion.
    // $1 item ids | $2 attempt ids | $3 workers | $4 results | $5 output tails
    complete: `
      WITH r AS (
        SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[])
          WITH ORDINALITY AS t(item_id, attempt_id, worker_id, result, output_tail, ord)
      ),
      done AS (
        UPDATE ${items} w
        SET state = '${TRANSITIONS.complete.to}', locked_by = NULL, lease_expires_at = NULL, last_error = NULL,
            updated_at = ${DB_NOW}, finished_at = ${DB_NOW}
        FROM r
        -- Holding the claim (locked_by and current_attempt_id) implies RUNNING: every move
        -- out of RUNNING clears locked_by. Stating the state as well made the planner walk
        -- the partial lease index (every RUNNING row, dead ones included) instead of probing ids.
        WHERE w.id = ANY ($1::bigint[]) AND w.id = r.item_id
          AND w.locked_by = r.worker_id AND w.current_attempt_id = r.attempt_id
        RETURNING w.id, w.current_attempt_id AS attempt_id, r.worker_id, r.ord, w.updated_at, w.domain, w.pipeline, w.partition_key
      ),
      -- Whether each report still holds its item, judged on the statement's snapshot exactly
      -- as done judges it (a row that moves on concurrently also has its attempt closed by
      -- whoever moved it, so status = 'running' below no longer matches). Joining done
      -- instead was quadratic: its row count is unknown to the planner, which nested-looped it.
      checked AS MATERIALIZED (
        SELECT array_agg(coalesce(w.state IN (${FROM('complete')}) AND w.locked_by = r.worker_id AND w.current_attempt_id = r.attempt_id, false) ORDER BY r.ord) AS ok
        FROM r LEFT JOIN ${items} w ON w.id = r.item_id
      ),
      -- Each attempt finds its report by position in the id array rather than by a join: with
      -- few attempts believed to be 'running' the planner nested-looped every attempt against
      -- the whole batch, whatever the statistics. array_position is a C loop over the ids.
      finished_attempts AS (
        UPDATE ${attempts} a
        SET status = CASE WHEN c.ok[array_position($2::bigint[], a.id)] THEN 'succeeded' ELSE 'lost' END,
            finished_at = ${DB_NOW},
            error = CASE WHEN c.ok[array_position($2::bigint[], a.id)] THEN NULL ELSE '${LOST_COMPLETION}' END,
            output_tail = ($5::text[])[array_position($2::bigint[], a.id)],
            result = ($4::jsonb[])[array_position($2::bigint[], a.id)]
        FROM checked c
        WHERE a.id = ANY ($2::bigint[]) AND a.worker_id = ($3::text[])[array_position($2::bigint[], a.id)] AND a.status = 'running'
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor)
        SELECT id, updated_at, 'complete', 'RUNNING', '${TRANSITIONS.complete.to}', worker_id FROM done ORDER BY id
      ),
      upstream_locks AS MATERIALIZED (
        SELECT pg_advisory_xact_lock(${LOCK_CLASS.upstream}, h)
        FROM (SELECT DISTINCT ${upstreamKey('domain', 'pipeline', 'partition_key')} AS h FROM done ORDER BY h) AS keys
      )
      SELECT r.ord, d.id IS NOT NULL AS ok, d.domain, d.pipeline, d.partition_key
      FROM r LEFT JOIN done d ON d.id = r.item_id AND d.attempt_id = r.attempt_id
      CROSS JOIN (SELECT count(*) FROM upstream_locks) AS locked
      ORDER BY r.ord`,
  };
}

/**
 * Completes a batch in one transaction: one statement finishes every item and attempt;
 * one more looks for WAITING items that waited on them, and only if there are some, a
 * third promotes those whose last open upstream this was.
 */
export async function complete(ctx: PgContext, reports: readonly CompletionReport[]): Promise<boolean[]> {
  if (reports.length === 0) return [];
  const { results, promoted } = await ctx.tx(async (client) => {
    const { rows } = await client.query<{ ok: boolean; domain: string | null; pipeline: string | null; partition_key: string | null }>(
      ctx.stmt('complete'),
      [
        reports.map((r) => r.itemId),
        reports.map((r) => r.attemptId),
        reports.map((r) => r.workerId),
        reports.map((r) => (r.result ? JSON.stringify(r.result) : null)),
        reports.map((r) => r.outputTail ?? null),
      ],
    );
    const done = rows.filter((r) => r.ok);
    if (done.length) crashPoint('in_complete');
    let promoted = 0;
    if (done.length > 0) {
      const upstreams = [done.map((d) => d.domain), done.map((d) => d.pipeline), done.map((d) => d.partition_key)];
      const dependents = await client.query<{ id: string }>(ctx.stmt('lockDependents'), upstreams);
      if (dependents.rows.length > 0) {
        const p = await client.query<{ n: number }>(ctx.stmt('promote'), [
          dependents.rows.map((r) => r.id),
          ...upstreams,
          ctx.wakeChannel,
          ctx.wakePayload(),
        ]);
        promoted = p.rows[0]?.n ?? 0;
        if (promoted) crashPoint('in_promotion');
      }
    }
    return { results: rows.map((r) => r.ok), promoted };
  });
  if (promoted > 0) ctx.emitWake();
  return results;
}
