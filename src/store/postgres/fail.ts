import { TRANSITIONS } from '../../core/states.js';
import type { WorkItem } from '../../core/work-item.js';
import type { CompletionReport, FailureReport } from '../store.js';
import type { PgContext } from './context.js';
import { toItem, type ItemRow } from './rows.js';
import { FROM, DB_NOW, type PgNames } from './sql-names.js';

/** A failed attempt (retry or final) and a released one (handed back unstarted or interrupted). */

/** The statements of this family; see `pgStatements`. */
export function failSql(n: PgNames) {
  const { items, attempts, events } = n;
  return {
    // $1 item | $2 worker | $3 attempt | $4 error | $5 attempt status | $6 retry at | $7 output | $8 result
    fail: `
      WITH upd AS (
        UPDATE ${items} w
        SET state = CASE WHEN $6::timestamptz IS NOT NULL AND w.attempts < w.max_attempts
                         THEN '${TRANSITIONS.fail_retry.to}' ELSE '${TRANSITIONS.fail_final.to}' END,
            locked_by = NULL, lease_expires_at = NULL, last_error = $4,
            desired_at = CASE WHEN $6::timestamptz IS NOT NULL AND w.attempts < w.max_attempts
                              THEN $6::timestamptz ELSE w.desired_at END,
            updated_at = ${DB_NOW},
            finished_at = CASE WHEN $6::timestamptz IS NOT NULL AND w.attempts < w.max_attempts
                               THEN NULL ELSE ${DB_NOW} END
        WHERE w.id = $1 AND w.state IN (${FROM('fail_retry', 'fail_final')})
          AND w.locked_by = $2 AND w.current_attempt_id = $3
        RETURNING w.*
      ),
      finished_attempt AS (
        UPDATE ${attempts}
        SET status = CASE WHEN EXISTS (SELECT 1 FROM upd) THEN $5 ELSE 'lost' END,
            finished_at = ${DB_NOW}, error = $4, output_tail = $7, result = $8::jsonb
        WHERE id = $3 AND worker_id = $2 AND status = 'running'
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor, detail)
        SELECT id, updated_at, CASE WHEN state = 'RETRY_WAIT' THEN 'fail_retry' ELSE 'fail_final' END,
               'RUNNING', state, $2, $4
        FROM upd
      )
      SELECT * FROM upd`,
    // $1 item | $2 worker | $3 attempt | $4 reason | $5 output | $6 channel | $7 payload
    release: `
      WITH upd AS (
        UPDATE ${items} w
        SET state = '${TRANSITIONS.release.to}', attempts = greatest(w.attempts - 1, 0), locked_by = NULL,
            lease_expires_at = NULL, updated_at = ${DB_NOW}
        WHERE w.id = $1 AND w.state IN (${FROM('release')}) AND w.locked_by = $2 AND w.current_attempt_id = $3
        RETURNING w.id, w.updated_at
      ),
      finished_attempt AS (
        UPDATE ${attempts}
        SET status = CASE WHEN EXISTS (SELECT 1 FROM upd) THEN 'interrupted' ELSE 'lost' END,
            finished_at = ${DB_NOW}, error = $4, output_tail = $5, result = NULL
        WHERE id = $3 AND worker_id = $2 AND status = 'running'
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor, detail)
        SELECT id, updated_at, 'release', 'RUNNING', '${TRANSITIONS.release.to}', $2, $4 FROM upd
      ),
      woke AS MATERIALIZED (SELECT pg_notify($6, $7) FROM upd)
      SELECT (SELECT count(*) FROM upd)::int AS changed, (SELECT count(*) FROM woke)::int AS notified`,
  };
}

export async function fail(ctx: PgContext, report: FailureReport): Promise<WorkItem | null> {
  const { rows } = await ctx.pool.query<ItemRow>(ctx.stmt('fail'), [
    report.itemId,
    report.workerId,
    report.attemptId,
    report.error,
    report.status,
    report.retryAt,
    report.outputTail ?? null,
    report.result ? JSON.stringify(report.result) : null,
  ]);
  return rows[0] ? toItem(rows[0]) : null;
}

export async function release(ctx: PgContext, report: CompletionReport & { reason: string }): Promise<boolean> {
  const { rows } = await ctx.pool.query<{ changed: number }>(ctx.stmt('release'), [
    report.itemId,
    report.workerId,
    report.attemptId,
    report.reason,
    report.outputTail ?? null,
    ctx.wakeChannel,
    ctx.wakePayload(),
  ]);
  const changed = (rows[0]?.changed ?? 0) > 0;
  if (changed) ctx.emitWake();
  return changed;
}
