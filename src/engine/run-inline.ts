import { partitionKey } from '../core/partition.js';
import { RERUNNABLE_STATES } from '../core/states.js';
import { buildRunResult, emptyRunEntry, type Anomaly, type RunEntry, type RunResult } from '../core/run-result.js';
import { readHandlerResult } from '../core/handler-result.js';
import { toRunAnomaly } from '../data/anomaly-checks.js';
import type { Store } from '../store/store.js';
import type { PipelineRegistry } from './registry.js';
import type { Worker, WorkerOptions } from './worker.js';
import { buildEnqueueSpec, type EnqueueRequest } from './enqueue.js';

export interface InlineRunRequest {
  pipeline: string;
  partitions: unknown[];
  params?: unknown;
  priority?: number;
  /** Re-run partitions whose item is already COMPLETE (or FAILED/CANCELLED). */
  force?: boolean;
  dryRun?: boolean;
  /** Stop at the first failed partition; the rest are reported as skipped. */
  failFast?: boolean;
}

/**
 * `sluice run`: enqueue each partition (idempotently) and run it right here, one attempt
 * each, then report the run-result contract. Every run leaves the same history in the
 * store as a worker's would. A failed attempt with retries left stays in RETRY_WAIT, so a
 * running worker pool picks the retry up on schedule.
 */
/** What an inline run needs of the app: the registry, the store and a way to build a worker (the app satisfies it). */
export interface InlineRunHost {
  registry: PipelineRegistry;
  store: Store;
  createWorker(overrides?: Partial<WorkerOptions>): Worker;
}

export async function runInline(app: InlineRunHost, request: InlineRunRequest): Promise<RunResult> {
  const startedAt = new Date();
  const specs = request.partitions.map((partition, i) =>
    buildEnqueueSpec(app.registry, { pipeline: request.pipeline, partition, params: request.params, priority: request.priority } satisfies EnqueueRequest, request.partitions.length > 1 ? `partitions[${i}]` : ''),
  );
  const pipelineKey = specs[0]?.pipeline.key ?? request.pipeline;
  const domain = specs[0]?.spec.domain ?? '';
  const runs: RunEntry[] = [];
  const warnings: string[] = [];
  const anomalies: Anomaly[] = [];

  if (request.dryRun) {
    for (const { spec } of specs) runs.push({ ...emptyRunEntry(pipelineKey, partitionKey(spec.partition)), status: 'dry_run', reason: 'dry run: nothing enqueued or run' });
  } else {
    const outcomes = await app.store.enqueue(specs.map((s) => s.spec));
    const worker = app.createWorker({ concurrency: 1 });
    let stop = false;
    for (const { item, created } of outcomes) {
      const entry = emptyRunEntry(pipelineKey, item.partitionKey);
      entry.item_id = item.id;
      if (stop) {
        runs.push({ ...entry, not_run: true, reason: 'not run: an earlier partition failed and --fail-fast is set' });
        continue;
      }
      if (!created && item.state === 'COMPLETE' && !request.force) {
        runs.push({ ...entry, reason: 'already complete (use --force to run again)' });
        continue;
      }
      if (!created && RERUNNABLE_STATES.includes(item.state)) await app.store.rerun(item.id, 'cli:run');
      // A WAITING item (new or old) cannot be claimed: its upstream partitions are not COMPLETE.
      if (item.state === 'WAITING') {
        runs.push({ ...entry, blocked: true, reason: 'blocked: waiting for upstream partitions (missing inputs)' });
        continue;
      }
      const [outcome] = await worker.runItems([item.id]);
      if (!outcome) {
        warnings.push(`${item.partitionKey}: item ${item.id} is running in another worker; not run here`);
        runs.push({ ...entry, reason: 'running in another worker' });
        continue;
      }
      const result = readHandlerResult(outcome.result);
      const ok = outcome.status === 'succeeded';
      const skippedByHandler = ok && result.skipped;
      runs.push({
        ...entry,
        status: skippedByHandler ? 'skipped' : ok ? 'completed' : 'failed',
        duration_ms: outcome.durationMs,
        attempt: outcome.item.attemptNo,
        error: ok ? null : (outcome.error ?? outcome.status),
        reason: skippedByHandler ? (result.reason ?? 'handler reported nothing to do') : null,
        capture_id: result.landed?.capture_id ?? null,
        row_count: result.landed?.row_count ?? null,
        is_revision: result.landed?.is_revision === true,
        revision_summary: result.landed?.revision_summary ?? null,
      });
      for (const a of result.anomalies) anomalies.push(toRunAnomaly(a, pipelineKey));
      for (const w of result.warnings) warnings.push(`${item.partitionKey}: ${w}`);
      if (!ok && request.failFast) stop = true;
    }
  }
  return buildRunResult({
    domain,
    scheduler: pipelineKey,
    startedAt,
    dryRun: request.dryRun === true,
    runs,
    anomalies,
    warnings,
    config: { pipeline: pipelineKey, force: request.force === true, fail_fast: request.failFast === true, database: app.store.backend },
  });
}
