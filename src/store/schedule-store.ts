import type { EnqueueOutcome, EnqueueSpec } from './store.js';

/** `skipped_paused`: the tick fell due while an operator had paused the schedule. */
export type TickOutcome = 'fired' | 'skipped_overlap' | 'skipped_paused' | 'missed' | 'coalesced';
export type TickKind = 'cron' | 'manual';

export interface TickRecord {
  schedule: string;
  scheduledAt: Date;
  kind: TickKind;
  outcome: TickOutcome;
  firedAt: Date | null;
  detail: string | null;
  itemIds: number[];
  schedulerId: string;
}

/** One tick for `fireTicks`: its record and, if its outcome is `fired`, the work to enqueue. */
export interface TickToFire {
  tick: Omit<TickRecord, 'itemIds' | 'firedAt'>;
  specs: readonly EnqueueSpec[];
}

/** `recorded: false` means another scheduler already handled this tick (nothing enqueued). */
export interface FireTickResult {
  recorded: boolean;
  outcomes: EnqueueOutcome[];
}

/**
 * Persistence for the scheduler. `fireTick` is the exactly-once point: the tick row is
 * unique on (schedule, kind, scheduled_at) and is inserted in the same transaction as the
 * work it enqueues, so two schedulers racing on one tick cannot both fire it, and a crash
 * can never leave a tick recorded without its work (or the reverse).
 */
export interface ScheduleStore {
  /** Records the tick and, when its outcome is `fired`, enqueues `specs` in the same
   * transaction. `recorded: false` means another scheduler already handled this tick. */
  fireTick(tick: Omit<TickRecord, 'itemIds' | 'firedAt'>, specs: readonly EnqueueSpec[]): Promise<FireTickResult>;
  /** `fireTick` for many ticks in ONE transaction (a scheduler's due ticks of one pass):
   * all are recorded or none, each exactly once; results in the order given. */
  fireTicks(ticks: readonly TickToFire[]): Promise<FireTickResult[]>;
  /** Newest first. */
  listTicks(schedule: string, limit: number): Promise<TickRecord[]>;
  /** The latest scheduled_at recorded for a schedule's cron ticks (the catch-up cursor). */
  lastTickAt(schedule: string): Promise<Date | null>;
  /** Takes or renews a named lease; true if `holder` holds it now. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** The current holder of a lease, if unexpired. */
  leaseHolder(name: string): Promise<{ holder: string; expiresAt: Date } | null>;
}
