import type { z } from 'zod';
import { PermanentError } from '../../core/errors.js';
import type { HandlerContext, HandlerResult } from '../../core/pipeline.js';
import { permanentIfSourceSaysSo } from '../../connectors/errors.js';
import { isValidDate, type Dataset, type DataRow } from '../../data/dataset.js';
import type { RejectInput } from '../../data/data-store.js';
import { rollingRows, hhiRows, tierSplitRows, venueShareRows, venueVolumeRows, type VenueRow } from './analytics.js';
import { FINRA_DOMAIN, MPID_RE, ROLLING_WEEKS, SYMBOL_RE, TIERS, tierFromDescription, type Tier } from './constants.js';
import { hhi, normalizedWeekly, rawWeekly, rolling, tierSplit, venueShare, venueVolume } from './datasets.js';
import { FinraStreamParser } from './parse.js';
import { addDaysIso, partitionKeyFor } from './partitions.js';
import {
  describeMissingSource,
  fetchFileUrl,
  fetchWeekFile,
  resolveFinraSource,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  type sourceParamsSchema,
  type FinraSource,
  type FinraSourceParams,
} from './source.js';
import type { FinraDomainOptions } from './pipelines.js';

/**
 * What the `finra.otc_transparency` pipelines do when an item runs: fetch, parse, check and
 * land. Imported on a pipeline's first run (pipelines.ts holds the definitions).
 */

/** Bumped when a stage's output for the same input changes, so the next run re-lands. */
const NORMALIZE_VERSION = 'normalize/1';
const COMPUTE_VERSION = 'compute/1';

type IngestParams = z.infer<typeof sourceParamsSchema> & { force: boolean; max_reject_share: number; file_url?: string };
type StageParams = { force: boolean };

function isTier(value: string): value is Tier {
  return (TIERS as readonly string[]).includes(value);
}

export async function ingestWeek(ctx: HandlerContext<IngestParams>, options: FinraDomainOptions): Promise<HandlerResult> {
  const { week_ending: week, tier } = ctx.partition as { week_ending: string; tier: string };
  if (!isTier(tier)) throw new PermanentError(`partition.tier: ${JSON.stringify(tier)} is not one of ${TIERS.join(', ')}`);
  const run = ctx.run;
  const fileUrl = ctx.params.file_url;
  const fetched = await permanentIfSourceSaysSo(() =>
    fileUrl
      ? fetchFileUrl(fileUrl, options.baseDir ?? process.cwd(), { signal: ctx.signal, log: ctx.log })
      : fetchWeekFile(sourceOf(ctx, run?.source as FinraSourceParams | undefined, options), week, tier, { signal: ctx.signal, log: ctx.log }),
  );
  ctx.log.info({ uri: fetched.uri, bytes: fetched.bytes.length }, 'fetched FINRA file');
  // Rows are parsed chunk by chunk inside the landing, so a large file never exists as
  // one array of row objects (an unchanged file is skipped before it is parsed).
  const parser = new FinraStreamParser([fetched.bytes], { uri: fetched.uri, weekEnding: week, tier, sizeBytes: fetched.bytes.length });
  const result = await ctx.data.land(rawWeekly, {
    partition: ctx.partition,
    stage: 'ingest',
    sourceBytes: fetched.bytes,
    rows: { chunks: parser.valueChunks(), rejects: () => parser.rejects, uniqueKeys: true },
    maxRejectShare: ctx.params.max_reject_share,
    source: fetched.uri,
    force: run?.force ?? ctx.params.force,
    checks: [{ check: 'row_count_drop', threshold: 0.5 }],
  });
  ctx.output(`${result.status} ${result.capture_id}: ${result.row_count} rows, ${parser.rejects.length} rejected, from ${fetched.uri}\n`);
  return { ...result, source_uri: fetched.uri, rejected_rows: result.skipped ? 0 : parser.rejects.length };
}

function sourceOf(ctx: HandlerContext<IngestParams>, override: z.infer<typeof sourceParamsSchema> | undefined, options: FinraDomainOptions): FinraSource {
  const { force: _force, max_reject_share: _share, file_url: _fileUrl, ...itemSource } = ctx.params;
  const cwd = process.cwd();
  const baseDir = options.baseDir ?? cwd;
  const layers = [
    { params: override, baseDir: cwd },
    { params: itemSource, baseDir },
    { params: sourceParamsFromEnv(options.env ?? process.env), baseDir: cwd },
    { params: sourceParamsFromConfig(options.config), baseDir },
  ];
  const source = resolveFinraSource(layers);
  if (!source) throw new PermanentError(describeMissingSource(override?.source ?? itemSource.source));
  return source;
}

export async function normalizeWeek(ctx: HandlerContext<StageParams>): Promise<HandlerResult> {
  const { week_ending: week, tier } = ctx.partition as { week_ending: string; tier: string };
  const capture = await ctx.data.latestCapture(FINRA_DOMAIN, ctx.partitionKey, 'ingest', 'landed');
  if (!capture) throw new Error(`no landed ingest capture for ${FINRA_DOMAIN} [${ctx.partitionKey}]: run ingest_week for it first`);
  const raw = await ctx.data.asOf(rawWeekly, { capture_id: capture.capture_id });
  const publication = addDaysIso(week, 3);
  const rows: Record<string, unknown>[] = [];
  const rejects: RejectInput[] = [];
  for (const r of raw) {
    const problem = normalizeProblem(r, tier, publication);
    const id = `${String(r.symbol)} at ${String(r.mpid)}`;
    if (problem) {
      rejects.push({ line: null, reason: `${id}: ${problem}`, raw: JSON.stringify(stripSystem(r)) });
      continue;
    }
    rows.push({
      week_ending: week,
      tier,
      symbol: r.symbol,
      venue: r.mpid,
      issue_name: r.issue_name,
      venue_name: r.participant_name,
      shares: r.total_weekly_share_quantity,
      trades: r.total_weekly_trade_count,
      publication_date: publication,
      last_update_date: r.last_update_date,
    });
  }
  const result = await ctx.data.land(normalizedWeekly, {
    partition: ctx.partition,
    stage: 'normalize',
    sourceBytes: `${NORMALIZE_VERSION}\n${capture.content_hash}`,
    rows,
    rejects,
    source: `capture ${capture.capture_id}`,
    force: ctx.run?.force ?? ctx.params.force,
    checks: [{ check: 'row_count_drop', threshold: 0.5 }],
  });
  return { ...result, input_capture_id: capture.capture_id };
}

/** Why a raw row cannot be normalized, or null. */
function normalizeProblem(r: DataRow, tier: string, publication: string): string | null {
  const mapped = tierFromDescription(String(r.tier_description ?? ''));
  if (mapped === null) return `tierDescription ${JSON.stringify(r.tier_description)} is not a known tier`;
  if (mapped !== tier) return `tierDescription ${JSON.stringify(r.tier_description)} maps to ${mapped}, not the partition's ${tier}`;
  if (typeof r.symbol !== 'string' || !SYMBOL_RE.test(r.symbol)) return `symbol ${JSON.stringify(r.symbol)} is not a valid symbol`;
  if (typeof r.mpid !== 'string' || !MPID_RE.test(r.mpid)) return `MPID ${JSON.stringify(r.mpid)} is not four upper-case letters or digits`;
  for (const col of ['total_weekly_share_quantity', 'total_weekly_trade_count'] as const) {
    const v = r[col];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return `${col} ${JSON.stringify(v)} must be a non-negative integer`;
  }
  const updated = r.last_update_date;
  if (typeof updated !== 'string' || !isValidDate(updated)) return `lastUpdateDate ${JSON.stringify(updated)} must be a date YYYY-MM-DD`;
  if (updated < publication) return `lastUpdateDate ${updated} is before the week's publication Monday ${publication}`;
  return null;
}

function stripSystem(r: DataRow): DataRow {
  const { capture_id: _c, partition_key: _p, ...rest } = r;
  return rest;
}

interface WeekInput {
  rows: VenueRow[];
  inputs: { tier: Tier; capture_id: string; content_hash: string }[];
  missing: Tier[];
}

/** The latest normalize capture of every tier of one week, and their rows. */
async function loadWeek(ctx: HandlerContext<StageParams>, week: string): Promise<WeekInput> {
  const out: WeekInput = { rows: [], inputs: [], missing: [] };
  for (const tier of TIERS) {
    const capture = await ctx.data.latestCapture(FINRA_DOMAIN, partitionKeyFor(week, tier), 'normalize', 'landed');
    if (!capture) {
      out.missing.push(tier);
      continue;
    }
    out.inputs.push({ tier, capture_id: capture.capture_id, content_hash: capture.content_hash });
    for (const r of await ctx.data.asOf(normalizedWeekly, { capture_id: capture.capture_id })) {
      out.rows.push({
        week_ending: String(r.week_ending),
        tier: String(r.tier),
        symbol: String(r.symbol),
        venue: String(r.venue),
        venue_name: r.venue_name === null ? null : String(r.venue_name),
        shares: Number(r.shares),
        trades: Number(r.trades),
      });
    }
  }
  return out;
}

/** Each single-week compute pipeline: the dataset it lands and how its rows are computed. */
const COMPUTES: Record<string, { dataset: Dataset; compute: (rows: VenueRow[]) => { rows: object[]; warnings: string[] } }> = {
  compute_venue_volume: { dataset: venueVolume, compute: (rows) => ({ rows: venueVolumeRows(rows), warnings: [] }) },
  compute_venue_share: { dataset: venueShare, compute: venueShareRows },
  compute_hhi: { dataset: hhi, compute: hhiRows },
  compute_tier_split: { dataset: tierSplit, compute: (rows) => ({ rows: tierSplitRows(rows), warnings: [] }) },
};

/** A single-week compute pipeline (`name` one of COMPUTES): every tier's normalized rows in, one dataset out. */
export async function computeWeek(ctx: HandlerContext<StageParams>, name: string): Promise<HandlerResult> {
  const { dataset: ds, compute } = COMPUTES[name]!;
  const week = String(ctx.partition.week_ending);
  const input = await loadWeek(ctx, week);
  if (input.missing.length) {
    throw new Error(`${name} for week ${week} needs normalize_week of every tier; not landed yet: ${input.missing.join(', ')}`);
  }
  const { rows, warnings } = compute(input.rows);
  const result = await ctx.data.land(ds, {
    partition: ctx.partition,
    stage: ds.name,
    sourceBytes: JSON.stringify({ pipeline: name, version: COMPUTE_VERSION, inputs: input.inputs.map((i) => [i.tier, i.content_hash]) }),
    rows,
    source: input.inputs.map((i) => i.capture_id).join(', '),
    force: ctx.run?.force ?? ctx.params.force,
  });
  return { ...result, warnings, inputs: input.inputs.map((i) => i.capture_id) };
}

/** compute_rolling: the ROLLING_WEEKS weeks ending at the partition's week; earlier weeks may be missing. */
export async function computeRolling(ctx: HandlerContext<StageParams>): Promise<HandlerResult> {
  const week = String(ctx.partition.week_ending);
  const weeks: { week_ending: string; rows: VenueRow[] | null }[] = [];
  const inputs: unknown[] = [];
  for (let i = ROLLING_WEEKS - 1; i >= 0; i--) {
    const w = addDaysIso(week, -7 * i);
    const input = await loadWeek(ctx, w);
    const present = input.missing.length === 0;
    if (i === 0 && !present)
      throw new Error(`compute_rolling for week ${week} needs normalize_week of every tier of that week; not landed yet: ${input.missing.join(', ')}`);
    weeks.push({ week_ending: w, rows: present ? input.rows : null });
    inputs.push([w, present ? input.inputs.map((x) => [x.tier, x.content_hash]) : 'missing']);
  }
  const missing = weeks.filter((w) => w.rows === null).map((w) => w.week_ending);
  const result = await ctx.data.land(rolling, {
    partition: ctx.partition,
    stage: rolling.name,
    sourceBytes: JSON.stringify({ pipeline: 'compute_rolling', version: COMPUTE_VERSION, inputs }),
    rows: rollingRows(week, weeks),
    source: `${ROLLING_WEEKS} weeks ending ${week}`,
    force: ctx.run?.force ?? ctx.params.force,
  });
  const warnings = missing.length ? [`compute_rolling: window ending ${week} is incomplete; missing week(s) ${missing.join(', ')}`] : [];
  return { ...result, warnings };
}
