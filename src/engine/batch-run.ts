import { ValidationError } from '../core/errors.js';
import { partitionKey, type Partition } from '../core/partition.js';
import type { BatchPlan } from '../core/batch-plan.js';
import type { Logger } from '../core/pipeline.js';
import { buildRunResult, emptyRunEntry, type Anomaly, type RunEntry, type RunResult } from '../core/run-result.js';
import type { EnqueueSpec } from '../store/store.js';
import { autoDownstreams } from './dependencies.js';
import { buildEnqueueSpec } from './enqueue.js';
import type { RegisteredPipeline } from './registry.js';
import type { InlineRunHost } from './run-inline.js';
import { runInlineItem } from './inline-item.js';

const NOT_RUN = 'not run: an earlier partition failed and --fail-fast is set';

/**
 * Runs a batch plan inline. The roots are enqueued with the downstream items their `auto`
 * dependencies ask for; then the roots run, then every followed downstream partition, level
 * by level as the dependency graph orders them (ingest -> normalize -> computes). Every
 * reached partition runs again even if it is COMPLETE: the handlers skip what is unchanged
 * (same source bytes, same upstream captures), so a re-run reports `skipped: unchanged` and
 * a restated file flows downstream. An item still WAITING on inputs this batch did not
 * produce is reported as blocked.
 */
export async function runBatch(app: InlineRunHost, plan: BatchPlan, log?: Logger): Promise<RunResult> {
  const startedAt = new Date();
  const runs: RunEntry[] = [];
  const anomalies: Anomaly[] = [];
  const warnings = [...plan.warnings];
  let stopped = false;
  for (const step of plan.steps) {
    const root = app.registry.require(step.pipeline);
    if (step.params) checkRootParams(app, root, step.params, plan.paramFlags ?? {});
    const roots = step.partitions.map((p, i) =>
      buildEnqueueSpec(app.registry, { pipeline: step.pipeline, partition: p, params: step.params }, step.partitions.length > 1 ? `partitions[${i}]` : ''),
    );
    const levels = downstreamLevels(
      app,
      roots.map((r) => ({ pipeline: r.pipeline, partition: r.spec.partition })),
      plan.follow,
    );
    const all = [roots, ...levels];
    log?.debug(
      { scheduler: plan.scheduler, pipeline: step.pipeline, roots: roots.length, downstream: levels.map((l) => l.length), dry_run: plan.dryRun },
      'batch step planned',
    );
    if (plan.dryRun) {
      for (const level of all)
        for (const { pipeline, spec } of level)
          runs.push({ ...emptyRunEntry(pipeline.key, partitionKey(spec.partition)), status: 'dry_run', reason: 'dry run: nothing enqueued or run' });
      continue;
    }
    const outcomes = await app.store.enqueue(all.flat().map((b) => b.spec));
    const created = new Map(outcomes.map((o) => [o.item.id, o.created]));
    const worker = app.createWorker({ concurrency: 1, runOptions: step.run });
    let offset = 0;
    for (const level of all) {
      for (const { pipeline } of level) {
        const { item } = outcomes[offset++]!;
        const entry = emptyRunEntry(pipeline.key, item.partitionKey);
        entry.item_id = item.id;
        if (stopped) {
          runs.push({ ...entry, not_run: true, reason: NOT_RUN });
          continue;
        }
        // Read again: an upstream that just completed (or restated) changed this item's state.
        const current = (await app.store.getItem(item.id)) ?? item;
        const ran = await runInlineItem(
          app.store,
          worker,
          current,
          { created: created.get(item.id) === true, rerunFinished: true, actor: 'cli:batch' },
          entry,
          { anomalies, warnings },
        );
        runs.push(ran);
        if (ran.status === 'failed' && plan.failFast) stopped = true;
      }
    }
  }
  return buildRunResult({ domain: plan.domain, scheduler: plan.scheduler, startedAt, dryRun: plan.dryRun, runs, anomalies, warnings, config: plan.config });
}

type Built = { pipeline: RegisteredPipeline; spec: EnqueueSpec };

/** The followed downstream partitions of the roots, one list per graph level, each once. */
function downstreamLevels(app: InlineRunHost, roots: { pipeline: RegisteredPipeline; partition: Partition }[], follow: readonly string[]): Built[][] {
  const seen = new Set(roots.map((r) => `${r.pipeline.key}|${partitionKey(r.partition)}`));
  const levels: Built[][] = [];
  let frontier = roots;
  while (frontier.length) {
    const next: Built[] = [];
    for (const { pipeline, partition } of frontier) {
      for (const down of autoDownstreams(app.registry, pipeline, partition)) {
        if (!follow.includes(down.pipeline.key)) continue;
        const key = `${down.pipeline.key}|${partitionKey(down.partition)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        next.push(buildEnqueueSpec(app.registry, { pipeline: down.pipeline.key, partition: down.partition }));
      }
    }
    // Listed by pipeline in the plan's order, then partition order as reached.
    next.sort((a, b) => follow.indexOf(a.pipeline.key) - follow.indexOf(b.pipeline.key));
    if (next.length) levels.push(next);
    frontier = next.map((b) => ({ pipeline: b.pipeline, partition: b.spec.partition }));
  }
  return levels;
}

/**
 * Root params come from the command's flags and are recorded on the items, so they pass
 * the same checks as an item's params (`data_dir` inside `access.data_roots`, `base_url`
 * on an allowed host); the error names the flag.
 */
function checkRootParams(app: InlineRunHost, pipeline: RegisteredPipeline, params: Record<string, unknown>, flags: Readonly<Record<string, string>>): void {
  try {
    app.registry.validateParams(pipeline, params);
  } catch (err) {
    const key = err instanceof ValidationError ? /^params\.(\w+)$/.exec(err.field)?.[1] : undefined;
    if (err instanceof ValidationError && key && flags[key]) throw new ValidationError(flags[key]!, err.value, err.rule);
    throw err;
  }
}
