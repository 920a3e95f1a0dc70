import { parsePartitionKey } from './partition.js';

/**
 * The run-result contract printed by `sluice run|finra|prices --json`, the scheduler ops
 * guide's `SchedulerResult` document. Scripts and cron wrappers parse it and branch on the
 * exit code, so field names are stable:
 * exit 0 = success or dry-run, 1 = failure (nothing completed), 2 = partial (some completed,
 * some failed or blocked).
 *
 * A run entry is `completed`, `failed` or `skipped` (the guide's three), or `dry_run`.
 * An item that could not run because its inputs are missing (WAITING on upstream
 * partitions) is `skipped` with `blocked: true`; it counts in `stats.blocked` and, like a
 * failure, keeps the run from being a success: all blocked -> `failure` (exit 1).
 */
export const RUN_RESULT_SCHEMA_VERSION = '1.0.0';

export type RunStatus = 'success' | 'failure' | 'partial' | 'dry_run';
export type RunEntryStatus = 'completed' | 'failed' | 'skipped' | 'dry_run';

export interface RevisionSummary {
  rows_added: number;
  rows_removed: number;
  rows_changed: number;
}

export interface RunEntry {
  pipeline: string;
  /** The guide's form: the partition's values, dates first, e.g. `2025-01-03|NMS_TIER_1`. */
  partition_key: string;
  /** Sluice's own key, e.g. `tier=NMS_TIER_1|week_ending=2025-01-03`. */
  sluice_partition_key: string;
  /** The item could not run: its upstream partitions are not complete. */
  blocked: boolean;
  /** Not run because --fail-fast stopped the run at an earlier failure. */
  not_run: boolean;
  status: RunEntryStatus;
  duration_ms: number;
  capture_id: string | null;
  row_count: number | null;
  is_revision: boolean;
  revision_summary: RevisionSummary | null;
  item_id: number | null;
  attempt: number | null;
  error: string | null;
  /** Why a run was skipped (already complete, unchanged source, …). */
  reason: string | null;
}

export interface Anomaly {
  pipeline: string;
  partition_key: string;
  check: string;
  severity: 'info' | 'warning' | 'error';
  message: string;
}

export interface RunResult {
  schema_version: string;
  domain: string;
  scheduler: string;
  started_at: string;
  finished_at: string;
  status: RunStatus;
  /** Exactly the guide's four counters; blocked entries are skipped ones with `blocked: true`. */
  stats: { attempted: number; succeeded: number; failed: number; skipped: number };
  runs: RunEntry[];
  anomalies: Anomaly[];
  warnings: string[];
  config: Record<string, unknown>;
}

export function summarizeRuns(runs: readonly RunEntry[], dryRun: boolean): { status: RunStatus; stats: RunResult['stats'] } {
  const stats = { attempted: 0, succeeded: 0, failed: 0, skipped: 0 };
  let blocked = 0;
  let notRun = 0;
  for (const run of runs) {
    if (run.status === 'completed') stats.succeeded++;
    else if (run.status === 'failed') stats.failed++;
    else if (run.status === 'skipped') stats.skipped++;
    if (run.blocked) blocked++;
    if (run.not_run) notRun++;
    if (run.status === 'completed' || run.status === 'failed') stats.attempted++;
  }
  const notDone = stats.failed + blocked;
  // Skips that are fine (unchanged input, already complete) count as done partitions.
  const done = stats.succeeded + stats.skipped - blocked - notRun;
  let status: RunStatus;
  if (dryRun) status = 'dry_run';
  else if (notDone === 0) status = 'success';
  // The guide's table: 1 = all failed (nothing completed, e.g. --fail-fast stopping at the
  // first partition, or every item blocked), 2 = some completed and some did not.
  else if (done <= 0) status = 'failure';
  else status = 'partial';
  return { status, stats };
}

export function exitCodeFor(status: RunStatus): 0 | 1 | 2 {
  switch (status) {
    case 'success':
    case 'dry_run':
      return 0;
    case 'failure':
      return 1;
    case 'partial':
      return 2;
  }
}

/**
 * The guide's partition form: the values, date-like keys (`date`, `week_ending`, …_date)
 * first, then the rest in key order, joined by `|`: `2025-01-03|NMS_TIER_1`.
 */
export function guidePartitionKey(sluiceKey: string): string {
  if (sluiceKey === '-' || !sluiceKey.includes('=')) return sluiceKey;
  const partition = parsePartitionKey(sluiceKey);
  const isDate = (k: string) => k === 'date' || k === 'week_ending' || k.endsWith('_date');
  const keys = Object.keys(partition).sort((a, b) => Number(isDate(b)) - Number(isDate(a)) || a.localeCompare(b));
  return keys.map((k) => partition[k]).join('|');
}

export function emptyRunEntry(pipeline: string, partitionKey: string): RunEntry {
  return {
    pipeline,
    partition_key: guidePartitionKey(partitionKey),
    sluice_partition_key: partitionKey,
    blocked: false,
    not_run: false,
    status: 'skipped',
    duration_ms: 0,
    capture_id: null,
    row_count: null,
    is_revision: false,
    revision_summary: null,
    item_id: null,
    attempt: null,
    error: null,
    reason: null,
  };
}

/** The guide's timestamp form, `2025-01-01T00:01:30Z`: UTC, whole seconds (durations are in `duration_ms`). */
export function guideTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Assembles a run result from its runs: status and stats are derived, never passed in,
 * so every command (`run`, `finra`, `prices`) reports them the same way. */
export function buildRunResult(parts: {
  domain: string;
  /** The scheduler's name, as the guide's `scheduler` field: `weekly_ingest`, `daily_prices`, the pipeline. */
  scheduler?: string;
  startedAt: Date;
  runs: RunEntry[];
  anomalies?: Anomaly[];
  warnings?: string[];
  config: Record<string, unknown>;
  dryRun: boolean;
}): RunResult {
  const { status, stats } = summarizeRuns(parts.runs, parts.dryRun);
  return {
    schema_version: RUN_RESULT_SCHEMA_VERSION,
    domain: parts.domain,
    scheduler: parts.scheduler ?? 'sluice',
    started_at: guideTimestamp(parts.startedAt),
    finished_at: guideTimestamp(new Date()),
    status,
    stats,
    runs: parts.runs,
    anomalies: parts.anomalies ?? [],
    warnings: parts.warnings ?? [],
    config: parts.config,
  };
}
