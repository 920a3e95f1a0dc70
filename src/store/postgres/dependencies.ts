import { TRANSITIONS } from '../../core/states.js';
import type { DependencyStatus } from '../store.js';
import type { PgContext } from './context.js';
import { LOCK_CLASS } from './migrations.js';
import { FROM, DB_NOW, type PgNames } from './sql-names.js';

/** Dependencies between partitions: the upstream locks, the promotion of WAITING items, and the reads. */

/** The statements of this family; see `pgStatements`. */
export function dependenciesSql(n: PgNames) {
  const { items, events, deps, RUNNABLE, upstreamKey, openUpstreams } = n;
  return {
    // Taken before an enqueue that declares dependencies, in hash order (no deadlocks). The
    // enqueue statement that follows then sees every completion committed before the lock.
    // $1 domains | $2 pipelines | $3 keys
    lockUpstreams: `
      SELECT pg_advisory_xact_lock(${LOCK_CLASS.upstream}, h)
      FROM (SELECT DISTINCT ${upstreamKey('d', 'p', 'k')} AS h FROM unnest($1::text[], $2::text[], $3::text[]) AS t(d, p, k) ORDER BY h) AS keys`,
    // WAITING items that wait on any of the given (just completed) upstreams, locked in id
    // order: two transactions completing different upstreams of one item queue up here, so
    // the second one's promotion check (next statement) sees the first one's completion.
    // $1 domains | $2 pipelines | $3 keys
    lockDependents: `
      SELECT w.id FROM ${items} w
      WHERE w.state IN (${FROM('upstream_ready')})
        AND w.id IN (
          SELECT d.item_id FROM ${deps} d
          JOIN unnest($1::text[], $2::text[], $3::text[]) AS t(domain, pipeline, partition_key)
            ON d.up_domain = t.domain AND d.up_pipeline = t.pipeline AND d.up_key = t.partition_key)
      ORDER BY w.id
      FOR UPDATE OF w`,
    // Locked dependents with no open upstream left become PENDING. The event names the
    // upstream whose completion (the last one in this call) released the item.
    // $1 dependent ids | $2..$4 completed upstreams in report order | $5 channel | $6 payload
    promote: `
      WITH completed AS (
        SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(domain, pipeline, partition_key, ord)
      ),
      ready AS (
        SELECT w.id,
               (SELECT c.domain || '.' || c.pipeline || ' [' || c.partition_key || '] completed'
                FROM completed c JOIN ${deps} d
                  ON d.up_domain = c.domain AND d.up_pipeline = c.pipeline AND d.up_key = c.partition_key
                WHERE d.item_id = w.id ORDER BY c.ord DESC LIMIT 1) AS detail
        FROM ${items} w
        WHERE w.id = ANY ($1::bigint[]) AND w.state IN (${FROM('upstream_ready')})
          AND NOT EXISTS (${openUpstreams('w.id')})
      ),
      upd AS (
        UPDATE ${items} w
        SET state = '${TRANSITIONS.upstream_ready.to}', desired_at = greatest(w.desired_at, ${DB_NOW}), updated_at = ${DB_NOW}
        FROM ready r
        WHERE w.id = r.id AND w.state IN (${FROM('upstream_ready')})
        RETURNING w.id, w.updated_at, r.detail
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor, detail)
        SELECT id, updated_at, 'upstream_ready', 'WAITING', '${TRANSITIONS.upstream_ready.to}', NULL, detail FROM upd ORDER BY id
      ),
      woke AS MATERIALIZED (SELECT pg_notify($5, $6) FROM (SELECT 1 FROM upd LIMIT 1) AS any_promoted)
      SELECT (SELECT count(*) FROM upd)::int AS n, (SELECT count(*) FROM woke)::int AS notified`,
    dependenciesOf: `
      SELECT d.up_domain AS domain, d.up_pipeline AS pipeline, d.up_key AS "partitionKey", u.state,
             u.id AS "itemId", u.last_error AS "lastError"
      FROM ${deps} d
      LEFT JOIN ${items} u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
      WHERE d.item_id = $1
      ORDER BY d.up_domain, d.up_pipeline, d.up_key`,
    // A WAITING item is "live" when some chain of WAITING items leads from it to an upstream
    // that can still run; one blocked by a FAILED, CANCELLED or never-enqueued upstream is not.
    countOutstanding: `
      WITH RECURSIVE live(id) AS (
        SELECT d.item_id FROM ${deps} d
        JOIN ${items} w ON w.id = d.item_id AND w.state = 'WAITING'
        JOIN ${items} u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
        WHERE u.state IN (${RUNNABLE})
        UNION
        SELECT d.item_id FROM ${deps} d
        JOIN ${items} w ON w.id = d.item_id AND w.state = 'WAITING'
        JOIN ${items} u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
        JOIN live ON live.id = u.id
      )
      SELECT count(*)::int AS n FROM ${items} w
      WHERE (w.state IN (${RUNNABLE}) OR (w.state = 'WAITING' AND w.id IN (SELECT id FROM live)))
        AND ($1::text[] IS NULL OR w.domain || '.' || w.pipeline = ANY ($1::text[]))`,
  };
}

export async function listDependencies(ctx: PgContext, itemId: number): Promise<DependencyStatus[]> {
  const { rows } = await ctx.pool.query<Omit<DependencyStatus, 'itemId'> & { itemId: string | null }>(ctx.stmt('dependenciesOf'), [itemId]);
  return rows.map((r) => ({ ...r, itemId: r.itemId === null ? null : Number(r.itemId) }));
}

export async function countOutstanding(ctx: PgContext, pipelines?: readonly string[]): Promise<number> {
  const { rows } = await ctx.pool.query<{ n: number }>(ctx.stmt('countOutstanding'), [pipelines ? [...pipelines] : null]);
  return rows[0]?.n ?? 0;
}
