import { gridDeadline } from '../../engine/alerts/deadline-view.js';
import { z } from 'zod';
import { summarizeCounts } from '../../engine/state-summary.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import type { Grids } from '../grid-summary.js';
import { overview } from '../queries.js';
import { limitParam, offsetParam, pickErrors, workStateSchema } from '../schemas.js';

const countsSchema = z.record(z.string(), z.number().int());

const gridCellSchema = z.object({ state: workStateSchema, count: z.number().int(), item_id: z.number().int().nullable(), counts: countsSchema });

export const gridQuery = z.strictObject({
  rows: z.string().min(1).optional().meta({ description: 'partition key for rows (default: chosen automatically, a date-like key first)' }),
  cols: z.string().min(1).optional().meta({ description: 'partition key for columns (default: chosen automatically)' }),
  limit: limitParam(50, 500).meta({ description: 'rows per page' }),
  offset: offsetParam,
  col_limit: limitParam(40, 200).meta({ description: 'columns per page' }),
  col_offset: offsetParam,
});

export const overviewRoutes: FastifyPluginAsyncZod<ServerContext & { grids: Grids }> = async (server, { grids, ...ctx }) => {
  const { app } = ctx;

  server.get(
    '/status',
    {
      schema: {
        tags: ['overview'],
        summary: 'Counts of work items by state, in total and per pipeline',
        response: {
          200: z.object({ database: z.string(), totals: countsSchema, pipelines: z.array(z.record(z.string(), z.union([z.string(), z.number()]))) }),
          ...pickErrors(401),
        },
      },
    },
    async () => ({ database: app.store.backend, ...summarizeCounts(await app.store.countByState()) }),
  );

  server.get(
    '/overview',
    {
      schema: {
        tags: ['overview'],
        summary: 'What the dashboard overview shows: counts, failing pipelines, worker, scheduler and next ticks',
        response: {
          200: z.object({
            database: z.string(),
            generated_at: z.string(),
            totals: countsSchema,
            pipelines: z.array(z.record(z.string(), z.union([z.string(), z.number()]))),
            failing: z.array(
              z.object({
                pipeline: z.string(),
                failed: z.number().int(),
                retry_wait: z.number().int(),
                latest_item_id: z.number().int().nullable(),
                latest_partition_key: z.string().nullable(),
                latest_error: z.string().nullable(),
              }),
            ),
            worker: z.object({ id: z.string(), running: z.number().int() }).nullable(),
            scheduler: z
              .object({
                status: z.object({ running: z.boolean(), leader: z.boolean(), schedules: z.number().int(), last_tick_at: z.string().nullable() }),
                next_ticks: z.array(z.object({ schedule: z.string(), pipeline: z.string(), at: z.string(), timezone: z.string() })),
              })
              .nullable(),
            scheduler_attached: z.boolean(),
            scheduler_error: z.string().nullable(),
          }),
          ...pickErrors(401),
        },
      },
    },
    async () => overview(ctx),
  );

  server.get(
    '/grid/:pipeline',
    {
      schema: {
        tags: ['overview'],
        summary: 'Partition status grid of one pipeline (rows x columns of two partition keys)',
        description:
          'Rows and columns are two partition keys (automatic: a date-like key with most values for rows, the next key with most values for columns; ' +
          'override with rows= / cols=). Further keys are folded into cells: a cell then counts several items and shows the most urgent state ' +
          `(${['FAILED', 'RUNNING', 'RETRY_WAIT', 'PENDING', 'WAITING', 'CANCELLED', 'COMPLETE'].join(' > ')}). Rows and columns are paged on the server.`,
        params: z.object({ pipeline: z.string().min(1) }),
        querystring: gridQuery,
        response: {
          200: z.object({
            pipeline: z.string(),
            total_items: z.number().int(),
            truncated: z.boolean(),
            scanned_at: z.string(),
            dimensions: z.array(z.object({ key: z.string(), distinct: z.number().int(), date_like: z.boolean() })),
            row_key: z.string().nullable(),
            col_key: z.string().nullable(),
            folded_keys: z.array(z.string()),
            rows: z.array(z.string()),
            columns: z.array(z.string()),
            total_rows: z.number().int(),
            total_columns: z.number().int(),
            offset: z.number().int(),
            limit: z.number().int(),
            col_offset: z.number().int(),
            col_limit: z.number().int(),
            state_totals: countsSchema,
            cells: z.array(z.array(gridCellSchema.nullable())),
            deadline: z
              .object({ deadline: z.string(), missed_item_ids: z.array(z.number().int()), counts: z.record(z.string(), z.number().int()) })
              .nullable()
              .meta({
                description: "the pipeline's freshness deadline: items whose partition missed it (cells with that item_id), and decided partitions by state",
              }),
          }),
          ...pickErrors(400, 401),
        },
      },
    },
    async (request) => gridFor(ctx, grids, request.params.pipeline, request.query),
  );
};

export async function gridFor(ctx: ServerContext, grids: Grids, pipeline: string, q: z.infer<typeof gridQuery>) {
  const registered = ctx.app.registry.require(pipeline, 'pipeline');
  const grid = await grids.grid(registered.key, registered.definition.domain, registered.definition.name, {
    rows: q.rows,
    cols: q.cols,
    limit: q.limit,
    offset: q.offset,
    colLimit: q.col_limit,
    colOffset: q.col_offset,
  });
  return { ...grid, deadline: await gridDeadline(ctx.app, registered.definition.domain, registered.definition.name) };
}
