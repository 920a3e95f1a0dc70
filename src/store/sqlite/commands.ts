import type { Database as DB } from 'better-sqlite3';
import { NotFoundError, TransitionError } from '../../core/errors.js';
import { TRANSITIONS, type WorkState } from '../../core/states.js';
import type { WorkItem } from '../../core/work-item.js';
import { FROM } from '../sql-fragments.js';
import type { CommandOutcome, RetryFilter } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';
import { toItem, type ItemRow } from './rows.js';

/** Operator commands on one item or many: cancel, retry, rerun. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function commandsStatements(db: DB) {
  return statementFamily({
    cancelItem: db.prepare(`
      UPDATE work_items SET state = 'CANCELLED', locked_by = NULL, lease_expires_at = NULL, updated_at = @now,
                            finished_at = @now
      WHERE id = @id AND state IN (${FROM('cancel')})`),
    toPending: db.prepare(`
      UPDATE work_items SET state = 'PENDING', attempts = 0, last_error = NULL, desired_at = @now, updated_at = @now,
                            finished_at = NULL
      WHERE id = @id`),
  });
}

export async function cancel(ctx: SqliteContext, itemId: number, actor: string | null = null): Promise<CommandOutcome> {
  const now = Date.now();
  const run = ctx.db.transaction(() => {
    const current = requireRow(ctx, itemId);
    if (!(TRANSITIONS.cancel.from as readonly WorkState[]).includes(current.state)) {
      if (current.state === 'CANCELLED') return { item: toItem(current), changed: false };
      throw new TransitionError(itemId, current.state, 'cancel');
    }
    ctx.s.cancelItem.run({ id: itemId, now });
    if (current.state === 'RUNNING' && current.current_attempt_id !== null) {
      ctx.s.finishAttempt.run({ attempt: current.current_attempt_id, status: 'cancelled', now, error: 'cancelled', output: null, result: null });
    }
    ctx.event(itemId, now, 'cancel', current.state, 'CANCELLED', actor);
    return { item: toItem(requireRow(ctx, itemId)), changed: true };
  });
  const outcome = run.immediate();
  ctx.wake.emit('cancel', itemId);
  return outcome;
}

export async function retry(ctx: SqliteContext, filter: RetryFilter, actor: string | null = null): Promise<WorkItem[]> {
  const now = Date.now();
  const run = ctx.db.transaction(() => {
    let rows: ItemRow[];
    if (filter.id !== undefined) {
      const current = requireRow(ctx, filter.id);
      if (!(TRANSITIONS.retry.from as readonly WorkState[]).includes(current.state)) {
        throw new TransitionError(filter.id, current.state, 'retry');
      }
      rows = [current];
    } else {
      rows = ctx.db
        .prepare(
          `SELECT * FROM work_items WHERE state = 'FAILED'
           AND (@domain IS NULL OR domain = @domain) AND (@pipeline IS NULL OR pipeline = @pipeline)`,
        )
        .all({ domain: filter.domain ?? null, pipeline: filter.pipeline ?? null }) as ItemRow[];
    }
    return rows.map((row) => {
      ctx.s.toPending.run({ id: row.id, now });
      ctx.event(row.id, now, 'retry', row.state, 'PENDING', actor);
      return toItem(requireRow(ctx, row.id));
    });
  });
  const items = run.immediate();
  if (items.length) ctx.wake.emit('wake');
  return items;
}

export async function rerun(ctx: SqliteContext, itemId: number, actor: string | null = null): Promise<CommandOutcome> {
  const now = Date.now();
  const run = ctx.db.transaction(() => {
    const current = requireRow(ctx, itemId);
    if (!(TRANSITIONS.rerun.from as readonly WorkState[]).includes(current.state)) return { item: toItem(current), changed: false };
    ctx.s.toPending.run({ id: itemId, now });
    ctx.event(itemId, now, 'rerun', current.state, 'PENDING', actor);
    return { item: toItem(requireRow(ctx, itemId)), changed: true };
  });
  const outcome = run.immediate();
  if (outcome.changed) ctx.wake.emit('wake');
  return outcome;
}

function requireRow(ctx: SqliteContext, id: number): ItemRow {
  const row = ctx.s.getItem.get(id) as ItemRow | undefined;
  if (!row) throw new NotFoundError('work item', id);
  return row;
}
