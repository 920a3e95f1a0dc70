import { NotFoundError, ValidationError } from '../core/errors.js';
import { normalizePartition, type Partition } from '../core/partition.js';
import type { PipelineDefinition } from '../core/pipeline.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry-policy.js';
import { pipelineKey, splitPipelineKey } from '../core/work-item.js';

/** A pipeline as the engine runs it: its definition with defaults resolved. */
export interface RegisteredPipeline {
  readonly key: string;
  readonly definition: PipelineDefinition;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number | undefined;
  readonly concurrency: number | undefined;
  readonly priority: number;
}

/**
 * The set of pipelines a process knows. The CLI, the API and the worker all validate
 * against it before anything touches the queue, so an unknown pipeline, a malformed
 * partition or bad params is rejected with one clear error and the queue stays untouched.
 */
export class PipelineRegistry {
  private readonly pipelines = new Map<string, RegisteredPipeline>();

  register(definition: PipelineDefinition, overrides: Partial<Omit<RegisteredPipeline, 'key' | 'definition'>> = {}): this {
    if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/.test(definition.domain)) {
      throw new ValidationError('domain', definition.domain, 'be lower-case words of [a-z0-9_] separated by dots');
    }
    if (!/^[a-z][a-z0-9_]*$/.test(definition.name)) {
      throw new ValidationError('name', definition.name, 'be a lower-case word of [a-z0-9_] (no dots)');
    }
    const key = pipelineKey(definition.domain, definition.name);
    const existing = this.pipelines.get(key);
    this.pipelines.set(key, {
      key,
      definition,
      retry: overrides.retry ?? { ...(existing?.retry ?? DEFAULT_RETRY_POLICY), ...definition.retry },
      timeoutMs: overrides.timeoutMs ?? definition.timeoutMs ?? existing?.timeoutMs,
      concurrency: overrides.concurrency ?? definition.concurrency ?? existing?.concurrency,
      priority: overrides.priority ?? definition.priority ?? existing?.priority ?? 0,
    });
    return this;
  }

  /** Registers `definition` afresh, dropping what an earlier registration of the key set
   * (a reloaded config's pipeline must not keep a timeout the file no longer gives). */
  replace(definition: PipelineDefinition, overrides: Partial<Omit<RegisteredPipeline, 'key' | 'definition'>> = {}): this {
    this.pipelines.delete(pipelineKey(definition.domain, definition.name));
    return this.register(definition, overrides);
  }

  /** Applies config settings (retry, timeout, concurrency) to an already registered pipeline. */
  configure(key: string, settings: Partial<Omit<RegisteredPipeline, 'key' | 'definition'>>): void {
    const current = this.require(key);
    this.pipelines.set(key, { ...current, ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) });
  }

  has(key: string): boolean {
    return this.pipelines.has(key);
  }

  get(domain: string, name: string): RegisteredPipeline | undefined {
    return this.pipelines.get(pipelineKey(domain, name));
  }

  /** Looks a pipeline up by `domain.name`, with an error that lists what exists. */
  require(key: string, field = 'pipeline'): RegisteredPipeline {
    const found = this.pipelines.get(key);
    if (found) return found;
    if (!splitPipelineKey(key)) throw new ValidationError(field, key, 'be domain.name, e.g. ops.noop');
    const known = [...this.pipelines.keys()].sort();
    throw new ValidationError(field, key, `name a registered pipeline (known: ${known.join(', ')})`);
  }

  list(): RegisteredPipeline[] {
    return [...this.pipelines.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  keys(): string[] {
    return [...this.pipelines.keys()];
  }

  concurrencyLimits(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.pipelines.values()) if (p.concurrency !== undefined) out[p.key] = p.concurrency;
    return out;
  }

  /** Checks a partition against the pipeline's partition schema. `once`: a check made once
   * per process (a schedule's sample tick at start), parsed without zod's eval-compiled fast
   * path, which costs more to build than one parse; same result either way. */
  validatePartition(pipeline: RegisteredPipeline, raw: unknown, field = 'partition', once = false): Partition {
    const partition = normalizePartition(raw, field);
    const schema = pipeline.definition.partition;
    if (!schema) return partition;
    const parsed = schema.safeParse(partition, once ? { jitless: true } : undefined);
    if (!parsed.success) throw zodToValidation(parsed.error, field, partition);
    return parsed.data;
  }

  /** Checks params against the pipeline's params schema (`once`: as for validatePartition). */
  validateParams(pipeline: RegisteredPipeline, raw: unknown, field = 'params', once = false): Record<string, unknown> {
    const value = raw ?? {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(field, value, 'be a JSON object');
    const schema = pipeline.definition.params;
    if (!schema) return value as Record<string, unknown>;
    const parsed = schema.safeParse(value, once ? { jitless: true } : undefined);
    if (!parsed.success) throw zodToValidation(parsed.error, field, value);
    return parsed.data as Record<string, unknown>;
  }
}

// Moved down to core (config uses them too); kept here for existing importers.
export { formatPath, zodToValidation } from '../core/zod-rule.js';
import { zodToValidation } from '../core/zod-rule.js';

export { NotFoundError };
