import type { z } from 'zod';
import { lazyHandler, type HandlerContext, type HandlerResult, type PipelineDefinition } from '../core/pipeline.js';

/** How hard a source pipeline tries: vendors' rate limits and late publications call for long back-offs. */
export interface SourceLimits {
  attempts: number;
  /** Base delay, growth factor and cap of the back-off between attempts, in ms. */
  backoff: readonly [baseDelayMs: number, factor: number, maxDelayMs: number];
  timeoutMs: number;
  /** Items of the pipeline running at once, across all workers (a vendor's fair share). */
  concurrency: number;
}

/**
 * A domain's pipeline that fetches from an outside source (FINRA files, price vendors, FRED)
 * and lands what it got. The definition is what validation and listing read; the handler's
 * module (`load`) is imported on the first run and gets the domain's options.
 */
export function sourcePipeline<P, O>(
  def: { domain: string; name: string; description: string; partition: z.ZodType<Record<string, string>>; params: z.ZodType<P> },
  limits: SourceLimits,
  load: () => Promise<(ctx: HandlerContext<P>, options: O) => Promise<HandlerResult>>,
  options: O,
): PipelineDefinition<P> {
  const [baseDelayMs, factor, maxDelayMs] = limits.backoff;
  return {
    ...def,
    retry: { maxAttempts: limits.attempts, baseDelayMs, factor, maxDelayMs },
    timeoutMs: limits.timeoutMs,
    concurrency: limits.concurrency,
    handler: lazyHandler(async () => {
      const run = await load();
      return (ctx) => run(ctx, options);
    }),
  };
}
