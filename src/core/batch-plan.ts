import type { Partition } from './partition.js';
import type { BatchRunOptions } from './pipeline.js';

/**
 * A batch command (`sluice finra`, `prices`, `fred`, `matrix`) as its domain plans it: the
 * root partitions to enqueue, which downstream pipelines to follow, and the options every
 * handler gets in `ctx.run`. The domain decides *what*; `engine/batch-run.ts` runs it the
 * same way for every domain.
 */
export interface BatchPlan {
  domain: string;
  /** The guide's `scheduler` name (`weekly_ingest`, `daily_prices`, …). */
  scheduler: string;
  /** Run one after another; each step's handlers see its own `run` options (prices: one step per symbol batch). */
  steps: BatchStep[];
  /**
   * Downstream pipelines reached through `auto` dependencies that this batch also runs, in
   * the order their entries are listed (the rest are left to a worker pool).
   */
  follow: readonly string[];
  dryRun: boolean;
  failFast: boolean;
  /** The domain's warnings so far (clamped lookback, weeks moved to their Friday, …). */
  warnings: string[];
  config: Record<string, unknown>;
  /** Flag names for root param fields, so an error names the flag the user typed. */
  paramFlags?: Readonly<Record<string, string>>;
}

export interface BatchStep {
  pipeline: string;
  partitions: Partition[];
  /** Recorded on new root items, so a worker retrying them later reads the same source. */
  params?: Record<string, unknown>;
  run: BatchRunOptions;
}
