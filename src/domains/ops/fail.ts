import { z } from 'zod';
import { definePipeline } from '../../core/pipeline.js';

/** Fails its first `params.times` attempts, then succeeds: exercises retries end to end. */
export const fail = definePipeline({
  domain: 'ops',
  name: 'fail',
  description: 'Fails its first params.times attempts (default: always), then succeeds.',
  params: z.object({
    times: z.number().int().nonnegative().default(Number.MAX_SAFE_INTEGER),
    message: z.string().max(500).default('ops.fail: deliberate failure'),
  }),
  handler: ({ params, attempt }) => {
    if (attempt <= params.times) {
      const plan = params.times >= Number.MAX_SAFE_INTEGER ? 'fails every attempt' : `of ${params.times} planned failures`;
      throw new Error(`${params.message} (attempt ${attempt} ${plan})`);
    }
    return { failed_before: params.times };
  },
});
