import { operationsStoreFor } from '../store/operations-store.js';
import { summarizeCounts } from '../engine/state-summary.js';
import { dependencyToJson } from '../engine/dependencies.js';
import type { AttemptStatus, WorkState } from '../core/states.js';
import { attemptToJson, splitPipelineKey, workItemToJson, type Attempt, type WorkEvent, type WorkItem } from '../core/work-item.js';
import type { ListFilter } from '../store/store.js';
import type { ServerContext } from './context.js';
import { ApiError } from './errors.js';
import type { ScheduleInfo } from './scheduler-port.js';

/**
 * Read models shared by the JSON API and the server-rendered dashboard, so a page and the
 * endpoint its script polls always agree.
 */

export type ItemJson = ReturnType<typeof itemJson>;

export function itemJson(item: WorkItem) {
  return workItemToJson(item) as {
    id: number;
    domain: string;
    pipeline: string;
    partition: Record<string, string>;
    partition_key: string;
    params: Record<string, unknown>;
    state: WorkState;
    attempts: number;
    max_attempts: number;
    attempts_total: number;
    priority: number;
    desired_at: string;
    locked_by: string | null;
    lease_expires_at: string | null;
    last_error: string | null;
    created_at: string;
    updated_at: string;
    finished_at: string | null;
  };
}

export function attemptJson(attempt: Attempt) {
  return attemptToJson(attempt) as {
    id: number;
    attempt_no: number;
    worker_id: string;
    status: Attempt['status'];
    started_at: string;
    finished_at: string | null;
    duration_ms: number | null;
    error: string | null;
    output_tail: string | null;
    result: Record<string, unknown> | null;
  };
}

export function eventJson(event: WorkEvent) {
  return {
    id: event.id,
    at: event.at.toISOString(),
    event: event.event,
    from_state: event.fromState,
    to_state: event.toState,
    actor: event.actor,
    detail: event.detail,
  };
}

/** `pipeline` may be a full key (`finra.otc_transparency.ingest_week`) or a bare name; a
 * full key also sets the domain, which must then agree with an explicit `domain`. */
export function resolvePipelineFilter(domain: string | undefined, pipeline: string | undefined): { domain?: string; pipeline?: string } {
  if (pipeline === undefined || pipeline === '') return { domain: domain || undefined };
  if (pipeline.includes('.')) {
    const split = splitPipelineKey(pipeline);
    if (!split)
      throw new ApiError(
        400,
        'invalid_input',
        `pipeline: ${JSON.stringify(pipeline)} is invalid: must be domain.name or a bare pipeline name`,
        'pipeline',
        pipeline,
        'be domain.name or a bare pipeline name',
      );
    if (domain && domain !== split.domain) {
      throw new ApiError(
        400,
        'invalid_input',
        `pipeline: ${JSON.stringify(pipeline)} is in domain ${split.domain}, not ${domain}`,
        'pipeline',
        pipeline,
        `belong to the domain given (${domain})`,
      );
    }
    return split;
  }
  return { domain: domain || undefined, pipeline };
}

export interface WorkListQuery {
  states: WorkState[] | 'ALL';
  domain?: string;
  pipeline?: string;
  limit: number;
  offset: number;
  order?: 'newest' | 'oldest';
}

export async function listWork({ app }: ServerContext, q: WorkListQuery) {
  const filter: ListFilter = { ...resolvePipelineFilter(q.domain, q.pipeline) };
  if (q.states !== 'ALL') filter.state = q.states;
  const [items, total] = await Promise.all([
    app.store.listItems({ ...filter, limit: q.limit, offset: q.offset, order: q.order ?? 'newest' }),
    app.store.countItems(filter),
  ]);
  return {
    items: items.map(itemJson),
    total,
    limit: q.limit,
    offset: q.offset,
    states: q.states === 'ALL' ? ('ALL' as const) : q.states,
  };
}

export async function itemDetail({ app }: ServerContext, id: number) {
  const item = await app.store.getItem(id);
  if (!item) throw new ApiError(404, 'not_found', `work item ${id} not found`, 'id', id, 'name an existing work item');
  const [attempts, events, dependencies] = await Promise.all([app.store.listAttempts(id), app.store.listEvents(id), app.store.listDependencies(id)]);
  return {
    item: itemJson(item),
    attempts: attempts.map(attemptJson),
    events: events.map(eventJson),
    dependencies: dependencies.map(dependencyToJson),
  };
}

/**
 * Recent attempts across items, newest first, straight from the store's attempts-by-start
 * index (`listRecentAttempts`), filtered by pipeline and attempt status, paged with
 * limit/offset: every attempt is reachable, however old its item.
 *
 * `total` is the exact count of matching attempts (one COUNT over attempts joined to their
 * items), so the pager and scripts can trust it and an offset past it returns no rows.
 * `window_items` says how many attempts this page read.
 */
export async function recentRuns({ app }: ServerContext, q: { limit: number; offset: number; domain?: string; pipeline?: string; status?: string }) {
  const filter = { ...resolvePipelineFilter(q.domain, q.pipeline), status: q.status as AttemptStatus | undefined };
  const [fetched, total] = await Promise.all([
    app.store.listRecentAttempts({ ...filter, limit: q.limit, offset: q.offset }),
    // The exact count, not a window's: the total is what the pager and scripts trust.
    operationsStoreFor(app.store).countAttempts(filter),
  ]);
  const page = fetched;
  const read = fetched.length;
  return {
    runs: page.map((run) => ({
      ...attemptJson(run),
      item_id: run.itemId,
      domain: run.domain,
      pipeline: run.pipeline,
      partition_key: run.partitionKey,
      item_state: run.itemState,
    })),
    total,
    limit: q.limit,
    offset: q.offset,
    window_items: read,
  };
}

/** Failing pipelines: those with FAILED items, with the latest failure's error. */
export async function overview(ctx: ServerContext) {
  const { app, scheduler, worker } = ctx;
  const summary = summarizeCounts(await app.store.countByState());
  const failedItems = await app.store.listItems({ state: 'FAILED', limit: 200, order: 'newest' });
  const pipelines = summary.pipelines as Array<{ pipeline: string } & Record<WorkState, number>>;
  const failing = pipelines
    .filter((p) => p.FAILED > 0)
    .map((p) => {
      const latest = failedItems.find((i) => `${i.domain}.${i.pipeline}` === p.pipeline);
      return {
        pipeline: p.pipeline,
        failed: p.FAILED,
        retry_wait: p.RETRY_WAIT ?? 0,
        latest_item_id: latest?.id ?? null,
        latest_partition_key: latest?.partitionKey ?? null,
        latest_error: latest?.lastError ?? null,
      };
    });
  let schedulerInfo: {
    status: Awaited<ReturnType<NonNullable<ServerContext['scheduler']>['status']>>;
    next_ticks: { schedule: string; pipeline: string; at: string; timezone: string }[];
  } | null = null;
  let schedulerError: string | null = null;
  if (scheduler) {
    try {
      const [status, schedules] = await Promise.all([scheduler.status(), scheduler.listSchedules()]);
      schedulerInfo = { status, next_ticks: nextTicks(schedules, 10) };
    } catch (err) {
      schedulerError = err instanceof Error ? err.message : String(err);
    }
  }
  return {
    database: app.store.backend,
    generated_at: new Date().toISOString(),
    totals: summary.totals as Record<WorkState, number>,
    pipelines,
    failing,
    worker: worker ? { id: worker.workerId, running: worker.runningCount } : null,
    scheduler: schedulerInfo,
    scheduler_attached: scheduler !== undefined,
    scheduler_error: schedulerError,
  };
}

export function nextTicks(schedules: readonly ScheduleInfo[], count: number) {
  return schedules
    .filter((s) => s.enabled)
    .flatMap((s) => s.next_fire_times.map((at) => ({ schedule: s.name, pipeline: s.pipeline, at, timezone: s.timezone })))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
    .slice(0, count);
}
