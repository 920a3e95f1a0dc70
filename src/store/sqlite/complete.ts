import { crashPoint } from '../../core/crash-points.js';
import type { Database as DB } from 'better-sqlite3';
import { FROM } from '../sql-fragments.js';
import type { CompletionReport } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';
import { promoteDependents } from './dependencies.js';

/** Completing a batch of attempts, promoting WAITING dependents whose last open upstream this was. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function completeStatements(db: DB) {
  return statementFamily({
    completeItem: db.prepare(`
      UPDATE work_items SET state = 'COMPLETE', locked_by = NULL, lease_expires_at = NULL, last_error = NULL,
                            updated_at = @now, finished_at = @now
      WHERE id = @id AND state IN (${FROM('complete')}) AND locked_by = @worker AND current_attempt_id = @attempt`),
    finishAttempt: db.prepare(`
      UPDATE attempts SET status = @status, finished_at = @now, error = @error, output_tail = @output, result = @result
      WHERE id = @attempt AND status = 'running'`),
    // Reports from a worker touch only that worker's own attempt: a wrong worker id must
    // not mark the real owner's running attempt as lost.
    finishOwnAttempt: db.prepare(`
      UPDATE attempts SET status = @status, finished_at = @now, error = @error, output_tail = @output, result = @result
      WHERE id = @attempt AND status = 'running' AND worker_id = @worker`),
    // Asked once per batch, inside its write transaction, so it also sees dependencies another
    // process added: a store without any (most queue workloads) skips the per-item search
    // for WAITING dependents.
    anyDependencies: db.prepare(`SELECT EXISTS (SELECT 1 FROM work_dependencies)`),
  });
}

export async function complete(ctx: SqliteContext, reports: readonly CompletionReport[]): Promise<boolean[]> {
  if (reports.length === 0) return [];
  const now = Date.now();
  let promoted = 0;
  const run = ctx.db.transaction(() => {
    const dependencies = ctx.s.anyDependencies.pluck().get() === 1;
    return reports.map((r) => {
      const changed = ctx.s.completeItem.run({ id: r.itemId, worker: r.workerId, attempt: r.attemptId, now }).changes === 1;
      ctx.s.finishOwnAttempt.run({
        worker: r.workerId,
        attempt: r.attemptId,
        status: changed ? 'succeeded' : 'lost',
        now,
        error: changed ? null : 'completed after the worker lost its claim (lease expired or cancelled)',
        output: r.outputTail ?? null,
        result: r.result ? JSON.stringify(r.result) : null,
      });
      if (changed) {
        ctx.event(r.itemId, now, 'complete', 'RUNNING', 'COMPLETE', r.workerId);
        crashPoint('in_complete');
        if (dependencies) promoted += promoteDependents(ctx, r.itemId, now);
      }
      return changed;
    });
  });
  const results = run.immediate();
  if (promoted > 0) ctx.wake.emit('wake');
  return results;
}
