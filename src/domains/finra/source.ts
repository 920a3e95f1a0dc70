import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../core/logger.js';
import type { SluiceConfig } from '../../config/schema.js';
import { allowedUrl, confinedPath, pathProblem, urlProblem, type AccessPolicy } from '../../connectors/access.js';
import { SourceNotFoundError } from '../../connectors/errors.js';
import type { SourceBytes } from '../../connectors/http-source.js';
import { FILE_PREFIX, PIPELINES, TIER_FILE_STEMS, type Tier } from './constants.js';
import { addDaysIso } from './partitions.js';
import { mergeSourceLayers, type SourceLayerOf } from '../source-layers.js';

/** Where FINRA files come from, as params, config and flags spell it. */
// The file reader and the HTTP client (rate limiter, circuit breaker) load on the first fetch,
// not when the pipelines are defined: every command defines them, few fetch (`sluice status`).
const fileSource = async () => (await import('../../connectors/file-source.js')).FileSource;
const httpSource = async () => (await import('../../connectors/http-source.js')).sharedHttpSource;

export const sourceParamsSchema = z.strictObject({
  source: z.enum(['file', 'http']).optional(),
  /** Directory of `tier1_YYYYMMDD.csv`-style files (relative: to the config file's directory). */
  data_dir: z.string().min(1).optional(),
  /** URL the same file names are under. */
  base_url: z.string().url().optional(),
});
export type FinraSourceParams = z.infer<typeof sourceParamsSchema>;

/** The same fields as a work item may carry them: `data_dir` inside the data roots, `base_url` on an allowed host. */
export function itemSourceParamsShape(policy: AccessPolicy) {
  return {
    ...sourceParamsSchema.shape,
    data_dir: confinedPath(policy).optional(),
    base_url: allowedUrl(policy).optional(),
    file_url: fileUrlParam(policy).optional(),
  };
}

/**
 * The operational guide's `file_url`: one exact file for this item, an http(s) URL on an
 * allowed host or a path inside the data roots. It overrides every other source for that
 * item (and the candidate file names are not tried).
 */
export function fileUrlParam(policy: AccessPolicy) {
  return z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const problem = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? urlProblem(policy, value) : pathProblem(policy, path.dirname(value));
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/** Reads the one file a `file_url` names (URL or path relative to `baseDir`). */
export async function fetchFileUrl(fileUrl: string, baseDir: string, opts: { signal?: AbortSignal; log?: Logger }): Promise<SourceBytes> {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(fileUrl)) {
    const full = path.resolve(baseDir, fileUrl);
    return new (await fileSource())(path.dirname(full)).read([path.basename(full)], opts.signal);
  }
  const url = new URL(fileUrl);
  const slash = url.pathname.lastIndexOf('/');
  const name = url.pathname.slice(slash + 1) + url.search;
  const base = `${url.origin}${url.pathname.slice(0, slash + 1)}`;
  const http = (await httpSource())({
    name: `finra ${url.host}`,
    baseUrl: base,
    timeoutMs: 60_000,
    retries: 3,
    rateLimit: { capacity: 10, intervalMs: 10_000 },
    breaker: { failureThreshold: 5, resetTimeoutMs: 60_000 },
    logger: opts.log,
  });
  const res = await http.getIfExists(name, { signal: opts.signal, log: opts.log });
  if (res) return { bytes: res.bytes, uri: res.uri };
  throw new SourceNotFoundError(`not found (HTTP 404): ${http.describe(name)}`, http.describe(name), [http.describe(name)]);
}

export type FinraSource = { kind: 'file'; dataDir: string } | { kind: 'http'; baseUrl: string };

/** Environment variables a worker can be pointed at a source with. */
export const SOURCE_ENV = { source: 'SLUICE_FINRA_SOURCE', dataDir: 'SLUICE_FINRA_DATA_DIR', baseUrl: 'SLUICE_FINRA_BASE_URL' } as const;

export type SourceLayer = SourceLayerOf<FinraSourceParams>;

/**
 * The source for one run, from layers in precedence order (first wins per field): the
 * command line, the work item's params, the environment, the config. `source` defaults to
 * `file` when a `data_dir` is known, else `http` when a `base_url` is. Null when nothing
 * says where the files are.
 */
export function resolveFinraSource(layers: readonly SourceLayer[]): FinraSource | null {
  const { source, data_dir: dataDir, base_url: baseUrl } = mergeSourceLayers(layers);
  const kind = source ?? (dataDir !== undefined ? 'file' : baseUrl !== undefined ? 'http' : undefined);
  if (kind === 'file' && dataDir !== undefined) return { kind, dataDir };
  if (kind === 'http' && baseUrl !== undefined) return { kind, baseUrl };
  return null;
}

export function describeMissingSource(kind?: 'file' | 'http'): string {
  const what = kind === 'http' ? 'base URL' : kind === 'file' ? 'data directory' : 'source';
  return (
    `no FINRA ${what} configured: pass --data-dir DIR or --base-url URL to \`sluice finra\`, ` +
    `or set params {"source","data_dir"|"base_url"} on the item (or the finra schedule's params in the config), ` +
    `or ${SOURCE_ENV.dataDir} / ${SOURCE_ENV.baseUrl}`
  );
}

export function sourceParamsFromEnv(env: Readonly<Record<string, string | undefined>>): FinraSourceParams | undefined {
  const source = env[SOURCE_ENV.source];
  const out: FinraSourceParams = {};
  // `api` is the scheduler ops guide's name for the HTTP source.
  if (source === 'file' || source === 'http' || source === 'api') out.source = source === 'api' ? 'http' : source;
  if (env[SOURCE_ENV.dataDir]) out.data_dir = env[SOURCE_ENV.dataDir];
  if (env[SOURCE_ENV.baseUrl]) out.base_url = env[SOURCE_ENV.baseUrl];
  return Object.keys(out).length ? out : undefined;
}

/** The params of the first schedule in the config that runs ingest_week and names a source. */
export function sourceParamsFromConfig(config: SluiceConfig | undefined): FinraSourceParams | undefined {
  for (const s of config?.schedules ?? []) {
    if (s.pipeline !== PIPELINES.ingest || !s.params) continue;
    const parsed = sourceParamsSchema.safeParse(pick(s.params, ['source', 'data_dir', 'base_url']));
    if (parsed.success && Object.keys(parsed.data).length) return parsed.data;
  }
  return undefined;
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

/**
 * The names one week's file of one tier may have, in the order they are tried:
 * `tier1_20251219.csv` (week_ending Friday), `tier1_20251222.csv` (publication Monday), and
 * both again with the `finra_otc_weekly_` prefix.
 */
export function candidateFileNames(weekEnding: string, tier: Tier): string[] {
  const stem = TIER_FILE_STEMS[tier];
  const friday = weekEnding.replace(/-/g, '');
  const monday = addDaysIso(weekEnding, 3).replace(/-/g, '');
  return [`${stem}_${friday}.csv`, `${stem}_${monday}.csv`, `${FILE_PREFIX}${stem}_${friday}.csv`, `${FILE_PREFIX}${stem}_${monday}.csv`];
}

/** Fetches one week's file for one tier: the first candidate name that exists. */
export async function fetchWeekFile(source: FinraSource, weekEnding: string, tier: Tier, opts: { signal?: AbortSignal; log?: Logger }): Promise<SourceBytes> {
  const names = candidateFileNames(weekEnding, tier);
  if (source.kind === 'file') return new (await fileSource())(source.dataDir).read(names, opts.signal);
  const http = (await httpSource())({
    name: `finra ${new URL(source.baseUrl).host}`,
    baseUrl: source.baseUrl,
    timeoutMs: 60_000,
    retries: 3,
    rateLimit: { capacity: 10, intervalMs: 10_000 },
    breaker: { failureThreshold: 5, resetTimeoutMs: 60_000 },
    logger: opts.log,
  });
  const tried: string[] = [];
  for (const name of names) {
    const res = await http.getIfExists(name, { signal: opts.signal, log: opts.log });
    if (res) return { bytes: res.bytes, uri: res.uri };
    tried.push(http.describe(name));
  }
  throw new SourceNotFoundError(`not found (HTTP 404): ${tried.join(', ')}`, tried[0]!, tried);
}
