import { z } from 'zod';
import { diffCaptures } from '../capture-diff.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { pickErrors } from '../schemas.js';

const row = z.record(z.string(), z.unknown());
const sideSchema = z.object({
  capture_id: z.string(),
  captured_at: z.string(),
  row_count: z.number().nullable(),
  content_hash: z.string(),
  is_revision: z.boolean(),
});

export const diffQuery = z.strictObject({
  capture_id: z.string().min(1),
  against: z.string().min(1).optional(),
  sample: z.coerce.number().int().min(0).max(500).default(20),
});

/**
 * `GET /api/v1/captures/diff?capture_id=…[&against=…][&sample=20]`: what a restatement
 * changed, rows added / removed / changed against the capture before it (or `against`),
 * computed from both captures' rows. And `GET /api/v1/anomalies` for the captures page.
 */
export const captureRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, { app }) => {
  server.get(
    '/captures/diff',
    {
      schema: {
        tags: ['data'],
        summary: 'Rows added, removed and changed between two captures of one partition (exact counts, a sample of rows)',
        querystring: diffQuery,
        response: {
          200: z.object({
            domain: z.string(),
            dataset: z.string(),
            partition_key: z.string(),
            stage: z.string(),
            primary_key: z.array(z.string()),
            capture: sideSchema,
            against: sideSchema.nullable(),
            counts: z.object({ added: z.number(), removed: z.number(), changed: z.number(), unchanged: z.number() }),
            sample_size: z.number(),
            added: z.array(row),
            removed: z.array(row),
            changed: z.array(z.object({ key: row, columns: z.array(z.string()), before: row, after: row })),
          }),
          ...pickErrors(400, 401, 404),
        },
      },
    },
    async (request) => diffCaptures(app.data, request.query.capture_id, request.query.against, request.query.sample),
  );

  server.get(
    '/anomalies',
    {
      schema: {
        tags: ['data'],
        summary: 'Anomalies recorded on landed captures (row-count drops, nulls, rejects, late data)',
        querystring: z.strictObject({
          domain: z.string().min(1).optional(),
          partition_key: z.string().min(1).optional(),
          capture_id: z.string().min(1).optional(),
          stage: z.string().min(1).optional(),
        }),
        response: { 200: z.object({ anomalies: z.array(row) }), ...pickErrors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const found = await app.data.anomalies({ domain: q.domain, partitionKey: q.partition_key, captureId: q.capture_id, stage: q.stage });
      return { anomalies: found.map((a) => ({ ...a, recorded_at: a.recorded_at.toISOString() })) };
    },
  );
};
