import type { z } from 'zod';
import { PermanentError } from '../../core/errors.js';
import type { HandlerContext, HandlerResult } from '../../core/pipeline.js';
import { permanentIfSourceSaysSo } from '../../connectors/errors.js';
import type { DataAnomaly } from '../../data/anomaly-checks.js';
import type { LandResult } from '../../data/data-store.js';
import { addDays, daysInMonth } from '../../time/civil-date.js';
import { BUCKETS, FRED_ROW_VERSION, type Bucket } from './constants.js';
import { observations } from './datasets.js';
import type { Observation } from './parse.js';
import {
  describeMissingSource,
  fetchObservations,
  resolveFredSource,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  type sourceParamsSchema,
  type FredSource,
  type FredSourceParams,
} from './source.js';
import type { FredDomainOptions } from './pipelines.js';

/** What fred.ingest_bucket does when an item runs; imported on its first run (pipelines.ts holds the definition). */

type Params = z.infer<typeof sourceParamsSchema> & { lookback_days: number; force: boolean };

/** `YYYY-MM` of every calendar month from `from`'s to `to`'s, oldest first. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let y = Number(from.slice(0, 4));
  let m = Number(from.slice(5, 7));
  const last = to.slice(0, 7);
  for (;;) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    out.push(month);
    if (month >= last) return out;
    m++;
    if (m > 12) {
      m = 1;
      y++;
    }
  }
}

function monthEnd(month: string): string {
  return `${month}-${String(daysInMonth(Number(month.slice(0, 4)), Number(month.slice(5, 7)))).padStart(2, '0')}`;
}

export interface SeriesCapture {
  series_id: string;
  month: string;
  status: 'landed' | 'skipped';
  capture_id: string;
  row_count: number;
  missing_values: number;
}

/**
 * The observations of one month of one series as dataset rows (`"."` kept as value null).
 * Exported for tests.
 */
export function monthRows(seriesId: string, bucket: Bucket, obs: readonly Observation[], month: string) {
  return obs.filter((o) => o.date.startsWith(`${month}-`)).map((o) => ({ series_id: seriesId, date: o.date, value: o.value, bucket }));
}

/** fred.ingest_bucket: every series of one bucket, as of one session, one capture per series-month. */
export async function ingestBucket(ctx: HandlerContext<Params>, options: FredDomainOptions): Promise<HandlerResult> {
  const { date, bucket } = ctx.partition as { date: string; bucket: Bucket };
  const source = sourceOf(ctx, options);
  const months = monthsBetween(addDays(date, -ctx.params.lookback_days), date);
  const from = `${months[0]}-01`;
  const to = monthEnd(months.at(-1)!);
  const captures: SeriesCapture[] = [];
  const anomalies: DataAnomaly[] = [];
  const warnings: string[] = [];
  const uris: string[] = [];
  let revision = false;
  for (const seriesId of BUCKETS[bucket]) {
    const fetched = await permanentIfSourceSaysSo(() => fetchObservations(source, seriesId, { from, to, signal: ctx.signal, log: ctx.log }));
    uris.push(fetched.uri);
    const upTo = fetched.observations.filter((o) => o.date <= date);
    const latest = [...upTo].reverse().find((o) => o.value !== null);
    if (!latest) warnings.push(`${seriesId}: no value at or before ${date} in ${from}..${date} (${fetched.uri})`);
    for (const month of months) {
      const rows = monthRows(seriesId, bucket, fetched.observations, month);
      const result: LandResult = await ctx.data.land(observations, {
        partition: { series_id: seriesId, month },
        stage: 'observations',
        sourceBytes: JSON.stringify({ version: FRED_ROW_VERSION, series_id: seriesId, month, observations: rows.map((r) => [r.date, r.value]) }),
        rows,
        source: fetched.uri,
        force: ctx.run?.force ?? ctx.params.force,
      });
      revision ||= result.is_revision;
      anomalies.push(...result.anomalies);
      captures.push({
        series_id: seriesId,
        month,
        status: result.status,
        capture_id: result.capture_id,
        row_count: result.row_count,
        missing_values: rows.filter((r) => r.value === null).length,
      });
    }
  }
  const landed = captures.filter((c) => c.status === 'landed');
  const rowCount = captures.reduce((s, c) => s + c.row_count, 0);
  const missing = captures.reduce((s, c) => s + c.missing_values, 0);
  ctx.output(
    `${bucket} ${date}: ${landed.length} of ${captures.length} series-months landed, ${rowCount} observations (${missing} "." missing values kept as null)\n`,
  );
  const skipped = landed.length === 0;
  return {
    skipped,
    reason: skipped ? `unchanged: every series-month of ${bucket} has the same content as its latest capture` : null,
    // The capture holding the partition's own date for the bucket's first series (run results show one id).
    capture_id: captures.find((c) => c.month === date.slice(0, 7))?.capture_id ?? null,
    row_count: rowCount,
    is_revision: revision,
    missing_values: missing,
    captures,
    sources: uris,
    anomalies,
    warnings,
  };
}

function sourceOf(ctx: HandlerContext<Params>, options: FredDomainOptions): FredSource {
  const { force: _f, lookback_days: _l, ...itemSource } = ctx.params;
  const cwd = process.cwd();
  const baseDir = options.baseDir ?? cwd;
  const source = resolveFredSource([
    // A `sluice fred` batch resolved its source once; it wins over the item's params.
    { params: ctx.run?.source as FredSourceParams | undefined, baseDir: cwd },
    { params: itemSource, baseDir },
    { params: sourceParamsFromEnv(options.env ?? process.env), baseDir: cwd },
    { params: sourceParamsFromConfig(options.config), baseDir },
  ]);
  if (!source) throw new PermanentError(describeMissingSource());
  return source;
}
