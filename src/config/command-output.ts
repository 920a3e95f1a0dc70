import { z } from 'zod';

/**
 * Config shapes a command pipeline adds to run like a built-in: `depends_on` (upstreams and
 * how partitions map onto them) and `output` (a dataset its script's rows land in).
 *
 * depends_on: each entry is `"domain.name"` (the same partition, identity) or an object
 *   { "pipeline": "app.ingest",
 *     "keys": ["date"],                                    projection: keys carried over
 *     "fan_in": { "dimension": "tier", "values": [...] },  needs every value of one key
 *     "previous": { "key": "date", "step": "day" | "week" }, needs the period before
 *     "auto": true }                                       enqueued WAITING with the upstream
 * `fan_in` and `previous` exclude each other. The downstream item is WAITING until every
 * upstream partition is COMPLETE.
 *
 * output: the script writes rows to the file named by `SLUICE_OUTPUT`, as NDJSON (one JSON
 * object a line), CSV (a header row) or Parquet (one column per dataset column; INT64 and
 * DATE are converted), and Sluice lands them into `dataset` of the pipeline's domain through
 * the data layer (content hash, skip when unchanged, staging -> MERGE, manifest, anomaly
 * checks).
 */
const ident = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case identifier such as close_price');
const pipelineRef = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be domain.name of a pipeline, e.g. app.ingest');

export const dependsOnEntrySchema = z.union([
  pipelineRef,
  z
    .strictObject({
      pipeline: pipelineRef,
      keys: z.array(z.string().min(1)).min(1, 'must list at least one key').optional(),
      fan_in: z.strictObject({ dimension: z.string().min(1), values: z.array(z.string().min(1)).min(1, 'must list at least one value') }).optional(),
      previous: z.strictObject({ key: z.string().min(1), step: z.enum(['day', 'week'], { message: 'must be day or week' }) }).optional(),
      auto: z.boolean().optional(),
    })
    .refine((d) => !(d.fan_in && d.previous), { message: 'must use fan_in or previous, not both', path: ['previous'] }),
]);
export type DependsOnEntry = z.infer<typeof dependsOnEntrySchema>;

const COLUMN_TYPES = ['text', 'integer', 'real', 'date', 'boolean'] as const;
const columnType = z.enum(COLUMN_TYPES, { message: `must be one of ${COLUMN_TYPES.join(', ')}` });

export const commandOutputSchema = z
  .strictObject({
    dataset: ident,
    format: z.enum(['ndjson', 'csv', 'parquet'], { message: 'must be ndjson, csv or parquet' }).default('ndjson'),
    /** Manifest stage of the landing; default: the dataset's name. Content-hash skipping and
     * the manifest are per (domain, partition, stage), so two pipelines of one domain must
     * not share a stage (a shared `output` stage made the second one fail, or skip as
     * "unchanged" when its bytes happened to equal the first one's). */
    stage: ident.optional(),
    columns: z
      .record(ident, z.union([columnType, z.strictObject({ type: columnType, required: z.boolean().optional() })]))
      .refine((c) => Object.keys(c).length > 0, { message: 'must declare at least one column' }),
    primary_key: z.array(ident).min(1, 'must name at least one column'),
    checks: z
      .strictObject({
        /** Fraction: an anomaly when the row count falls more than this below the previous partition's. */
        row_count_drop: z.number().gt(0).max(1).optional(),
        /** An anomaly when fewer rows land. */
        min_rows: z.number().int().min(1).optional(),
        /** Share of nulls tolerated in required columns before it is an anomaly (default 0). */
        required_nulls: z.number().min(0).lt(1).optional(),
      })
      .optional(),
  })
  .superRefine((o, ctx) => {
    o.primary_key.forEach((k, i) => {
      if (!(k in o.columns))
        ctx.addIssue({ code: 'custom', path: ['primary_key', i], message: `must name a declared column (declared: ${Object.keys(o.columns).join(', ')})` });
    });
  })
  .transform((o) => ({ ...o, stage: o.stage ?? o.dataset }));
export type CommandOutput = z.output<typeof commandOutputSchema>;
