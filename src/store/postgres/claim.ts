import { TRANSITIONS } from '../../core/states.js';
import type { ClaimRequest, ClaimedItem } from '../store.js';
import type { PgContext } from './context.js';
import { LOCK_CLASS } from './migrations.js';
import { toClaimed, type ItemRow } from './rows.js';
import { FROM, nowOr, type PgNames } from './sql-names.js';

/** Claims: the fast path without locks, the capped path under per-pipeline advisory locks, and claiming one named item. */

/** The statements of this family; see `pgStatements`. */
export function claimSql(n: PgNames) {
  const { schema, items, attempts, events, attemptSeq, levels } = n;
  // Shared tail of `claim` and `claimItem`: given `picked (id, state)` (rows already locked),
  // allocate attempt ids, move the items to RUNNING, insert attempts and events.
  // $1 now | $2 worker | $3 lease ms
  const claimTail = `
    numbered AS MATERIALIZED (
      SELECT p.id, p.state, nextval(${attemptSeq}) AS attempt_id FROM picked p
    ),
    upd AS (
      UPDATE ${items} w
      SET state = '${TRANSITIONS.claim.to}', attempts = w.attempts + 1, total_attempts = w.total_attempts + 1,
          locked_by = $2, lease_expires_at = ${nowOr('$1')} + $3::int * interval '1 millisecond',
          current_attempt_id = n.attempt_id, updated_at = ${nowOr('$1')}
      FROM numbered n
      -- The id list makes the row lookups primary-key probes whatever the planner guesses
      -- about CTE sizes: joined on w.id = n.id alone it hash-joined against a scan of every
      -- ready row, so claims slowed with queue depth.
      -- The rows are locked (picked FOR UPDATE), so the state they were picked in still holds;
      -- stating it as w.state IN (ready states) made the planner AND in the partial ready index,
      -- a scan of every ready row.
      WHERE w.id = ANY (ARRAY(SELECT id FROM numbered)) AND w.id = n.id AND w.state = n.state
      RETURNING w.*
    ),
    new_attempts AS (
      INSERT INTO ${attempts} (id, item_id, attempt_no, worker_id, status, started_at)
      SELECT u.current_attempt_id, u.id, u.total_attempts, $2, 'running', u.updated_at FROM upd u
    ),
    new_events AS (
      INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor)
      SELECT u.id, u.updated_at, 'claim', n.state, u.state, $2
      FROM upd u JOIN numbered n ON n.id = u.id
      ORDER BY u.priority DESC, u.desired_at, u.id
    )`;

  // $4 limit | $5 fetch | $6 only keys (text[] or null) | $7 capped keys |
  // locked variant: $8 caps. The fast variant claims without locks unless one of the picked
  // rows belongs to a capped pipeline; then it changes nothing and reports `blocked`, and the
  // caller takes the locked path. Uncapped work never needs the locks.
  const claim = (locked: boolean) => `
    WITH RECURSIVE ${levels},
    ${
      locked
        ? `caps AS MATERIALIZED (
      SELECT c.key, c.cap - (SELECT count(*) FROM ${items} r
                             WHERE r.state = 'RUNNING' AND r.domain || '.' || r.pipeline = c.key) AS room
      FROM unnest($7::text[], $8::int[]) AS c(key, cap)
    ),`
        : ''
    }
    -- Levels come out of the recursion highest first, and the nested loop walks them in that
    -- order, stopping as soon as enough rows are locked: lower levels are never touched.
    cand AS MATERIALIZED (
      SELECT c.* FROM levels l
      CROSS JOIN LATERAL (
        SELECT w.id, w.state, w.domain || '.' || w.pipeline AS key, w.priority, w.desired_at
        FROM ${items} w
        WHERE w.state IN (${FROM('claim')}) AND w.priority = l.priority AND w.desired_at <= ${nowOr('$1')}
          AND ($6::text[] IS NULL OR w.domain || '.' || w.pipeline = ANY ($6::text[]))
          ${locked ? `AND NOT EXISTS (SELECT 1 FROM caps WHERE caps.key = w.domain || '.' || w.pipeline AND caps.room <= 0)` : ''}
        ORDER BY w.desired_at, w.id
        LIMIT $5
        FOR UPDATE OF w SKIP LOCKED
      ) c
      WHERE l.priority IS NOT NULL
      LIMIT $5
    ),
    ${
      locked
        ? `picked AS (
      SELECT r.id, r.state FROM (
        SELECT c.*, row_number() OVER (PARTITION BY c.key ORDER BY c.priority DESC, c.desired_at, c.id) AS rn FROM cand c
      ) r LEFT JOIN caps ON caps.key = r.key
      WHERE caps.room IS NULL OR r.rn <= caps.room
      ORDER BY r.priority DESC, r.desired_at, r.id
      LIMIT $4
    ),`
        : `top AS MATERIALIZED (SELECT c.id, c.state, c.key FROM cand c ORDER BY c.priority DESC, c.desired_at, c.id LIMIT $4),
    blocked AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM top WHERE top.key = ANY ($7::text[])) AS yes),
    picked AS (SELECT top.id, top.state FROM top WHERE NOT (SELECT yes FROM blocked)),`
    }
    ${claimTail}
    ${
      locked
        ? `SELECT u.*, (SELECT count(*) FROM cand)::int AS fetched FROM upd u ORDER BY u.priority DESC, u.desired_at, u.id`
        : `SELECT (SELECT yes FROM blocked) AS blocked, u.*
    FROM (SELECT 1) AS one LEFT JOIN upd u ON true
    ORDER BY u.priority DESC, u.desired_at, u.id`
    }`;

  return {
    claimFast: claim(false),
    claimCapped: claim(true),
    // One advisory lock per capped pipeline, taken in hash order so two claimers cannot
    // deadlock. RUNNING rows are counted by the next statement, whose snapshot is taken
    // after the locks are held. $1 pipeline keys
    lockPipelines: `
      SELECT pg_advisory_xact_lock(${LOCK_CLASS.pipelineCap}, h)
      FROM (SELECT DISTINCT hashtext('${schema}' || chr(31) || k) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS keys`,
    // $1 now (null) | $2 worker | $3 lease ms | $4 item id. No desired_at check: `sluice run` runs it now.
    claimItem: `
      WITH cand AS MATERIALIZED (
        SELECT w.id, w.state FROM ${items} w WHERE w.id = $4 AND w.state IN (${FROM('claim')}) FOR UPDATE
      ),
      picked AS (SELECT id, state FROM cand),
      ${claimTail}
      SELECT u.* FROM upd u`,
  };
}

export async function claim(ctx: PgContext, request: ClaimRequest): Promise<ClaimedItem[]> {
  if (request.limit <= 0) return [];
  const now = request.now ?? null;
  const only = request.pipelines ? [...request.pipelines] : null;
  const limits = Object.entries(request.concurrencyLimits ?? {}).filter(([key]) => only === null || only.includes(key));
  const capKeys = limits.map(([k]) => k);
  const caps = limits.map(([, n]) => Math.max(0, Math.trunc(n)));
  // Fast path: one statement, no explicit transaction, as long as no capped pipeline is
  // among the items it would take.
  const fast = await ctx.pool.query<ItemRow & { blocked: boolean }>(ctx.stmt('claimFast'), [
    now,
    request.workerId,
    Math.round(request.leaseMs),
    request.limit,
    request.limit,
    only,
    capKeys,
  ]);
  if (!fast.rows[0]?.blocked) return fast.rows.filter((r) => r.id !== null).map(toClaimed);
  return ctx.tx(async (client) => {
    await client.query(ctx.stmt('lockPipelines'), [capKeys]);
    const claimed: ClaimedItem[] = [];
    // Each round recounts RUNNING rows (including this transaction's own claims) and skips
    // pipelines that are full; a few rounds fill the request or saturate every cap.
    for (let round = 0; round < 4 && claimed.length < request.limit; round++) {
      const want = request.limit - claimed.length;
      const fetch = want * 2;
      const { rows } = await client.query<ItemRow & { fetched: number }>(ctx.stmt('claimCapped'), [
        now,
        request.workerId,
        Math.round(request.leaseMs),
        want,
        fetch,
        only,
        capKeys,
        caps,
      ]);
      claimed.push(...rows.map(toClaimed));
      if (rows.length === 0 || rows[0]!.fetched < fetch) break;
    }
    return claimed;
  });
}

export async function claimItem(ctx: PgContext, itemId: number, workerId: string, leaseMs: number): Promise<ClaimedItem | null> {
  const { rows } = await ctx.pool.query<ItemRow>(ctx.stmt('claimItem'), [null, workerId, Math.round(leaseMs), itemId]);
  return rows[0] ? toClaimed(rows[0]) : null;
}
