import { NotFoundError, SluiceError, ValidationError } from '../core/errors.js';
import type { Partition } from '../core/partition.js';
import type { WorkItem } from '../core/work-item.js';
import type { Store } from '../store/store.js';
import { enqueueWork } from './enqueue.js';
import type { PipelineRegistry } from './registry.js';

/**
 * Launch: "run this partition now" and bulk retry / re-run / cancel of selected items. A
 * COMPLETE partition is only re-run with `force`, so a stray click cannot redo finished work.
 */

export interface LaunchRequest {
  pipeline: string;
  partition: Partition;
  params?: unknown;
  priority?: number;
  /** Re-run the partition even when it is COMPLETE. */
  force?: boolean;
}

export interface LaunchOutcome {
  item: WorkItem;
  /** created: a new item; rerun: a finished item put back to PENDING; running: already queued or running. */
  action: 'created' | 'rerun' | 'already_outstanding';
}

export async function launchPartition(store: Store, registry: PipelineRegistry, req: LaunchRequest, actor = 'launch'): Promise<LaunchOutcome> {
  const [outcome] = await enqueueWork(store, registry, [
    { pipeline: req.pipeline, partition: req.partition, params: req.params, priority: req.priority, desiredAt: new Date() },
  ]);
  const item = outcome!.item;
  if (outcome!.created) return { item, action: 'created' };
  if (item.state === 'COMPLETE' && !req.force)
    throw new ValidationError('force', req.force ?? false, `be true to re-run partition ${item.partitionKey}, which is COMPLETE (item #${item.id})`);
  if (item.state === 'COMPLETE' || item.state === 'FAILED' || item.state === 'CANCELLED')
    return { item: (await store.rerun(item.id, actor)).item, action: 'rerun' };
  return { item, action: 'already_outstanding' };
}

export type BulkAction = 'retry' | 'rerun' | 'cancel';

export interface BulkResult {
  id: number;
  ok: boolean;
  state: string | null;
  error: string | null;
}

/** Applies one action to each id; a failure on one item (wrong state, unknown id) is reported
 * for that item and does not stop the others. */
export async function bulkAction(
  store: Store,
  action: BulkAction,
  ids: readonly number[],
  options: { force?: boolean; actor?: string } = {},
): Promise<BulkResult[]> {
  const actor = options.actor ?? 'bulk';
  const out: BulkResult[] = [];
  for (const id of ids) {
    try {
      const item = await store.getItem(id);
      if (!item) throw new NotFoundError('work item', id);
      let after: WorkItem;
      if (action === 'cancel') after = (await store.cancel(id, actor)).item;
      else if (action === 'retry') {
        if (item.state !== 'FAILED' && item.state !== 'CANCELLED')
          throw new ValidationError('ids', id, `name FAILED or CANCELLED items to retry (#${id} is ${item.state})`);
        after = (await store.retry({ id }, actor))[0] ?? item;
      } else {
        if (item.state === 'COMPLETE' && !options.force) throw new ValidationError('force', false, `be true to re-run COMPLETE item #${id}`);
        after = (await store.rerun(id, actor)).item;
      }
      out.push({ id, ok: true, state: after.state, error: null });
    } catch (err) {
      if (!(err instanceof SluiceError)) throw err;
      out.push({ id, ok: false, state: (await store.getItem(id))?.state ?? null, error: err.message });
    }
  }
  return out;
}
