import { NotFoundError, ValidationError } from '../core/errors.js';
import { OUTSTANDING_STATES, WORK_STATES, type WorkState } from '../core/states.js';
import { operationsStoreFor, type BackfillRecord } from '../store/operations-store.js';
import type { Store } from '../store/store.js';
import { BACKFILL_DEFAULT_PRIORITY, planBackfill, runBackfill, type BackfillProgress, type BackfillRequest, type BackfillResult } from './backfill.js';
import type { PipelineRegistry } from './registry.js';

/**
 * Backfills as tracked objects: `createBackfill` stores the request, enqueues it (streamed,
 * with its auto downstream) and links every item it brings in, so `backfillStatus` can count
 * how far it has *run*, not only how far the enqueue got. `cancelBackfill` stops the enqueue
 * and cancels every linked item still outstanding.
 */

export interface BackfillStatusJson {
  id: number;
  pipeline: string;
  status: BackfillRecord['status'];
  /** running while linked items are outstanding; done when none are; cancelled. */
  state: 'enqueuing' | 'running' | 'done' | 'cancelled' | 'failed';
  request: Record<string, unknown>;
  priority: number;
  reprocess: BackfillRecord['reprocess'];
  downstream: boolean;
  partitions: number;
  error: string | null;
  created_at: string;
  enqueued_at: string | null;
  cancelled_at: string | null;
  progress: {
    /** Items of the named pipeline and of its downstream, by state. */
    requested: Record<WorkState, number>;
    downstream: Record<WorkState, number>;
    total: number;
    finished: number;
    complete: number;
    failed: number;
    outstanding: number;
    percent: number;
    /** Finished items per minute since the backfill was created; null before the first. */
    rate_per_minute: number | null;
    /** Seconds until the outstanding items finish at that rate; null when unknown. */
    eta_seconds: number | null;
  };
}

const zeroCounts = (): Record<WorkState, number> => Object.fromEntries(WORK_STATES.map((s) => [s, 0])) as Record<WorkState, number>;

export async function backfillStatus(store: Store, id: number, now = new Date()): Promise<BackfillStatusJson> {
  const ops = operationsStoreFor(store);
  const b = await ops.getBackfill(id);
  if (!b) throw new NotFoundError('backfill', String(id));
  return statusJson(b, await ops.backfillCounts(id), now);
}

export async function listBackfills(
  store: Store,
  limit: number,
  offset: number,
): Promise<{ backfills: BackfillStatusJson[]; total: number; limit: number; offset: number }> {
  const ops = operationsStoreFor(store);
  const { rows, total } = await ops.listBackfills(limit, offset);
  const backfills = await Promise.all(rows.map(async (b) => statusJson(b, await ops.backfillCounts(b.id), new Date())));
  return { backfills, total, limit, offset };
}

function statusJson(b: BackfillRecord, counts: Awaited<ReturnType<ReturnType<typeof operationsStoreFor>['backfillCounts']>>, now: Date): BackfillStatusJson {
  const requested = { ...zeroCounts(), ...counts.requested };
  const downstream = { ...zeroCounts(), ...counts.downstream };
  const sum = (states: readonly WorkState[]) => states.reduce((n, s) => n + requested[s] + downstream[s], 0);
  const total = sum(WORK_STATES);
  const outstanding = sum(OUTSTANDING_STATES);
  const complete = sum(['COMPLETE']);
  const failed = sum(['FAILED']);
  const finished = total - outstanding;
  const since = b.createdAt.getTime();
  const until = outstanding === 0 && counts.lastFinishedAt ? counts.lastFinishedAt.getTime() : now.getTime();
  const minutes = Math.max(until - since, 1) / 60_000;
  const rate = finished > 0 ? finished / minutes : null;
  const eta = rate && outstanding > 0 ? Math.round((outstanding / rate) * 60) : outstanding === 0 ? 0 : null;
  const state: BackfillStatusJson['state'] =
    b.status === 'cancelled' ? 'cancelled' : b.status === 'failed' ? 'failed' : b.status === 'enqueuing' ? 'enqueuing' : outstanding > 0 ? 'running' : 'done';
  return {
    id: b.id,
    pipeline: b.pipeline,
    status: b.status,
    state,
    request: b.request,
    priority: b.priority,
    reprocess: b.reprocess,
    downstream: b.downstream,
    partitions: b.partitions,
    error: b.error,
    created_at: b.createdAt.toISOString(),
    enqueued_at: b.enqueuedAt?.toISOString() ?? null,
    cancelled_at: b.cancelledAt?.toISOString() ?? null,
    progress: {
      requested,
      downstream,
      total,
      finished,
      complete,
      failed,
      outstanding,
      percent: total === 0 ? 0 : Math.floor((finished / total) * 1000) / 10,
      rate_per_minute: rate === null ? null : Math.round(rate * 100) / 100,
      eta_seconds: eta,
    },
  };
}

export interface CreatedBackfill {
  backfill: BackfillRecord;
  /** Resolves when the enqueue has finished (or failed / been cancelled). */
  enqueued: Promise<BackfillResult>;
}

/** Validates the whole request first (nothing stored on bad input), then stores the backfill
 * and starts enqueueing it. */
export async function createBackfill(
  store: Store,
  registry: PipelineRegistry,
  req: BackfillRequest,
  onProgress?: (p: BackfillProgress) => void,
): Promise<CreatedBackfill> {
  const plan = planBackfill(registry, req);
  const ops = operationsStoreFor(store);
  const backfill = await ops.createBackfill({
    pipeline: plan.pipeline.key,
    request: JSON.parse(
      JSON.stringify({ ...req, pipeline: plan.pipeline.key, fanned_out: plan.fixed, range_key: plan.key, total_partitions: plan.total }),
    ) as Record<string, unknown>,
    priority: req.priority ?? BACKFILL_DEFAULT_PRIORITY,
    reprocess: req.reprocess ?? 'missing',
    downstream: req.downstream !== false,
  });
  const enqueued = (async () => {
    try {
      const result = await runBackfill(store, registry, req, onProgress, {
        link: (links, partitions) => ops.linkBackfillItems(backfill.id, links, partitions),
        cancelled: async () => (await ops.getBackfill(backfill.id))?.status === 'cancelled',
      });
      await ops.finishBackfillEnqueue(backfill.id, { status: 'enqueued' });
      return result;
    } catch (err) {
      await ops.finishBackfillEnqueue(backfill.id, { status: 'failed', error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  })();
  return { backfill, enqueued };
}

/** Cancels a backfill: stops its enqueue and cancels every linked item still outstanding. */
export async function cancelBackfill(store: Store, id: number, actor = 'backfill-cancel'): Promise<{ backfill: BackfillStatusJson; cancelled: number }> {
  const ops = operationsStoreFor(store);
  const b = await ops.getBackfill(id);
  if (!b) throw new NotFoundError('backfill', String(id));
  if (b.status === 'cancelled') throw new ValidationError('id', id, 'name a backfill that is not already cancelled');
  await ops.markBackfillCancelled(id);
  let cancelled = 0;
  for (const itemId of await ops.outstandingBackfillItems(id)) {
    const outcome = await store.cancel(itemId, actor);
    if (outcome.changed) cancelled++;
  }
  return { backfill: await backfillStatus(store, id), cancelled };
}
