import type { z } from 'zod';
import type { Partition } from './partition.js';
// Type-only: the data layer's interface is what handlers land data through. No runtime
// dependency from core upward.
import type { DataStore } from '../data/data-store.js';
import type { DependencySpec } from './dependencies.js';
import type { RetryPolicy } from './retry-policy.js';

/** What a handler gets for one attempt. */
export interface HandlerContext<P = Record<string, unknown>> {
  readonly domain: string;
  readonly pipeline: string;
  readonly partition: Partition;
  readonly partitionKey: string;
  readonly params: P;
  /** Aborted on timeout, cancel, lost lease or shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** 1-based attempt number within the current retry budget. */
  readonly attempt: number;
  /** This attempt's number in the item's whole history (attempt #N on the item page). */
  readonly attemptNo: number;
  readonly itemId: number;
  /** Append process output or progress text; the last few KiB are kept on the attempt. */
  output(text: string): void;
  /** Captures, staging + MERGE, manifest, as-of reads, on the same database as the queue. */
  readonly data: DataStore;
}

/** The subset of pino's logger handlers use; keeps `core` free of a logging dependency. */
export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Whatever a handler returns is stored on the attempt as its result (must be JSON). */
export type HandlerResult = Record<string, unknown> | void;

export interface PipelineDefinition<P = any> {
  readonly domain: string;
  readonly name: string;
  readonly description?: string;
  /** Keys a partition must have, each with a check; absent = any flat partition. */
  readonly partition?: z.ZodType<Record<string, string>>;
  readonly params?: z.ZodType<P>;
  readonly handler: (ctx: HandlerContext<P>) => Promise<HandlerResult> | HandlerResult;
  readonly retry?: Partial<RetryPolicy>;
  /** Milliseconds; the handler's signal aborts when it passes. */
  readonly timeoutMs?: number;
  /** At most this many items of this pipeline RUNNING at once, across all workers. */
  readonly concurrency?: number;
  readonly priority?: number;
  /** Upstream partitions that must be COMPLETE before this pipeline's partition runs. */
  readonly dependsOn?: readonly DependencySpec[];
}

/** Identity helper that gives handler params their type from the zod schema. */
export function definePipeline<S extends z.ZodType>(def: Omit<PipelineDefinition<z.infer<S>>, 'params'> & { params: S }): PipelineDefinition<z.infer<S>>;
export function definePipeline(def: PipelineDefinition<Record<string, unknown>>): PipelineDefinition<Record<string, unknown>>;
export function definePipeline(def: PipelineDefinition): PipelineDefinition {
  return def;
}
