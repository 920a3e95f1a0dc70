import { z } from 'zod';
import type { Logger } from '../../core/logger.js';
import type { SluiceConfig } from '../../config/schema.js';
import { allowedUrl, confinedPath, type AccessPolicy } from '../../connectors/access.js';
import { API_KEY_ENV, DEFAULT_BASE_URL, DEFAULT_RATE_PER_MINUTE, PIPELINES, SOURCE_ENV } from './constants.js';
import type { Observation } from './parse.js';
import { mergeSourceLayers, type SourceLayerOf } from '../source-layers.js';

/** Where FRED observations come from. The API key is never here: FRED_API_KEY only. */
export const sourceParamsSchema = z.strictObject({
  source: z.enum(['file', 'http']).optional(),
  /** Directory of `DGS10.json`-style files (observations JSON as the API returns it). */
  data_dir: z.string().min(1).optional(),
  /** API root (default https://api.stlouisfed.org); requests go to `fred/series/observations`. */
  base_url: z.string().url().optional(),
  rate_limit_per_minute: z.number().positive().optional(),
});
export type FredSourceParams = z.infer<typeof sourceParamsSchema>;

/** The same fields as a work item may carry them: `data_dir` inside the data roots, `base_url` on an allowed host. */
export function itemSourceParamsShape(policy: AccessPolicy) {
  return { ...sourceParamsSchema.shape, data_dir: confinedPath(policy).optional(), base_url: allowedUrl(policy).optional() };
}

export type FredSource = { kind: 'file'; dataDir: string } | { kind: 'http'; baseUrl: string; perMinute: number };

export type SourceLayer = SourceLayerOf<FredSourceParams>;

/**
 * First layer wins per field (command line / item params / environment / config). `file`
 * when a data_dir is known; `http` needs no base_url (the public API is the default).
 */
export function resolveFredSource(layers: readonly SourceLayer[]): FredSource | null {
  const { source, data_dir: dataDir, base_url: baseUrl, rate_limit_per_minute: perMinute } = mergeSourceLayers(layers);
  const kind = source ?? (dataDir !== undefined ? 'file' : baseUrl !== undefined ? 'http' : undefined);
  if (kind === 'file') return dataDir !== undefined ? { kind, dataDir } : null;
  if (kind === 'http') return { kind, baseUrl: baseUrl ?? DEFAULT_BASE_URL, perMinute: perMinute ?? DEFAULT_RATE_PER_MINUTE };
  return null;
}

export function describeMissingSource(): string {
  return (
    `no FRED source configured: set params {"source":"file","data_dir":DIR} or {"source":"http"[,"base_url":URL]} on the item ` +
    `(or the fred schedule's params in the config), or ${SOURCE_ENV.source} / ${SOURCE_ENV.dataDir} / ${SOURCE_ENV.baseUrl}; ` +
    `the HTTP source reads its key from ${API_KEY_ENV}`
  );
}

export function sourceParamsFromEnv(env: Readonly<Record<string, string | undefined>>): FredSourceParams | undefined {
  const out: FredSourceParams = {};
  const source = env[SOURCE_ENV.source];
  // `api` is the scheduler ops guide's name for the HTTP source.
  if (source === 'file' || source === 'http' || source === 'api') out.source = source === 'api' ? 'http' : source;
  if (env[SOURCE_ENV.dataDir]) out.data_dir = env[SOURCE_ENV.dataDir];
  if (env[SOURCE_ENV.baseUrl]) out.base_url = env[SOURCE_ENV.baseUrl];
  return Object.keys(out).length ? out : undefined;
}

/** Source params of the first schedule on fred.ingest_bucket that names one. */
export function sourceParamsFromConfig(config: SluiceConfig | undefined): FredSourceParams | undefined {
  for (const s of config?.schedules ?? []) {
    if (s.pipeline !== PIPELINES.ingestBucket || !s.params) continue;
    const picked = Object.fromEntries(
      ['source', 'data_dir', 'base_url', 'rate_limit_per_minute'].filter((k) => s.params![k] !== undefined).map((k) => [k, s.params![k]]),
    );
    const parsed = sourceParamsSchema.safeParse(picked);
    if (parsed.success && Object.keys(parsed.data).length) return parsed.data;
  }
  return undefined;
}

export interface FetchedObservations {
  observations: Observation[];
  uri: string;
}

/**
 * One series' observations from `from` to `to` (both inclusive): `DIR/DGS10.json` (any
 * range; filtered here), or `fred/series/observations?series_id=DGS10&file_type=json&
 * observation_start=FROM&observation_end=TO&api_key=…` (key redacted from the returned URL).
 */
// The file reader, HTTP client (rate limiter, circuit breaker) and parser load on the first
// fetch, not when the pipelines are defined: every command defines them, few fetch.
export async function fetchObservations(
  source: FredSource,
  seriesId: string,
  opts: { from: string; to: string; signal?: AbortSignal; log?: Logger },
): Promise<FetchedObservations> {
  let bytes: Buffer;
  let uri: string;
  if (source.kind === 'file') {
    ({ bytes, uri } = await new (await import('../../connectors/file-source.js')).FileSource(source.dataDir).read(
      [`${seriesId}.json`, `${seriesId.toLowerCase()}.json`],
      opts.signal,
    ));
  } else {
    const { sharedHttpSource } = await import('../../connectors/http-source.js');
    const http = sharedHttpSource({
      name: `fred ${new URL(source.baseUrl).host}`,
      baseUrl: source.baseUrl,
      timeoutMs: 30_000,
      retries: 3,
      rateLimit: { capacity: Math.max(1, Math.floor(source.perMinute)), intervalMs: (Math.max(1, Math.floor(source.perMinute)) * 60_000) / source.perMinute },
      breaker: { failureThreshold: 5, resetTimeoutMs: 60_000 },
      apiKeyEnv: API_KEY_ENV,
      apiKeyParam: 'api_key',
    });
    ({ bytes, uri } = await http.get('fred/series/observations', {
      query: { series_id: seriesId, file_type: 'json', observation_start: opts.from, observation_end: opts.to },
      signal: opts.signal,
      log: opts.log,
    }));
  }
  const { parseFredObservations } = await import('./parse.js');
  const all = parseFredObservations(bytes, uri, source.kind === 'http' ? [process.env[API_KEY_ENV]] : []);
  return { observations: all.filter((o) => o.date >= opts.from && o.date <= opts.to), uri };
}
