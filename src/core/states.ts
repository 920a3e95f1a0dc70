/**
 * Work item states and the one transition table every store obeys.
 *
 *   PENDING --claim--> RUNNING --complete--> COMPLETE
 *      ^                  |  \--cancel--> CANCELLED
 *      |                  | fail / timeout / lease expired
 *      |                  v
 *      +--backoff due-- RETRY_WAIT   (attempts < max_attempts)
 *                         |
 *                         +-- attempts exhausted --> FAILED   (manual retry -> PENDING)
 *   WAITING: upstream partitions not complete yet; becomes PENDING when they are.
 *
 * Stores express each transition as `UPDATE ... WHERE state IN (from)`, taking `from` from
 * this table, so the rules live here once and both SQLite and PostgreSQL apply them
 * atomically. A RETRY_WAIT item whose desired_at has passed is claimable directly: the
 * "backoff due" edge is folded into `claim` rather than needing a separate sweeper.
 */
export const WORK_STATES = ['WAITING', 'PENDING', 'RUNNING', 'RETRY_WAIT', 'COMPLETE', 'FAILED', 'CANCELLED'] as const;
export type WorkState = (typeof WORK_STATES)[number];

export const TERMINAL_STATES: readonly WorkState[] = ['COMPLETE', 'FAILED', 'CANCELLED'];
/** States a worker can still make progress on; `worker --drain` waits until none remain. */
export const OUTSTANDING_STATES: readonly WorkState[] = ['WAITING', 'PENDING', 'RUNNING', 'RETRY_WAIT'];
export const READY_STATES: readonly WorkState[] = ['PENDING', 'RETRY_WAIT'];

export interface Transition {
  readonly from: readonly WorkState[];
  readonly to: WorkState;
}

export const TRANSITIONS = {
  /** A worker takes a ready item (RETRY_WAIT only once its backoff is due). */
  claim: { from: ['PENDING', 'RETRY_WAIT'], to: 'RUNNING' },
  complete: { from: ['RUNNING'], to: 'COMPLETE' },
  /** Handler error, timeout or expired lease while attempts remain. */
  fail_retry: { from: ['RUNNING'], to: 'RETRY_WAIT' },
  /** Same, with attempts exhausted or a permanent error. */
  fail_final: { from: ['RUNNING'], to: 'FAILED' },
  /** Graceful shutdown hands an item back; the interrupted attempt does not count. */
  release: { from: ['RUNNING'], to: 'PENDING' },
  cancel: { from: ['WAITING', 'PENDING', 'RETRY_WAIT', 'RUNNING'], to: 'CANCELLED' },
  /** Manual retry from the CLI, API or dashboard: a fresh budget of attempts. */
  retry: { from: ['FAILED', 'CANCELLED'], to: 'PENDING' },
  /** Explicit re-run of finished work (`run --force`, backfill reprocess=all). */
  rerun: { from: ['COMPLETE', 'FAILED', 'CANCELLED'], to: 'PENDING' },
  /** The last upstream partition completed. */
  upstream_ready: { from: ['WAITING'], to: 'PENDING' },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/** States an operator may retry from / cancel in: read off the table, never restated
 * (the dashboard gets them from the server, see api/dashboard/pages.ts). */
export const RETRYABLE_STATES: readonly WorkState[] = TRANSITIONS.retry.from;
export const CANCELLABLE_STATES: readonly WorkState[] = TRANSITIONS.cancel.from;
export const RERUNNABLE_STATES: readonly WorkState[] = TRANSITIONS.rerun.from;

export function canTransition(from: WorkState, event: TransitionName): boolean {
  return (TRANSITIONS[event].from as readonly WorkState[]).includes(from);
}

export function isWorkState(value: string): value is WorkState {
  return (WORK_STATES as readonly string[]).includes(value);
}

/** Attempt outcomes, kept forever as history. */
export const ATTEMPT_STATUSES = ['running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'interrupted'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];
