import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { Partition } from '../core/partition.js';
import { partitionKey } from '../core/partition.js';
import type { EnqueueOutcome, EnqueueSpec, Store } from '../store/store.js';
import { autoDownstreams, resolveUpstreams } from './dependencies.js';
import type { PipelineRegistry, RegisteredPipeline } from './registry.js';

/** One enqueue request as a user spells it (CLI flags, API body, schedule tick). */
export interface EnqueueRequest {
  pipeline: string;
  partition?: unknown;
  params?: unknown;
  priority?: number;
  desiredAt?: Date;
  maxAttempts?: number;
  baseDelay?: string | number;
}

/**
 * Validates a request against the registry and turns it into a store spec. Everything is
 * checked before the store is touched, so bad input leaves the queue exactly as it was.
 */
export function buildEnqueueSpec(registry: PipelineRegistry, request: EnqueueRequest, fieldPrefix = ''): { spec: EnqueueSpec; pipeline: RegisteredPipeline } {
  const f = (name: string) => (fieldPrefix ? `${fieldPrefix}.${name}` : name);
  const pipeline = registry.require(request.pipeline, f('pipeline'));
  const partition: Partition = registry.validatePartition(pipeline, request.partition, f('partition'));
  const params = registry.validateParams(pipeline, request.params, f('params'));
  if (request.priority !== undefined && !Number.isInteger(request.priority)) {
    throw new ValidationError(f('priority'), request.priority, 'be an integer (higher runs first)');
  }
  if (request.maxAttempts !== undefined && (!Number.isInteger(request.maxAttempts) || request.maxAttempts < 1)) {
    throw new ValidationError(f('max_attempts'), request.maxAttempts, 'be an integer of at least 1');
  }
  if (request.desiredAt !== undefined && Number.isNaN(request.desiredAt.getTime())) {
    throw new ValidationError(f('at'), String(request.desiredAt), 'be an ISO-8601 instant');
  }
  const retry = pipeline.retry;
  const shared = {
    domain: pipeline.definition.domain,
    pipeline: pipeline.definition.name,
    params,
    priority: request.priority ?? pipeline.priority,
    desiredAt: request.desiredAt,
    maxAttempts: request.maxAttempts ?? retry.maxAttempts,
    backoff: {
      baseDelayMs: request.baseDelay !== undefined ? parseDuration(request.baseDelay, f('base_delay')) : retry.baseDelayMs,
      factor: retry.factor,
      maxDelayMs: retry.maxDelayMs,
      jitter: retry.jitter,
    },
  };
  return withPartition(registry, pipeline, shared, partition);
}

/** A spec's per-partition part: the (validated) partition and the upstreams it resolves to. */
function withPartition(
  registry: PipelineRegistry,
  pipeline: RegisteredPipeline,
  shared: Omit<EnqueueSpec, 'partition' | 'dependencies'>,
  partition: Partition,
): { spec: EnqueueSpec; pipeline: RegisteredPipeline } {
  return { pipeline, spec: { ...shared, partition, dependencies: resolveUpstreams(registry, pipeline, partition) } };
}

/**
 * `buildEnqueueSpec` for many partitions of one request (a backfill): the pipeline, params,
 * priority and backoff are checked and built once and shared by every spec (stores serialize
 * a shared object once), each partition still validated and its upstreams resolved.
 */
export function enqueueSpecBuilder(
  registry: PipelineRegistry,
  request: Omit<EnqueueRequest, 'partition'>,
): (partition: unknown) => { spec: EnqueueSpec; pipeline: RegisteredPipeline } {
  let template: { spec: EnqueueSpec; pipeline: RegisteredPipeline } | undefined;
  return (raw) => {
    if (!template) return (template = buildEnqueueSpec(registry, { ...request, partition: raw }));
    const { pipeline, spec } = template;
    return withPartition(registry, pipeline, spec, registry.validatePartition(pipeline, raw, 'partition'));
  };
}

/** Whether some registered pipeline depends on one of these with `auto`. */
function hasAutoDownstream(registry: PipelineRegistry, upstreams: ReadonlySet<string>): boolean {
  return registry.list().some((p) => (p.definition.dependsOn ?? []).some((d) => d.auto && upstreams.has(d.pipeline)));
}

/**
 * Validates every request first, then enqueues them all in one store call, followed by the
 * downstream items of `auto` dependencies (as WAITING until their inputs complete). The
 * returned outcomes are the requested items only, in request order.
 */
export async function enqueueWork(store: Store, registry: PipelineRegistry, requests: readonly EnqueueRequest[]): Promise<EnqueueOutcome[]> {
  const built = requests.map((r, i) => buildEnqueueSpec(registry, r, requests.length > 1 ? `[${i}]` : ''));
  const specs = built.map((b) => b.spec);
  const extra = autoDownstreamSpecs(registry, built);
  const outcomes = await store.enqueue([...specs, ...extra]);
  return outcomes.slice(0, specs.length);
}

/**
 * The downstream items `auto` dependencies ask for, followed transitively (ingest ->
 * normalize -> compute), each once and never one of the requested items themselves. They
 * go into the same store call after the requested items, so they start WAITING on them.
 */
export function autoDownstreamSpecs(registry: PipelineRegistry, built: readonly { pipeline: RegisteredPipeline; spec: EnqueueSpec }[]): EnqueueSpec[] {
  // Most pipelines have no `auto` downstream: then a backfill chunk needs no key per item.
  if (!hasAutoDownstream(registry, new Set(built.map((b) => b.pipeline.key)))) return [];
  const seen = new Set(built.map((b) => `${b.pipeline.key}|${partitionKey(b.spec.partition)}`));
  const queue = [...built];
  const extra: EnqueueSpec[] = [];
  // A read index, not queue.shift(): shifting a backfill chunk of 50,000 is quadratic.
  for (let next = 0; next < queue.length; next++) {
    const { pipeline, spec } = queue[next]!;
    for (const down of autoDownstreams(registry, pipeline, spec.partition)) {
      const key = `${down.pipeline.key}|${partitionKey(down.partition)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const next = buildEnqueueSpec(registry, { pipeline: down.pipeline.key, partition: down.partition });
      extra.push(next.spec);
      queue.push(next);
    }
  }
  return extra;
}
