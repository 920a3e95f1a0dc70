import { partitionKey } from '../../core/partition.js';
import type { WorkState } from '../../core/states.js';
import type { WorkItem } from '../../core/work-item.js';
import { itemFromSpec } from '../new-item.js';
import type { EnqueuedRef, EnqueueOutcome, EnqueueSpec } from '../store.js';
import type { PgContext, Queryable } from './context.js';
import { toItem, type ItemRow } from './rows.js';
import { DB_NOW, type PgNames } from './sql-names.js';

/** Enqueue: one statement for a batch without dependencies; with them, a short transaction that takes the upstream locks first. */

const tripleKey = (domain: string, pipeline: string, key: string) => `${domain}\u0000${pipeline}\u0000${key}`;

/** The columns an enqueue with dependencies gets back for a new item; everything else is what the spec said. */
interface InsertedRow {
  id: string;
  domain: string;
  pipeline: string;
  partition_key: string;
  state: WorkState;
  desired_at: Date;
  created_at: Date;
}

/** The statements of this family; see `pgStatements`. */
export function enqueueSql(n: PgNames) {
  const { items, events, deps, itemSeq } = n;
  return {
    // Batch enqueue without dependencies: one statement inserts the items and their events.
    // What the items of a batch share (domain, pipeline, params, backoff, max attempts,
    // priority) travels once per distinct combination, a "template" ($1..$6, indexed by
    // $7); per item only the template index, the partition key ($8), the partition (one
    // jsonb array, $9: far cheaper to parse than a jsonb[] of as many elements) and
    // desired_at ($10, null = now; a null array = all now). ROWS FROM zips them in input
    // order and ids are drawn in that same projection, so ids follow input order without a
    // sort. Answers one row: the database's clock and the new ids (ascending = input order
    // of the created items). Triples are unique in the input (the caller folds repeats), so
    // skipped rows are pre-existing items. $11 channel | $12 payload.
    enqueue: `
      WITH ins AS (
        INSERT INTO ${items} (id, domain, pipeline, partition_key, partition, params, state, priority, desired_at,
                              max_attempts, backoff, created_at, updated_at)
        SELECT nextval(${itemSeq}), ($1::text[])[r.t], ($2::text[])[r.t], r.key, r.partition, ($3::jsonb[])[r.t],
               'PENDING', ($6::int[])[r.t], coalesce(r.desired_at, ${DB_NOW}), ($5::int[])[r.t], ($4::jsonb[])[r.t],
               ${DB_NOW}, ${DB_NOW}
        FROM ROWS FROM (unnest($7::int[]), unnest($8::text[]), jsonb_array_elements($9::jsonb), unnest($10::timestamptz[]))
          AS r(t, key, partition, desired_at)
        ON CONFLICT (domain, pipeline, partition_key) DO NOTHING
        RETURNING id
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state)
        SELECT id, ${DB_NOW}, 'enqueue', NULL, 'PENDING' FROM ins
      ),
      woke AS MATERIALIZED (SELECT pg_notify($11, $12) FROM (SELECT 1 FROM ins LIMIT 1) AS any_created)
      SELECT ${DB_NOW} AS now, count(*)::int AS n, coalesce(string_agg(ins.id::text, ',' ORDER BY ins.id), '') AS ids,
             (SELECT count(*) FROM woke)::int AS notified
      FROM ins`,
    // Triples of the given new item ids (a batch where some items already existed).
    triplesOf: `SELECT id, domain, pipeline, partition_key FROM ${items} WHERE id = ANY ($1::bigint[])`,
    // Batch enqueue when some spec has dependencies (inside a transaction, after `lockUpstreams`).
    // $1 domains | $2 pipelines | $3 keys | $4 partitions | $5 params | $6 priorities |
    // $7 desired_at (null = now) | $8 max attempts | $9 backoffs | $10 channel | $11 payload |
    // $12..$15 dependencies: (index of the spec, 1-based; domain; pipeline; partition key).
    // An item with an upstream that is not COMPLETE starts WAITING. Triples are unique in
    // the input (the caller folds repeats), so the ON CONFLICT rows are pre-existing items.
    enqueueDependent: `
      WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::int[], $7::timestamptz[], $8::int[], $9::jsonb[])
          WITH ORDINALITY AS t(domain, pipeline, partition_key, partition, params, priority, desired_at, max_attempts, backoff, ord)
      ),
      upstreams AS MATERIALIZED (
        SELECT * FROM unnest($12::int[], $13::text[], $14::text[], $15::text[]) AS d(ord, domain, pipeline, partition_key)
      ),
      ins AS (
        INSERT INTO ${items} (domain, pipeline, partition_key, partition, params, state, priority, desired_at,
                              max_attempts, backoff, created_at, updated_at)
        SELECT i.domain, i.pipeline, i.partition_key, i.partition, i.params,
               CASE WHEN EXISTS (
                 SELECT 1 FROM upstreams d
                 LEFT JOIN ${items} u ON u.domain = d.domain AND u.pipeline = d.pipeline AND u.partition_key = d.partition_key
                 WHERE d.ord = i.ord AND u.state IS DISTINCT FROM 'COMPLETE'
               ) THEN 'WAITING' ELSE 'PENDING' END,
               i.priority, coalesce(i.desired_at, ${DB_NOW}), i.max_attempts, i.backoff, ${DB_NOW}, ${DB_NOW}
        FROM input i ORDER BY i.ord
        ON CONFLICT (domain, pipeline, partition_key) DO NOTHING
        RETURNING id, domain, pipeline, partition_key, state, desired_at, created_at
      ),
      new_dependencies AS (
        INSERT INTO ${deps} (item_id, up_domain, up_pipeline, up_key)
        SELECT ins.id, d.domain, d.pipeline, d.partition_key
        FROM ins
        JOIN input i ON i.domain = ins.domain AND i.pipeline = ins.pipeline AND i.partition_key = ins.partition_key
        JOIN upstreams d ON d.ord = i.ord
        ON CONFLICT DO NOTHING
      ),
      new_events AS (
        INSERT INTO ${events} (item_id, at, event, from_state, to_state)
        SELECT id, created_at, 'enqueue', NULL, state FROM ins ORDER BY id
      ),
      woke AS MATERIALIZED (SELECT pg_notify($10, $11) FROM (SELECT 1 FROM ins LIMIT 1) AS any_created)
      -- Only what the database decided; the rest of each new item is the caller's spec.
      SELECT ins.* FROM ins CROSS JOIN (SELECT count(*) FROM woke) AS notified ORDER BY ins.id`,
    findMany: `
      SELECT w.* FROM ${items} w
      JOIN unnest($1::text[], $2::text[], $3::text[]) AS t(domain, pipeline, partition_key)
        ON w.domain = t.domain AND w.pipeline = t.pipeline AND w.partition_key = t.partition_key`,
  };
}

export async function enqueue(ctx: PgContext, specs: readonly EnqueueSpec[]): Promise<EnqueueOutcome[]> {
  if (specs.length === 0) return [];
  // Without dependencies an enqueue is one statement; with them it is a short
  // transaction that first takes the upstream locks (see `lockUpstreams`).
  const outcomes = specs.some((s) => s.dependencies?.length) ? await ctx.tx((client) => enqueueOn(ctx, client, specs)) : await enqueueOn(ctx, ctx.pool, specs);
  if (outcomes.some((o) => o.created)) ctx.emitWake();
  return outcomes;
}

/** `enqueue` mapped to refs: the same statements (the server's insert, not the client's
 * items, is PostgreSQL's cost). */
export async function enqueueRefs(ctx: PgContext, specs: readonly EnqueueSpec[]): Promise<EnqueuedRef[]> {
  return (await enqueue(ctx, specs)).map(({ item, created }) => ({ id: item.id, partitionKey: item.partitionKey, state: item.state, created }));
}

/** Inserts new items (in spec order) and returns each spec's item. Must run inside a
 * transaction when any spec has dependencies. */
export async function enqueueOn(ctx: PgContext, db: Queryable, specs: readonly EnqueueSpec[]): Promise<EnqueueOutcome[]> {
  const keys = specs.map((s) => partitionKey(s.partition));
  const triples = specs.map((s, i) => tripleKey(s.domain, s.pipeline, keys[i]!));
  // A triple repeated within one batch is inserted once (first spec wins, as in a loop).
  const firstIndex = new Map<string, number>();
  triples.forEach((t, i) => {
    if (!firstIndex.has(t)) firstIndex.set(t, i);
  });
  const unique = firstIndex.size === specs.length ? specs.map((_, i) => i) : [...firstIndex.values()];
  const byTriple = unique.some((i) => specs[i]!.dependencies?.length)
    ? await insertDependent(ctx, db, specs, keys, triples, firstIndex, unique)
    : await insertPlain(ctx, db, specs, keys, triples, unique);
  const missing = unique.filter((i) => !byTriple.has(triples[i]!));
  if (missing.length > 0) {
    const found = await db.query<ItemRow>(ctx.stmt('findMany'), [
      missing.map((i) => specs[i]!.domain),
      missing.map((i) => specs[i]!.pipeline),
      missing.map((i) => keys[i]!),
    ]);
    for (const r of found.rows) byTriple.set(tripleKey(r.domain, r.pipeline, r.partition_key), { item: toItem(r), created: false });
  }
  return specs.map((s, i): EnqueueOutcome => {
    const hit = byTriple.get(triples[i]!);
    if (!hit) throw new Error(`enqueue: work item ${s.domain}.${s.pipeline} [${keys[i]}] was neither inserted nor found`);
    return { item: hit.item, created: hit.created && firstIndex.get(triples[i]!) === i };
  });
}

/** The common case (no dependencies): one statement, see `enqueue` in `pgStatements`.
 * Returns the created items by triple. */
async function insertPlain(
  ctx: PgContext,
  db: Queryable,
  specs: readonly EnqueueSpec[],
  keys: readonly string[],
  triples: readonly string[],
  unique: readonly number[],
): Promise<Map<string, { item: WorkItem; created: boolean }>> {
  // Templates: the distinct (domain, pipeline, params, backoff, max attempts, priority) of
  // the batch. Consecutive specs usually share them (often the very same objects), so the
  // previous spec is checked first and JSON is built once per template.
  const tpl = {
    domains: [] as string[],
    pipelines: [] as string[],
    params: [] as string[],
    backoffs: [] as string[],
    maxAttempts: [] as number[],
    priorities: [] as number[],
  };
  const tplIndex = new Map<string, number>();
  const rowTpl: number[] = new Array(unique.length);
  const paramsJson: string[] = new Array(unique.length);
  const partitions: EnqueueSpec['partition'][] = new Array(unique.length);
  let desired: (string | null)[] | null = null;
  let prev: EnqueueSpec | undefined;
  let prevTpl = 0;
  let prevParams = '{}';
  for (let n = 0; n < unique.length; n++) {
    const s = specs[unique[n]!]!;
    partitions[n] = s.partition;
    if (s.desiredAt) (desired ??= new Array<string | null>(unique.length).fill(null))[n] = s.desiredAt.toISOString();
    if (
      prev &&
      s.domain === prev.domain &&
      s.pipeline === prev.pipeline &&
      s.params === prev.params &&
      s.backoff === prev.backoff &&
      s.maxAttempts === prev.maxAttempts &&
      (s.priority ?? 0) === (prev.priority ?? 0)
    ) {
      rowTpl[n] = prevTpl;
      paramsJson[n] = prevParams;
      continue;
    }
    const pj = s.params === undefined ? '{}' : JSON.stringify(s.params);
    const bj = JSON.stringify(s.backoff);
    const priority = s.priority ?? 0;
    const id = `${s.domain}\u0000${s.pipeline}\u0000${pj}\u0000${bj}\u0000${s.maxAttempts}\u0000${priority}`;
    let t = tplIndex.get(id);
    if (t === undefined) {
      tpl.domains.push(s.domain);
      tpl.pipelines.push(s.pipeline);
      tpl.params.push(pj);
      tpl.backoffs.push(bj);
      tpl.maxAttempts.push(s.maxAttempts);
      tpl.priorities.push(priority);
      t = tpl.domains.length; // 1-based, as SQL arrays
      tplIndex.set(id, t);
    }
    rowTpl[n] = prevTpl = t;
    paramsJson[n] = prevParams = pj;
    prev = s;
  }
  const { rows } = await db.query<{ now: Date; n: number; ids: string }>(ctx.stmt('enqueue'), [
    tpl.domains,
    tpl.pipelines,
    tpl.params,
    tpl.backoffs,
    tpl.maxAttempts,
    tpl.priorities,
    rowTpl,
    unique.map((i) => keys[i]!),
    JSON.stringify(partitions),
    desired,
    ctx.wakeChannel,
    ctx.wakePayload(),
  ]);
  const { now, n: created, ids: idText } = rows[0]!;
  const ids = created === 0 ? [] : idText.split(',').map(Number);
  const out = new Map<string, { item: WorkItem; created: boolean }>();
  const add = (n: number, id: number) => {
    const i = unique[n]!;
    out.set(triples[i]!, { item: itemFromSpec(id, specs[i]!, keys[i]!, paramsJson[n]!, 'PENDING', now), created: true });
  };
  if (created === unique.length) {
    // Every spec made an item; ids ascend in input order.
    for (let n = 0; n < unique.length; n++) add(n, ids[n]!);
  } else if (created > 0) {
    // Some existed: which triples are the new ids? (They still ascend in input order.)
    const made = await db.query<{ id: string; domain: string; pipeline: string; partition_key: string }>(ctx.stmt('triplesOf'), [ids]);
    const idOf = new Map(made.rows.map((r) => [tripleKey(r.domain, r.pipeline, r.partition_key), Number(r.id)]));
    for (let n = 0; n < unique.length; n++) {
      const id = idOf.get(triples[unique[n]!]!);
      if (id !== undefined) add(n, id);
    }
  }
  return out;
}

/** Enqueue with dependencies: upstream locks first, then one statement that decides
 * WAITING or PENDING per item (see `enqueueDependent`). */
async function insertDependent(
  ctx: PgContext,
  db: Queryable,
  specs: readonly EnqueueSpec[],
  keys: readonly string[],
  triples: readonly string[],
  firstIndex: ReadonlyMap<string, number>,
  unique: readonly number[],
): Promise<Map<string, { item: WorkItem; created: boolean }>> {
  const dependencies = unique.flatMap((i, n) => (specs[i]!.dependencies ?? []).map((d) => ({ ord: n + 1, ...d })));
  await db.query(ctx.stmt('lockUpstreams'), [dependencies.map((d) => d.domain), dependencies.map((d) => d.pipeline), dependencies.map((d) => d.partitionKey)]);
  const pick = <T>(f: (s: EnqueueSpec, i: number) => T) => unique.map((i) => f(specs[i]!, i));
  const params = specs.map((s, i) => (firstIndex.get(triples[i]!) === i ? JSON.stringify(s.params ?? {}) : ''));
  const { rows } = await db.query<InsertedRow>(ctx.stmt('enqueueDependent'), [
    pick((s) => s.domain),
    pick((s) => s.pipeline),
    pick((_, i) => keys[i]!),
    pick((s) => JSON.stringify(s.partition)),
    pick((_, i) => params[i]!),
    pick((s) => s.priority ?? 0),
    pick((s) => s.desiredAt?.toISOString() ?? null),
    pick((s) => s.maxAttempts),
    pick((s) => JSON.stringify(s.backoff)),
    ctx.wakeChannel,
    ctx.wakePayload(),
    dependencies.map((d) => d.ord),
    dependencies.map((d) => d.domain),
    dependencies.map((d) => d.pipeline),
    dependencies.map((d) => d.partitionKey),
  ]);
  const out = new Map<string, { item: WorkItem; created: boolean }>();
  for (const r of rows) {
    const t = tripleKey(r.domain, r.pipeline, r.partition_key);
    const i = firstIndex.get(t)!;
    out.set(t, { item: itemFromSpec(Number(r.id), specs[i]!, keys[i]!, params[i]!, r.state, r.created_at), created: true });
  }
  return out;
}
