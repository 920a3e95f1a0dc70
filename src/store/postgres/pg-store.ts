import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { NotFoundError, TransitionError } from '../../core/errors.js';
import { partitionKey, type Partition } from '../../core/partition.js';
import { OUTSTANDING_STATES, TERMINAL_STATES, TRANSITIONS, type TransitionName, type WorkState } from '../../core/states.js';
import type { Attempt, Backoff, WorkEvent, WorkItem } from '../../core/work-item.js';
import type {
  ClaimRequest,
  ClaimedItem,
  CommandOutcome,
  CompletionReport,
  DependencyStatus,
  EnqueueOutcome,
  EnqueueSpec,
  FailureReport,
  ListFilter,
  PartitionState,
  PartitionStatesOptions,
  RecentAttempt,
  RecentAttemptsFilter,
  RetryFilter,
  StateCount,
  Store,
} from '../store.js';
import type { DataConnection } from '../store.js';
import type { ScheduleStore, TickRecord } from '../schedule-store.js';
import { PgListener } from './listener.js';
import { LOCK_CLASS, migrate as runMigrations, quoteIdent } from './migrations.js';
import { itemFromSpec } from '../new-item.js';
import { withClient, withTransaction } from './transaction.js';
import { crashPoint } from '../../core/crash-points.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema holding Sluice's tables; created by `migrate()`. Default `sluice`. */
  schema?: string;
  /** Maximum pooled connections (the LISTEN connection is extra). Default 10. */
  poolSize?: number;
}

/** `IN (...)` list for a transition's source states; values come from the constant table, never from input. */
const inList = (states: readonly WorkState[]) => states.map((s) => `'${s}'`).join(', ');
const FROM = (...names: TransitionName[]) => inList([...new Set(names.flatMap((n) => TRANSITIONS[n].from))]);

/**
 * Instants the database stamps itself come from its clock, not the caller's, so leases set
 * and checked by different hosts agree. Truncated to milliseconds so they survive the trip
 * through a JS Date unchanged. A caller-supplied `now` (tests, replays) takes precedence.
 */
const DB_NOW = `date_trunc('milliseconds', statement_timestamp())`;
const nowOr = (param: string) => `coalesce(${param}::timestamptz, ${DB_NOW})`;

const LOST_COMPLETION = 'completed after the worker lost its claim (lease expired or cancelled)';

interface ItemRow {
  id: string;
  domain: string;
  pipeline: string;
  partition_key: string;
  partition: Partition;
  params: Record<string, unknown>;
  state: WorkState;
  priority: number;
  desired_at: Date;
  attempts: number;
  total_attempts: number;
  max_attempts: number;
  backoff: Backoff;
  locked_by: string | null;
  lease_expires_at: Date | null;
  current_attempt_id: string | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

function toItem(row: ItemRow): WorkItem {
  return {
    id: Number(row.id),
    domain: row.domain,
    pipeline: row.pipeline,
    partition: row.partition,
    partitionKey: row.partition_key,
    params: row.params,
    state: row.state,
    priority: row.priority,
    desiredAt: row.desired_at,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    totalAttempts: row.total_attempts,
    backoff: row.backoff,
    lockedBy: row.locked_by,
    leaseExpiresAt: row.lease_expires_at,
    currentAttemptId: row.current_attempt_id === null ? null : Number(row.current_attempt_id),
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

/** A claim sets `current_attempt_id` to the new attempt and bumps `total_attempts` to its number. */
function toClaimed(row: ItemRow): ClaimedItem {
  return { ...toItem(row), attemptId: Number(row.current_attempt_id), attemptNo: row.total_attempts };
}

/** The columns an enqueue with dependencies gets back for a new item; everything else is what the spec said. */
interface InsertedRow {
  id: string;
  domain: string;
  pipeline: string;
  partition_key: string;
  state: WorkState;
  desired_at: Date;
  created_at: Date;
}


interface RecentAttemptRow extends AttemptRow {
  domain: string;
  pipeline: string;
  partition_key: string;
  item_state: WorkState;
}

interface AttemptRow {
  id: string;
  item_id: string;
  attempt_no: number;
  worker_id: string;
  status: Attempt['status'];
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
  output_tail: string | null;
  result: Record<string, unknown> | null;
}

function toAttempt(row: AttemptRow): Attempt {
  return {
    id: Number(row.id),
    itemId: Number(row.item_id),
    attemptNo: row.attempt_no,
    workerId: row.worker_id,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
    outputTail: row.output_tail,
    result: row.result,
  };
}

interface EventRow {
  id: string;
  item_id: string;
  at: Date;
  event: string;
  from_state: WorkState | null;
  to_state: WorkState;
  actor: string | null;
  detail: string | null;
}

/** NOTIFY channel for a schema; long schema names are hashed to fit the 63-byte limit. */
function channelName(prefix: string, schema: string): string {
  const name = `${prefix}_${schema}`;
  return name.length <= 63 ? name : `${prefix}_${createHash('sha1').update(schema).digest('hex').slice(0, 24)}`;
}

export type PgStatements = ReturnType<typeof pgStatements>;

/**
 * Statements over arrays of ids sent unnamed, so each run is planned for its own sizes. As
 * prepared statements PostgreSQL switched them to a generic plan after five runs, one that
 * assumes a few rows per array: a 1,000-item completion then took 320 ms instead of 30 ms
 * (nested loops over what should be hash joins). Planning costs ~1 ms per batch.
 */
const BATCH_STATEMENTS: ReadonlySet<string> = new Set(['claimFast', 'claimCapped', 'complete', 'lockDependents', 'promote', 'heartbeat', 'enqueue', 'enqueueDependent', 'findMany', 'triplesOf']);

/** A pool or a client inside a transaction. */
interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

const tripleKey = (domain: string, pipeline: string, key: string) => `${domain}\u0000${pipeline}\u0000${key}`;

/**
 * All SQL, built once per schema. Only validated, quoted identifiers and constants from the
 * transition table are interpolated; every value is a bind parameter. Exported so tests (and
 * anyone tuning the database) can EXPLAIN the exact statements the store runs.
 */
export function pgStatements(schema: string) {
  const q = quoteIdent(schema, 'schema name');
  const items = `${q}.work_items`;
  const attempts = `${q}.attempts`;
  const events = `${q}.work_events`;
  const deps = `${q}.work_dependencies`;
  const ticks = `${q}.schedule_ticks`;
  const leases = `${q}.leases`;
  const attemptSeq = `'${q}.attempts_id_seq'::regclass`;
  const itemSeq = `'${q}.work_items_id_seq'::regclass`;
  const READY = FROM('claim');
  const RUNNABLE = inList(OUTSTANDING_STATES.filter((st) => st !== 'WAITING'));
  // Advisory lock key of an upstream partition (class LOCK_CLASS.upstream).
  const upstreamKey = (d: string, p: string, k: string) => `hashtext(concat_ws(chr(31), '${schema}', ${d}, ${p}, ${k}))`;
  // Upstreams of item `id` that are not COMPLETE, including ones never enqueued.
  const openUpstreams = (id: string) => `
        SELECT 1 FROM ${deps} o
        LEFT JOIN ${items} up ON up.domain = o.up_domain AND up.pipeline = o.up_pipeline AND up.partition_key = o.up_key
        WHERE o.item_id = ${id} AND up.state IS DISTINCT FROM 'COMPLETE'`;

  // Distinct priorities among ready items, highest first, one index probe each (a "loose
  // index scan"). Claims then read each priority's range with `desired_at <= now` as a
  // bound, so far-future items are never visited, however many there are.
  const levels = `
    levels AS (
      (SELECT priority FROM ${items} WHERE state IN (${READY}) ORDER BY priority DESC LIMIT 1)
      UNION ALL
      SELECT (SELECT w.priority FROM ${items} w
              WHERE w.state IN (${READY}) AND w.priority < l.priority
              ORDER BY w.priority DESC LIMIT 1)
      FROM levels l WHERE l.priority IS NOT NULL
    )`;

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
    items,
    attempts,
    events,

    // Batch enqueue without dependencies: one statement inserts the items and their events.
    // What the items of a batch share (domain, pipeline, params, backoff, max attempts,
    // priority) travels once per distinct combination, a "template" ($1..$6, indexed by
    // $7); per item only the template index, the partition key ($8), the partition (one
    // jsonb array, $9: far cheaper to parse than a jsonb[] of as many elements) and
    // desired_at ($10, null = now; a null array = all now). ROWS FROM zips them in input
    // order and ids are drawn in that same projection, so ids follow input order without a
    // sort. Answers one row: the database's clock and the new ids (ascending = input order
    // of the created items). Triples are unique in the input (the caller folds repeats), so
    // skipped rows are pre-existing items. $11 channel | $12 payload.
    enqueue: `
      WITH ins AS (
        INSERT INTO ${items} (id, domain, pipeline, partition_key, partition, params, state, priority, desired_at,
                              max_attempts, backoff, created_at, updated_at)
        SELECT nextval(${itemSeq}), ($1::text[])[r.t], ($2::text[])[r.t], r.key, r.partition, ($3::jsonb[])[r.t],
               'PENDING', ($6::int[])[r.t], coalesce(r.desired_at, ${DB_NOW}), ($5::int[])[r.t], ($4::jsonb[])[r.t],
               ${DB_NOW}, ${DB_NOW}
        FROM ROWS FROM (unnest($7::int[]), unnest($8::text[]), jsonb_array_elements($9::jsonb), unnest($10::timestamptz[]))
          AS r(t, key, partition, desired_at)
        ON CONFLICT (domain, pipeline, partition_key) DO NOTHING
        RETURNING id
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state)
        SELECT id, ${DB_NOW}, 'enqueue', NULL, 'PENDING' FROM ins
      ),
      woke AS MATERIALIZED (SELECT pg_notify($11, $12) FROM (SELECT 1 FROM ins LIMIT 1) AS any_created)
      SELECT ${DB_NOW} AS now, count(*)::int AS n, coalesce(string_agg(ins.id::text, ',' ORDER BY ins.id), '') AS ids,
             (SELECT count(*) FROM woke)::int AS notified
      FROM ins`,

    // Triples of the given new item ids (a batch where some items already existed).
    triplesOf: `SELECT id, domain, pipeline, partition_key FROM ${items} WHERE id = ANY ($1::bigint[])`,

    // Batch enqueue when some spec has dependencies (inside a transaction, after `lockUpstreams`).
    // $1 domains | $2 pipelines | $3 keys | $4 partitions | $5 params | $6 priorities |
    // $7 desired_at (null = now) | $8 max attempts | $9 backoffs | $10 channel | $11 payload |
    // $12..$15 dependencies: (index of the spec, 1-based; domain; pipeline; partition key).
    // An item with an upstream that is not COMPLETE starts WAITING. Triples are unique in
    // the input (the caller folds repeats), so the ON CONFLICT rows are pre-existing items.
    enqueueDependent: `
      WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::int[], $7::timestamptz[], $8::int[], $9::jsonb[])
          WITH ORDINALITY AS t(domain, pipeline, partition_key, partition, params, priority, desired_at, max_attempts, backoff, ord)
      ),
      upstreams AS MATERIALIZED (
        SELECT * FROM unnest($12::int[], $13::text[], $14::text[], $15::text[]) AS d(ord, domain, pipeline, partition_key)
      ),
      ins AS (
        INSERT INTO ${items} (domain, pipeline, partition_key, partition, params, state, priority, desired_at,
                              max_attempts, backoff, created_at, updated_at)
        SELECT i.domain, i.pipeline, i.partition_key, i.partition, i.params,
               CASE WHEN EXISTS (
                 SELECT 1 FROM upstreams d
                 LEFT JOIN ${items} u ON u.domain = d.domain AND u.pipeline = d.pipeline AND u.partition_key = d.partition_key
                 WHERE d.ord = i.ord AND u.state IS DISTINCT FROM 'COMPLETE'
               ) THEN 'WAITING' ELSE 'PENDING' END,
               i.priority, coalesce(i.desired_at, ${DB_NOW}), i.max_attempts, i.backoff, ${DB_NOW}, ${DB_NOW}
        FROM input i ORDER BY i.ord
        ON CONFLICT (domain, pipeline, partition_key) DO NOTHING
        RETURNING id, domain, pipeline, partition_key, state, desired_at, created_at
      ),
      new_dependencies AS (
        INSERT INTO ${deps} (item_id, up_domain, up_pipeline, up_key)
        SELECT ins.id, d.domain, d.pipeline, d.partition_key
        FROM ins
        JOIN input i ON i.domain = ins.domain AND i.pipeline = ins.pipeline AND i.partition_key = ins.partition_key
        JOIN upstreams d ON d.ord = i.ord
        ON CONFLICT DO NOTHING
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state)
        SELECT id, created_at, 'enqueue', NULL, state FROM ins ORDER BY id
      ),
      woke AS MATERIALIZED (SELECT pg_notify($10, $11) FROM (SELECT 1 FROM ins LIMIT 1) AS any_created)
      -- Only what the database decided; the rest of each new item is the caller's spec.
      SELECT ins.* FROM ins CROSS JOIN (SELECT count(*) FROM woke) AS notified ORDER BY ins.id`,

    // Taken before an enqueue that declares dependencies, in hash order (no deadlocks). The
    // enqueue statement that follows then sees every completion committed before the lock.
    // $1 domains | $2 pipelines | $3 keys
    lockUpstreams: `
      SELECT pg_advisory_xact_lock(${LOCK_CLASS.upstream}, h)
      FROM (SELECT DISTINCT ${upstreamKey('d', 'p', 'k')} AS h FROM unnest($1::text[], $2::text[], $3::text[]) AS t(d, p, k) ORDER BY h) AS keys`,

    findMany: `
      SELECT w.* FROM ${items} w
      JOIN unnest($1::text[], $2::text[], $3::text[]) AS t(domain, pipeline, partition_key)
        ON w.domain = t.domain AND w.pipeline = t.pipeline AND w.partition_key = t.partition_key`,

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

    heartbeat: `
      UPDATE ${items} SET lease_expires_at = ${DB_NOW} + $3::int * interval '1 millisecond'
      WHERE id = ANY ($1::bigint[]) AND state = 'RUNNING' AND locked_by = $2
      RETURNING id`,

    // Runs inside a transaction (see `complete`). Besides finishing the items, it takes the
    // upstream lock of every completed partition, so an enqueue that is deciding whether a
    // new item must wait on one of them is ordered before or after this completion.
    // $1 item ids | $2 attempt ids | $3 workers | $4 results | $5 output tails
    complete: `
      WITH r AS (
        SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[])
          WITH ORDINALITY AS t(item_id, attempt_id, worker_id, result, output_tail, ord)
      ),
      done AS (
        UPDATE ${items} w
        SET state = '${TRANSITIONS.complete.to}', locked_by = NULL, lease_expires_at = NULL, last_error = NULL,
            updated_at = ${DB_NOW}, finished_at = ${DB_NOW}
        FROM r
        -- Holding the claim (locked_by and current_attempt_id) implies RUNNING: every move
        -- out of RUNNING clears locked_by. Stating the state as well made the planner walk
        -- the partial lease index (every RUNNING row, dead ones included) instead of probing ids.
        WHERE w.id = ANY ($1::bigint[]) AND w.id = r.item_id
          AND w.locked_by = r.worker_id AND w.current_attempt_id = r.attempt_id
        RETURNING w.id, w.current_attempt_id AS attempt_id, r.worker_id, r.ord, w.updated_at, w.domain, w.pipeline, w.partition_key
      ),
      -- Whether each report still holds its item, judged on the statement's snapshot exactly
      -- as done judges it (a row that moves on concurrently also has its attempt closed by
      -- whoever moved it, so status = 'running' below no longer matches). Joining done
      -- instead was quadratic: its row count is unknown to the planner, which nested-looped it.
      checked AS MATERIALIZED (
        SELECT array_agg(coalesce(w.state IN (${FROM('complete')}) AND w.locked_by = r.worker_id AND w.current_attempt_id = r.attempt_id, false) ORDER BY r.ord) AS ok
        FROM r LEFT JOIN ${items} w ON w.id = r.item_id
      ),
      -- Each attempt finds its report by position in the id array rather than by a join: with
      -- few attempts believed to be 'running' the planner nested-looped every attempt against
      -- the whole batch, whatever the statistics. array_position is a C loop over the ids.
      finished_attempts AS (
        UPDATE ${attempts} a
        SET status = CASE WHEN c.ok[array_position($2::bigint[], a.id)] THEN 'succeeded' ELSE 'lost' END,
            finished_at = ${DB_NOW},
            error = CASE WHEN c.ok[array_position($2::bigint[], a.id)] THEN NULL ELSE '${LOST_COMPLETION}' END,
            output_tail = ($5::text[])[array_position($2::bigint[], a.id)],
            result = ($4::jsonb[])[array_position($2::bigint[], a.id)]
        FROM checked c
        WHERE a.id = ANY ($2::bigint[]) AND a.worker_id = ($3::text[])[array_position($2::bigint[], a.id)] AND a.status = 'running'
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor)
        SELECT id, updated_at, 'complete', 'RUNNING', '${TRANSITIONS.complete.to}', worker_id FROM done ORDER BY id
      ),
      upstream_locks AS MATERIALIZED (
        SELECT pg_advisory_xact_lock(${LOCK_CLASS.upstream}, h)
        FROM (SELECT DISTINCT ${upstreamKey('domain', 'pipeline', 'partition_key')} AS h FROM done ORDER BY h) AS keys
      )
      SELECT r.ord, d.id IS NOT NULL AS ok, d.domain, d.pipeline, d.partition_key
      FROM r LEFT JOIN done d ON d.id = r.item_id AND d.attempt_id = r.attempt_id
      CROSS JOIN (SELECT count(*) FROM upstream_locks) AS locked
      ORDER BY r.ord`,

    // WAITING items that wait on any of the given (just completed) upstreams, locked in id
    // order: two transactions completing different upstreams of one item queue up here, so
    // the second one's promotion check (next statement) sees the first one's completion.
    // $1 domains | $2 pipelines | $3 keys
    lockDependents: `
      SELECT w.id FROM ${items} w
      WHERE w.state IN (${FROM('upstream_ready')})
        AND w.id IN (
          SELECT d.item_id FROM ${deps} d
          JOIN unnest($1::text[], $2::text[], $3::text[]) AS t(domain, pipeline, partition_key)
            ON d.up_domain = t.domain AND d.up_pipeline = t.pipeline AND d.up_key = t.partition_key)
      ORDER BY w.id
      FOR UPDATE OF w`,

    // Locked dependents with no open upstream left become PENDING. The event names the
    // upstream whose completion (the last one in this call) released the item.
    // $1 dependent ids | $2..$4 completed upstreams in report order | $5 channel | $6 payload
    promote: `
      WITH completed AS (
        SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(domain, pipeline, partition_key, ord)
      ),
      ready AS (
        SELECT w.id,
               (SELECT c.domain || '.' || c.pipeline || ' [' || c.partition_key || '] completed'
                FROM completed c JOIN ${deps} d
                  ON d.up_domain = c.domain AND d.up_pipeline = c.pipeline AND d.up_key = c.partition_key
                WHERE d.item_id = w.id ORDER BY c.ord DESC LIMIT 1) AS detail
        FROM ${items} w
        WHERE w.id = ANY ($1::bigint[]) AND w.state IN (${FROM('upstream_ready')})
          AND NOT EXISTS (${openUpstreams('w.id')})
      ),
      upd AS (
        UPDATE ${items} w
        SET state = '${TRANSITIONS.upstream_ready.to}', desired_at = greatest(w.desired_at, ${DB_NOW}), updated_at = ${DB_NOW}
        FROM ready r
        WHERE w.id = r.id AND w.state IN (${FROM('upstream_ready')})
        RETURNING w.id, w.updated_at, r.detail
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor, detail)
        SELECT id, updated_at, 'upstream_ready', 'WAITING', '${TRANSITIONS.upstream_ready.to}', NULL, detail FROM upd ORDER BY id
      ),
      woke AS MATERIALIZED (SELECT pg_notify($5, $6) FROM (SELECT 1 FROM upd LIMIT 1) AS any_promoted)
      SELECT (SELECT count(*) FROM upd)::int AS n, (SELECT count(*) FROM woke)::int AS notified`,

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

    // $1 now | $2 channel | $3 payload. Rows being completed right now are skipped, not waited for.
    reclaimExpired: `
      WITH expired AS MATERIALIZED (
        SELECT id, locked_by, current_attempt_id FROM ${items}
        WHERE state = 'RUNNING' AND lease_expires_at < ${nowOr('$1')}
        ORDER BY id
        FOR UPDATE SKIP LOCKED
      ),
      upd AS (
        UPDATE ${items} w
        SET state = CASE WHEN w.attempts < w.max_attempts THEN '${TRANSITIONS.fail_retry.to}' ELSE '${TRANSITIONS.fail_final.to}' END,
            locked_by = NULL, lease_expires_at = NULL,
            last_error = 'lease expired: worker ' || e.locked_by || ' stopped heartbeating (crashed or stalled)',
            -- A lost worker is not the item's fault: retry right away rather than backing off.
            desired_at = CASE WHEN w.attempts < w.max_attempts THEN ${nowOr('$1')} ELSE w.desired_at END,
            updated_at = ${nowOr('$1')},
            finished_at = CASE WHEN w.attempts < w.max_attempts THEN NULL ELSE ${nowOr('$1')} END
        FROM expired e
        WHERE w.id = e.id AND w.state IN (${FROM('fail_retry', 'fail_final')})
        RETURNING w.id, w.state, w.last_error, e.current_attempt_id, w.updated_at
      ),
      lost_attempts AS (
        UPDATE ${attempts} a
        SET status = 'lost', finished_at = u.updated_at, error = u.last_error, output_tail = NULL, result = NULL
        FROM upd u
        WHERE a.id = u.current_attempt_id AND a.status = 'running'
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state, actor, detail)
        SELECT id, updated_at, 'lease_expired', 'RUNNING', state, NULL, last_error FROM upd ORDER BY id
      ),
      woke AS MATERIALIZED (SELECT pg_notify($2, $3) FROM (SELECT 1 FROM upd LIMIT 1) AS any_reclaimed)
      SELECT (SELECT count(*) FROM upd)::int AS n, (SELECT count(*) FROM woke)::int AS notified`,

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

    getItem: `SELECT * FROM ${items} WHERE id = $1`,
    findItem: `SELECT * FROM ${items} WHERE domain = $1 AND pipeline = $2 AND partition_key = $3`,
    countByState: `SELECT domain, pipeline, state, count(*)::int AS count FROM ${items} GROUP BY domain, pipeline, state ORDER BY domain, pipeline, state`,
    attemptsOf: `SELECT * FROM ${attempts} WHERE item_id = $1 ORDER BY attempt_no, id`,
    // Off the (domain, pipeline, partition_key) unique index, in its order. $3 limit (null = all) | $4 offset
    partitionStates: `
      SELECT partition_key, partition, state, id, updated_at FROM ${items}
      WHERE domain = $1 AND pipeline = $2 ORDER BY partition_key LIMIT $3 OFFSET $4`,
    // Keyset variant: $5 the last key of the previous page.
    partitionStatesAfter: `
      SELECT partition_key, partition, state, id, updated_at FROM ${items}
      WHERE domain = $1 AND pipeline = $2 AND partition_key > $5 ORDER BY partition_key LIMIT $3 OFFSET $4`,
    countPartitions: `SELECT count(*)::int AS n FROM ${items} WHERE domain = $1 AND pipeline = $2`,
    // Newest first off attempts_started; filters are checked per row, so the walk stops as
    // soon as LIMIT rows matched. $1 limit | $2 offset | $3 domain | $4 pipeline | $5 status
    recentAttempts: `
      SELECT a.*, w.domain, w.pipeline, w.partition_key, w.state AS item_state
      FROM ${attempts} a JOIN ${items} w ON w.id = a.item_id
      WHERE ($3::text IS NULL OR w.domain = $3) AND ($4::text IS NULL OR w.pipeline = $4)
        AND ($5::text IS NULL OR a.status = $5)
      ORDER BY a.started_at DESC, a.id DESC
      LIMIT $1 OFFSET $2`,
    eventsOf: `SELECT * FROM ${events} WHERE item_id = $1 ORDER BY id`,
    // A WAITING item is "live" when some chain of WAITING items leads from it to an upstream
    // that can still run; one blocked by a FAILED, CANCELLED or never-enqueued upstream is not.
    countOutstanding: `
      WITH RECURSIVE live(id) AS (
        SELECT d.item_id FROM ${deps} d
        JOIN ${items} w ON w.id = d.item_id AND w.state = 'WAITING'
        JOIN ${items} u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
        WHERE u.state IN (${RUNNABLE})
        UNION
        SELECT d.item_id FROM ${deps} d
        JOIN ${items} w ON w.id = d.item_id AND w.state = 'WAITING'
        JOIN ${items} u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
        JOIN live ON live.id = u.id
      )
      SELECT count(*)::int AS n FROM ${items} w
      WHERE (w.state IN (${RUNNABLE}) OR (w.state = 'WAITING' AND w.id IN (SELECT id FROM live)))
        AND ($1::text[] IS NULL OR w.domain || '.' || w.pipeline = ANY ($1::text[]))`,
    dependenciesOf: `
      SELECT d.up_domain AS domain, d.up_pipeline AS pipeline, d.up_key AS "partitionKey", u.state,
             u.id AS "itemId", u.last_error AS "lastError"
      FROM ${deps} d
      LEFT JOIN ${items} u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
      WHERE d.item_id = $1
      ORDER BY d.up_domain, d.up_pipeline, d.up_key`,
    failedSince: `SELECT count(*)::int AS n FROM ${items} WHERE state = 'FAILED' AND finished_at >= $1`,
    // The earliest ready item is the first entry of one of the priority levels.
    nextDesiredAt: `
      WITH RECURSIVE ${levels}
      SELECT min(f.desired_at) AS at
      FROM levels l
      CROSS JOIN LATERAL (
        SELECT w.desired_at FROM ${items} w
        WHERE w.state IN (${READY}) AND w.priority = l.priority
          AND ($1::text[] IS NULL OR w.domain || '.' || w.pipeline = ANY ($1::text[]))
        ORDER BY w.desired_at LIMIT 1
      ) f
      WHERE l.priority IS NOT NULL`,
    // Attempts and dependencies go by ON DELETE CASCADE; events carry no foreign key (it
    // would cost a trigger call on every transition) and are deleted here.
    pruneFinished: `
      WITH gone AS (
        DELETE FROM ${items} WHERE state IN (${inList(TERMINAL_STATES)}) AND finished_at < $1 RETURNING id
      ),
      gone_events AS (DELETE FROM ${events} e USING gone WHERE e.item_id = gone.id)
      SELECT count(*)::int AS n FROM gone`,
    maintain: `VACUUM (ANALYZE) ${items}, ${attempts}, ${events}, ${deps}, ${ticks}, ${leases}`,

    // Scheduler. The tick row is the exactly-once point: unique on (schedule, kind, scheduled_at).
    insertTick: `
      INSERT INTO ${ticks} (schedule, kind, scheduled_at, outcome, detail, scheduler_id)
      VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT DO NOTHING
      RETURNING schedule`,
    markTickFired: `
      UPDATE ${ticks} SET fired_at = ${DB_NOW}, item_ids = $4::jsonb
      WHERE schedule = $1 AND kind = $2 AND scheduled_at = $3`,
    listTicks: `SELECT * FROM ${ticks} WHERE schedule = $1 ORDER BY scheduled_at DESC LIMIT $2`,
    lastTickAt: `SELECT max(scheduled_at) AS at FROM ${ticks} WHERE schedule = $1 AND kind = 'cron'`,
    // Leases are stamped and checked with the database clock, so hosts need not agree.
    acquireLease: `
      INSERT INTO ${leases} AS l (name, holder, expires_at)
      VALUES ($1, $2, ${DB_NOW} + $3::int * interval '1 millisecond')
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE l.holder = excluded.holder OR l.expires_at < ${DB_NOW}
      RETURNING holder`,
    releaseLease: `DELETE FROM ${leases} WHERE name = $1 AND holder = $2`,
    leaseHolder: `SELECT holder, expires_at FROM ${leases} WHERE name = $1 AND expires_at >= ${DB_NOW}`,
  };
}

/**
 * Scale-out store on PostgreSQL. Many worker processes on many hosts share one database:
 * claims take rows with `FOR UPDATE SKIP LOCKED` (no two workers get the same item, none
 * waits on another), per-pipeline concurrency caps are enforced under advisory locks, and
 * LISTEN/NOTIFY wakes idle workers in other processes as soon as work arrives.
 *
 * Every state change is one statement (or one short transaction) built from the transition
 * table in `core/states.ts`; semantics match `SqliteStore` exactly, and
 * `test/store/conformance.test.ts` runs the same suite against both. Where SQLite gets
 * serializability for free from its single writer, this store orders the races that matter
 * with locks: per-pipeline advisory locks for concurrency caps, per-upstream advisory locks
 * between "enqueue an item that waits on X" and "complete X", and row locks on WAITING
 * dependents so two upstreams completing at once cannot both miss the promotion.
 *
 * Also the scheduler's store (`ScheduleStore`): ticks unique on (schedule, kind,
 * scheduled_at), enqueued in the same transaction, and leases on the database clock.
 */
export class PostgresStore implements Store, ScheduleStore {
  readonly backend = 'postgres' as const;
  readonly schema: string;
  private readonly q: string;
  private readonly sql: PgStatements;
  private readonly prepared = new Map<string, pg.QueryConfig>();
  private readonly pgPool: pg.Pool;
  private readonly emitter = new EventEmitter();
  private readonly wakeChannel: string;
  private readonly cancelChannel: string;
  /** Tags this instance's NOTIFYs so its own listener skips them (they were emitted locally). */
  private readonly instanceId = randomUUID();
  private listener: PgListener | null = null;
  private closed = false;

  constructor(private readonly options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'sluice';
    this.q = quoteIdent(this.schema, 'schema name');
    this.sql = pgStatements(this.schema);
    this.wakeChannel = channelName('sluice_wake', this.schema);
    this.cancelChannel = channelName('sluice_cancel', this.schema);
    this.pgPool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      application_name: `sluice:${this.schema}`,
    });
    // An idle pooled connection that dies (server restart) is discarded; the next query
    // opens a new one. Without a handler the error would crash the process.
    this.pgPool.on('error', () => undefined);
    this.emitter.setMaxListeners(0);
  }

  /** The connection pool, for the data layer (staging, MERGE, manifest) on the same database. */
  dataConnection(): DataConnection {
    return { backend: 'postgres', pool: this.pgPool, schema: this.schema };
  }

  get pool(): pg.Pool {
    return this.pgPool;
  }

  async migrate(): Promise<void> {
    await withClient(this.pgPool, (client) => runMigrations(client, this.schema));
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.pgPool.query<{ exists: string | null }>(`SELECT to_regclass($1) AS exists`, [`${this.q}.sluice_migrations`]);
    if (!rows[0]?.exists) return 0;
    const r = await this.pgPool.query<{ v: number }>(`SELECT coalesce(max(version), 0)::int AS v FROM ${this.q}.sluice_migrations`);
    return r.rows[0]?.v ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emitter.removeAllListeners();
    const listener = this.listener;
    this.listener = null;
    await listener?.close();
    await this.pgPool.end();
  }

  /** Runs `fn` in a transaction on one pooled connection. */
  private tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pgPool, fn);
  }

  /** Hot statements are named, so each pooled connection parses and plans them once; batch
   * statements are not (see BATCH_STATEMENTS). */
  private stmt(name: Exclude<keyof PgStatements, 'items' | 'attempts' | 'events' | 'maintain'>): pg.QueryConfig {
    let config = this.prepared.get(name);
    if (!config) {
      config = BATCH_STATEMENTS.has(name) ? { text: this.sql[name] } : { name: `sluice_${name}`, text: this.sql[name] };
      this.prepared.set(name, config);
    }
    return config;
  }

  private wakePayload(): string {
    return this.instanceId;
  }

  private emitWake(): void {
    this.emitter.emit('wake');
  }

  async enqueue(specs: readonly EnqueueSpec[]): Promise<EnqueueOutcome[]> {
    if (specs.length === 0) return [];
    // Without dependencies an enqueue is one statement; with them it is a short
    // transaction that first takes the upstream locks (see `lockUpstreams`).
    const outcomes = specs.some((s) => s.dependencies?.length)
      ? await this.tx((client) => this.enqueueOn(client, specs))
      : await this.enqueueOn(this.pgPool, specs);
    if (outcomes.some((o) => o.created)) this.emitWake();
    return outcomes;
  }

  /** Inserts new items (in spec order) and returns each spec's item. Must run inside a
   * transaction when any spec has dependencies. */
  private async enqueueOn(db: Queryable, specs: readonly EnqueueSpec[]): Promise<EnqueueOutcome[]> {
    const keys = specs.map((s) => partitionKey(s.partition));
    const triples = specs.map((s, i) => tripleKey(s.domain, s.pipeline, keys[i]!));
    // A triple repeated within one batch is inserted once (first spec wins, as in a loop).
    const firstIndex = new Map<string, number>();
    triples.forEach((t, i) => {
      if (!firstIndex.has(t)) firstIndex.set(t, i);
    });
    const unique = firstIndex.size === specs.length ? specs.map((_, i) => i) : [...firstIndex.values()];
    const byTriple = unique.some((i) => specs[i]!.dependencies?.length)
      ? await this.insertDependent(db, specs, keys, triples, firstIndex, unique)
      : await this.insertPlain(db, specs, keys, triples, unique);
    const missing = unique.filter((i) => !byTriple.has(triples[i]!));
    if (missing.length > 0) {
      const found = await db.query<ItemRow>(this.stmt('findMany'), [
        missing.map((i) => specs[i]!.domain),
        missing.map((i) => specs[i]!.pipeline),
        missing.map((i) => keys[i]!),
      ]);
      for (const r of found.rows) byTriple.set(tripleKey(r.domain, r.pipeline, r.partition_key), { item: toItem(r), created: false });
    }
    return specs.map((s, i): EnqueueOutcome => {
      const hit = byTriple.get(triples[i]!);
      if (!hit) throw new Error(`enqueue: work item ${s.domain}.${s.pipeline} [${keys[i]}] was neither inserted nor found`);
      return { item: hit.item, created: hit.created && firstIndex.get(triples[i]!) === i };
    });
  }

  /** The common case (no dependencies): one statement, see `enqueue` in `pgStatements`.
   * Returns the created items by triple. */
  private async insertPlain(
    db: Queryable,
    specs: readonly EnqueueSpec[],
    keys: readonly string[],
    triples: readonly string[],
    unique: readonly number[],
  ): Promise<Map<string, { item: WorkItem; created: boolean }>> {
    // Templates: the distinct (domain, pipeline, params, backoff, max attempts, priority) of
    // the batch. Consecutive specs usually share them (often the very same objects), so the
    // previous spec is checked first and JSON is built once per template.
    const tpl = { domains: [] as string[], pipelines: [] as string[], params: [] as string[], backoffs: [] as string[], maxAttempts: [] as number[], priorities: [] as number[] };
    const tplIndex = new Map<string, number>();
    const rowTpl: number[] = new Array(unique.length);
    const paramsJson: string[] = new Array(unique.length);
    const partitions: EnqueueSpec['partition'][] = new Array(unique.length);
    let desired: (string | null)[] | null = null;
    let prev: EnqueueSpec | undefined;
    let prevTpl = 0;
    let prevParams = '{}';
    for (let n = 0; n < unique.length; n++) {
      const s = specs[unique[n]!]!;
      partitions[n] = s.partition;
      if (s.desiredAt) (desired ??= new Array<string | null>(unique.length).fill(null))[n] = s.desiredAt.toISOString();
      if (prev && s.domain === prev.domain && s.pipeline === prev.pipeline && s.params === prev.params && s.backoff === prev.backoff && s.maxAttempts === prev.maxAttempts && (s.priority ?? 0) === (prev.priority ?? 0)) {
        rowTpl[n] = prevTpl;
        paramsJson[n] = prevParams;
        continue;
      }
      const pj = s.params === undefined ? '{}' : JSON.stringify(s.params);
      const bj = JSON.stringify(s.backoff);
      const priority = s.priority ?? 0;
      const id = `${s.domain}\u0000${s.pipeline}\u0000${pj}\u0000${bj}\u0000${s.maxAttempts}\u0000${priority}`;
      let t = tplIndex.get(id);
      if (t === undefined) {
        tpl.domains.push(s.domain);
        tpl.pipelines.push(s.pipeline);
        tpl.params.push(pj);
        tpl.backoffs.push(bj);
        tpl.maxAttempts.push(s.maxAttempts);
        tpl.priorities.push(priority);
        t = tpl.domains.length; // 1-based, as SQL arrays
        tplIndex.set(id, t);
      }
      rowTpl[n] = prevTpl = t;
      paramsJson[n] = prevParams = pj;
      prev = s;
    }
    const { rows } = await db.query<{ now: Date; n: number; ids: string }>(this.stmt('enqueue'), [
      tpl.domains,
      tpl.pipelines,
      tpl.params,
      tpl.backoffs,
      tpl.maxAttempts,
      tpl.priorities,
      rowTpl,
      unique.map((i) => keys[i]!),
      JSON.stringify(partitions),
      desired,
      this.wakeChannel,
      this.wakePayload(),
    ]);
    const { now, n: created, ids: idText } = rows[0]!;
    const ids = created === 0 ? [] : idText.split(',').map(Number);
    const out = new Map<string, { item: WorkItem; created: boolean }>();
    const add = (n: number, id: number) => {
      const i = unique[n]!;
      out.set(triples[i]!, { item: itemFromSpec(id, specs[i]!, keys[i]!, paramsJson[n]!, 'PENDING', now), created: true });
    };
    if (created === unique.length) {
      // Every spec made an item; ids ascend in input order.
      for (let n = 0; n < unique.length; n++) add(n, ids[n]!);
    } else if (created > 0) {
      // Some existed: which triples are the new ids? (They still ascend in input order.)
      const made = await db.query<{ id: string; domain: string; pipeline: string; partition_key: string }>(this.stmt('triplesOf'), [ids]);
      const idOf = new Map(made.rows.map((r) => [tripleKey(r.domain, r.pipeline, r.partition_key), Number(r.id)]));
      for (let n = 0; n < unique.length; n++) {
        const id = idOf.get(triples[unique[n]!]!);
        if (id !== undefined) add(n, id);
      }
    }
    return out;
  }

  /** Enqueue with dependencies: upstream locks first, then one statement that decides
   * WAITING or PENDING per item (see `enqueueDependent`). */
  private async insertDependent(
    db: Queryable,
    specs: readonly EnqueueSpec[],
    keys: readonly string[],
    triples: readonly string[],
    firstIndex: ReadonlyMap<string, number>,
    unique: readonly number[],
  ): Promise<Map<string, { item: WorkItem; created: boolean }>> {
    const dependencies = unique.flatMap((i, n) => (specs[i]!.dependencies ?? []).map((d) => ({ ord: n + 1, ...d })));
    await db.query(this.stmt('lockUpstreams'), [
      dependencies.map((d) => d.domain),
      dependencies.map((d) => d.pipeline),
      dependencies.map((d) => d.partitionKey),
    ]);
    const pick = <T>(f: (s: EnqueueSpec, i: number) => T) => unique.map((i) => f(specs[i]!, i));
    const params = specs.map((s, i) => (firstIndex.get(triples[i]!) === i ? JSON.stringify(s.params ?? {}) : ''));
    const { rows } = await db.query<InsertedRow>(this.stmt('enqueueDependent'), [
      pick((s) => s.domain),
      pick((s) => s.pipeline),
      pick((_, i) => keys[i]!),
      pick((s) => JSON.stringify(s.partition)),
      pick((_, i) => params[i]!),
      pick((s) => s.priority ?? 0),
      pick((s) => s.desiredAt?.toISOString() ?? null),
      pick((s) => s.maxAttempts),
      pick((s) => JSON.stringify(s.backoff)),
      this.wakeChannel,
      this.wakePayload(),
      dependencies.map((d) => d.ord),
      dependencies.map((d) => d.domain),
      dependencies.map((d) => d.pipeline),
      dependencies.map((d) => d.partitionKey),
    ]);
    const out = new Map<string, { item: WorkItem; created: boolean }>();
    for (const r of rows) {
      const t = tripleKey(r.domain, r.pipeline, r.partition_key);
      const i = firstIndex.get(t)!;
      out.set(t, { item: itemFromSpec(Number(r.id), specs[i]!, keys[i]!, params[i]!, r.state, r.created_at), created: true });
    }
    return out;
  }

  async claim(request: ClaimRequest): Promise<ClaimedItem[]> {
    if (request.limit <= 0) return [];
    const now = request.now ?? null;
    const only = request.pipelines ? [...request.pipelines] : null;
    const limits = Object.entries(request.concurrencyLimits ?? {}).filter(([key]) => only === null || only.includes(key));
    const capKeys = limits.map(([k]) => k);
    const caps = limits.map(([, n]) => Math.max(0, Math.trunc(n)));
    // Fast path: one statement, no explicit transaction, as long as no capped pipeline is
    // among the items it would take.
    const fast = await this.pgPool.query<ItemRow & { blocked: boolean }>(this.stmt('claimFast'), [
      now,
      request.workerId,
      Math.round(request.leaseMs),
      request.limit,
      request.limit,
      only,
      capKeys,
    ]);
    if (!fast.rows[0]?.blocked) return fast.rows.filter((r) => r.id !== null).map(toClaimed);
    return this.tx(async (client) => {
      await client.query(this.stmt('lockPipelines'), [capKeys]);
      const claimed: ClaimedItem[] = [];
      // Each round recounts RUNNING rows (including this transaction's own claims) and skips
      // pipelines that are full; a few rounds fill the request or saturate every cap.
      for (let round = 0; round < 4 && claimed.length < request.limit; round++) {
        const want = request.limit - claimed.length;
        const fetch = want * 2;
        const { rows } = await client.query<ItemRow & { fetched: number }>(this.stmt('claimCapped'), [
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

  async claimItem(itemId: number, workerId: string, leaseMs: number): Promise<ClaimedItem | null> {
    const { rows } = await this.pgPool.query<ItemRow>(this.stmt('claimItem'), [null, workerId, Math.round(leaseMs), itemId]);
    return rows[0] ? toClaimed(rows[0]) : null;
  }

  async heartbeat(workerId: string, itemIds: readonly number[], leaseMs: number): Promise<number[]> {
    if (itemIds.length === 0) return [];
    const { rows } = await this.pgPool.query<{ id: string }>(this.stmt('heartbeat'), [[...itemIds], workerId, Math.round(leaseMs)]);
    const owned = new Set(rows.map((r) => Number(r.id)));
    return itemIds.filter((id) => owned.has(id));
  }

  /**
   * Completes a batch in one transaction: one statement finishes every item and attempt;
   * one more looks for WAITING items that waited on them, and only if there are some, a
   * third promotes those whose last open upstream this was.
   */
  async complete(reports: readonly CompletionReport[]): Promise<boolean[]> {
    if (reports.length === 0) return [];
    const { results, promoted } = await this.tx(async (client) => {
      const { rows } = await client.query<{ ok: boolean; domain: string | null; pipeline: string | null; partition_key: string | null }>(
        this.stmt('complete'),
        [
          reports.map((r) => r.itemId),
          reports.map((r) => r.attemptId),
          reports.map((r) => r.workerId),
          reports.map((r) => (r.result ? JSON.stringify(r.result) : null)),
          reports.map((r) => r.outputTail ?? null),
        ],
      );
      const done = rows.filter((r) => r.ok);
      if (done.length) crashPoint('in_complete');
      let promoted = 0;
      if (done.length > 0) {
        const upstreams = [done.map((d) => d.domain), done.map((d) => d.pipeline), done.map((d) => d.partition_key)];
        const dependents = await client.query<{ id: string }>(this.stmt('lockDependents'), upstreams);
        if (dependents.rows.length > 0) {
          const p = await client.query<{ n: number }>(this.stmt('promote'), [
            dependents.rows.map((r) => r.id),
            ...upstreams,
            this.wakeChannel,
            this.wakePayload(),
          ]);
          promoted = p.rows[0]?.n ?? 0;
          if (promoted) crashPoint('in_promotion');
        }
      }
      return { results: rows.map((r) => r.ok), promoted };
    });
    if (promoted > 0) this.emitWake();
    return results;
  }

  async fail(report: FailureReport): Promise<WorkItem | null> {
    const { rows } = await this.pgPool.query<ItemRow>(this.stmt('fail'), [
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

  async release(report: CompletionReport & { reason: string }): Promise<boolean> {
    const { rows } = await this.pgPool.query<{ changed: number }>(this.stmt('release'), [
      report.itemId,
      report.workerId,
      report.attemptId,
      report.reason,
      report.outputTail ?? null,
      this.wakeChannel,
      this.wakePayload(),
    ]);
    const changed = (rows[0]?.changed ?? 0) > 0;
    if (changed) this.emitWake();
    return changed;
  }

  async reclaimExpired(now?: Date): Promise<number> {
    const { rows } = await this.pgPool.query<{ n: number }>(this.stmt('reclaimExpired'), [now ?? null, this.wakeChannel, this.wakePayload()]);
    const n = rows[0]?.n ?? 0;
    if (n > 0) this.emitWake();
    return n;
  }

  async cancel(itemId: number, actor: string | null = null): Promise<CommandOutcome> {
    const outcome = await this.tx(async (client) => {
      const current = await this.lockRow(client, itemId);
      if (!(TRANSITIONS.cancel.from as readonly WorkState[]).includes(current.state)) {
        if (current.state === 'CANCELLED') return { item: toItem(current), changed: false };
        throw new TransitionError(itemId, current.state, 'cancel');
      }
      const { rows } = await client.query<ItemRow>(this.stmt('cancel'), [
        itemId,
        actor,
        current.state,
        current.state === 'RUNNING' ? current.current_attempt_id : null,
        this.cancelChannel,
        `${itemId}:${this.instanceId}`,
      ]);
      return { item: toItem(rows[0]!), changed: true };
    });
    if (outcome.changed) this.emitter.emit('cancel', itemId);
    return outcome;
  }

  async retry(filter: RetryFilter, actor: string | null = null): Promise<WorkItem[]> {
    let items: WorkItem[];
    if (filter.id !== undefined) {
      const id = filter.id;
      items = await this.tx(async (client) => {
        const current = await this.lockRow(client, id);
        if (!(TRANSITIONS.retry.from as readonly WorkState[]).includes(current.state)) {
          throw new TransitionError(id, current.state, 'retry');
        }
        const { rows } = await client.query<ItemRow>(this.stmt('retryOne'), [id, actor, this.wakeChannel, this.wakePayload()]);
        return rows.map(toItem);
      });
    } else {
      const { rows } = await this.pgPool.query<ItemRow>(this.stmt('retryFailed'), [
        filter.domain ?? null,
        filter.pipeline ?? null,
        actor,
        this.wakeChannel,
        this.wakePayload(),
      ]);
      items = rows.map(toItem);
    }
    if (items.length > 0) this.emitWake();
    return items;
  }

  async rerun(itemId: number, actor: string | null = null): Promise<CommandOutcome> {
    const outcome = await this.tx(async (client): Promise<CommandOutcome> => {
      const current = await this.lockRow(client, itemId);
      if (!(TRANSITIONS.rerun.from as readonly WorkState[]).includes(current.state)) return { item: toItem(current), changed: false };
      const { rows } = await client.query<ItemRow>(this.stmt('rerunOne'), [itemId, actor, this.wakeChannel, this.wakePayload()]);
      return { item: toItem(rows[0]!), changed: true };
    });
    if (outcome.changed) this.emitWake();
    return outcome;
  }

  private async lockRow(client: pg.PoolClient, id: number): Promise<ItemRow> {
    const { rows } = await client.query<ItemRow>(this.stmt('lockItem'), [id]);
    if (!rows[0]) throw new NotFoundError('work item', id);
    return rows[0];
  }

  async getItem(itemId: number): Promise<WorkItem | null> {
    const { rows } = await this.pgPool.query<ItemRow>(this.stmt('getItem'), [itemId]);
    return rows[0] ? toItem(rows[0]) : null;
  }

  async findItem(domain: string, pipeline: string, key: string): Promise<WorkItem | null> {
    const { rows } = await this.pgPool.query<ItemRow>(this.stmt('findItem'), [domain, pipeline, key]);
    return rows[0] ? toItem(rows[0]) : null;
  }

  private where(filter: ListFilter): { sql: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const bind = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.state !== undefined) {
      const states = typeof filter.state === 'string' ? [filter.state] : [...filter.state];
      clauses.push(`state = ANY (${bind(states)}::text[])`);
    }
    if (filter.domain !== undefined) clauses.push(`domain = ${bind(filter.domain)}`);
    if (filter.pipeline !== undefined) clauses.push(`pipeline = ${bind(filter.pipeline)}`);
    if (filter.partitionKey !== undefined) clauses.push(`partition_key = ${bind(filter.partitionKey)}`);
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  async listItems(filter: ListFilter = {}): Promise<WorkItem[]> {
    const { sql, params } = this.where(filter);
    const order = filter.order === 'oldest' ? 'ASC' : 'DESC';
    const n = params.length;
    const { rows } = await this.pgPool.query<ItemRow>(
      `SELECT * FROM ${this.sql.items} ${sql} ORDER BY id ${order} LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, filter.limit ?? 1000, filter.offset ?? 0],
    );
    return rows.map(toItem);
  }

  async countItems(filter: ListFilter = {}): Promise<number> {
    const { sql, params } = this.where(filter);
    const { rows } = await this.pgPool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.sql.items} ${sql}`, params);
    return rows[0]?.n ?? 0;
  }

  async countByState(): Promise<StateCount[]> {
    const { rows } = await this.pgPool.query<StateCount>(this.stmt('countByState'));
    return rows;
  }

  async listAttempts(itemId: number): Promise<Attempt[]> {
    const { rows } = await this.pgPool.query<AttemptRow>(this.stmt('attemptsOf'), [itemId]);
    return rows.map(toAttempt);
  }

  async partitionStates(domain: string, pipeline: string, opts: PartitionStatesOptions = {}): Promise<PartitionState[]> {
    const values: unknown[] = [domain, pipeline, opts.limit ?? null, opts.offset ?? 0];
    if (opts.after !== undefined) values.push(opts.after);
    const { rows } = await this.pgPool.query<[string, Partition, WorkState, string, Date]>({
      ...this.stmt(opts.after === undefined ? 'partitionStates' : 'partitionStatesAfter'),
      rowMode: 'array',
      values,
    } as pg.QueryArrayConfig);
    const out: PartitionState[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [partitionKey, partition, state, id, updatedAt] = rows[i]!;
      out[i] = { partitionKey, partition, state, itemId: Number(id), updatedAt };
    }
    return out;
  }

  async countPartitions(domain: string, pipeline: string): Promise<number> {
    const { rows } = await this.pgPool.query<{ n: number }>(this.stmt('countPartitions'), [domain, pipeline]);
    return rows[0]?.n ?? 0;
  }

  async listRecentAttempts(filter: RecentAttemptsFilter): Promise<RecentAttempt[]> {
    const { rows } = await this.pgPool.query<RecentAttemptRow>(this.stmt('recentAttempts'), [
      filter.limit,
      filter.offset ?? 0,
      filter.domain ?? null,
      filter.pipeline ?? null,
      filter.status ?? null,
    ]);
    return rows.map((r) => ({ ...toAttempt(r), domain: r.domain, pipeline: r.pipeline, partitionKey: r.partition_key, itemState: r.item_state }));
  }

  async listEvents(itemId: number): Promise<WorkEvent[]> {
    const { rows } = await this.pgPool.query<EventRow>(this.stmt('eventsOf'), [itemId]);
    return rows.map((r) => ({
      id: Number(r.id),
      itemId: Number(r.item_id),
      at: r.at,
      event: r.event,
      fromState: r.from_state,
      toState: r.to_state,
      actor: r.actor,
      detail: r.detail,
    }));
  }

  async listDependencies(itemId: number): Promise<DependencyStatus[]> {
    const { rows } = await this.pgPool.query<Omit<DependencyStatus, 'itemId'> & { itemId: string | null }>(this.stmt('dependenciesOf'), [itemId]);
    return rows.map((r) => ({ ...r, itemId: r.itemId === null ? null : Number(r.itemId) }));
  }

  async countOutstanding(pipelines?: readonly string[]): Promise<number> {
    const { rows } = await this.pgPool.query<{ n: number }>(this.stmt('countOutstanding'), [pipelines ? [...pipelines] : null]);
    return rows[0]?.n ?? 0;
  }

  async countFailedSince(since: Date): Promise<number> {
    const { rows } = await this.pgPool.query<{ n: number }>(this.stmt('failedSince'), [since]);
    return rows[0]?.n ?? 0;
  }

  async nextDesiredAt(pipelines?: readonly string[]): Promise<Date | null> {
    const { rows } = await this.pgPool.query<{ at: Date | null }>(this.stmt('nextDesiredAt'), [pipelines ? [...pipelines] : null]);
    return rows[0]?.at ?? null;
  }

  async pruneFinished(before: Date): Promise<number> {
    const { rows } = await this.pgPool.query<{ n: number }>(this.stmt('pruneFinished'), [before]);
    return rows[0]?.n ?? 0;
  }

  /** VACUUM cannot run inside a transaction block; a pooled query runs in autocommit. */
  async maintain(): Promise<void> {
    await this.pgPool.query(this.sql.maintain);
  }

  async fireTick(tick: Omit<TickRecord, 'itemIds' | 'firedAt'>, specs: readonly EnqueueSpec[]): Promise<{ recorded: boolean; outcomes: EnqueueOutcome[] }> {
    const result = await this.tx(async (client) => {
      const inserted = await client.query(this.stmt('insertTick'), [tick.schedule, tick.kind, tick.scheduledAt, tick.outcome, tick.detail, tick.schedulerId]);
      if (inserted.rowCount !== 1 || tick.outcome !== 'fired') return { recorded: inserted.rowCount === 1, outcomes: [] };
      const outcomes = specs.length > 0 ? await this.enqueueOn(client, specs) : [];
      await client.query(this.stmt('markTickFired'), [tick.schedule, tick.kind, tick.scheduledAt, JSON.stringify(outcomes.map((o) => o.item.id))]);
      return { recorded: true, outcomes };
    });
    if (result.outcomes.some((o) => o.created)) this.emitWake();
    return result;
  }

  async listTicks(schedule: string, limit: number): Promise<TickRecord[]> {
    const { rows } = await this.pgPool.query<{
      schedule: string;
      kind: TickRecord['kind'];
      scheduled_at: Date;
      outcome: TickRecord['outcome'];
      fired_at: Date | null;
      detail: string | null;
      item_ids: number[];
      scheduler_id: string;
    }>(this.stmt('listTicks'), [schedule, limit]);
    return rows.map((r) => ({
      schedule: r.schedule,
      kind: r.kind,
      scheduledAt: r.scheduled_at,
      outcome: r.outcome,
      firedAt: r.fired_at,
      detail: r.detail,
      itemIds: r.item_ids,
      schedulerId: r.scheduler_id,
    }));
  }

  async lastTickAt(schedule: string): Promise<Date | null> {
    const { rows } = await this.pgPool.query<{ at: Date | null }>(this.stmt('lastTickAt'), [schedule]);
    return rows[0]?.at ?? null;
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const { rows } = await this.pgPool.query<{ holder: string }>(this.stmt('acquireLease'), [name, holder, Math.round(ttlMs)]);
    return rows[0]?.holder === holder;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.pgPool.query(this.stmt('releaseLease'), [name, holder]);
  }

  async leaseHolder(name: string): Promise<{ holder: string; expiresAt: Date } | null> {
    const { rows } = await this.pgPool.query<{ holder: string; expires_at: Date }>(this.stmt('leaseHolder'), [name]);
    return rows[0] ? { holder: rows[0].holder, expiresAt: rows[0].expires_at } : null;
  }

  onWake(listener: () => void): () => void {
    this.emitter.on('wake', listener);
    this.ensureListener();
    return () => this.emitter.off('wake', listener);
  }

  onCancel(listener: (itemId: number) => void): () => void {
    this.emitter.on('cancel', listener);
    this.ensureListener();
    return () => this.emitter.off('cancel', listener);
  }

  /** Resolves once this store's LISTEN connection is up (starting it if needed). Lets
   * callers (and tests) be sure a NOTIFY sent from now on will be seen. */
  listenerReady(): Promise<void> {
    return this.ensureListener()?.ready() ?? Promise.resolve();
  }

  private ensureListener(): PgListener | null {
    if (this.closed) return null;
    if (!this.listener) {
      this.listener = new PgListener({
        connectionString: this.options.connectionString,
        channels: [this.wakeChannel, this.cancelChannel],
        applicationName: `sluice-listener:${this.schema}`,
        onNotification: (channel, payload) => this.onNotification(channel, payload),
        // Notifications sent while the connection was down are lost: assume work arrived.
        onRecovered: () => this.emitWake(),
      });
      this.listener.start();
    }
    return this.listener;
  }

  private onNotification(channel: string, payload: string): void {
    if (channel === this.wakeChannel) {
      if (payload !== this.instanceId) this.emitWake();
    } else if (channel === this.cancelChannel) {
      const sep = payload.indexOf(':');
      const id = Number(sep < 0 ? payload : payload.slice(0, sep));
      const from = sep < 0 ? '' : payload.slice(sep + 1);
      if (from !== this.instanceId && Number.isFinite(id)) this.emitter.emit('cancel', id);
    }
  }
}
