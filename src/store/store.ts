import type { Database as SqliteDatabase } from 'better-sqlite3';
import type pg from 'pg';
import type { Partition } from '../core/partition.js';
import type { ScheduleStore } from './schedule-store.js';
import type { AttemptStatus, WorkState } from '../core/states.js';
import type { Attempt, Backoff, WorkEvent, WorkItem } from '../core/work-item.js';

/**
 * The one persistence contract. SQLite (embedded) and PostgreSQL (scale-out) implement it;
 * `test/store/conformance.test.ts` runs every behaviour against both.
 *
 * All state changes follow `core/states.ts`. Methods that act on a worker's item take the
 * worker id and attempt id and do nothing if the worker no longer owns that attempt (lease
 * expired and re-claimed, or cancelled): a slow worker can never overwrite a newer attempt.
 */
export interface EnqueueSpec {
  domain: string;
  pipeline: string;
  partition: Partition;
  params?: Record<string, unknown>;
  priority?: number;
  desiredAt?: Date;
  maxAttempts: number;
  backoff: Backoff;
  /** Upstream partitions that must be COMPLETE first. If any is not, the item is created
   * WAITING and becomes PENDING in the same transaction that completes the last one. */
  dependencies?: readonly UpstreamRef[];
}

export interface UpstreamRef {
  domain: string;
  pipeline: string;
  partitionKey: string;
}

export interface DependencyStatus extends UpstreamRef {
  /** null when no work item exists for that upstream partition yet. */
  state: WorkState | null;
  itemId: number | null;
  lastError: string | null;
}

export interface EnqueueOutcome {
  item: WorkItem;
  /** false when the (domain, pipeline, partition) triple already existed: nothing changed. */
  created: boolean;
}

/** What a bulk enqueue (a backfill) gets back of each spec's item: `enqueueRefs`. */
export interface EnqueuedRef {
  id: number;
  partitionKey: string;
  state: WorkState;
  /** As in `EnqueueOutcome`. */
  created: boolean;
}

export interface ClaimRequest {
  workerId: string;
  limit: number;
  leaseMs: number;
  /** Only claim these `domain.pipeline` keys (the pipelines this worker has code for). */
  pipelines?: readonly string[];
  /** Per-pipeline caps on RUNNING items across every worker, keyed `domain.pipeline`. */
  concurrencyLimits?: Readonly<Record<string, number>>;
  now?: Date;
}

export interface ClaimedItem extends WorkItem {
  attemptId: number;
  attemptNo: number;
}

export interface CompletionReport {
  itemId: number;
  attemptId: number;
  workerId: string;
  result?: Record<string, unknown> | null;
  outputTail?: string | null;
}

export interface FailureReport extends CompletionReport {
  error: string;
  /** `timed_out` for timeouts, `failed` otherwise. */
  status: 'failed' | 'timed_out';
  /** When attempts remain and the error is retryable: when to try again. null = give up now. */
  retryAt: Date | null;
}

export interface ListFilter {
  state?: WorkState | readonly WorkState[];
  domain?: string;
  pipeline?: string;
  partitionKey?: string;
  limit?: number;
  offset?: number;
  /** Newest first by default; the dashboard pages with offset. */
  order?: 'newest' | 'oldest';
}

export interface StateCount {
  domain: string;
  pipeline: string;
  state: WorkState;
  count: number;
}

export interface RetryFilter {
  id?: number;
  domain?: string;
  pipeline?: string;
}

/** One partition of a pipeline and where its item stands (the dashboard's partition grid). */
export interface PartitionState {
  partitionKey: string;
  partition: Partition;
  state: WorkState;
  itemId: number;
  updatedAt: Date;
}

export interface PartitionStatesOptions {
  /** Default: every partition. */
  limit?: number;
  offset?: number;
  /** Only partitions whose key sorts after this one: keyset paging, so reading page after
   * page of a large pipeline costs one index seek per page instead of skipping `offset`. */
  after?: string;
}

/** One partition key of a pipeline, from the grid summary (kept on every item insert and
 * delete): how many distinct values it has, how many items carry it, and how many of those
 * values are canonical integers, YYYY-MM-DD dates and date-like (the grid's axis rules). */
export interface PartitionKeySummary {
  key: string;
  distinctValues: number;
  items: number;
  intValues: number;
  isoDateValues: number;
  dateLikeValues: number;
}

/** A pipeline's partition keys (by key name) and its items by state, read in one snapshot. */
export interface PartitionSummary {
  keys: PartitionKeySummary[];
  states: Record<WorkState, number>;
}

export interface PartitionValuesOptions {
  /** Sort-key order: canonical integers by value, everything else as text. */
  descending?: boolean;
  /** Default: every value. */
  limit?: number;
  offset?: number;
}

export interface RecentAttemptsFilter {
  limit: number;
  offset?: number;
  domain?: string;
  pipeline?: string;
  status?: AttemptStatus;
}

/** An attempt with the identity and current state of its item. */
export interface RecentAttempt extends Attempt {
  domain: string;
  pipeline: string;
  partitionKey: string;
  itemState: WorkState;
}

/** Outcome of an item-targeted command that is legal only from some states. */
export interface CommandOutcome {
  item: WorkItem;
  changed: boolean;
}

/** The connection the data layer lands through: the store's own, so rows and queue share one database. */
export type DataConnection =
  { readonly backend: 'sqlite'; readonly database: SqliteDatabase } | { readonly backend: 'postgres'; readonly pool: pg.Pool; readonly schema: string };

export interface Store extends ScheduleStore {
  readonly backend: 'sqlite' | 'postgres';
  /** How many write transactions can make progress at once: 1 on SQLite (one writer; a
   * second batch would only queue on its lock), the connection pool size on PostgreSQL
   * (each pooled connection is its own server backend, and one backend uses one core).
   * Bulk writers (a backfill) keep at most this many batches in flight. */
  readonly concurrentWriters: number;
  /** Typed hook for `createDataStore` (src/data/index.ts). */
  dataConnection(): DataConnection;
  /** Creates or upgrades the schema; safe to call from several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Idempotent on (domain, pipeline, partition_key): an existing item is returned as is. */
  enqueue(specs: readonly EnqueueSpec[]): Promise<EnqueueOutcome[]>;
  /** `enqueue` (same rows, events and summary) answering only each item's id, key and state,
   * so a million-partition backfill builds no `WorkItem` per created item. */
  enqueueRefs(specs: readonly EnqueueSpec[]): Promise<EnqueuedRef[]>;
  claim(request: ClaimRequest): Promise<ClaimedItem[]>;
  /** Claims one specific ready item (used by `sluice run`); null if it is not claimable. */
  claimItem(itemId: number, workerId: string, leaseMs: number): Promise<ClaimedItem | null>;
  /** Extends the leases this worker still holds; returns the item ids it still owns. */
  heartbeat(workerId: string, itemIds: readonly number[], leaseMs: number): Promise<number[]>;
  complete(reports: readonly CompletionReport[]): Promise<boolean[]>;
  fail(report: FailureReport): Promise<WorkItem | null>;
  /** Graceful shutdown: hand the item back to PENDING; the attempt is kept as `interrupted`
   * and does not count against max_attempts. */
  release(report: CompletionReport & { reason: string }): Promise<boolean>;
  /** Moves RUNNING items whose lease expired to RETRY_WAIT (due now) or FAILED. */
  reclaimExpired(now?: Date): Promise<number>;

  cancel(itemId: number, actor?: string): Promise<CommandOutcome>;
  /** Manual retry of FAILED/CANCELLED items: one by id, or all failed in a domain/pipeline. */
  retry(filter: RetryFilter, actor?: string): Promise<WorkItem[]>;
  /** Put finished items back to PENDING for a forced re-run. */
  rerun(itemId: number, actor?: string): Promise<CommandOutcome>;

  getItem(itemId: number): Promise<WorkItem | null>;
  findItem(domain: string, pipeline: string, partitionKey: string): Promise<WorkItem | null>;
  listItems(filter?: ListFilter): Promise<WorkItem[]>;
  countItems(filter?: ListFilter): Promise<number>;
  countByState(): Promise<StateCount[]>;
  listAttempts(itemId: number): Promise<Attempt[]>;
  /** Every partition of one pipeline with its item's state, in partition-key order: one
   * query over the (domain, pipeline, partition_key) unique index, no full item rows. */
  partitionStates(domain: string, pipeline: string, opts?: PartitionStatesOptions): Promise<PartitionState[]>;
  countPartitions(domain: string, pipeline: string): Promise<number>;
  /** The grid summary of one pipeline: its keys and its state counts (see PartitionSummary). */
  partitionSummary(domain: string, pipeline: string): Promise<PartitionSummary>;
  /** Distinct values of one partition key of a pipeline, off the summary's sort-key index. */
  partitionValues(domain: string, pipeline: string, key: string, opts?: PartitionValuesOptions): Promise<string[]>;
  /** The items of the given partition keys (those that exist, in no particular order): one
   * unique-index lookup each, for the cells one grid page shows. */
  partitionStatesByKey(domain: string, pipeline: string, partitionKeys: readonly string[]): Promise<PartitionState[]>;
  /** Attempts across items, newest first (started_at, then id), with their item's domain,
   * pipeline, partition key and state. Walks the attempts(started_at) index. */
  listRecentAttempts(filter: RecentAttemptsFilter): Promise<RecentAttempt[]>;
  listEvents(itemId: number): Promise<WorkEvent[]>;
  /** The upstream partitions an item waits on, with their current state. */
  listDependencies(itemId: number): Promise<DependencyStatus[]>;
  /** Items of the given pipelines in an outstanding state (drain mode's stop condition).
   * A WAITING item counts only while one of its upstream items is itself outstanding: one
   * blocked by a FAILED or never-enqueued upstream cannot progress without a person. */
  countOutstanding(pipelines?: readonly string[]): Promise<number>;
  /** Items that reached FAILED at or after `since`. */
  countFailedSince(since: Date): Promise<number>;
  /** Earliest desired_at among ready items, so an idle worker can sleep exactly that long. */
  nextDesiredAt(pipelines?: readonly string[]): Promise<Date | null>;

  /** Deletes finished items (and their attempts/events) finished before `before`. */
  pruneFinished(before: Date): Promise<number>;
  /** VACUUM / ANALYZE as the backend understands them. */
  maintain(): Promise<void>;
  /** After a bulk insert (a large backfill): refresh the planner's statistics of work_items
   * (PostgreSQL: VACUUM (ANALYZE), which also sets the visibility map the grid's index-only
   * counts rely on; SQLite: a sampled ANALYZE through PRAGMA optimize). Cheaper than
   * `maintain`: one table, no VACUUM of the SQLite file. */
  refreshStatistics(): Promise<void>;

  /** Called when new work may be ready (local enqueue, or a NOTIFY from another process). */
  onWake(listener: () => void): () => void;
  /** Called when an item is cancelled, so the worker running it can abort at once. */
  onCancel(listener: (itemId: number) => void): () => void;
}
