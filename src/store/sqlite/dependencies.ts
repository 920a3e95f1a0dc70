import { crashPoint } from '../../core/crash-points.js';
import type { Database as DB } from 'better-sqlite3';
import { FROM } from '../sql-fragments.js';
import type { DependencyStatus } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';
import type { ItemRow } from './rows.js';

/** Dependencies between partitions: WAITING items, their promotion, and the reads. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function dependenciesStatements(db: DB) {
  return statementFamily({
    insertDependency: db.prepare('INSERT OR IGNORE INTO work_dependencies (item_id, up_domain, up_pipeline, up_key) VALUES (?, ?, ?, ?)'),
    // Upstreams of an item that are not COMPLETE (including ones never enqueued).
    openUpstreams: db.prepare(`
      SELECT count(*) FROM work_dependencies d
      LEFT JOIN work_items u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
      WHERE d.item_id = ? AND (u.state IS NULL OR u.state <> 'COMPLETE')`),
    setWaiting: db.prepare(`UPDATE work_items SET state = 'WAITING' WHERE id = ?`),
    waitingDependents: db.prepare(`
      SELECT w.id FROM work_dependencies d JOIN work_items w ON w.id = d.item_id
      WHERE d.up_domain = ? AND d.up_pipeline = ? AND d.up_key = ? AND w.state IN (${FROM('upstream_ready')})`),
    promote: db.prepare(
      `UPDATE work_items SET state = 'PENDING', desired_at = max(desired_at, @now), updated_at = @now WHERE id = @id AND state IN (${FROM('upstream_ready')})`,
    ),
    dependenciesOf: db.prepare(`
      SELECT d.up_domain AS domain, d.up_pipeline AS pipeline, d.up_key AS partitionKey, u.state AS state, u.id AS itemId, u.last_error AS lastError
      FROM work_dependencies d
      LEFT JOIN work_items u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
      WHERE d.item_id = ? ORDER BY d.up_domain, d.up_pipeline, d.up_key`),
  });
}

/** WAITING items whose last open upstream was `upstreamId` become PENDING, inside the
 * caller's transaction (the one that completed the upstream). */
export function promoteDependents(ctx: SqliteContext, upstreamId: number, now: number): number {
  const up = ctx.s.getItem.get(upstreamId) as ItemRow;
  let n = 0;
  for (const { id } of ctx.s.waitingDependents.all(up.domain, up.pipeline, up.partition_key) as { id: number }[]) {
    if ((ctx.s.openUpstreams.pluck().get(id) as number) > 0) continue;
    if (ctx.s.promote.run({ id, now }).changes === 1) {
      ctx.event(id, now, 'upstream_ready', 'WAITING', 'PENDING', null, `${up.domain}.${up.pipeline} [${up.partition_key}] completed`);
      crashPoint('in_promotion');
      n++;
    }
  }
  return n;
}

export async function listDependencies(ctx: SqliteContext, itemId: number): Promise<DependencyStatus[]> {
  return ctx.s.dependenciesOf.all(itemId) as DependencyStatus[];
}

export async function countOutstanding(ctx: SqliteContext, pipelines?: readonly string[]): Promise<number> {
  // A WAITING item is "live" when some chain of WAITING items leads from it to an upstream
  // that can still run; one blocked by a FAILED, CANCELLED or never-enqueued upstream is not.
  return ctx.db
    .prepare(
      `WITH RECURSIVE live(id) AS (
         SELECT d.item_id FROM work_dependencies d
         JOIN work_items w ON w.id = d.item_id AND w.state = 'WAITING'
         JOIN work_items u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
         WHERE u.state IN ('PENDING', 'RUNNING', 'RETRY_WAIT')
         UNION
         SELECT d.item_id FROM work_dependencies d
         JOIN work_items w ON w.id = d.item_id AND w.state = 'WAITING'
         JOIN work_items u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
         JOIN live ON live.id = u.id
       )
       SELECT count(*) FROM work_items w
       WHERE (w.state IN ('PENDING', 'RUNNING', 'RETRY_WAIT') OR (w.state = 'WAITING' AND w.id IN (SELECT id FROM live)))
         AND (@only IS NULL OR w.domain || '.' || w.pipeline IN (SELECT value FROM json_each(@only)))`,
    )
    .pluck()
    .get({ only: pipelines ? JSON.stringify(pipelines) : null }) as number;
}
