import type pg from 'pg';
import { NotFoundError, TransitionError } from '../../core/errors.js';
import { TRANSITIONS, type WorkState } from '../../core/states.js';
import type { WorkItem } from '../../core/work-item.js';
import type { CommandOutcome, RetryFilter } from '../store.js';
import type { PgContext } from './context.js';
import { toItem, type ItemRow } from './rows.js';
import { FROM, DB_NOW, type PgNames } from './sql-names.js';

/** Operator commands on one item or many: cancel, retry, rerun. */

/** The statements of this family; see `pgStatements`. */
export function commandsSql(n: PgNames) {
  const { items, attempts, events } = n;
  const toPending = (transition: 'retry' | 'rerun') => `
    WITH before AS (SELECT id, state FROM ${items} WHERE id = $1),
    upd AS (
      UPDATE ${items}
      SET state = '${TRANSITIONS[transition].to}', attempts = 0, last_error = NULL, desired_at = ${DB_NOW},
          updated_at = ${DB_NOW}, finished_at = NULL
      WHERE id = $1 AND state IN (${FROM(transition)})
      RETURNING *
    ),
    new_events AS (
      INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor)
      SELECT u.id, u.updated_at, '${transition}', b.state, u.state, $2 FROM upd u JOIN before b ON b.id = u.id
    ),
    woke AS MATERIALIZED (SELECT pg_notify($3, $4) FROM upd)
    SELECT upd.* FROM upd CROSS JOIN (SELECT count(*) FROM woke) AS notified`;

  return {
    lockItem: `SELECT * FROM ${items} WHERE id = $1 FOR UPDATE`,
    // $1 item | $2 actor | $3 from state | $4 attempt id to mark cancelled (null if not running) | $5 channel | $6 payload
    cancel: `
      WITH upd AS (
        UPDATE ${items}
        SET state = '${TRANSITIONS.cancel.to}', locked_by = NULL, lease_expires_at = NULL,
            updated_at = ${DB_NOW}, finished_at = ${DB_NOW}
        WHERE id = $1 AND state IN (${FROM('cancel')})
        RETURNING *
      ),
      cancelled_attempt AS (
        UPDATE ${attempts}
        SET status = 'cancelled', finished_at = ${DB_NOW}, error = 'cancelled', output_tail = NULL, result = NULL
        WHERE id = $4 AND status = 'running' AND EXISTS (SELECT 1 FROM upd)
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor)
        SELECT id, updated_at, 'cancel', $3, state, $2 FROM upd
      ),
      woke AS MATERIALIZED (SELECT pg_notify($5, $6) FROM upd)
      SELECT upd.* FROM upd CROSS JOIN (SELECT count(*) FROM woke) AS notified`,
    // Manual retry / rerun of one item (the caller holds its row lock): a fresh budget of
    // attempts, due now. $1 item | $2 actor | $3 channel | $4 payload
    retryOne: toPending('retry'),
    rerunOne: toPending('rerun'),
    // Bulk manual retry takes FAILED items only: cancelled ones were stopped on purpose and
    // come back one by one. $1 domain | $2 pipeline | $3 actor | $4 channel | $5 payload
    retryFailed: `
      WITH upd AS (
        UPDATE ${items}
        SET state = '${TRANSITIONS.retry.to}', attempts = 0, last_error = NULL, desired_at = ${DB_NOW},
            updated_at = ${DB_NOW}, finished_at = NULL
        WHERE state IN (${FROM('retry')}) AND state = 'FAILED'
          AND ($1::text IS NULL OR domain = $1) AND ($2::text IS NULL OR pipeline = $2)
        RETURNING *
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor)
        SELECT id, updated_at, 'retry', 'FAILED', state, $3 FROM upd ORDER BY id
      ),
      woke AS MATERIALIZED (SELECT pg_notify($4, $5) FROM (SELECT 1 FROM upd LIMIT 1) AS any_retried)
      SELECT upd.* FROM upd CROSS JOIN (SELECT count(*) FROM woke) AS notified ORDER BY upd.id`,
  };
}

export async function cancel(ctx: PgContext, itemId: number, actor: string | null = null): Promise<CommandOutcome> {
  const outcome = await ctx.tx(async (client) => {
    const current = await lockRow(ctx, client, itemId);
    if (!(TRANSITIONS.cancel.from as readonly WorkState[]).includes(current.state)) {
      if (current.state === 'CANCELLED') return { item: toItem(current), changed: false };
      throw new TransitionError(itemId, current.state, 'cancel');
    }
    const { rows } = await client.query<ItemRow>(ctx.stmt('cancel'), [
      itemId,
      actor,
      current.state,
      current.state === 'RUNNING' ? current.current_attempt_id : null,
      ctx.cancelChannel,
      `${itemId}:${ctx.instanceId}`,
    ]);
    return { item: toItem(rows[0]!), changed: true };
  });
  if (outcome.changed) ctx.emitCancel(itemId);
  return outcome;
}

export async function retry(ctx: PgContext, filter: RetryFilter, actor: string | null = null): Promise<WorkItem[]> {
  let items: WorkItem[];
  if (filter.id !== undefined) {
    const id = filter.id;
    items = await ctx.tx(async (client) => {
      const current = await lockRow(ctx, client, id);
      if (!(TRANSITIONS.retry.from as readonly WorkState[]).includes(current.state)) {
        throw new TransitionError(id, current.state, 'retry');
      }
      const { rows } = await client.query<ItemRow>(ctx.stmt('retryOne'), [id, actor, ctx.wakeChannel, ctx.wakePayload()]);
      return rows.map(toItem);
    });
  } else {
    const { rows } = await ctx.pool.query<ItemRow>(ctx.stmt('retryFailed'), [
      filter.domain ?? null,
      filter.pipeline ?? null,
      actor,
      ctx.wakeChannel,
      ctx.wakePayload(),
    ]);
    items = rows.map(toItem);
  }
  if (items.length > 0) ctx.emitWake();
  return items;
}

export async function rerun(ctx: PgContext, itemId: number, actor: string | null = null): Promise<CommandOutcome> {
  const outcome = await ctx.tx(async (client): Promise<CommandOutcome> => {
    const current = await lockRow(ctx, client, itemId);
    if (!(TRANSITIONS.rerun.from as readonly WorkState[]).includes(current.state)) return { item: toItem(current), changed: false };
    const { rows } = await client.query<ItemRow>(ctx.stmt('rerunOne'), [itemId, actor, ctx.wakeChannel, ctx.wakePayload()]);
    return { item: toItem(rows[0]!), changed: true };
  });
  if (outcome.changed) ctx.emitWake();
  return outcome;
}

export async function lockRow(ctx: PgContext, client: pg.PoolClient, id: number): Promise<ItemRow> {
  const { rows } = await client.query<ItemRow>(ctx.stmt('lockItem'), [id]);
  if (!rows[0]) throw new NotFoundError('work item', id);
  return rows[0];
}
