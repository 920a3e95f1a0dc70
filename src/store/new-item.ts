import type { WorkState } from '../core/states.js';
import type { WorkItem } from '../core/work-item.js';
import type { EnqueueSpec } from './store.js';

/**
 * A just-inserted item built from its spec instead of read back from the database (batch
 * enqueue returns thousands): what the row holds, exactly as each store's row mapper would
 * give it. `createdAt` is the store's clock for the insert.
 */
export function itemFromSpec(id: number, spec: EnqueueSpec, key: string, paramsJson: string, state: WorkState, createdAt: Date): WorkItem {
  return {
    id,
    domain: spec.domain,
    pipeline: spec.pipeline,
    partition: { ...spec.partition },
    partitionKey: key,
    params: paramsJson === '{}' ? {} : (JSON.parse(paramsJson) as Record<string, unknown>),
    state,
    priority: spec.priority ?? 0,
    desiredAt: new Date((spec.desiredAt ?? createdAt).getTime()),
    attempts: 0,
    totalAttempts: 0,
    maxAttempts: spec.maxAttempts,
    backoff: { ...spec.backoff },
    lockedBy: null,
    leaseExpiresAt: null,
    currentAttemptId: null,
    lastError: null,
    createdAt: new Date(createdAt.getTime()),
    updatedAt: new Date(createdAt.getTime()),
    finishedAt: null,
  };
}
