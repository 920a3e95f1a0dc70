import type { SqliteContext } from './context.js';

/** Pruning finished work and VACUUM/ANALYZE. */

export async function pruneFinished(ctx: SqliteContext, before: Date): Promise<number> {
  return ctx.db.prepare(`DELETE FROM work_items WHERE state IN ('COMPLETE', 'CANCELLED', 'FAILED') AND finished_at < ?`).run(before.getTime()).changes;
}

export async function maintain(ctx: SqliteContext): Promise<void> {
  ctx.db.pragma('optimize');
  ctx.db.exec('ANALYZE');
  // VACUUM cannot run inside a transaction and needs exclusive access; with WAL and other
  // readers it may report SQLITE_BUSY, in which case the next maintenance run will do it.
  ctx.db.exec('VACUUM');
  ctx.db.pragma('wal_checkpoint(TRUNCATE)');
}

/** Sampled statistics (at most 1,000 rows per index), only where SQLite finds them stale. */
export async function refreshStatistics(ctx: SqliteContext): Promise<void> {
  ctx.db.pragma('analysis_limit = 1000');
  try {
    ctx.db.pragma('optimize');
  } finally {
    ctx.db.pragma('analysis_limit = 0');
  }
}
