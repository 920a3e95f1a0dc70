import type { Database as DB } from 'better-sqlite3';
import { partitionKey } from '../../core/partition.js';
import type { WorkState } from '../../core/states.js';
import type { Backoff } from '../../core/work-item.js';
import { itemFromSpec } from '../new-item.js';
import type { EnqueuedRef, EnqueueOutcome, EnqueueSpec } from '../store.js';
import { statementFamily, type SqliteContext } from './context.js';
import { addToSummary } from './grid.js';
import { toItem, type ItemRow } from './rows.js';

/** Enqueue: items inserted (or found) in one write transaction, with their dependencies and events. */

/** The prepared statements of this family; see `sqliteStatements`. */
export function enqueueStatements(db: DB) {
  return statementFamily({
    insertItem: db.prepare(`
      INSERT INTO work_items (domain, pipeline, partition_key, partition, params, state, priority, desired_at,
                              max_attempts, backoff, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?)
      ON CONFLICT (domain, pipeline, partition_key) DO NOTHING`),
    // The 'enqueue' events of a batch's new PENDING items, one statement (ids as JSON).
    insertEnqueueEvents: db.prepare(`
      INSERT INTO work_events (item_id, at, event, from_state, to_state) SELECT value, ?, 'enqueue', NULL, 'PENDING' FROM json_each(?)`),
  });
}

/** How a batch's outcomes are built: a new item from its spec, an existing one from its row. */
interface OutcomeShape<T> {
  created(id: number, spec: EnqueueSpec, key: string, paramsJson: string, state: WorkState, now: number): T;
  found(row: ItemRow): T;
}

/** A new item is built from its spec rather than read back: nothing else can have changed it
 * inside this transaction, and large batches skip a row read and three JSON parses each. */
const ITEM_OUTCOMES: OutcomeShape<EnqueueOutcome> = {
  created: (id, spec, key, paramsJson, state, now) => ({ item: itemFromSpec(id, spec, key, paramsJson, state, new Date(now)), created: true }),
  found: (row) => ({ item: toItem(row), created: false }),
};

const REF_OUTCOMES: OutcomeShape<EnqueuedRef> = {
  created: (id, _spec, key, _paramsJson, state) => ({ id, partitionKey: key, state, created: true }),
  found: (row) => ({ id: row.id, partitionKey: row.partition_key, state: row.state, created: false }),
};

/** Inserts new items (or finds the existing ones); call inside a write transaction. */
export function enqueueRows(ctx: SqliteContext, specs: readonly EnqueueSpec[], now: number): EnqueueOutcome[] {
  return insertRows(ctx, specs, now, ITEM_OUTCOMES);
}

function insertRows<T>(ctx: SqliteContext, specs: readonly EnqueueSpec[], now: number, shape: OutcomeShape<T>): T[] {
  const out: T[] = new Array(specs.length);
  // Specs of one batch usually share their backoff and params objects: serialize them once.
  let lastBackoff: Backoff | undefined;
  let lastBackoffJson = '';
  let lastParams: unknown = undefined;
  let lastParamsJson = '{}';
  const created: EnqueueSpec[] = [];
  const pending: number[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const key = partitionKey(spec.partition);
    if (spec.params !== lastParams) {
      lastParams = spec.params;
      lastParamsJson = spec.params === undefined ? '{}' : JSON.stringify(spec.params);
    }
    const paramsJson = lastParamsJson;
    if (spec.backoff !== lastBackoff) {
      lastBackoff = spec.backoff;
      lastBackoffJson = JSON.stringify(spec.backoff);
    }
    // Positional parameters: binding a 10-key object per row costs more than the insert.
    const inserted = ctx.s.insertItem.run(
      spec.domain,
      spec.pipeline,
      key,
      JSON.stringify(spec.partition),
      paramsJson,
      spec.priority ?? 0,
      spec.desiredAt?.getTime() ?? now,
      spec.maxAttempts,
      lastBackoffJson,
      now,
      now,
    );
    if (inserted.changes === 1) {
      const id = Number(inserted.lastInsertRowid);
      created.push(spec);
      let state: WorkState = 'PENDING';
      if (spec.dependencies?.length) {
        for (const d of spec.dependencies) ctx.s.insertDependency.run(id, d.domain, d.pipeline, d.partitionKey);
        if ((ctx.s.openUpstreams.pluck().get(id) as number) > 0) {
          ctx.s.setWaiting.run(id);
          state = 'WAITING';
        }
      }
      if (state === 'PENDING') pending.push(id);
      else ctx.s.insertEvent.run(id, now, 'enqueue', null, state, null, null);
      out[i] = shape.created(id, spec, key, paramsJson, state, now);
    } else {
      out[i] = shape.found(ctx.s.findItem.get(spec.domain, spec.pipeline, key) as ItemRow);
    }
  }
  if (pending.length) ctx.s.insertEnqueueEvents.run(now, JSON.stringify(pending));
  addToSummary(ctx, created);
  return out;
}

export async function enqueue(ctx: SqliteContext, specs: readonly EnqueueSpec[]): Promise<EnqueueOutcome[]> {
  return enqueueIn(ctx, specs, ITEM_OUTCOMES);
}

export async function enqueueRefs(ctx: SqliteContext, specs: readonly EnqueueSpec[]): Promise<EnqueuedRef[]> {
  return enqueueIn(ctx, specs, REF_OUTCOMES);
}

function enqueueIn<T extends { created: boolean }>(ctx: SqliteContext, specs: readonly EnqueueSpec[], shape: OutcomeShape<T>): T[] {
  const now = Date.now();
  const outcomes = ctx.db.transaction(() => insertRows(ctx, specs, now, shape)).immediate();
  if (outcomes.some((o) => o.created)) ctx.wake.emit('wake');
  return outcomes;
}
