import { partitionKey } from '../core/partition.js';
import { buildRunResult, emptyRunEntry, type Anomaly, type RunEntry, type RunResult } from '../core/run-result.js';
import type { Store } from '../store/store.js';
import type { PipelineRegistry } from './registry.js';
import type { Worker, WorkerOptions } from './worker.js';
import { buildEnqueueSpec, type EnqueueRequest } from './enqueue.js';
import { runInlineItem } from './inline-item.js';

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
    buildEnqueueSpec(
      app.registry,
      { pipeline: request.pipeline, partition, params: request.params, priority: request.priority } satisfies EnqueueRequest,
      request.partitions.length > 1 ? `partitions[${i}]` : '',
    ),
  );
  const pipelineKey = specs[0]?.pipeline.key ?? request.pipeline;
  const domain = specs[0]?.spec.domain ?? '';
  const runs: RunEntry[] = [];
  const warnings: string[] = [];
  const anomalies: Anomaly[] = [];

  if (request.dryRun) {
    for (const { spec } of specs)
      runs.push({ ...emptyRunEntry(pipelineKey, partitionKey(spec.partition)), status: 'dry_run', reason: 'dry run: nothing enqueued or run' });
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
      const ran = await runInlineItem(app.store, worker, item, { created, rerunFinished: request.force === true, actor: 'cli:run' }, entry, {
        anomalies,
        warnings,
      });
      runs.push(ran);
      if (ran.status === 'failed' && request.failFast) stop = true;
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
