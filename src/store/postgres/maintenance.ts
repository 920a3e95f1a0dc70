import { TERMINAL_STATES } from '../../core/states.js';
import type { PgContext } from './context.js';
import { inList, type PgNames } from './sql-names.js';

/** Pruning finished work and VACUUM/ANALYZE. */

/** The statements of this family; see `pgStatements`. */
export function maintenanceSql(n: PgNames) {
  const { items, attempts, events, deps, ticks, leases } = n;
  return {
    // Dependencies go by ON DELETE CASCADE; attempts and events carry no foreign key (it
    // would cost a trigger call on every claim and transition) and are deleted here.
    pruneFinished: `
      WITH gone AS (
        DELETE FROM ${items} WHERE state IN (${inList(TERMINAL_STATES)}) AND finished_at < $1 RETURNING id
      ),
      gone_events AS (DELETE FROM ${events} e USING gone WHERE e.item_id = gone.id),
      gone_attempts AS (DELETE FROM ${attempts} a USING gone WHERE a.item_id = gone.id)
      SELECT count(*)::int AS n FROM gone`,
    maintain: `VACUUM (ANALYZE) ${items}, ${attempts}, ${events}, ${deps}, ${ticks}, ${leases}`,
    refreshStatistics: `VACUUM (ANALYZE) ${items}`,
  };
}

export async function pruneFinished(ctx: PgContext, before: Date): Promise<number> {
  const { rows } = await ctx.pool.query<{ n: number }>(ctx.stmt('pruneFinished'), [before]);
  return rows[0]?.n ?? 0;
}

/** VACUUM cannot run inside a transaction block; a pooled query runs in autocommit. */
export async function maintain(ctx: PgContext): Promise<void> {
  await ctx.pool.query(ctx.sql.maintain);
}

/** A table a backfill has just filled has the statistics of an empty one: the grid's cell
 * lookups then read the whole pipeline, and its counts visit every heap page. */
export async function refreshStatistics(ctx: PgContext): Promise<void> {
  await ctx.pool.query(ctx.sql.refreshStatistics);
}
