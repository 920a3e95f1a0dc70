import { z } from 'zod';
import { parseAsOf } from '../../data/as-of-ref.js';
import type { Where } from '../../data/data-store.js';
import { findDataset } from '../../domains/published-datasets.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { pickErrors } from '../schemas.js';

/**
 * `GET /api/v1/data/:domain/:dataset?key=value…[&as_of=ISO|capture_id]`: the REST twin of
 * `sluice data`. Every query parameter other than `as_of` filters a column (or
 * partition_key); unknown columns are a 400 naming the column.
 */
export const dataRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, { app }) => {
  server.get(
    '/data/:domain/:dataset',
    {
      schema: {
        tags: ['data'],
        summary: 'Rows of a published dataset (latest captures, or as of an instant or capture)',
        params: z.object({ domain: z.string().min(1), dataset: z.string().min(1) }),
        querystring: z.record(z.string(), z.string()),
        response: { 200: z.object({ domain: z.string(), dataset: z.string(), rows: z.array(z.record(z.string(), z.unknown())) }), ...pickErrors(400, 401) },
      },
    },
    async (request) => {
      const { domain, dataset } = request.params;
      const ds = findDataset(domain, dataset, { domain: 'domain', dataset: 'dataset' });
      const { as_of: asOfText, ...filters } = request.query;
      const asOf = parseAsOf(asOfText, 'as_of');
      const where: Where | undefined = Object.keys(filters).length ? filters : undefined;
      const rows = asOf ? await app.data.asOf(ds, asOf, where) : await app.data.latest(ds, { where });
      return { domain, dataset, rows };
    },
  );
};
