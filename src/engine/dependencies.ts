import { downstreamPartitions, upstreamPartitions } from '../core/dependencies.js';
import { ValidationError } from '../core/errors.js';
import { partitionKey, type Partition } from '../core/partition.js';
import type { DependencyStatus, Store, UpstreamRef } from '../store/store.js';
import type { PipelineRegistry, RegisteredPipeline } from './registry.js';

/** The upstream partitions a downstream partition needs, resolved against the registry. */
export function resolveUpstreams(registry: PipelineRegistry, pipeline: RegisteredPipeline, partition: Partition): UpstreamRef[] {
  const refs: UpstreamRef[] = [];
  for (const dep of pipeline.definition.dependsOn ?? []) {
    const upstream = registry.require(dep.pipeline, `${pipeline.key}.dependsOn`);
    for (const p of upstreamPartitions(dep, partition)) {
      refs.push({
        domain: upstream.definition.domain,
        pipeline: upstream.definition.name,
        partitionKey: partitionKey(registry.validatePartition(upstream, p, `${pipeline.key} upstream ${upstream.key}`)),
      });
    }
  }
  return refs;
}

/** For an upstream being enqueued: the downstream items its `auto` dependents need. */
export function autoDownstreams(
  registry: PipelineRegistry,
  upstream: RegisteredPipeline,
  partition: Partition,
): { pipeline: RegisteredPipeline; partition: Partition }[] {
  const out: { pipeline: RegisteredPipeline; partition: Partition }[] = [];
  for (const candidate of registry.list()) {
    for (const dep of candidate.definition.dependsOn ?? []) {
      if (!dep.auto || dep.pipeline !== upstream.key) continue;
      for (const p of downstreamPartitions(dep, partition)) out.push({ pipeline: candidate, partition: p });
    }
  }
  return out;
}

/** Every dependsOn names a registered pipeline; checked once at start-up. */
export function checkDependencyGraph(registry: PipelineRegistry): void {
  for (const p of registry.list()) {
    (p.definition.dependsOn ?? []).forEach((dep, i) => {
      if (!registry.has(dep.pipeline)) throw new ValidationError(`${p.key}.dependsOn[${i}].pipeline`, dep.pipeline, 'name a registered pipeline');
    });
  }
}

/** One upstream of an item as `work show --json` and `GET /api/v1/work/:id` print it. */
export function dependencyToJson(d: DependencyStatus) {
  return {
    pipeline: `${d.domain}.${d.pipeline}`,
    partition_key: d.partitionKey,
    state: d.state,
    item_id: d.itemId,
    last_error: d.lastError,
  };
}

/** Why a WAITING item is not running yet, in words for `work show` and the API. */
export function blockedReason(deps: readonly DependencyStatus[]): string | null {
  const failed = deps.filter((d) => d.state === 'FAILED' || d.state === 'CANCELLED');
  if (failed.length) {
    const d = failed[0]!;
    return `blocked: upstream ${d.domain}.${d.pipeline} [${d.partitionKey}] is ${d.state}${d.lastError ? ` (${d.lastError})` : ''}${failed.length > 1 ? ` and ${failed.length - 1} more` : ''}; retry it to unblock`;
  }
  const missing = deps.filter((d) => d.state === null);
  const open = deps.filter((d) => d.state !== null && d.state !== 'COMPLETE');
  if (missing.length === 0 && open.length === 0) return null;
  const parts: string[] = [];
  if (open.length)
    parts.push(
      `${open.length} upstream partition(s) not complete yet (${open
        .slice(0, 3)
        .map((d) => `${d.pipeline} [${d.partitionKey}] ${d.state}`)
        .join(', ')})`,
    );
  if (missing.length)
    parts.push(
      `${missing.length} upstream partition(s) never enqueued (${missing
        .slice(0, 3)
        .map((d) => `${d.domain}.${d.pipeline} [${d.partitionKey}]`)
        .join(', ')})`,
    );
  return `waiting: ${parts.join('; ')}`;
}

/**
 * A restatement upstream makes finished downstream partitions stale: put the COMPLETE ones
 * back to PENDING so they recompute from the new capture. Called after an attempt whose
 * result says `is_revision: true`; the re-runs cascade, since each recomputed stage that
 * changes its own output is itself a revision. Returns the ids put back.
 */
export async function rerunStaleDownstream(
  store: Store,
  registry: PipelineRegistry,
  upstream: { domain: string; pipeline: string; partition: Partition; partitionKey: string },
): Promise<number[]> {
  const key = `${upstream.domain}.${upstream.pipeline}`;
  const ids: number[] = [];
  for (const candidate of registry.list()) {
    for (const dep of candidate.definition.dependsOn ?? []) {
      if (dep.pipeline !== key) continue;
      for (const p of downstreamPartitions(dep, upstream.partition)) {
        const item = await store.findItem(candidate.definition.domain, candidate.definition.name, partitionKey(p));
        if (item?.state !== 'COMPLETE') continue;
        const { changed } = await store.rerun(item.id, `restatement of ${key} [${upstream.partitionKey}]`);
        if (changed) ids.push(item.id);
      }
    }
  }
  return ids;
}
