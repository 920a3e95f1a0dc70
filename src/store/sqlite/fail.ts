import type { Database as DB } from 'better-sqlite3';
import { TRANSITIONS, type WorkState } from '../../core/states.js';
import type { WorkItem } from '../../core/work-item.js';
import { FROM } from '../sql-fragments.js';
import type { CompletionReport, FailureReport } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';
import { toItem, type ItemRow } from './rows.js';

/** A failed attempt (retry or final) and a released one (handed back unstarted or interrupted). */

/** The prepared statements of this family; see `sqliteStatements`. */
export function failStatements(db: DB) {
  return statementFamily({
    ownedAttempt: db.prepare(`SELECT * FROM work_items WHERE id = ? AND state = 'RUNNING' AND locked_by = ? AND current_attempt_id = ?`),
    failItem: db.prepare(`
      UPDATE work_items SET state = @state, locked_by = NULL, lease_expires_at = NULL, last_error = @error,
                            desired_at = coalesce(@retry_at, desired_at), updated_at = @now,
                            finished_at = CASE WHEN @state = 'FAILED' THEN @now ELSE NULL END
      WHERE id = @id AND state = 'RUNNING' AND locked_by = @worker AND current_attempt_id = @attempt
      RETURNING *`),
    releaseItem: db.prepare(`
      UPDATE work_items SET state = 'PENDING', attempts = max(attempts - 1, 0), locked_by = NULL,
                            lease_expires_at = NULL, updated_at = @now
      WHERE id = @id AND state IN (${FROM('release')}) AND locked_by = @worker AND current_attempt_id = @attempt`),
  });
}

export async function fail(ctx: SqliteContext, report: FailureReport): Promise<WorkItem | null> {
  const now = Date.now();
  const run = ctx.db.transaction(() => {
    const current = ctx.s.ownedAttempt.get(report.itemId, report.workerId, report.attemptId) as ItemRow | undefined;
    ctx.s.finishOwnAttempt.run({
      worker: report.workerId,
      attempt: report.attemptId,
      status: current ? report.status : 'lost',
      now,
      error: report.error,
      output: report.outputTail ?? null,
      result: report.result ? JSON.stringify(report.result) : null,
    });
    if (!current) return null;
    const retry = report.retryAt !== null && current.attempts < current.max_attempts;
    const state: WorkState = retry ? TRANSITIONS.fail_retry.to : TRANSITIONS.fail_final.to;
    const row = ctx.s.failItem.get({
      id: report.itemId,
      worker: report.workerId,
      attempt: report.attemptId,
      state,
      error: report.error,
      retry_at: retry ? report.retryAt!.getTime() : null,
      now,
    }) as ItemRow;
    ctx.event(report.itemId, now, retry ? 'fail_retry' : 'fail_final', 'RUNNING', state, report.workerId, report.error);
    return toItem(row);
  });
  return run.immediate();
}

export async function release(ctx: SqliteContext, report: CompletionReport & { reason: string }): Promise<boolean> {
  const now = Date.now();
  const run = ctx.db.transaction(() => {
    const changed = ctx.s.releaseItem.run({ id: report.itemId, worker: report.workerId, attempt: report.attemptId, now }).changes === 1;
    ctx.s.finishOwnAttempt.run({
      worker: report.workerId,
      attempt: report.attemptId,
      status: 'interrupted',
      now,
      error: report.reason,
      output: report.outputTail ?? null,
      result: null,
    });
    if (changed) ctx.event(report.itemId, now, 'release', 'RUNNING', 'PENDING', report.workerId, report.reason);
    return changed;
  });
  const changed = run.immediate();
  if (changed) ctx.wake.emit('wake');
  return changed;
}
