import { alertStoreFor } from '../../store/alert-store.js';
import { compileDeadlines } from '../../engine/alerts/deadline-rules.js';
import { itemDeadlineView } from '../../engine/alerts/deadline-view.js';
import { blockedReason } from '../../engine/dependencies.js';
import { z } from 'zod';
import { ATTEMPT_STATUSES } from '../../core/states.js';
import { enqueueWork, type EnqueueRequest } from '../../engine/enqueue.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { marketSpineEntry, stateListKey, translateMarketSpine } from '../market-spine.js';
import { itemDetail, itemJson, listWork, recentRuns, resolvePipelineFilter } from '../queries.js';
import {
  attemptSchema,
  eventSchema,
  idParam,
  limitParam,
  offsetParam,
  paramsDoc,
  partitionDoc,
  pickErrors,
  stateFilter,
  workItemSchema,
  workStateSchema,
} from '../schemas.js';

/** The fields of one enqueue request, as the CLI spells them (snake_case). */
export const enqueueFields = {
  partition: partitionDoc.optional(),
  params: paramsDoc.optional(),
  priority: z.number({ error: 'be an integer (higher runs first)' }).optional().meta({ description: "higher runs first; default: the pipeline's priority" }),
  at: z
    .string({ error: 'be an ISO-8601 instant, e.g. 2026-01-05T14:30:00Z' })
    .optional()
    .meta({ description: 'run no earlier than this instant (ISO-8601); default: now' }),
  max_attempts: z.number({ error: 'be an integer of at least 1' }).optional().meta({ description: "default: the pipeline's retry.max_attempts" }),
  base_delay: z
    .union([z.string(), z.number()], { error: 'be a duration such as 500ms, 5s, 15m' })
    .optional()
    .meta({ description: 'retry back-off base delay, e.g. 5s' }),
  // Market Spine's names (the operational scheduling guide), translated by translateMarketSpine.
  domain: z
    .string({ error: 'be a domain name, e.g. finra.otc_transparency' })
    .optional()
    .meta({ description: 'Market Spine form: the domain, with a short pipeline name' }),
  partition_key: partitionDoc.optional().meta({ description: 'Market Spine form of partition (an object, or its JSON text)' }),
  desired_at: z.string({ error: 'be an ISO-8601 instant, e.g. 2025-12-23T10:30:00Z' }).optional().meta({ description: 'Market Spine form of at' }),
};

const enqueueOne = z.strictObject({
  pipeline: z.string({ error: 'be a pipeline name domain.name, e.g. ops.noop' }).meta({ description: 'domain.name, e.g. ops.noop', example: 'ops.noop' }),
  ...enqueueFields,
});

const enqueueBody = z
  .strictObject({
    pipeline: enqueueOne.shape.pipeline.optional(),
    ...enqueueFields,
    items: z
      .array(enqueueOne, { error: 'be an array of enqueue requests' })
      .min(1, { error: 'hold at least one request' })
      .max(1000, { error: 'hold at most 1000 requests' })
      .optional(),
  })
  .superRefine((body, ctx) => {
    if (body.items !== undefined) {
      const mixed = Object.keys(body).find((k) => k !== 'items');
      if (mixed) ctx.addIssue({ code: 'custom', path: [mixed], message: 'not be given beside items: put it inside each item' });
    } else if (body.pipeline === undefined && body.domain === undefined) {
      ctx.addIssue({ code: 'custom', path: ['pipeline'], message: 'be given: a pipeline name domain.name, e.g. ops.noop (or send {items:[...]})' });
    }
  })
  .meta({
    description: 'One request ({pipeline, partition, ...}) or a batch ({items: [...]}, validated whole before anything is enqueued).',
    example: { pipeline: 'ops.noop', partition: { date: '2026-01-05' } },
  });

const enqueueResult = z.object({
  created: z.boolean().meta({ description: 'false: the (pipeline, partition) already existed; nothing changed' }),
  item: workItemSchema,
  work_item_id: z.number().int().optional().meta({ description: 'the item id, under the name Market Spine scripts read' }),
  warnings: z.array(z.string()).optional(),
});
const batchResult = z.object({
  created: z.number().int(),
  existing: z.number().int(),
  results: z.array(enqueueResult),
  warnings: z.array(z.string()).optional(),
});

export function toEnqueueRequest(
  body: Omit<z.infer<typeof enqueueOne>, 'pipeline'> & { pipeline?: string },
  prefix = '',
  warnings: string[] = [],
): EnqueueRequest {
  const t = translateMarketSpine(body, prefix);
  warnings.push(...t.warnings);
  return {
    pipeline: t.pipeline ?? '',
    partition: t.partition,
    params: t.params,
    priority: body.priority,
    desiredAt: t.at === undefined ? undefined : new Date(t.at),
    maxAttempts: body.max_attempts,
    baseDelay: body.base_delay,
  };
}

export const workRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, ctx) => {
  const { app } = ctx;

  server.post(
    '/work/enqueue',
    {
      schema: {
        tags: ['work'],
        summary: 'Enqueue work (idempotent on pipeline + partition)',
        description:
          'New item: 201 {created: true, item}. The (pipeline, partition) already exists: 200 {created: false, item} with the existing item, unchanged. ' +
          'Batch ({items: [...]}): every request is validated before anything is enqueued; 201 when at least one item was created, else 200. ' +
          "Bad input (unknown pipeline, partition or params that fail the pipeline's schema) is a 400 naming the field, and leaves the queue untouched.",
        body: enqueueBody,
        response: { 200: z.union([enqueueResult, batchResult]), 201: z.union([enqueueResult, batchResult]), ...pickErrors(400, 401, 415) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const warnings: string[] = [];
      if (body.items) {
        const outcomes = await enqueueWork(
          app.store,
          app.registry,
          body.items.map((b, i) => toEnqueueRequest(b, `items[${i}]`, warnings)),
        );
        const created = outcomes.filter((o) => o.created).length;
        return reply.code(created > 0 ? 201 : 200).send({
          created,
          existing: outcomes.length - created,
          results: outcomes.map((o) => ({ created: o.created, item: itemJson(o.item) })),
          warnings,
        });
      }
      const [outcome] = await enqueueWork(app.store, app.registry, [toEnqueueRequest(body, '', warnings)]);
      const item = itemJson(outcome!.item);
      // work_item_id: the guide's scripts read the new item's id under that name.
      return reply.code(outcome!.created ? 201 : 200).send({ created: outcome!.created, item, work_item_id: item.id, warnings });
    },
  );

  server.get(
    '/work/pending',
    {
      schema: {
        tags: ['work'],
        summary: 'List work items (default: PENDING, RETRY_WAIT and WAITING)',
        description:
          'Filters: `state` (comma-separated, or ALL; when absent the default is PENDING,RETRY_WAIT,WAITING — work that is waiting to run), ' +
          '`domain`, `pipeline` (domain.name or a bare name). Newest first; page with `limit` (1-1000, default 50) and `offset`. `total` counts every match.',
        querystring: z.strictObject({
          state: stateFilter,
          domain: z.string().optional(),
          pipeline: z.string().optional(),
          limit: limitParam(50, 1000),
          offset: offsetParam,
          order: z.enum(['newest', 'oldest'], { error: 'be newest or oldest' }).default('newest'),
        }),
        response: {
          200: z
            .object({
              items: z.array(workItemSchema),
              total: z.number().int(),
              limit: z.number().int(),
              offset: z.number().int(),
              states: z.union([z.literal('ALL'), z.array(workStateSchema)]),
            })
            .catchall(z.unknown())
            .meta({
              description:
                'When one state is asked for, its items are also listed under the lower-case state name (e.g. `failed`), in Market Spine form: partition_key as an object, attempt_count, last_error, last_error_at.',
            }),
          ...pickErrors(400, 401),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const list = await listWork(ctx, { states: q.state, domain: q.domain, pipeline: q.pipeline, limit: q.limit, offset: q.offset, order: q.order });
      const key = stateListKey(list.states);
      return key === null ? list : { ...list, [key]: list.items.map(marketSpineEntry) };
    },
  );

  server.get(
    '/work/:id',
    {
      schema: {
        tags: ['work'],
        summary: 'One work item with its attempts (errors, output tail), events and upstream dependencies',
        params: z.object({ id: idParam }),
        response: {
          200: z.object({
            item: workItemSchema,
            attempts: z.array(attemptSchema),
            events: z.array(eventSchema),
            dependencies: z
              .array(
                z.object({
                  pipeline: z.string(),
                  partition_key: z.string(),
                  state: workStateSchema.nullable(),
                  item_id: z.number().int().nullable(),
                  last_error: z.string().nullable(),
                }),
              )
              .meta({ description: 'upstream partitions this item waits on (state null: not enqueued yet)' }),
            blocked_reason: z.string().nullable().meta({ description: 'for a WAITING item: what it waits for, or which failed upstream blocks it' }),
            deadline: z
              .object({ deadline: z.string(), due_at: z.string(), state: z.enum(['pending', 'met', 'missed', 'untracked']), met_at: z.string().nullable() })
              .nullable()
              .meta({ description: "the partition's freshness deadline and its state (null: the pipeline declares none)" }),
          }),
          ...pickErrors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const detail = await itemDetail(ctx, request.params.id);
      const blocked = detail.item.state === 'WAITING' ? blockedReason(await app.store.listDependencies(request.params.id)) : null;
      const item = (await app.store.getItem(request.params.id))!;
      const deadline = await itemDeadlineView(alertStoreFor(app.store), compileDeadlines(app.config, app.registry), item);
      return { ...detail, blocked_reason: blocked, deadline };
    },
  );

  server.post(
    '/work/retry',
    {
      schema: {
        tags: ['work'],
        summary: 'Manual retry: one item by id, or every FAILED item of a domain (and pipeline)',
        description:
          '{id}: the item must be FAILED or CANCELLED (409 otherwise, 404 if unknown); it goes back to PENDING with a fresh attempt budget. ' +
          '{domain[, pipeline]} or {pipeline: "domain.name"}: every FAILED item there. Answers the items that were put back.',
        body: z
          .strictObject({
            id: idParam.optional(),
            work_item_id: idParam.optional().meta({ description: 'Market Spine name of id' }),
            domain: z.string().min(1).optional(),
            pipeline: z.string().min(1).optional(),
          })
          .transform((b, c) => {
            if (b.work_item_id === undefined) return b;
            if (b.id !== undefined) c.addIssue({ code: 'custom', path: ['work_item_id'], message: 'not be given beside id (the same field: use one)' });
            const { work_item_id, ...rest } = b;
            return { ...rest, id: work_item_id };
          })
          .superRefine((b, c) => {
            if (b.id !== undefined && (b.domain !== undefined || b.pipeline !== undefined))
              c.addIssue({ code: 'custom', path: ['id'], message: 'be given alone (not with domain/pipeline)' });
            if (b.id === undefined && b.domain === undefined && !b.pipeline?.includes('.'))
              c.addIssue({ code: 'custom', path: ['id'], message: 'be given, or a domain (and optionally a pipeline), or a pipeline as domain.name' });
          }),
        response: { 200: z.object({ retried: z.number().int(), items: z.array(workItemSchema) }), ...pickErrors(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const b = request.body;
      const items = b.id !== undefined ? await app.store.retry({ id: b.id }, 'api') : await app.store.retry(resolvePipelineFilter(b.domain, b.pipeline), 'api');
      return { retried: items.length, items: items.map(itemJson) };
    },
  );

  server.post(
    '/work/cancel',
    {
      schema: {
        tags: ['work'],
        summary: 'Cancel an item (a running handler is aborted)',
        description: 'Legal from WAITING, PENDING, RETRY_WAIT and RUNNING (409 from COMPLETE or FAILED; an already CANCELLED item answers changed: false).',
        body: z
          .strictObject({ id: idParam.optional(), work_item_id: idParam.optional().meta({ description: 'Market Spine name of id' }) })
          .superRefine((b, c) => {
            if (b.id !== undefined && b.work_item_id !== undefined)
              c.addIssue({ code: 'custom', path: ['work_item_id'], message: 'not be given beside id (the same field: use one)' });
            if (b.id === undefined && b.work_item_id === undefined)
              c.addIssue({ code: 'custom', path: ['id'], message: 'be given (or work_item_id): a positive integer work item id' });
          }),
        response: { 200: z.object({ changed: z.boolean(), item: workItemSchema }), ...pickErrors(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const outcome = await app.store.cancel((request.body.id ?? request.body.work_item_id)!, 'api');
      return { changed: outcome.changed, item: itemJson(outcome.item) };
    },
  );

  server.get(
    '/runs',
    {
      schema: {
        tags: ['work'],
        summary: 'Recent attempts across items, newest first',
        description:
          'Every attempt, newest first (by start time), filtered by `domain`, `pipeline` and attempt `status`, paged with `limit` and `offset`. ' +
          '`total` is the exact number of matching attempts; an offset past it returns no rows. `window_items` says how many attempts this page read.',
        querystring: z.strictObject({
          domain: z.string().optional(),
          pipeline: z.string().optional(),
          status: z.enum(ATTEMPT_STATUSES, { error: `be one of ${ATTEMPT_STATUSES.join(', ')}` }).optional(),
          limit: limitParam(50, 500),
          offset: offsetParam,
        }),
        response: {
          200: z.object({
            runs: z.array(
              attemptSchema.extend({
                item_id: z.number().int(),
                domain: z.string(),
                pipeline: z.string(),
                partition_key: z.string(),
                item_state: workStateSchema,
              }),
            ),
            total: z.number().int(),
            limit: z.number().int(),
            offset: z.number().int(),
            window_items: z.number().int(),
          }),
          ...pickErrors(400, 401),
        },
      },
    },
    async (request) => recentRuns(ctx, request.query),
  );
};
