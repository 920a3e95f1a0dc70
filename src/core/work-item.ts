import type { Partition } from './partition.js';
import type { AttemptStatus, WorkState } from './states.js';

/** Back-off parameters stored on each item so any process (even one without the pipeline's
 * code, e.g. a lease sweeper) can apply the item's own retry rules. */
export interface Backoff {
  baseDelayMs: number;
  factor: number;
  maxDelayMs: number;
  jitter: number;
}

export interface WorkItem {
  id: number;
  domain: string;
  pipeline: string;
  partition: Partition;
  partitionKey: string;
  params: Record<string, unknown>;
  state: WorkState;
  priority: number;
  /** When the item may next run: enqueue time, scheduled time, or the end of its back-off. */
  desiredAt: Date;
  /** Attempts used from the current budget (a manual retry starts a fresh budget). */
  attempts: number;
  maxAttempts: number;
  /** Every attempt the item ever had, across retries and re-runs: the number of the latest
   * attempt in its history (`Attempt.attemptNo`). Kept apart from `attempts` so a page can
   * say "budget 1 of 5" and "2 attempts in all" without the two being read as one count. */
  totalAttempts: number;
  backoff: Backoff;
  lockedBy: string | null;
  leaseExpiresAt: Date | null;
  currentAttemptId: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface Attempt {
  id: number;
  itemId: number;
  /** 1-based, counting every attempt the item ever had, across manual retries. */
  attemptNo: number;
  workerId: string;
  status: AttemptStatus;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
  outputTail: string | null;
  result: Record<string, unknown> | null;
}

export interface WorkEvent {
  id: number;
  itemId: number;
  at: Date;
  event: string;
  fromState: WorkState | null;
  toState: WorkState;
  actor: string | null;
  detail: string | null;
}

export function pipelineKey(domain: string, pipeline: string): string {
  return `${domain}.${pipeline}`;
}

/** `finra.otc_transparency.ingest_week` -> domain `finra.otc_transparency`, name `ingest_week`:
 * the domain may contain dots, the pipeline name may not, so split at the last dot. */
export function splitPipelineKey(key: string): { domain: string; pipeline: string } | null {
  const dot = key.lastIndexOf('.');
  if (dot <= 0 || dot === key.length - 1) return null;
  return { domain: key.slice(0, dot), pipeline: key.slice(dot + 1) };
}

/** The shape of `work list --json`, `GET /api/v1/work/...`: snake_case, ISO instants. */
export function workItemToJson(item: WorkItem): Record<string, unknown> {
  return {
    id: item.id,
    domain: item.domain,
    pipeline: item.pipeline,
    partition: item.partition,
    partition_key: item.partitionKey,
    params: item.params,
    state: item.state,
    attempts: item.attempts,
    max_attempts: item.maxAttempts,
    attempts_total: item.totalAttempts,
    priority: item.priority,
    desired_at: item.desiredAt.toISOString(),
    locked_by: item.lockedBy,
    lease_expires_at: item.leaseExpiresAt?.toISOString() ?? null,
    last_error: item.lastError,
    created_at: item.createdAt.toISOString(),
    updated_at: item.updatedAt.toISOString(),
    finished_at: item.finishedAt?.toISOString() ?? null,
  };
}

export function attemptToJson(attempt: Attempt): Record<string, unknown> {
  return {
    id: attempt.id,
    attempt_no: attempt.attemptNo,
    worker_id: attempt.workerId,
    status: attempt.status,
    started_at: attempt.startedAt.toISOString(),
    finished_at: attempt.finishedAt?.toISOString() ?? null,
    duration_ms: attempt.finishedAt ? attempt.finishedAt.getTime() - attempt.startedAt.getTime() : null,
    error: attempt.error,
    output_tail: attempt.outputTail,
    result: attempt.result,
  };
}
