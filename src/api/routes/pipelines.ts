import { z } from 'zod';
import { TERMINAL_STATES } from '../../core/states.js';
import { enqueueWork } from '../../engine/enqueue.js';
import type { RegisteredPipeline } from '../../engine/registry.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { itemJson } from '../queries.js';
import { pickErrors, workItemSchema } from '../schemas.js';
import { enqueueFields, toEnqueueRequest } from './work.js';

/** Partition keys a pipeline declares, when its partition schema is a plain zod object. */
export function partitionKeysOf(p: RegisteredPipeline): string[] | null {
  const schema = p.definition.partition as unknown as { shape?: Record<string, unknown> } | undefined;
  return schema?.shape && typeof schema.shape === 'object' ? Object.keys(schema.shape) : null;
}

export function pipelineJson(p: RegisteredPipeline) {
  return {
    pipeline: p.key,
    domain: p.definition.domain,
    name: p.definition.name,
    description: p.definition.description ?? null,
    partition_keys: partitionKeysOf(p),
    max_attempts: p.retry.maxAttempts,
    timeout_ms: p.timeoutMs ?? null,
    concurrency: p.concurrency ?? null,
    priority: p.priority,
  };
}

const pipelineSchema = z
  .object({
    pipeline: z.string(),
    domain: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    partition_keys: z.array(z.string()).nullable(),
    max_attempts: z.number().int(),
    timeout_ms: z.number().nullable(),
    concurrency: z.number().int().nullable(),
    priority: z.number().int(),
  })
  .meta({ id: 'Pipeline' });

export const pipelineRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, { app }) => {
  server.get(
    '/pipelines',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'Pipelines this process knows',
        response: { 200: z.object({ pipelines: z.array(pipelineSchema) }), ...pickErrors(401) },
      },
    },
    async () => ({ pipelines: app.registry.list().map(pipelineJson) }),
  );

  server.post(
    '/pipelines/:name/trigger',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'Run a pipeline now for one partition (manual run)',
        description:
          '`name` is domain.name. Enqueues the partition to run as soon as a worker is free: 201 {created: true} for a new item. ' +
          'If the partition already has an item that finished (COMPLETE, FAILED or CANCELLED) it is put back to PENDING for a re-run (200, rerun: true; ' +
          'it keeps its params). If it is still outstanding (PENDING, RUNNING, ...) nothing changes (200, rerun: false).',
        params: z.object({ name: z.string().min(1) }),
        body: z
          .strictObject({ ...enqueueFields })
          .nullish()
          .meta({ description: 'optional: partition, params, priority, at, max_attempts, base_delay' }),
        response: {
          200: z.object({ created: z.boolean(), rerun: z.boolean(), item: workItemSchema }),
          201: z.object({ created: z.boolean(), rerun: z.boolean(), item: workItemSchema }),
          ...pickErrors(400, 401, 415),
        },
      },
    },
    async (request, reply) => {
      app.registry.require(request.params.name, 'name');
      const [outcome] = await enqueueWork(app.store, app.registry, [toEnqueueRequest({ ...(request.body ?? {}), pipeline: request.params.name })]);
      const { item, created } = outcome!;
      if (created) return reply.code(201).send({ created: true, rerun: false, item: itemJson(item) });
      if (TERMINAL_STATES.includes(item.state)) {
        const rerun = await app.store.rerun(item.id, 'api');
        return reply.code(200).send({ created: false, rerun: rerun.changed, item: itemJson(rerun.item) });
      }
      return reply.code(200).send({ created: false, rerun: false, item: itemJson(item) });
    },
  );
};
