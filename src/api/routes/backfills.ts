import { z } from 'zod';
import { WORK_STATES } from '../../core/states.js';
import { ValidationError } from '../../core/errors.js';
import { backfillStatus, cancelBackfill, createBackfill, listBackfills } from '../../engine/backfills.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { idParam, limitParam, offsetParam, paramsDoc, partitionDoc, pickErrors } from '../schemas.js';

const counts = z.object(Object.fromEntries(WORK_STATES.map((s) => [s, z.number().int()])) as Record<(typeof WORK_STATES)[number], z.ZodNumber>);

export const backfillSchema = z
  .object({
    id: z.number().int(),
    pipeline: z.string(),
    status: z.enum(['enqueuing', 'enqueued', 'cancelled', 'failed']).meta({ description: 'how far the enqueue got' }),
    state: z
      .enum(['enqueuing', 'running', 'done', 'cancelled', 'failed'])
      .meta({ description: 'how far the backfill has run: running while any linked item is outstanding' }),
    request: z.record(z.string(), z.unknown()),
    priority: z.number().int(),
    reprocess: z.enum(['missing', 'failed', 'all']),
    downstream: z.boolean(),
    partitions: z.number().int(),
    error: z.string().nullable(),
    created_at: z.string(),
    enqueued_at: z.string().nullable(),
    cancelled_at: z.string().nullable(),
    progress: z.object({
      requested: counts,
      downstream: counts,
      total: z.number().int(),
      finished: z.number().int(),
      complete: z.number().int(),
      failed: z.number().int(),
      outstanding: z.number().int(),
      percent: z.number(),
      rate_per_minute: z.number().nullable(),
      eta_seconds: z.number().int().nullable(),
    }),
  })
  .meta({ id: 'Backfill' });

const fixedDoc = z.union([partitionDoc, z.array(partitionDoc)]);

/** Backfills as objects: create (enqueue runs in the background), list, status, cancel. */
export const backfillRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, { app }) => {
  server.post(
    '/backfills',
    {
      schema: {
        tags: ['backfills'],
        summary:
          'Create a backfill over a date range or key range; every enum dimension not narrowed by `partition` fans out; the auto downstream comes along unless `downstream: false`',
        body: z.strictObject({
          pipeline: z.string().min(1),
          from: z.string().optional(),
          to: z.string().optional(),
          partition_range: z.string().optional().meta({ description: 'key=A..B (dates or integers)' }),
          partition: fixedDoc.optional().meta({ description: 'fixed keys added to every partition; an array = cross product' }),
          calendar: z.string().optional(),
          params: paramsDoc.optional(),
          priority: z.number({ error: 'be an integer' }).int({ error: 'be an integer' }).optional(),
          reprocess: z.enum(['missing', 'failed', 'all'], { error: 'be one of missing, failed, all' }).optional(),
          downstream: z.boolean({ error: 'be true or false' }).optional(),
        }),
        response: { 201: backfillSchema, ...pickErrors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const fixed = b.partition === undefined ? [] : Array.isArray(b.partition) ? b.partition : [b.partition];
      fixed.forEach((f, i) => {
        if (typeof f !== 'object' || f === null || Array.isArray(f))
          throw new ValidationError(Array.isArray(b.partition) ? `partition[${i}]` : 'partition', f, 'be an object of partition keys and values');
      });
      const created = await createBackfill(app.store, app.registry, {
        pipeline: b.pipeline,
        from: b.from,
        to: b.to,
        partitionRange: b.partition_range,
        fixed: fixed as Record<string, string>[],
        calendar: b.calendar,
        params: b.params,
        priority: b.priority,
        reprocess: b.reprocess,
        downstream: b.downstream,
      });
      // The enqueue goes on after the answer; its failure is stored on the backfill.
      created.enqueued.catch((err) => app.logger.error({ err, backfill_id: created.backfill.id }, 'backfill enqueue failed'));
      return reply.code(201).send(await backfillStatus(app.store, created.backfill.id));
    },
  );

  server.get(
    '/backfills',
    {
      schema: {
        tags: ['backfills'],
        summary: 'Backfills, newest first, with progress',
        querystring: z.strictObject({ limit: limitParam(50, 500), offset: offsetParam }),
        response: {
          200: z.object({ backfills: z.array(backfillSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() }),
          ...pickErrors(400, 401),
        },
      },
    },
    async (request) => listBackfills(app.store, request.query.limit, request.query.offset),
  );

  server.get(
    '/backfills/:id',
    {
      schema: {
        tags: ['backfills'],
        summary: 'A backfill with its progress: items by state, rate, ETA',
        params: z.object({ id: idParam }),
        response: { 200: backfillSchema, ...pickErrors(400, 401, 404) },
      },
    },
    async (request) => backfillStatus(app.store, request.params.id),
  );

  server.post(
    '/backfills/:id/cancel',
    {
      schema: {
        tags: ['backfills'],
        summary: 'Cancel a backfill: stop its enqueue and cancel every linked item still waiting or running',
        params: z.object({ id: idParam }),
        response: { 200: z.object({ backfill: backfillSchema, cancelled: z.number().int() }), ...pickErrors(400, 401, 404) },
      },
    },
    async (request) => cancelBackfill(app.store, request.params.id, 'api'),
  );
};
