import { z } from 'zod';
import type { WorkState } from '../../core/states.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext, ZodServer } from '../context.js';
import { graphBody } from '../dashboard/graph-svg.js';
import { page, type Shell } from '../dashboard/pages.js';
import { itemLineage, pipelineGraph } from '../lineage.js';
import { idParam, pickErrors } from '../schemas.js';
import { sendPage } from './dashboard.js';

type ShellOf = (s: Omit<Shell, 'database' | 'authEnabled'>) => Shell;

const lineageEntry = z.object({
  pipeline: z.string(),
  partition_key: z.string(),
  mapping: z.string(),
  auto: z.boolean(),
  state: z.string().nullable(),
  item_id: z.number().nullable(),
});

/** The pipeline graph page and API, and an item's upstream/downstream partitions. */
export function registerGraphPage(server: ZodServer, ctx: ServerContext, shell: ShellOf): void {
  const { app } = ctx;
  const countsByPipeline = async () => {
    const out = new Map<string, Partial<Record<WorkState, number>>>();
    for (const c of await app.store.countByState()) {
      const key = `${c.domain}.${c.pipeline}`;
      const m = out.get(key) ?? {};
      m[c.state] = (m[c.state] ?? 0) + c.count;
      out.set(key, m);
    }
    return out;
  };

  server.get('/graph', { schema: { hide: true }, config: { dashboard: true } }, async (_req, reply) => {
    const body = graphBody(pipelineGraph(app.registry), await countsByPipeline());
    return sendPage(reply, page(shell({ title: 'Pipeline graph', page: 'graph' }), body));
  });
}

/** The graph and lineage JSON, inside the /api/v1 scope. */
export const lineageRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, ctx) => {
  const { app } = ctx;
  server.get(
    '/graph',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'The dependency graph: pipelines (with a layer for a left-to-right layout) and their mappings',
        response: {
          200: z.object({
            nodes: z.array(z.object({ pipeline: z.string(), description: z.string().nullable(), layer: z.number() })),
            edges: z.array(z.object({ from: z.string(), to: z.string(), mapping: z.string(), auto: z.boolean() })),
          }),
          ...pickErrors(401),
        },
      },
    },
    async () => pipelineGraph(app.registry),
  );

  server.get(
    '/work/:id/lineage',
    {
      schema: {
        tags: ['work'],
        summary: "An item's upstream partitions and the downstream partitions that depend on it, with their states",
        params: z.object({ id: idParam }),
        response: { 200: z.object({ upstream: z.array(lineageEntry), downstream: z.array(lineageEntry) }), ...pickErrors(400, 401, 404) },
      },
    },
    async (request) => itemLineage(ctx, request.params.id),
  );
};
