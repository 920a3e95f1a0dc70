import { z } from 'zod';
import { definePipeline } from '../../core/pipeline.js';

/** Sleeps `params.ms`, honouring the abort signal (timeouts, cancels, shutdown tests). */
export const sleep = definePipeline({
  domain: 'ops',
  name: 'sleep',
  description: 'Sleeps params.ms milliseconds; stops early when aborted.',
  params: z.object({ ms: z.number().int().nonnegative().max(86_400_000).default(1_000) }),
  handler: async ({ params, signal }) => {
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, params.ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    return { slept_ms: params.ms };
  },
});
