/**
 * The run-result contract printed by `sluice run|finra|prices --json`. Scripts and cron
 * wrappers parse it and branch on the exit code, so field names are stable:
 * exit 0 = success or dry-run, 1 = failure (nothing succeeded), 2 = partial.
 */
export const RUN_RESULT_SCHEMA_VERSION = 1;

export type RunStatus = 'success' | 'failure' | 'partial' | 'dry_run';
export type RunEntryStatus = 'success' | 'failed' | 'skipped' | 'dry_run';

export interface RevisionSummary {
  rows_added: number;
  rows_removed: number;
  rows_changed: number;
}

export interface RunEntry {
  pipeline: string;
  partition_key: string;
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
  schema_version: number;
  domain: string;
  scheduler: string;
  started_at: string;
  finished_at: string;
  status: RunStatus;
  stats: { attempted: number; succeeded: number; failed: number; skipped: number };
  runs: RunEntry[];
  anomalies: Anomaly[];
  warnings: string[];
  config: Record<string, unknown>;
}

export function summarizeRuns(runs: readonly RunEntry[], dryRun: boolean): { status: RunStatus; stats: RunResult['stats'] } {
  const stats = { attempted: 0, succeeded: 0, failed: 0, skipped: 0 };
  for (const run of runs) {
    if (run.status === 'success') stats.succeeded++;
    else if (run.status === 'failed') stats.failed++;
    else if (run.status === 'skipped') stats.skipped++;
    if (run.status === 'success' || run.status === 'failed') stats.attempted++;
  }
  let status: RunStatus;
  if (dryRun) status = 'dry_run';
  else if (stats.failed === 0) status = 'success';
  else if (stats.succeeded === 0 && stats.skipped === 0) status = 'failure';
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

export function emptyRunEntry(pipeline: string, partitionKey: string): RunEntry {
  return {
    pipeline,
    partition_key: partitionKey,
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

/** Assembles a run result from its runs: status and stats are derived, never passed in,
 * so every command (`run`, `finra`, `prices`) reports them the same way. */
export function buildRunResult(parts: {
  domain: string;
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
    scheduler: 'sluice',
    started_at: parts.startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    status,
    stats,
    runs: parts.runs,
    anomalies: parts.anomalies ?? [],
    warnings: parts.warnings ?? [],
    config: parts.config,
  };
}
