import type { ScheduleStore } from './schedule-store.js';
import type { Store } from './store.js';

/**
 * The store methods both backends implement as free functions over their own context, one
 * module per operation family (enqueue.ts, claim.ts, …, the same names on both). A backend
 * class binds them once (`bindOperations`) instead of writing forty delegating methods.
 */
export const OPERATIONS = [
  'enqueue',
  'enqueueRefs',
  'claim',
  'claimItem',
  'heartbeat',
  'complete',
  'fail',
  'release',
  'reclaimExpired',
  'cancel',
  'retry',
  'rerun',
  'getItem',
  'findItem',
  'listItems',
  'countItems',
  'countByState',
  'listAttempts',
  'partitionStates',
  'countPartitions',
  'partitionSummary',
  'partitionValues',
  'partitionStatesByKey',
  'listRecentAttempts',
  'listEvents',
  'listDependencies',
  'countOutstanding',
  'countFailedSince',
  'nextDesiredAt',
  'pruneFinished',
  'maintain',
  'refreshStatistics',
  'fireTick',
  'fireTicks',
  'listTicks',
  'lastTickAt',
  'acquireLease',
  'releaseLease',
  'leaseHolder',
] as const satisfies readonly (keyof (Store & ScheduleStore))[];

export type OperationName = (typeof OPERATIONS)[number];
type Api = Store & ScheduleStore;
export type BoundOperations = Pick<Api, OperationName>;

/** Each operation as a free function: the backend's context first, then the method's arguments. */
export type Operations<C> = { [K in OperationName]: (ctx: C, ...args: Parameters<Api[K]>) => ReturnType<Api[K]> };

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/**
 * A backend's operation families (its enqueue.ts, claim.ts, … modules) joined into one table,
 * typed as the intersection of their exports: assigning it to `Operations<Context>` is what
 * makes a family's missing or mistyped operation a compile error. A later family's export
 * wins over an earlier one of the same name, as in an object spread.
 */
export function joinFamilies<F extends readonly object[]>(...families: F): UnionToIntersection<F[number]> {
  return Object.assign({}, ...families) as UnionToIntersection<F[number]>;
}

/** The operations as methods over one context (what a backend class assigns to itself). */
export function bindOperations<C>(ctx: C, ops: Operations<C>): BoundOperations {
  const bound: Record<string, unknown> = {};
  for (const name of OPERATIONS) {
    const op = ops[name] as (ctx: C, ...args: unknown[]) => unknown;
    bound[name] = (...args: unknown[]) => op(ctx, ...args);
  }
  return bound as unknown as BoundOperations;
}
