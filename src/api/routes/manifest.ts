import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerContext } from '../context.js';
import { normalizePartition, partitionKey } from '../../core/partition.js';
import { translateMarketSpine } from '../market-spine.js';
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

/** Market Spine's stage names beside Sluice's own (which pass through unchanged). */
function manifestStage(stage: string | undefined): { sluiceStage: string | undefined; keep: (e: { stage: string }) => boolean } {
  switch (stage?.toUpperCase()) {
    case 'RAW':
      return { sluiceStage: 'ingest', keep: () => true };
    case 'NORMALIZED':
      return { sluiceStage: 'normalize', keep: () => true };
    case 'CALC':
      return { sluiceStage: undefined, keep: (e) => e.stage !== 'ingest' && e.stage !== 'normalize' };
    default:
      return { sluiceStage: stage, keep: () => true };
  }
}

/** A partition as Sluice's key text, or as Market Spine's JSON object. */
function manifestPartitionKey(raw: string | undefined, domain: string | undefined): { key: string | undefined; warnings: string[] } {
  if (raw === undefined || !raw.trim().startsWith('{')) return { key: raw, warnings: [] };
  const t = translateMarketSpine({ pipeline: `${domain ?? 'finra.otc_transparency'}.manifest`, partition_key: raw });
  return { key: partitionKey(normalizePartition(t.partition, 'partition_key')), warnings: t.warnings };
}

const iso = (d: Date | string | null | undefined) => (d instanceof Date ? d.toISOString() : (d ?? null));

/** The manifest ("is this ready?") and the captures behind it, from the data layer. */
export const manifestRoutes: FastifyPluginAsyncZod<ServerContext> = async (server, { app }) => {
  server.get(
    '/manifest',
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
        description:
          "`partition_key` is Sluice's key text (`tier=NMS_TIER_1|week_ending=2025-12-19`) or, as in Market Spine's readiness check, a JSON object " +
          '(a Monday week_ending names the FINRA week ending the Friday before). `stage` is a Sluice stage (`ingest`, `normalize`, a dataset name) or ' +
          "Market Spine's `RAW` (ingest), `NORMALIZED` (normalize), `CALC` (every other stage). When both a partition and a stage are given, " +
          '`row_count` at the top level sums the matching entries (0 when nothing landed yet), so `row_count > 0` means ready.',
        response: {
          200: z.object({ entries: z.array(manifestEntrySchema), row_count: z.number().optional(), warnings: z.array(z.string()).optional() }),
          ...pickErrors(400, 401),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const key = manifestPartitionKey(q.partition_key, q.domain);
      const stage = manifestStage(q.stage);
      const entries = (await app.data.manifest({ domain: q.domain, partitionKey: key.key, stage: stage.sluiceStage, dataset: q.dataset })).filter(stage.keep);
      const out = { entries: entries.map((e) => ({ ...e, captured_at: iso(e.captured_at)!, updated_at: iso(e.updated_at)! })) };
      if (key.key === undefined || q.stage === undefined) return key.warnings.length ? { ...out, warnings: key.warnings } : out;
      return { ...out, row_count: entries.reduce((n, e) => n + Number(e.row_count), 0), ...(key.warnings.length ? { warnings: key.warnings } : {}) };
    },
  );

  server.get(
    '/captures',
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
};
