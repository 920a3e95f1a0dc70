import { ValidationError } from '../core/errors.js';
import type { Partition } from '../core/partition.js';
import type { WorkState } from '../core/states.js';
import type { WorkItem } from '../core/work-item.js';
import type { EnqueuedRef, Store } from '../store/store.js';
import { addDays, parseDateRange } from '../time/civil-date.js';
import { getCalendar } from '../time/calendars.js';
import { weekEndingFridays } from '../time/partitions.js';
import { autoDownstreamSpecs, enqueueSpecBuilder } from './enqueue.js';
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
  /** Bring in the `auto` downstream of every partition, as enqueue does (default true);
   * false stops at the named pipeline. */
  downstream?: boolean;
}

export interface BackfillPlan {
  pipeline: RegisteredPipeline;
  /** The range's key and values, crossed with `fixed` (every enum dimension fanned out). */
  key: string;
  values: readonly string[];
  fixed: Partition[];
  /** values × fixed. */
  total: number;
  /** The partitions, generated in order without holding them all. */
  partitions(): Generator<Partition>;
}

/** Keys whose schema is an enum (zod `.options`), with their values: a backfill fans out over
 * each one the request does not narrow, as Dagster does for every dimension. */
function enumDimensions(p: RegisteredPipeline): Map<string, string[]> {
  const shape = (p.definition.partition as unknown as { shape?: Record<string, { options?: unknown }> } | undefined)?.shape ?? {};
  const out = new Map<string, string[]>();
  for (const [k, schema] of Object.entries(shape)) {
    const options = schema?.options;
    if (Array.isArray(options) && options.length > 0 && options.every((o) => typeof o === 'string')) out.set(k, options as string[]);
  }
  return out;
}

function fanOut(fixed: Partition[], rangeKey: string, enums: Map<string, string[]>): Partition[] {
  let out = fixed;
  for (const [k, options] of enums) {
    if (k === rangeKey) continue;
    out = out.flatMap((f) => (k in f ? [f] : options.map((o) => ({ ...f, [k]: o }))));
  }
  return out;
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
  if (values.length === 0)
    throw new ValidationError('--from/--to', `${req.from ?? ''}..${req.to ?? ''}`, `contain at least one ${key === 'week_ending' ? 'Friday' : 'session'}`);
  const fixed = fanOut(req.fixed && req.fixed.length ? req.fixed : [{}], key, enumDimensions(pipeline));
  function* partitions(): Generator<Partition> {
    for (const v of values) for (const f of fixed) yield { ...f, [key]: v };
  }
  // Validate every partition before anything is written (one at a time, none held).
  let i = 0;
  for (const p of partitions()) registry.validatePartition(pipeline, p, `partitions[${i++}]`);
  registry.validateParams(pipeline, req.params);
  return { pipeline, key, values, fixed, total: values.length * fixed.length, partitions };
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
  /** Auto-downstream items brought in (created or already there). */
  downstream: number;
  /** The first 10,000 items of the named pipeline (a sample for output, not the whole set). */
  items: Pick<WorkItem, 'id' | 'partitionKey' | 'state'>[];
  /** Set when a cancel stopped the enqueue part-way. */
  cancelled?: boolean;
}

export interface BackfillTracking {
  /** Links each chunk's items to a stored backfill. */
  link(links: { itemId: number; downstream: boolean }[], partitions: number): Promise<void>;
  /** Checked between chunks: true stops the enqueue. */
  cancelled?(): Promise<boolean>;
}

// 50,000 per transaction: each commit writes every index page the chunk touched (the
// (domain, pipeline, partition_key) index takes keys in no useful order), so at a million
// partitions 5,000-item chunks rewrote the same pages ten times as often.
const CHUNK = 50_000;
// Chunks written at once where the store has concurrent writers (PostgreSQL): one server
// backend inserting a chunk (heap, four indexes, events, the grid summary trigger) uses one
// core while the client waits, so a second chunk on a second pooled connection uses the
// other core of a 2-core machine. Capped by `store.concurrentWriters` (SQLite: 1).
const IN_FLIGHT = 2;
const BULK_STATISTICS_MIN = 50_000;

/** How a backfill is cut into store batches; internal (tests, benchmarks), not a request field. */
export interface BackfillRunOptions {
  /** Partitions per store batch, one transaction each (default 50,000). */
  chunkSize?: number;
  /** Batches written at once (default 2), never more than `store.concurrentWriters`. */
  inFlight?: number;
}

/** A chunk whose batch is being written. */
interface InFlightChunk {
  partitions: number;
  /** The named pipeline's specs lead the batch; its auto downstream follows. */
  specs: number;
  written: Promise<EnqueuedRef[]>;
}

/** How many chunks `runBackfill` writes at once on this store: the request (default 2),
 * never more than the store's concurrent writers (SQLite: 1). */
export function chunksInFlight(store: Pick<Store, 'concurrentWriters'>, requested?: number): number {
  return Math.max(1, Math.min(requested ?? IN_FLIGHT, store.concurrentWriters));
}

/**
 * Enqueues the plan in chunks, streamed from its generator (so a million partitions neither
 * sit in memory nor build one giant transaction), each chunk with its `auto` downstream
 * unless `downstream: false`, and applies the reprocess mode to partitions that already have
 * an item: `missing` leaves them alone, `failed` retries FAILED/CANCELLED ones, `all` re-runs
 * every finished one.
 *
 * On a store with concurrent writers up to `inFlight` chunks are written at once (the next
 * chunk is built while earlier ones are written); their outcomes are still counted, linked
 * and reported in chunk order. A cancel is checked after each chunk starts and stops further
 * chunks; a failure stops them too. Either way every chunk already started is awaited (and
 * linked, when written) before `runBackfill` returns or throws, so nothing writes after it.
 */
export async function runBackfill(
  store: Store,
  registry: PipelineRegistry,
  req: BackfillRequest,
  onProgress?: (p: BackfillProgress) => void,
  tracking?: BackfillTracking,
  options: BackfillRunOptions = {},
): Promise<BackfillResult> {
  const plan = planBackfill(registry, req);
  const reprocess = req.reprocess ?? 'missing';
  const chunkSize = Math.max(1, options.chunkSize ?? CHUNK);
  const inFlight = chunksInFlight(store, options.inFlight);
  const result: BackfillResult = { total: plan.total, created: 0, existing: 0, requeued: 0, downstream: 0, items: [] };
  let done = 0;
  const build = enqueueSpecBuilder(registry, { pipeline: plan.pipeline.key, params: req.params, priority: req.priority ?? BACKFILL_DEFAULT_PRIORITY });
  const pending: InFlightChunk[] = [];
  // Builds a chunk's specs and starts its batch; returns without waiting for the write.
  const start = (chunk: Partition[]) => {
    const built = chunk.map(build);
    const specs = built.map((b) => b.spec);
    const extra =
      req.downstream === false ? [] : autoDownstreamSpecs(registry, built).map((s) => ({ ...s, priority: req.priority ?? BACKFILL_DEFAULT_PRIORITY }));
    // Refs, not items: a chunk of 50,000 `WorkItem`s was garbage the backfill never reads.
    const written = store.enqueueRefs([...specs, ...extra]);
    // Awaited in order by `settle`; a later chunk that fails while an earlier one is awaited
    // must not count as an unhandled rejection meanwhile.
    written.catch(() => undefined);
    pending.push({ partitions: chunk.length, specs: specs.length, written });
  };
  // Waits for the oldest chunk in flight, then counts, re-runs and links its items.
  const settle = async () => {
    const { partitions, specs, written } = pending.shift()!;
    const outcomes = await written;
    const links: { itemId: number; downstream: boolean }[] = [];
    outcomes.forEach((o, idx) => {
      if (idx >= specs) {
        result.downstream++;
        links.push({ itemId: o.id, downstream: true });
      }
    });
    for (const o of outcomes.slice(0, specs)) {
      let ref: { id: number; partitionKey: string; state: WorkState } = o;
      if (o.created) result.created++;
      else {
        result.existing++;
        const again =
          (reprocess === 'failed' && (o.state === 'FAILED' || o.state === 'CANCELLED')) ||
          (reprocess === 'all' && (o.state === 'COMPLETE' || o.state === 'FAILED' || o.state === 'CANCELLED'));
        if (again) {
          ref = (await store.rerun(o.id, 'backfill')).item;
          result.requeued++;
        }
      }
      links.push({ itemId: ref.id, downstream: false });
      if (result.items.length < 10_000) result.items.push({ id: ref.id, partitionKey: ref.partitionKey, state: ref.state });
    }
    await tracking?.link(links, specs);
    done += partitions;
    onProgress?.({ done, total: plan.total });
  };
  try {
    let chunk: Partition[] = [];
    for (const partition of plan.partitions()) {
      chunk.push(partition);
      if (chunk.length < chunkSize) continue;
      start(chunk);
      chunk = [];
      // At most `inFlight` chunks are held; with one, this is write, link, then check.
      if (pending.length >= inFlight) await settle();
      if (await tracking?.cancelled?.()) {
        while (pending.length) await settle();
        return { ...result, cancelled: true };
      }
    }
    if (chunk.length) start(chunk);
    while (pending.length) await settle();
  } catch (err) {
    // The first failure is the backfill's. Chunks still in flight are awaited, and those that
    // were written are linked, so the stored backfill accounts for every item it made.
    while (pending.length) await settle().catch(() => undefined);
    throw err;
  }
  // A large backfill leaves work_items with statistics from before it (see refreshStatistics).
  if (result.created >= BULK_STATISTICS_MIN) await store.refreshStatistics();
  return result;
}
