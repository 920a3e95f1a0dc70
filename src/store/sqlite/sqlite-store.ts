import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';
import { NotFoundError, TransitionError } from '../../core/errors.js';
import { partitionKey } from '../../core/partition.js';
import { TRANSITIONS, type TransitionName, type WorkState } from '../../core/states.js';
import type { Attempt, Backoff, WorkEvent, WorkItem } from '../../core/work-item.js';
import { crashPoint } from '../../core/crash-points.js';
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
import { itemFromSpec } from '../new-item.js';
import { SQLITE_MIGRATIONS } from './schema.js';

/** `IN (...)` list for a transition's source states; values come from the constant table, never from input. */
const inList = (states: readonly WorkState[]) => states.map((s) => `'${s}'`).join(', ');
const FROM = (t: TransitionName) => inList(TRANSITIONS[t].from);

interface ItemRow {
  id: number;
  domain: string;
  pipeline: string;
  partition_key: string;
  partition: string;
  params: string;
  state: WorkState;
  priority: number;
  desired_at: number;
  attempts: number;
  total_attempts: number;
  max_attempts: number;
  backoff: string;
  locked_by: string | null;
  lease_expires_at: number | null;
  current_attempt_id: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

function toItem(row: ItemRow): WorkItem {
  return {
    id: row.id,
    domain: row.domain,
    pipeline: row.pipeline,
    partition: JSON.parse(row.partition),
    partitionKey: row.partition_key,
    params: JSON.parse(row.params),
    state: row.state,
    priority: row.priority,
    desiredAt: new Date(row.desired_at),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    totalAttempts: row.total_attempts,
    backoff: JSON.parse(row.backoff),
    lockedBy: row.locked_by,
    leaseExpiresAt: row.lease_expires_at === null ? null : new Date(row.lease_expires_at),
    currentAttemptId: row.current_attempt_id,
    lastError: row.last_error,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
  };
}

interface AttemptRow {
  id: number;
  item_id: number;
  attempt_no: number;
  worker_id: string;
  status: Attempt['status'];
  started_at: number;
  finished_at: number | null;
  error: string | null;
  output_tail: string | null;
  result: string | null;
}

function toAttempt(row: AttemptRow): Attempt {
  return {
    id: row.id,
    itemId: row.item_id,
    attemptNo: row.attempt_no,
    workerId: row.worker_id,
    status: row.status,
    startedAt: new Date(row.started_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
    error: row.error,
    outputTail: row.output_tail,
    result: row.result === null ? null : JSON.parse(row.result),
  };
}

interface RecentAttemptRow extends AttemptRow {
  domain: string;
  pipeline: string;
  partition_key: string;
  item_state: WorkState;
}


export interface SqliteStoreOptions {
  /** File path, or `:memory:` (single process only). */
  path: string;
  /** How long a writer waits for the file lock held by another process. */
  busyTimeoutMs?: number;
}

/**
 * Embedded store on one SQLite file in WAL mode. Several processes may share the file:
 * every state change runs in a `BEGIN IMMEDIATE` transaction, so claims are serialized by
 * SQLite's write lock and no two workers can take the same item. Calls are synchronous
 * underneath (better-sqlite3); they are wrapped in promises only to honour the Store
 * interface shared with PostgreSQL.
 */
export class SqliteStore implements Store, ScheduleStore {
  readonly backend = 'sqlite' as const;
  private readonly db: DB;
  private readonly wake = new EventEmitter();
  private prepared: ReturnType<SqliteStore['prepare']> | undefined;

  constructor(readonly options: SqliteStoreOptions) {
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable across process crashes (only an OS crash can lose the
    // last transactions), which is the failure model of a worker being SIGKILLed.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 10_000)}`);
    this.db.pragma('foreign_keys = ON');
    this.wake.setMaxListeners(0);
  }

  /** Direct handle for the data layer (staging, MERGE, manifest) on the same file. */
  get database(): DB {
    return this.db;
  }

  dataConnection(): DataConnection {
    return { backend: 'sqlite', database: this.db };
  }

  private get s() {
    if (!this.prepared) this.prepared = this.prepare();
    return this.prepared;
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS sluice_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const apply = this.db.transaction(() => {
      const done = new Set(this.db.prepare('SELECT version FROM sluice_migrations').pluck().all() as number[]);
      for (const m of SQLITE_MIGRATIONS) {
        if (done.has(m.version)) continue;
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO sluice_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }
    });
    apply.immediate();
  }

  async schemaVersion(): Promise<number> {
    return (this.db.prepare('SELECT coalesce(max(version), 0) FROM sluice_migrations').pluck().get() as number) ?? 0;
  }

  async close(): Promise<void> {
    this.wake.removeAllListeners();
    if (this.db.open) this.db.close();
  }

  private prepare() {
    const db = this.db;
    return {
      insertItem: db.prepare(`
        INSERT INTO work_items (domain, pipeline, partition_key, partition, params, state, priority, desired_at,
                                max_attempts, backoff, created_at, updated_at)
        VALUES (@domain, @pipeline, @partition_key, @partition, @params, 'PENDING', @priority, @desired_at,
                @max_attempts, @backoff, @now, @now)
        ON CONFLICT (domain, pipeline, partition_key) DO NOTHING`),
      findItem: db.prepare('SELECT * FROM work_items WHERE domain = ? AND pipeline = ? AND partition_key = ?'),
      getItem: db.prepare('SELECT * FROM work_items WHERE id = ?'),
      insertEvent: db.prepare(
        'INSERT INTO work_events (item_id, at, event, from_state, to_state, actor, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      runningCounts: db.prepare(
        `SELECT domain || '.' || pipeline AS key, count(*) AS n FROM work_items WHERE state = 'RUNNING' GROUP BY domain, pipeline`,
      ),
      // Candidates in claim order, straight off the partial index. The optional key lists
      // are JSON arrays so the statement stays prepared whatever the worker's pipelines.
      // INDEXED BY: left to itself the planner picks the (state, …) index and sorts every
      // ready row on each claim, which made a claim O(queue depth).
      candidates: db.prepare(`
        SELECT id, domain || '.' || pipeline AS key, state, total_attempts FROM work_items INDEXED BY work_items_ready
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
      firstDueAt: db.prepare(`
        SELECT desired_at FROM work_items INDEXED BY work_items_ready
        WHERE state IN (${FROM('claim')}) AND priority = @priority
          AND (@only IS NULL OR domain || '.' || pipeline IN (SELECT value FROM json_each(@only)))
        ORDER BY desired_at LIMIT 1`),
      insertAttempt: db.prepare(
        `INSERT INTO attempts (item_id, attempt_no, worker_id, status, started_at) VALUES (?, ?, ?, 'running', ?)`,
      ),
      claimOne: db.prepare(`
        UPDATE work_items
        SET state = 'RUNNING', attempts = attempts + 1, total_attempts = total_attempts + 1, locked_by = @worker,
            lease_expires_at = @lease, current_attempt_id = @attempt, updated_at = @now
        WHERE id = @id AND state IN (${FROM('claim')})
        RETURNING *`),
      heartbeat: db.prepare(`
        UPDATE work_items SET lease_expires_at = @lease
        WHERE id = @id AND state = 'RUNNING' AND locked_by = @worker
        RETURNING id`),
      ownedAttempt: db.prepare(
        `SELECT * FROM work_items WHERE id = ? AND state = 'RUNNING' AND locked_by = ? AND current_attempt_id = ?`,
      ),
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
      expired: db.prepare(`SELECT * FROM work_items WHERE state = 'RUNNING' AND lease_expires_at < ?`),
      cancelItem: db.prepare(`
        UPDATE work_items SET state = 'CANCELLED', locked_by = NULL, lease_expires_at = NULL, updated_at = @now,
                              finished_at = @now
        WHERE id = @id AND state IN (${FROM('cancel')})`),
      toPending: db.prepare(`
        UPDATE work_items SET state = 'PENDING', attempts = 0, last_error = NULL, desired_at = @now, updated_at = @now,
                              finished_at = NULL
        WHERE id = @id`),
      insertDependency: db.prepare('INSERT OR IGNORE INTO work_dependencies (item_id, up_domain, up_pipeline, up_key) VALUES (?, ?, ?, ?)'),
      // Upstreams of an item that are not COMPLETE (including ones never enqueued).
      openUpstreams: db.prepare(`
        SELECT count(*) FROM work_dependencies d
        LEFT JOIN work_items u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
        WHERE d.item_id = ? AND (u.state IS NULL OR u.state <> 'COMPLETE')`),
      setWaiting: db.prepare(`UPDATE work_items SET state = 'WAITING' WHERE id = ?`),
      waitingDependents: db.prepare(`
        SELECT w.id FROM work_dependencies d JOIN work_items w ON w.id = d.item_id
        WHERE d.up_domain = ? AND d.up_pipeline = ? AND d.up_key = ? AND w.state IN (${FROM('upstream_ready')})`),
      promote: db.prepare(`UPDATE work_items SET state = 'PENDING', desired_at = max(desired_at, @now), updated_at = @now WHERE id = @id AND state IN (${FROM('upstream_ready')})`),
      dependenciesOf: db.prepare(`
        SELECT d.up_domain AS domain, d.up_pipeline AS pipeline, d.up_key AS partitionKey, u.state AS state, u.id AS itemId, u.last_error AS lastError
        FROM work_dependencies d
        LEFT JOIN work_items u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
        WHERE d.item_id = ? ORDER BY d.up_domain, d.up_pipeline, d.up_key`),
      attemptsOf: db.prepare('SELECT * FROM attempts WHERE item_id = ? ORDER BY attempt_no'),
      eventsOf: db.prepare('SELECT * FROM work_events WHERE item_id = ? ORDER BY id'),
      countByState: db.prepare('SELECT domain, pipeline, state, count(*) AS count FROM work_items GROUP BY domain, pipeline, state'),
      // Off the (domain, pipeline, partition_key) unique index, in its order. LIMIT -1 = all.
      partitionStates: db.prepare(`
        SELECT partition_key, partition, state, id, updated_at FROM work_items
        WHERE domain = ? AND pipeline = ? ORDER BY partition_key LIMIT ? OFFSET ?`),
      partitionStatesAfter: db.prepare(`
        SELECT partition_key, partition, state, id, updated_at FROM work_items
        WHERE domain = ? AND pipeline = ? AND partition_key > ? ORDER BY partition_key LIMIT ? OFFSET ?`),
      countPartitions: db.prepare('SELECT count(*) FROM work_items WHERE domain = ? AND pipeline = ?'),
      // Newest first off attempts_started (started_at, rowid); filters are checked per row,
      // so the walk stops as soon as LIMIT rows matched.
      recentAttempts: db.prepare(`
        SELECT a.*, w.domain, w.pipeline, w.partition_key, w.state AS item_state
        FROM attempts a
        JOIN work_items w ON w.id = a.item_id
        WHERE (@domain IS NULL OR w.domain = @domain) AND (@pipeline IS NULL OR w.pipeline = @pipeline)
          AND (@status IS NULL OR a.status = @status)
        ORDER BY a.started_at DESC, a.id DESC
        LIMIT @limit OFFSET @offset`),
      failedSince: db.prepare(`SELECT count(*) FROM work_items WHERE state = 'FAILED' AND finished_at >= ?`),
    };
  }

  private event(itemId: number, now: number, event: string, from: WorkState | null, to: WorkState, actor: string | null, detail: string | null = null) {
    this.s.insertEvent.run(itemId, now, event, from, to, actor, detail);
  }

  /** Inserts new items (or finds the existing ones); call inside a write transaction. A new
   * item is built from its spec rather than read back: nothing else can have changed it
   * inside this transaction, and large batches skip a row read and three JSON parses each. */
  private enqueueRows(specs: readonly EnqueueSpec[], now: number): EnqueueOutcome[] {
    const out: EnqueueOutcome[] = new Array(specs.length);
    // Specs of one batch usually share their backoff object: serialize it once.
    let lastBackoff: Backoff | undefined;
    let lastBackoffJson = '';
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const key = partitionKey(spec.partition);
      const paramsJson = spec.params === undefined ? '{}' : JSON.stringify(spec.params);
      if (spec.backoff !== lastBackoff) {
        lastBackoff = spec.backoff;
        lastBackoffJson = JSON.stringify(spec.backoff);
      }
      const inserted = this.s.insertItem.run({
        domain: spec.domain,
        pipeline: spec.pipeline,
        partition_key: key,
        partition: JSON.stringify(spec.partition),
        params: paramsJson,
        priority: spec.priority ?? 0,
        desired_at: spec.desiredAt?.getTime() ?? now,
        max_attempts: spec.maxAttempts,
        backoff: lastBackoffJson,
        now,
      });
      if (inserted.changes === 1) {
        const id = Number(inserted.lastInsertRowid);
        let state: WorkState = 'PENDING';
        if (spec.dependencies?.length) {
          for (const d of spec.dependencies) this.s.insertDependency.run(id, d.domain, d.pipeline, d.partitionKey);
          if ((this.s.openUpstreams.pluck().get(id) as number) > 0) {
            this.s.setWaiting.run(id);
            state = 'WAITING';
          }
        }
        this.s.insertEvent.run(id, now, 'enqueue', null, state, null, null);
        out[i] = { item: itemFromSpec(id, spec, key, paramsJson, state, new Date(now)), created: true };
      } else {
        out[i] = { item: toItem(this.s.findItem.get(spec.domain, spec.pipeline, key) as ItemRow), created: false };
      }
    }
    return out;
  }

  async enqueue(specs: readonly EnqueueSpec[]): Promise<EnqueueOutcome[]> {
    const now = Date.now();
    const outcomes = this.db.transaction(() => this.enqueueRows(specs, now)).immediate();
    if (outcomes.some((o) => o.created)) this.wake.emit('wake');
    return outcomes;
  }

  async claim(request: ClaimRequest): Promise<ClaimedItem[]> {
    if (request.limit <= 0) return [];
    const now = (request.now ?? new Date()).getTime();
    const limits = request.concurrencyLimits ?? {};
    const run = this.db.transaction(() => {
      // Remaining capacity of each capped pipeline, measured inside the write lock.
      const room = new Map<string, number>();
      if (Object.keys(limits).length > 0) {
        const running = new Map((this.s.runningCounts.all() as { key: string; n: number }[]).map((r) => [r.key, r.n]));
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
        const rows: { id: number; key: string; state: WorkState; total_attempts: number }[] = [];
        for (const priority of this.s.readyLevels.pluck().all() as number[]) {
          const more = this.s.candidates.all({ now, only, priority, skip: full.length ? JSON.stringify(full) : null, limit: limit - rows.length });
          rows.push(...(more as typeof rows));
          if (rows.length >= limit) break;
        }
        if (rows.length === 0) break;
        for (const { id, key, state, total_attempts } of rows) {
          if (claimed.length >= request.limit) break;
          const left = room.get(key);
          if (left !== undefined && left <= 0) continue;
          // Inside this write transaction the candidate row cannot change before its update.
          const item = this.claimRow(id, request.workerId, now, now + request.leaseMs, { state, total_attempts });
          if (!item) continue;
          if (left !== undefined) room.set(key, left - 1);
          claimed.push(item);
        }
        if (rows.length < want) break;
      }
      return claimed;
    });
    return run.immediate();
  }

  private claimRow(
    id: number,
    workerId: string,
    now: number,
    lease: number,
    known?: Pick<ItemRow, 'state' | 'total_attempts'>,
  ): ClaimedItem | null {
    const current = known ?? (this.s.getItem.get(id) as ItemRow | undefined);
    if (!current) return null;
    const attemptNo = current.total_attempts + 1;
    const attemptId = Number(this.s.insertAttempt.run(id, attemptNo, workerId, now).lastInsertRowid);
    const row = this.s.claimOne.get({ id, worker: workerId, lease, attempt: attemptId, now }) as ItemRow | undefined;
    if (!row) {
      this.db.prepare('DELETE FROM attempts WHERE id = ?').run(attemptId);
      return null;
    }
    this.event(id, now, 'claim', current.state, 'RUNNING', workerId);
    return { ...toItem(row), attemptId, attemptNo };
  }

  /** WAITING items whose last open upstream was `upstreamId` become PENDING, inside the
   * caller's transaction (the one that completed the upstream). */
  private promoteDependents(upstreamId: number, now: number): number {
    const up = this.s.getItem.get(upstreamId) as ItemRow;
    let n = 0;
    for (const { id } of this.s.waitingDependents.all(up.domain, up.pipeline, up.partition_key) as { id: number }[]) {
      if ((this.s.openUpstreams.pluck().get(id) as number) > 0) continue;
      if (this.s.promote.run({ id, now }).changes === 1) {
        this.event(id, now, 'upstream_ready', 'WAITING', 'PENDING', null, `${up.domain}.${up.pipeline} [${up.partition_key}] completed`);
        crashPoint('in_promotion');
        n++;
      }
    }
    return n;
  }

  async claimItem(itemId: number, workerId: string, leaseMs: number): Promise<ClaimedItem | null> {
    const now = Date.now();
    return this.db.transaction(() => this.claimRow(itemId, workerId, now, now + leaseMs)).immediate();
  }

  async heartbeat(workerId: string, itemIds: readonly number[], leaseMs: number): Promise<number[]> {
    if (itemIds.length === 0) return [];
    const lease = Date.now() + leaseMs;
    return this.db
      .transaction(() => itemIds.filter((id) => this.s.heartbeat.get({ id, worker: workerId, lease }) !== undefined))
      .immediate();
  }

  async complete(reports: readonly CompletionReport[]): Promise<boolean[]> {
    if (reports.length === 0) return [];
    const now = Date.now();
    let promoted = 0;
    const run = this.db.transaction(() =>
      reports.map((r) => {
        const changed = this.s.completeItem.run({ id: r.itemId, worker: r.workerId, attempt: r.attemptId, now }).changes === 1;
        this.s.finishOwnAttempt.run({
          worker: r.workerId,
          attempt: r.attemptId,
          status: changed ? 'succeeded' : 'lost',
          now,
          error: changed ? null : 'completed after the worker lost its claim (lease expired or cancelled)',
          output: r.outputTail ?? null,
          result: r.result ? JSON.stringify(r.result) : null,
        });
        if (changed) {
          this.event(r.itemId, now, 'complete', 'RUNNING', 'COMPLETE', r.workerId);
          crashPoint('in_complete');
          promoted += this.promoteDependents(r.itemId, now);
        }
        return changed;
      }),
    );
    const results = run.immediate();
    if (promoted > 0) this.wake.emit('wake');
    return results;
  }

  async fail(report: FailureReport): Promise<WorkItem | null> {
    const now = Date.now();
    const run = this.db.transaction(() => {
      const current = this.s.ownedAttempt.get(report.itemId, report.workerId, report.attemptId) as ItemRow | undefined;
      this.s.finishOwnAttempt.run({
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
      const row = this.s.failItem.get({
        id: report.itemId,
        worker: report.workerId,
        attempt: report.attemptId,
        state,
        error: report.error,
        retry_at: retry ? report.retryAt!.getTime() : null,
        now,
      }) as ItemRow;
      this.event(report.itemId, now, retry ? 'fail_retry' : 'fail_final', 'RUNNING', state, report.workerId, report.error);
      return toItem(row);
    });
    return run.immediate();
  }

  async release(report: CompletionReport & { reason: string }): Promise<boolean> {
    const now = Date.now();
    const run = this.db.transaction(() => {
      const changed = this.s.releaseItem.run({ id: report.itemId, worker: report.workerId, attempt: report.attemptId, now }).changes === 1;
      this.s.finishOwnAttempt.run({
        worker: report.workerId,
        attempt: report.attemptId,
        status: 'interrupted',
        now,
        error: report.reason,
        output: report.outputTail ?? null,
        result: null,
      });
      if (changed) this.event(report.itemId, now, 'release', 'RUNNING', 'PENDING', report.workerId, report.reason);
      return changed;
    });
    const changed = run.immediate();
    if (changed) this.wake.emit('wake');
    return changed;
  }

  async reclaimExpired(at?: Date): Promise<number> {
    const now = (at ?? new Date()).getTime();
    const run = this.db.transaction(() => {
      const rows = this.s.expired.all(now) as ItemRow[];
      for (const row of rows) {
        const error = `lease expired: worker ${row.locked_by} stopped heartbeating (crashed or stalled)`;
        this.s.finishAttempt.run({ attempt: row.current_attempt_id, status: 'lost', now, error, output: null, result: null });
        const retry = row.attempts < row.max_attempts;
        const state: WorkState = retry ? 'RETRY_WAIT' : 'FAILED';
        // A lost worker is not the item's fault: retry right away rather than backing off.
        this.s.failItem.run({
          id: row.id,
          worker: row.locked_by,
          attempt: row.current_attempt_id,
          state,
          error,
          retry_at: retry ? now : null,
          now,
        });
        this.event(row.id, now, 'lease_expired', 'RUNNING', state, null, error);
      }
      return rows.length;
    });
    const n = run.immediate();
    if (n > 0) this.wake.emit('wake');
    return n;
  }

  async cancel(itemId: number, actor: string | null = null): Promise<CommandOutcome> {
    const now = Date.now();
    const run = this.db.transaction(() => {
      const current = this.requireRow(itemId);
      if (!(TRANSITIONS.cancel.from as readonly WorkState[]).includes(current.state)) {
        if (current.state === 'CANCELLED') return { item: toItem(current), changed: false };
        throw new TransitionError(itemId, current.state, 'cancel');
      }
      this.s.cancelItem.run({ id: itemId, now });
      if (current.state === 'RUNNING' && current.current_attempt_id !== null) {
        this.s.finishAttempt.run({ attempt: current.current_attempt_id, status: 'cancelled', now, error: 'cancelled', output: null, result: null });
      }
      this.event(itemId, now, 'cancel', current.state, 'CANCELLED', actor);
      return { item: toItem(this.requireRow(itemId)), changed: true };
    });
    const outcome = run.immediate();
    this.wake.emit('cancel', itemId);
    return outcome;
  }

  async retry(filter: RetryFilter, actor: string | null = null): Promise<WorkItem[]> {
    const now = Date.now();
    const run = this.db.transaction(() => {
      let rows: ItemRow[];
      if (filter.id !== undefined) {
        const current = this.requireRow(filter.id);
        if (!(TRANSITIONS.retry.from as readonly WorkState[]).includes(current.state)) {
          throw new TransitionError(filter.id, current.state, 'retry');
        }
        rows = [current];
      } else {
        rows = this.db
          .prepare(
            `SELECT * FROM work_items WHERE state = 'FAILED'
             AND (@domain IS NULL OR domain = @domain) AND (@pipeline IS NULL OR pipeline = @pipeline)`,
          )
          .all({ domain: filter.domain ?? null, pipeline: filter.pipeline ?? null }) as ItemRow[];
      }
      return rows.map((row) => {
        this.s.toPending.run({ id: row.id, now });
        this.event(row.id, now, 'retry', row.state, 'PENDING', actor);
        return toItem(this.requireRow(row.id));
      });
    });
    const items = run.immediate();
    if (items.length) this.wake.emit('wake');
    return items;
  }

  async rerun(itemId: number, actor: string | null = null): Promise<CommandOutcome> {
    const now = Date.now();
    const run = this.db.transaction(() => {
      const current = this.requireRow(itemId);
      if (!(TRANSITIONS.rerun.from as readonly WorkState[]).includes(current.state)) return { item: toItem(current), changed: false };
      this.s.toPending.run({ id: itemId, now });
      this.event(itemId, now, 'rerun', current.state, 'PENDING', actor);
      return { item: toItem(this.requireRow(itemId)), changed: true };
    });
    const outcome = run.immediate();
    if (outcome.changed) this.wake.emit('wake');
    return outcome;
  }

  private requireRow(id: number): ItemRow {
    const row = this.s.getItem.get(id) as ItemRow | undefined;
    if (!row) throw new NotFoundError('work item', id);
    return row;
  }

  async getItem(itemId: number): Promise<WorkItem | null> {
    const row = this.s.getItem.get(itemId) as ItemRow | undefined;
    return row ? toItem(row) : null;
  }

  async findItem(domain: string, pipeline: string, key: string): Promise<WorkItem | null> {
    const row = this.s.findItem.get(domain, pipeline, key) as ItemRow | undefined;
    return row ? toItem(row) : null;
  }

  private where(filter: ListFilter): { sql: string; params: Record<string, unknown> } {
    const clauses: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.state !== undefined) {
      const states = typeof filter.state === 'string' ? [filter.state] : filter.state;
      clauses.push('state IN (SELECT value FROM json_each(@states))');
      params.states = JSON.stringify(states);
    }
    if (filter.domain !== undefined) {
      clauses.push('domain = @domain');
      params.domain = filter.domain;
    }
    if (filter.pipeline !== undefined) {
      clauses.push('pipeline = @pipeline');
      params.pipeline = filter.pipeline;
    }
    if (filter.partitionKey !== undefined) {
      clauses.push('partition_key = @partition_key');
      params.partition_key = filter.partitionKey;
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  async listItems(filter: ListFilter = {}): Promise<WorkItem[]> {
    const { sql, params } = this.where(filter);
    const order = filter.order === 'oldest' ? 'ASC' : 'DESC';
    const rows = this.db
      .prepare(`SELECT * FROM work_items ${sql} ORDER BY id ${order} LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit: filter.limit ?? 1000, offset: filter.offset ?? 0 }) as ItemRow[];
    return rows.map(toItem);
  }

  async countItems(filter: ListFilter = {}): Promise<number> {
    const { sql, params } = this.where(filter);
    return this.db.prepare(`SELECT count(*) FROM work_items ${sql}`).pluck().get(params) as number;
  }

  async countByState(): Promise<StateCount[]> {
    return this.s.countByState.all() as StateCount[];
  }

  async listAttempts(itemId: number): Promise<Attempt[]> {
    return (this.s.attemptsOf.all(itemId) as AttemptRow[]).map(toAttempt);
  }

  async partitionStates(domain: string, pipeline: string, opts: PartitionStatesOptions = {}): Promise<PartitionState[]> {
    const rows = (
      opts.after === undefined
        ? this.s.partitionStates.raw().all(domain, pipeline, opts.limit ?? -1, opts.offset ?? 0)
        : this.s.partitionStatesAfter.raw().all(domain, pipeline, opts.after, opts.limit ?? -1, opts.offset ?? 0)
    ) as [string, string, WorkState, number, number][];
    const out: PartitionState[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [partitionKey, partition, state, itemId, updatedAt] = rows[i]!;
      out[i] = { partitionKey, partition: JSON.parse(partition), state, itemId, updatedAt: new Date(updatedAt) };
    }
    return out;
  }

  async countPartitions(domain: string, pipeline: string): Promise<number> {
    return this.s.countPartitions.pluck().get(domain, pipeline) as number;
  }

  async listRecentAttempts(filter: RecentAttemptsFilter): Promise<RecentAttempt[]> {
    const rows = this.s.recentAttempts.all({
      domain: filter.domain ?? null,
      pipeline: filter.pipeline ?? null,
      status: filter.status ?? null,
      limit: filter.limit,
      offset: filter.offset ?? 0,
    }) as RecentAttemptRow[];
    return rows.map((r) => ({ ...toAttempt(r), domain: r.domain, pipeline: r.pipeline, partitionKey: r.partition_key, itemState: r.item_state }));
  }

  async listEvents(itemId: number): Promise<WorkEvent[]> {
    return (
      this.s.eventsOf.all(itemId) as {
        id: number;
        item_id: number;
        at: number;
        event: string;
        from_state: WorkState | null;
        to_state: WorkState;
        actor: string | null;
        detail: string | null;
      }[]
    ).map((r) => ({
      id: r.id,
      itemId: r.item_id,
      at: new Date(r.at),
      event: r.event,
      fromState: r.from_state,
      toState: r.to_state,
      actor: r.actor,
      detail: r.detail,
    }));
  }

  async listDependencies(itemId: number): Promise<DependencyStatus[]> {
    return this.s.dependenciesOf.all(itemId) as DependencyStatus[];
  }

  async countOutstanding(pipelines?: readonly string[]): Promise<number> {
    // A WAITING item is "live" when some chain of WAITING items leads from it to an upstream
    // that can still run; one blocked by a FAILED, CANCELLED or never-enqueued upstream is not.
    return this.db
      .prepare(
        `WITH RECURSIVE live(id) AS (
           SELECT d.item_id FROM work_dependencies d
           JOIN work_items w ON w.id = d.item_id AND w.state = 'WAITING'
           JOIN work_items u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
           WHERE u.state IN ('PENDING', 'RUNNING', 'RETRY_WAIT')
           UNION
           SELECT d.item_id FROM work_dependencies d
           JOIN work_items w ON w.id = d.item_id AND w.state = 'WAITING'
           JOIN work_items u ON u.domain = d.up_domain AND u.pipeline = d.up_pipeline AND u.partition_key = d.up_key
           JOIN live ON live.id = u.id
         )
         SELECT count(*) FROM work_items w
         WHERE (w.state IN ('PENDING', 'RUNNING', 'RETRY_WAIT') OR (w.state = 'WAITING' AND w.id IN (SELECT id FROM live)))
           AND (@only IS NULL OR w.domain || '.' || w.pipeline IN (SELECT value FROM json_each(@only)))`,
      )
      .pluck()
      .get({ only: pipelines ? JSON.stringify(pipelines) : null }) as number;
  }

  async countFailedSince(since: Date): Promise<number> {
    return this.s.failedSince.pluck().get(since.getTime()) as number;
  }

  async nextDesiredAt(pipelines?: readonly string[]): Promise<Date | null> {
    const only = pipelines ? JSON.stringify(pipelines) : null;
    let at: number | null = null;
    for (const priority of this.s.readyLevels.pluck().all() as number[]) {
      const first = this.s.firstDueAt.pluck().get({ priority, only }) as number | undefined;
      if (first !== undefined && (at === null || first < at)) at = first;
    }
    return at === null ? null : new Date(at);
  }

  async pruneFinished(before: Date): Promise<number> {
    return this.db
      .prepare(`DELETE FROM work_items WHERE state IN ('COMPLETE', 'CANCELLED', 'FAILED') AND finished_at < ?`)
      .run(before.getTime()).changes;
  }

  async maintain(): Promise<void> {
    this.db.pragma('optimize');
    this.db.exec('ANALYZE');
    // VACUUM cannot run inside a transaction and needs exclusive access; with WAL and other
    // readers it may report SQLITE_BUSY, in which case the next maintenance run will do it.
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async fireTick(tick: Omit<TickRecord, 'itemIds' | 'firedAt'>, specs: readonly EnqueueSpec[]): Promise<{ recorded: boolean; outcomes: EnqueueOutcome[] }> {
    const now = Date.now();
    const run = this.db.transaction(() => {
      const inserted = this.db
        .prepare(
          `INSERT INTO schedule_ticks (schedule, kind, scheduled_at, outcome, detail, scheduler_id)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(tick.schedule, tick.kind, tick.scheduledAt.getTime(), tick.outcome, tick.detail, tick.schedulerId).changes === 1;
      if (!inserted || tick.outcome !== 'fired') return { recorded: inserted, outcomes: [] };
      const outcomes = this.enqueueRows(specs, now);
      this.db
        .prepare('UPDATE schedule_ticks SET fired_at = ?, item_ids = ? WHERE schedule = ? AND kind = ? AND scheduled_at = ?')
        .run(now, JSON.stringify(outcomes.map((o) => o.item.id)), tick.schedule, tick.kind, tick.scheduledAt.getTime());
      return { recorded: true, outcomes };
    });
    const result = run.immediate();
    if (result.outcomes.some((o) => o.created)) this.wake.emit('wake');
    return result;
  }

  async listTicks(schedule: string, limit: number): Promise<TickRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM schedule_ticks WHERE schedule = ? ORDER BY scheduled_at DESC LIMIT ?')
      .all(schedule, limit) as {
      schedule: string;
      kind: TickRecord['kind'];
      scheduled_at: number;
      outcome: TickRecord['outcome'];
      fired_at: number | null;
      detail: string | null;
      item_ids: string;
      scheduler_id: string;
    }[];
    return rows.map((r) => ({
      schedule: r.schedule,
      kind: r.kind,
      scheduledAt: new Date(r.scheduled_at),
      outcome: r.outcome,
      firedAt: r.fired_at === null ? null : new Date(r.fired_at),
      detail: r.detail,
      itemIds: JSON.parse(r.item_ids),
      schedulerId: r.scheduler_id,
    }));
  }

  async lastTickAt(schedule: string): Promise<Date | null> {
    const at = this.db.prepare(`SELECT max(scheduled_at) FROM schedule_ticks WHERE schedule = ? AND kind = 'cron'`).pluck().get(schedule) as number | null;
    return at === null ? null : new Date(at);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const row = this.db
      .prepare(
        `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expires)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at < @now
         RETURNING holder`,
      )
      .get({ name, holder, expires: now + ttlMs, now }) as { holder: string } | undefined;
    return row?.holder === holder;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder);
  }

  async leaseHolder(name: string): Promise<{ holder: string; expiresAt: Date } | null> {
    const row = this.db.prepare('SELECT holder, expires_at FROM leases WHERE name = ? AND expires_at >= ?').get(name, Date.now()) as
      | { holder: string; expires_at: number }
      | undefined;
    return row ? { holder: row.holder, expiresAt: new Date(row.expires_at) } : null;
  }

  onWake(listener: () => void): () => void {
    this.wake.on('wake', listener);
    return () => this.wake.off('wake', listener);
  }

  /** In-process notification that an item was cancelled, so a local worker aborts at once. */
  onCancel(listener: (itemId: number) => void): () => void {
    this.wake.on('cancel', listener);
    return () => this.wake.off('cancel', listener);
  }
}
