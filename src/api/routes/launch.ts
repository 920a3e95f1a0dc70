import { z } from 'zod';
import { bulkAction, launchPartition } from '../../engine/launch.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { itemJson } from '../queries.js';
import { paramsDoc, partitionDoc, pickErrors, workItemSchema } from '../schemas.js';

/** Launch a partition now, and bulk retry / re-run / cancel of selected items (grid cells). */
export const launchRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, { app }) => {
  server.post(
    '/launch',
    {
      schema: {
        tags: ['work'],
        summary: 'Run a partition now: enqueue it due now (with its auto downstream), or re-run it when finished; a COMPLETE partition needs force: true',
        body: z.strictObject({
          pipeline: z.string().min(1),
          partition: partitionDoc,
          params: paramsDoc.optional(),
          priority: z.number({ error: 'be an integer' }).int({ error: 'be an integer' }).optional(),
          force: z.boolean({ error: 'be true or false' }).optional(),
        }),
        response: { 200: z.object({ action: z.enum(['created', 'rerun', 'already_outstanding']), item: workItemSchema }), ...pickErrors(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const b = request.body;
      const r = await launchPartition(
        app.store,
        app.registry,
        { pipeline: b.pipeline, partition: b.partition as Record<string, string>, params: b.params, priority: b.priority, force: b.force },
        'api',
      );
      return { action: r.action, item: itemJson(r.item) };
    },
  );

  server.post(
    '/work/bulk',
    {
      schema: {
        tags: ['work'],
        summary: 'Retry, re-run or cancel many items at once (e.g. cells selected in the grid); each item reports its own outcome',
        body: z.strictObject({
          action: z.enum(['retry', 'rerun', 'cancel'], { error: 'be one of retry, rerun, cancel' }),
          ids: z
            .array(z.number().int().positive(), { error: 'be an array of item ids' })
            .min(1, { error: 'name at least one item' })
            .max(10_000, { error: 'name at most 10000 items' }),
          force: z.boolean({ error: 'be true or false' }).optional(),
        }),
        response: {
          200: z.object({
            results: z.array(z.object({ id: z.number().int(), ok: z.boolean(), state: z.string().nullable(), error: z.string().nullable() })),
            succeeded: z.number().int(),
            failed: z.number().int(),
          }),
          ...pickErrors(400, 401),
        },
      },
    },
    async (request) => {
      const results = await bulkAction(app.store, request.body.action, request.body.ids, { force: request.body.force, actor: 'api' });
      return { results, succeeded: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length };
    },
  );
};
