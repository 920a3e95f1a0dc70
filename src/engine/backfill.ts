import { ValidationError } from '../core/errors.js';
import type { Partition } from '../core/partition.js';
import type { WorkItem } from '../core/work-item.js';
import type { Store } from '../store/store.js';
import { addDays, parseDateRange } from '../time/civil-date.js';
import { getCalendar } from '../time/calendars.js';
import { weekEndingFridays } from '../time/partitions.js';
import { buildEnqueueSpec } from './enqueue.js';
import type { PipelineRegistry, RegisteredPipeline } from './registry.js';

/** Backfills run below scheduled work (priority 0) unless told otherwise. */
export const BACKFILL_DEFAULT_PRIORITY = -10;

export type ReprocessMode = 'missing' | 'failed' | 'all';

export interface BackfillRequest {
  pipeline: string;
  /** Date range over the pipeline's time dimension (week_ending -> Fridays, date -> sessions). */
  from?: string;
  to?: string;
  /** Or an explicit range over one key: `key=A..B` (dates or integers). */
  partitionRange?: string;
  /** Fixed dimensions added to every partition; several = cross product with the range. */
  fixed?: Partition[];
  /** `XNYS` (default) for date partitions, or `none` for every calendar day. */
  calendar?: string;
  priority?: number;
  params?: unknown;
  reprocess?: ReprocessMode;
}

export interface BackfillPlan {
  pipeline: RegisteredPipeline;
  partitions: Partition[];
  key: string;
}

/** The pipeline's partition keys, read from its zod object schema when it has one. */
function partitionKeys(p: RegisteredPipeline): string[] {
  const shape = (p.definition.partition as unknown as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

export function planBackfill(registry: PipelineRegistry, req: BackfillRequest): BackfillPlan {
  const pipeline = registry.require(req.pipeline);
  let key: string;
  let values: string[];
  if (req.partitionRange !== undefined) {
    if (req.from !== undefined || req.to !== undefined) throw new ValidationError('--partition-range', req.partitionRange, 'not be combined with --from/--to');
    ({ key, values } = expandRange(req.partitionRange, req.calendar));
  } else {
    if (req.from === undefined || req.to === undefined) throw new ValidationError('--from', req.from, 'be given with --to (or use --partition-range key=A..B)');
    parseDateRange(req.from, req.to, { from: '--from', to: '--to' });
    const keys = partitionKeys(pipeline);
    key = keys.includes('week_ending') ? 'week_ending' : 'date';
    values = key === 'week_ending' ? weekEndingFridays(req.from, req.to, { from: '--from', to: '--to' }) : dateValues(req.from, req.to, req.calendar);
  }
  if (values.length === 0) throw new ValidationError('--from/--to', `${req.from ?? ''}..${req.to ?? ''}`, `contain at least one ${key === 'week_ending' ? 'Friday' : 'session'}`);
  const fixed = req.fixed && req.fixed.length ? req.fixed : [{}];
  const partitions: Partition[] = [];
  for (const v of values) for (const f of fixed) partitions.push({ ...f, [key]: v });
  // Validate every partition before anything is written.
  partitions.forEach((p, i) => registry.validatePartition(pipeline, p, `partitions[${i}]`));
  registry.validateParams(pipeline, req.params);
  return { pipeline, partitions, key };
}

function dateValues(from: string, to: string, calendar = 'XNYS'): string[] {
  if (calendar.toLowerCase() === 'none') {
    const out: string[] = [];
    for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
    return out;
  }
  return getCalendar(calendar).sessionDates(from, to);
}

function expandRange(text: string, calendar?: string): { key: string; values: string[] } {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)\.\.(.+)$/.exec(text);
  if (!m) throw new ValidationError('--partition-range', text, 'be key=A..B, e.g. date=2026-01-02..2026-01-30 or week_ending=2025-10-03..2025-12-19');
  const [, key, a, b] = m as unknown as [string, string, string, string];
  if (/^\d{4}-\d{2}-\d{2}$/.test(a)) {
    parseDateRange(a, b, { from: `--partition-range ${key} start`, to: `--partition-range ${key} end` });
    const values = key === 'week_ending' ? weekEndingFridays(a, b) : dateValues(a, b, calendar);
    return { key, values };
  }
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
    const lo = Number(a);
    const hi = Number(b);
    if (hi < lo) throw new ValidationError('--partition-range', text, 'not be reversed (A must be <= B)');
    if (hi - lo > 1_000_000) throw new ValidationError('--partition-range', text, 'span at most 1,000,000 values');
    return { key, values: Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i)) };
  }
  throw new ValidationError('--partition-range', text, 'use dates (YYYY-MM-DD) or integers at both ends');
}

export interface BackfillProgress {
  done: number;
  total: number;
}

export interface BackfillResult {
  total: number;
  created: number;
  existing: number;
  requeued: number;
  items: Pick<WorkItem, 'id' | 'partitionKey' | 'state'>[];
}

/**
 * Enqueues the plan in chunks (so a million partitions do not build one giant
 * transaction) and applies the reprocess mode to partitions that already have an item:
 * `missing` leaves them alone, `failed` retries FAILED/CANCELLED ones, `all` re-runs every
 * finished one.
 */
export async function runBackfill(store: Store, registry: PipelineRegistry, req: BackfillRequest, onProgress?: (p: BackfillProgress) => void): Promise<BackfillResult> {
  const plan = planBackfill(registry, req);
  const reprocess = req.reprocess ?? 'missing';
  const result: BackfillResult = { total: plan.partitions.length, created: 0, existing: 0, requeued: 0, items: [] };
  const chunk = 5_000;
  for (let i = 0; i < plan.partitions.length; i += chunk) {
    const specs = plan.partitions.slice(i, i + chunk).map(
      (partition) => buildEnqueueSpec(registry, { pipeline: plan.pipeline.key, partition, params: req.params, priority: req.priority ?? BACKFILL_DEFAULT_PRIORITY }).spec,
    );
    const outcomes = await store.enqueue(specs);
    for (const o of outcomes) {
      let item = o.item;
      if (o.created) result.created++;
      else {
        result.existing++;
        const again =
          (reprocess === 'failed' && (item.state === 'FAILED' || item.state === 'CANCELLED')) ||
          (reprocess === 'all' && (item.state === 'COMPLETE' || item.state === 'FAILED' || item.state === 'CANCELLED'));
        if (again) {
          item = (await store.rerun(item.id, 'backfill')).item;
          result.requeued++;
        }
      }
      if (result.items.length < 10_000) result.items.push({ id: item.id, partitionKey: item.partitionKey, state: item.state });
    }
    onProgress?.({ done: Math.min(i + chunk, plan.partitions.length), total: plan.partitions.length });
  }
  return result;
}
