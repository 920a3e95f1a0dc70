import { z } from 'zod';
import type { ServerContext, ZodServer } from '../context.js';
import { pickErrors } from '../schemas.js';

const manifestEntrySchema = z.object({
  domain: z.string(),
  partition_key: z.string(),
  stage: z.string(),
  dataset: z.string(),
  capture_id: z.string(),
  row_count: z.number(),
  content_hash: z.string(),
  captured_at: z.string(),
  updated_at: z.string(),
});

const captureSchema = z.object({
  capture_id: z.string(),
  stage: z.string(),
  dataset: z.string(),
  status: z.string(),
  row_count: z.number().nullable(),
  content_hash: z.string().nullable(),
  captured_at: z.string(),
  is_revision: z.boolean(),
  revision_summary: z.unknown().nullable(),
  error: z.string().nullable(),
});

const iso = (d: Date | string | null | undefined) => (d instanceof Date ? d.toISOString() : (d ?? null));

/** The manifest ("is this ready?") and the captures behind it, from the data layer. */
export function registerManifestRoutes(server: ZodServer, { app }: ServerContext): void {
  server.get(
    '/api/v1/manifest',
    {
      schema: {
        tags: ['data'],
        summary: 'Latest capture per (domain, partition, stage), with row count and content hash',
        querystring: z.strictObject({
          domain: z.string().min(1).optional(),
          partition_key: z.string().min(1).optional(),
          stage: z.string().min(1).optional(),
          dataset: z.string().min(1).optional(),
        }),
        response: { 200: z.object({ entries: z.array(manifestEntrySchema) }), ...pickErrors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const entries = await app.data.manifest({ domain: q.domain, partitionKey: q.partition_key, stage: q.stage, dataset: q.dataset });
      return { entries: entries.map((e) => ({ ...e, captured_at: iso(e.captured_at)!, updated_at: iso(e.updated_at)! })) };
    },
  );

  server.get(
    '/api/v1/captures',
    {
      schema: {
        tags: ['data'],
        summary: 'Every capture of a domain (optionally one partition): restatements keep their history',
        querystring: z.strictObject({ domain: z.string().min(1), partition_key: z.string().min(1).optional(), stage: z.string().min(1).optional() }),
        response: { 200: z.object({ captures: z.array(captureSchema) }), ...pickErrors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const captures = await app.data.listCaptures({ domain: q.domain, partitionKey: q.partition_key, stage: q.stage });
      return {
        captures: captures.map((c) => ({
          capture_id: c.capture_id,
          stage: c.stage,
          dataset: c.dataset,
          status: c.status,
          row_count: c.row_count ?? null,
          content_hash: c.content_hash ?? null,
          captured_at: iso(c.captured_at)!,
          is_revision: c.is_revision === true,
          revision_summary: c.revision_summary ?? null,
          error: c.error ?? null,
        })),
      };
    },
  );
}
