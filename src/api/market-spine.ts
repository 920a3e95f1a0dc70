import { ValidationError } from '../core/errors.js';
import type { WorkState } from '../core/states.js';

/**
 * Market Spine's REST vocabulary (the operational scheduling guide, seed 003), translated
 * to Sluice's own so the guide's cron scripts and runbooks work verbatim against Sluice:
 *
 * - `domain` + a short `pipeline` ("ingest_week") name the pipeline `domain.pipeline`;
 * - `partition_key` (an object) is the partition; `desired_at` is `at`;
 * - `params.tier` restates the partition's tier: it must equal it (else a 400 naming
 *   `params.tier`) and is then dropped, since the partition already carries it;
 * - a `week_ending` that is a Monday (the guide writes the publication Monday, e.g.
 *   2025-12-22) names the FINRA week ending the Friday before; the answer warns about it.
 *
 * Sluice's own names keep working; giving both spellings of one field is a 400.
 */
export interface MarketSpineFields {
  pipeline?: string;
  domain?: string;
  partition?: unknown;
  partition_key?: unknown;
  at?: string;
  desired_at?: string;
  params?: unknown;
}

export interface TranslatedFields {
  pipeline: string | undefined;
  partition: unknown;
  at: string | undefined;
  params: unknown;
  warnings: string[];
}

const FINRA_DOMAIN = 'finra.otc_transparency';

export function translateMarketSpine(body: MarketSpineFields, prefix = ''): TranslatedFields {
  const f = (name: string) => (prefix ? `${prefix}.${name}` : name);
  const warnings: string[] = [];
  if (body.partition !== undefined && body.partition_key !== undefined) {
    throw new ValidationError(f('partition_key'), body.partition_key, 'not be given beside partition (they are the same field: use one)');
  }
  if (body.at !== undefined && body.desired_at !== undefined) {
    throw new ValidationError(f('desired_at'), body.desired_at, 'not be given beside at (they are the same field: use one)');
  }
  let pipeline = body.pipeline;
  if (body.domain !== undefined) {
    if (typeof body.domain !== 'string' || body.domain === '')
      throw new ValidationError(f('domain'), body.domain, 'be a domain name, e.g. finra.otc_transparency');
    if (pipeline === undefined)
      throw new ValidationError(f('pipeline'), pipeline, `be given with domain: the pipeline's name in ${body.domain}, e.g. ingest_week`);
    if (!pipeline.startsWith(`${body.domain}.`)) pipeline = `${body.domain}.${pipeline}`;
  }
  let partition = body.partition ?? body.partition_key;
  if (typeof partition === 'string' && partition.trim().startsWith('{')) {
    try {
      partition = JSON.parse(partition);
    } catch {
      throw new ValidationError(f('partition_key'), partition, 'be a JSON object of partition keys and values');
    }
  }
  const partitionField = body.partition_key !== undefined ? 'partition_key' : 'partition';
  if (pipeline?.startsWith(`${FINRA_DOMAIN}.`) && isObject(partition) && typeof partition.week_ending === 'string') {
    const friday = fridayBeforeMonday(partition.week_ending);
    if (friday) {
      warnings.push(
        `${f(`${partitionField}.week_ending`)}: ${partition.week_ending} is a Monday (FINRA's publication day); it names the week ending Friday ${friday}, used instead`,
      );
      partition = { ...partition, week_ending: friday };
    }
  }
  let params = body.params;
  if (isObject(params) && 'tier' in params) {
    const tier = isObject(partition) ? partition.tier : undefined;
    if (tier === undefined)
      throw new ValidationError(f('params.tier'), params.tier, `not be given: ${pipeline ?? 'this pipeline'} has no tier in its partition`);
    if (params.tier !== tier) throw new ValidationError(f('params.tier'), params.tier, `equal the partition's tier ${JSON.stringify(tier)}`);
    const { tier: _tier, ...rest } = params;
    params = rest;
  }
  return { pipeline, partition, at: body.at ?? body.desired_at, params, warnings };
}

/**
 * The guide's failed-work answer entry (`jq '.failed | length'`, `attempt_count`,
 * `last_error`, `last_error_at`, the partition as an object), next to Sluice's own fields.
 * Sluice's string key stays as `partition_key_text`. `last_error_at` is when the item
 * last changed state while carrying an error (its finish for FAILED, else its update).
 */
export function marketSpineEntry(item: {
  partition: Record<string, string>;
  partition_key: string;
  attempts: number;
  last_error: string | null;
  finished_at: string | null;
  updated_at: string;
}) {
  return {
    ...item,
    partition_key: item.partition,
    partition_key_text: item.partition_key,
    attempt_count: item.attempts,
    last_error_at: item.last_error === null ? null : (item.finished_at ?? item.updated_at),
  };
}

/** The key the guide's answer lists one state's items under: `failed`, `retry_wait`, … */
export function stateListKey(states: readonly WorkState[] | 'ALL'): string | null {
  return states !== 'ALL' && states.length === 1 ? states[0]!.toLowerCase() : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fridayBeforeMonday(date: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.getUTCDay() !== 1) return null;
  d.setUTCDate(d.getUTCDate() - 3);
  return d.toISOString().slice(0, 10);
}
