import type { z } from 'zod';
import type { Partition } from './partition.js';
// The data port's types live in core (core/data-port.ts); src/data/ implements them.
import type { DataStore } from './data-port.js';
import type { DependencySpec } from './dependencies.js';
import type { HandlerReport } from './handler-result.js';
import type { Logger } from './logger.js';
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
  /** The queue's housekeeping, for built-in pipelines such as `ops.maintenance`. */
  readonly queue: QueuePort;
  /**
   * The options of the batch command running this item inline (`sluice finra --force
   * --data-dir X`). A work item's params are fixed when it is first enqueued, so a later
   * command's flags cannot change them; they come here instead and win over the params.
   * Absent when a worker pool runs the item.
   */
  readonly run?: BatchRunOptions;
}

/** What one batch invocation passes to every handler it runs (see `HandlerContext.run`). */
export interface BatchRunOptions {
  /** Land even unchanged inputs again. */
  readonly force?: boolean;
  /** The source the command resolved once (flags, environment, config), in the domain's params form; paths absolute. */
  readonly source?: Readonly<Record<string, unknown>>;
  /** State a domain shares between the items of one batch (prices: the fetch window and series cache). */
  readonly shared?: object;
}

/**
 * The narrow part of the work queue a handler may reach: housekeeping only. Enqueueing and
 * state changes go through the engine, never through a handler's context.
 */
export interface QueuePort {
  /** Deletes finished items (and their attempts and events) older than `before`; returns how many. */
  pruneFinished(before: Date): Promise<number>;
  /** VACUUM / ANALYZE, as the backend does it. */
  maintain(): Promise<void>;
}

export type { Logger } from './logger.js';

/**
 * Whatever a handler returns is stored on the attempt as its result (must be JSON). The keys
 * the engine reads are typed in HandlerReport (`landed`, `warnings`, `skipped`, `reason`).
 */
export type HandlerResult = (HandlerReport & Record<string, unknown>) | void;

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

/**
 * A handler whose module is imported on its first run. A pipeline's definition (partition,
 * params, retry, dependencies) is what validation and listing need; the code that fetches,
 * parses and lands is needed only when an item runs, so `sluice status` never loads it.
 */
export function lazyHandler<P>(load: () => Promise<PipelineDefinition<P>['handler']>): PipelineDefinition<P>['handler'] {
  return async (ctx) => (await load())(ctx);
}
