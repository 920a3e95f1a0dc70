import type { Logger } from '../core/logger.js';
import type { DataStore } from '../core/data-port.js';
import type { BatchRunOptions } from '../core/pipeline.js';
import type { ClaimedItem, Store } from '../store/store.js';
import type { PipelineRegistry } from './registry.js';

export interface WorkerOptions {
  store: Store;
  registry: PipelineRegistry;
  logger: Logger;
  workerId?: string;
  /** Concurrent handler slots. */
  concurrency: number;
  /** How long a claim stays valid without a heartbeat; a crashed worker's items are
   * re-claimed by others this long after its last heartbeat. */
  leaseMs: number;
  /** Default: a third of the lease, at most 5 s, so cancels are noticed quickly. */
  heartbeatMs?: number;
  /** Idle poll interval: the fallback when no wake-up arrives (other processes on SQLite). */
  pollMs?: number;
  /** On stop: how long running handlers may finish before they are aborted and handed back. */
  shutdownGraceMs?: number;
  /** After aborting a handler, how long to wait for it to notice before moving on. */
  abortGraceMs?: number;
  /** Items per claim call (bounded by free slots plus the local queue's room). */
  claimBatch?: number;
  /**
   * Items claimed ahead of free slots and held in memory, graphile-worker's "local queue":
   * one claim round trip then feeds hundreds of handler starts. Held items are RUNNING in
   * the store with their attempt recorded, kept alive by the heartbeat, dropped when
   * cancelled, and handed back (attempt `interrupted`) on stop. 0 = claim only for free
   * slots. The queue is refilled when it falls to half.
   */
  localQueue?: number;
  /** The data layer handlers land through; created from the store when not given. */
  data?: DataStore;
  /** A batch command's options, handed to every handler this worker runs (`ctx.run`). */
  runOptions?: BatchRunOptions;
}

export interface AttemptOutcome {
  item: ClaimedItem;
  status: 'succeeded' | 'failed' | 'timed_out' | 'interrupted' | 'cancelled' | 'lost';
  error?: string;
  durationMs: number;
  result?: Record<string, unknown> | null;
}
