import { z } from 'zod';
import { definePipeline } from '../../core/pipeline.js';

/** Does nothing: smoke tests and the queue benchmarks measure the engine, not a handler. */
export const noop = definePipeline({
  domain: 'ops',
  name: 'noop',
  description: 'Does nothing and succeeds.',
  params: z.object({}).passthrough(),
  handler: () => undefined,
});
