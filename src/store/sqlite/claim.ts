import type { Database as DB } from 'better-sqlite3';
import { FROM } from '../sql-fragments.js';
import type { ClaimRequest, ClaimedItem } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';
import { toClaimed, type ItemRow } from './rows.js';

/** Claims: candidates read one priority level at a time off the ready index, capped pipelines counted inside the write lock. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function claimStatements(db: DB) {
  return statementFamily({
    runningCounts: db.prepare(`SELECT domain || '.' || pipeline AS key, count(*) AS n FROM work_items WHERE state = 'RUNNING' GROUP BY domain, pipeline`),
    // Candidates in claim order, straight off the partial index. The optional key lists
    // are JSON arrays so the statement stays prepared whatever the worker's pipelines.
    // INDEXED BY: left to itself the planner picks the (state, …) index and sorts every
    // ready row on each claim, which made a claim O(queue depth).
    candidates: db.prepare(`
      SELECT id, domain || '.' || pipeline AS key FROM work_items INDEXED BY work_items_ready
      WHERE state IN (${FROM('claim')}) AND priority = @priority AND desired_at <= @now
        AND (@only IS NULL OR domain || '.' || pipeline IN (SELECT value FROM json_each(@only)))
        AND (@skip IS NULL OR domain || '.' || pipeline NOT IN (SELECT value FROM json_each(@skip)))
      ORDER BY desired_at, id
      LIMIT @limit`),
    // Distinct priorities among ready items, highest first, one index probe each (a loose
    // index scan). Claims and "when is the next item due?" then read one priority at a time,
    // where desired_at is the next index key: desired_at <= now bounds the range and
    // the first entry is the minimum, so far-future items are never walked. Reading the
    // index in (priority, desired_at) order as a whole walked every far-future entry
    // whenever fewer items were ready than asked for, and min(desired_at) walked them all.
    readyLevels: db.prepare(`
      WITH RECURSIVE levels(p) AS (
        SELECT max(priority) FROM work_items INDEXED BY work_items_ready WHERE state IN (${FROM('claim')})
        UNION ALL
        SELECT (SELECT max(priority) FROM work_items INDEXED BY work_items_ready
                WHERE state IN (${FROM('claim')}) AND priority < levels.p)
        FROM levels WHERE levels.p IS NOT NULL
      )
      SELECT p FROM levels WHERE p IS NOT NULL`),
    // Claiming a batch is three set statements over the chosen ids (a JSON array in claim
    // order), not four statements per item: per-item statements were the largest share of a
    // drain's CPU. The ids were read inside the same write transaction, so every row is
    // still in the state it was picked in. The event goes first, while from_state still
    // reads the state before the claim; CROSS JOIN keeps json_each outermost, so rows (and
    // their ids) are written in claim order.
    claimEvents: db.prepare(`
      INSERT INTO work_events (item_id, at, event, from_state, to_state, actor)
      SELECT w.id, @now, 'claim', w.state, 'RUNNING', @worker
      FROM json_each(@ids) j CROSS JOIN work_items w ON w.id = j.value
      WHERE w.state IN (${FROM('claim')})
      ORDER BY j.key`),
    claimAttempts: db.prepare(`
      INSERT INTO attempts (item_id, attempt_no, worker_id, status, started_at)
      SELECT w.id, w.total_attempts + 1, @worker, 'running', @now
      FROM json_each(@ids) j CROSS JOIN work_items w ON w.id = j.value
      WHERE w.state IN (${FROM('claim')})
      ORDER BY j.key`),
    // total_attempts only ever grows by one per claim, so (item_id, total_attempts + 1) names
    // the attempt just inserted: one probe of attempts_item per row. The unary + keeps the
    // state test off the (state, …) index, which the planner otherwise walks (every ready row)
    // instead of probing the ids.
    claimMany: db.prepare(`
      UPDATE work_items
      SET state = 'RUNNING', attempts = attempts + 1, total_attempts = total_attempts + 1, locked_by = @worker,
          lease_expires_at = @lease, updated_at = @now,
          current_attempt_id = (SELECT max(a.id) FROM attempts a WHERE a.item_id = work_items.id AND a.attempt_no = work_items.total_attempts + 1)
      WHERE id IN (SELECT value FROM json_each(@ids)) AND +state IN (${FROM('claim')})
      RETURNING *`),
  });
}

export async function claim(ctx: SqliteContext, request: ClaimRequest): Promise<ClaimedItem[]> {
  if (request.limit <= 0) return [];
  const now = (request.now ?? new Date()).getTime();
  const limits = request.concurrencyLimits ?? {};
  const run = ctx.db.transaction(() => {
    // Remaining capacity of each capped pipeline, measured inside the write lock.
    const room = new Map<string, number>();
    if (Object.keys(limits).length > 0) {
      const running = new Map((ctx.s.runningCounts.all() as { key: string; n: number }[]).map((r) => [r.key, r.n]));
      for (const [key, cap] of Object.entries(limits)) room.set(key, cap - (running.get(key) ?? 0));
    }
    const claimed: ClaimedItem[] = [];
    const only = request.pipelines ? JSON.stringify(request.pipelines) : null;
    // Each round excludes pipelines that are full; a few rounds suffice because every
    // round either fills the request or saturates at least one more pipeline.
    for (let round = 0; round < 4 && claimed.length < request.limit; round++) {
      const full = [...room].filter(([, n]) => n <= 0).map(([k]) => k);
      const want = request.limit - claimed.length;
      const limit = want + (room.size > 0 ? want : 0);
      const rows: { id: number; key: string }[] = [];
      for (const priority of ctx.s.readyLevels.pluck().all() as number[]) {
        const more = ctx.s.candidates.all({ now, only, priority, skip: full.length ? JSON.stringify(full) : null, limit: limit - rows.length });
        rows.push(...(more as typeof rows));
        if (rows.length >= limit) break;
      }
      if (rows.length === 0) break;
      const chosen: number[] = [];
      for (const { id, key } of rows) {
        if (claimed.length + chosen.length >= request.limit) break;
        const left = room.get(key);
        if (left !== undefined && left <= 0) continue;
        if (left !== undefined) room.set(key, left - 1);
        chosen.push(id);
      }
      claimed.push(...claimRows(ctx, chosen, request.workerId, now, now + request.leaseMs));
      if (rows.length < want) break;
    }
    return claimed;
  });
  return run.immediate();
}

/** Claims the given ids (inside the caller's write transaction), in the given order. */
function claimRows(ctx: SqliteContext, ids: readonly number[], workerId: string, now: number, lease: number): ClaimedItem[] {
  if (ids.length === 0) return [];
  const params = { ids: JSON.stringify(ids), worker: workerId, now, lease };
  ctx.s.claimEvents.run(params);
  ctx.s.claimAttempts.run(params);
  const byId = new Map((ctx.s.claimMany.all(params) as ItemRow[]).map((row) => [row.id, row]));
  const claimed: ClaimedItem[] = [];
  for (const id of ids) {
    const row = byId.get(id);
    if (row) claimed.push(toClaimed(row));
  }
  return claimed;
}

export async function claimItem(ctx: SqliteContext, itemId: number, workerId: string, leaseMs: number): Promise<ClaimedItem | null> {
  const now = Date.now();
  return ctx.db.transaction(() => claimRows(ctx, [itemId], workerId, now, now + leaseMs)[0] ?? null).immediate();
}
