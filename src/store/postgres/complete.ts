import { crashPoint } from '../../core/crash-points.js';
import { TRANSITIONS } from '../../core/states.js';
import type { CompletionReport } from '../store.js';
import type { PgContext } from './context.js';
import { LOCK_CLASS } from './migrations.js';
import { FROM, DB_NOW, type PgNames } from './sql-names.js';

/** Completing a batch of attempts, promoting WAITING dependents whose last open upstream this was. */

/** The completion's transaction: sequential scans off (see `complete`), in BEGIN's round trip. */
const COMPLETE_BEGIN = 'BEGIN; SET LOCAL enable_seqscan = off';

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
      -- LATERAL with LIMIT (which keeps the planner from flattening it into a join) makes each
      -- lookup a primary-key probe: as a plain join, with statistics from before a bulk
      -- enqueue, it hash-joined the batch against a scan of every item (28 ms of 73 for 256).
        SELECT array_agg(coalesce(w.ok, false) ORDER BY r.ord) AS ok
        FROM r LEFT JOIN LATERAL (
          SELECT i.state IN (${FROM('complete')}) AND i.locked_by = r.worker_id AND i.current_attempt_id = r.attempt_id AS ok
          FROM ${items} i WHERE i.id = r.item_id LIMIT 1
        ) w ON true
      ),
      -- Each attempt is joined to its report by id through r, which carries the report's
      -- position for the flags. (It used to find the position with array_position in each of
      -- five expressions, a scan of the id array per expression and row: 99 ms of a 808-item
      -- completion.) The transaction turns off sequential scans, so the planner cannot
      -- nest-loop a believed-tiny attempts table against the batch.
      finished_attempts AS (
        UPDATE ${attempts} a
        SET status = CASE WHEN c.ok[r.ord] THEN 'succeeded' ELSE 'lost' END,
            finished_at = ${DB_NOW},
            error = CASE WHEN c.ok[r.ord] THEN NULL ELSE '${LOST_COMPLETION}' END,
            output_tail = r.output_tail,
            result = r.result
        FROM r, checked c
        WHERE a.id = ANY ($2::bigint[]) AND a.id = r.attempt_id AND a.worker_id = r.worker_id AND a.status = 'running'
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
    // Every row this transaction touches is found by id (items, attempts) or by an indexed
    // key (dependents). With statistics from before a bulk enqueue the planner believed the
    // tables tiny and scanned them whole: a seq scan of attempts per batch that grew with the
    // drain (50 ms of a 1,000-item completion). No plan here is better served by one.
    const { rows } = await client.query<{ ok: boolean; domain: string | null; pipeline: string | null; partition_key: string | null }>(ctx.stmt('complete'), [
      reports.map((r) => r.itemId),
      reports.map((r) => r.attemptId),
      reports.map((r) => r.workerId),
      reports.map((r) => (r.result ? JSON.stringify(r.result) : null)),
      reports.map((r) => r.outputTail ?? null),
    ]);
    const done = rows.filter((r) => r.ok);
    if (done.length) crashPoint('in_complete');
    let promoted = 0;
    if (done.length > 0) {
      const upstreams = [done.map((d) => d.domain), done.map((d) => d.pipeline), done.map((d) => d.partition_key)];
      const dependents = await client.query<{ id: string }>(ctx.stmt('lockDependents'), upstreams);
      if (dependents.rows.length > 0) {
        const p = await client.query<{ n: number }>(ctx.stmt('promote'), [dependents.rows.map((r) => r.id), ...upstreams, ctx.wakeChannel, ctx.wakePayload()]);
        promoted = p.rows[0]?.n ?? 0;
        if (promoted) crashPoint('in_promotion');
      }
    }
    return { results: rows.map((r) => r.ok), promoted };
  }, COMPLETE_BEGIN);
  if (promoted > 0) ctx.emitWake();
  return results;
}
