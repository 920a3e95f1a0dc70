import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { definePipeline } from '../../core/pipeline.js';

/** Prunes finished work older than a retention, then VACUUM/ANALYZE. Schedule it nightly. */
export const maintenance = definePipeline({
  domain: 'ops',
  name: 'maintenance',
  description: 'Deletes finished items (and their attempts and events) older than params.retention, then VACUUM/ANALYZE.',
  params: z.object({
    retention: z
      .string()
      .default('30d')
      .refine((v) => {
        try {
          parseDuration(v);
          return true;
        } catch {
          return false;
        }
      }, 'must be a duration such as 30d or 12h'),
    vacuum: z.boolean().default(true),
  }),
  concurrency: 1,
  handler: async ({ params, log, queue }) => {
    const before = new Date(Date.now() - parseDuration(params.retention, 'params.retention'));
    const pruned = await queue.pruneFinished(before);
    if (params.vacuum) await queue.maintain();
    log.info({ pruned, before: before.toISOString() }, 'maintenance done');
    return { pruned, before: before.toISOString() };
  },
});
