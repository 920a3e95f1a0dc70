/**
 * The partition grid summary (migration 7) against SQLite on a real file and PostgreSQL on
 * its own schema: the triggers keep each key's distinct values and counts on every insert
 * (any enqueue path) and delete (prune), values page in sort-key order, and cells are read
 * by partition key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EnqueueSpec, Store } from '../../src/store/store.js';
import { backendsUnderTest, openTestDatabase, type TestDatabase } from '../helpers/backends.js';

const dbs: TestDatabase[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.dispose();
});

const spec = (partition: Record<string, string>, over: Partial<EnqueueSpec> = {}): EnqueueSpec => ({
  domain: 'ops',
  pipeline: 'noop',
  partition,
  maxAttempts: 1,
  backoff: { baseDelayMs: 1, factor: 1, maxDelayMs: 1, jitter: 0 },
  ...over,
});

async function finish(store: Store, n: number): Promise<void> {
  const claimed = await store.claim({ workerId: 'w', limit: n, leaseMs: 60_000 });
  await store.complete(claimed.map((c) => ({ itemId: c.id, attemptId: c.attemptId, workerId: 'w' })));
}

describe.each(backendsUnderTest())('grid summary on %s', (backend) => {
  async function open() {
    const db = await openTestDatabase(backend);
    dbs.push(db);
    return db.store;
  }

  it('keeps each key of a pipeline: distinct values, items, and how many are integers, ISO dates, date-like', async () => {
    const store = await open();
    await store.enqueue([
      spec({ date: '2026-01-05', tier: 'OTC' }),
      spec({ date: '2026-01-05', tier: 'NMS_TIER_1' }),
      spec({ date: '2026-01', tier: '10' }),
      spec({ tier: '2' }),
      spec({ date: '2026-01-05', tier: 'OTC' }), // existing: no change
      spec({ n: '1' }, { pipeline: 'other' }),
    ]);
    // An item with dependencies goes through the other insert path.
    await store.enqueue([spec({ date: '2026-01-06', tier: 'OTC' }, { dependencies: [{ domain: 'ops', pipeline: 'other', partitionKey: 'n=1' }] })]);
    const summary = await store.partitionSummary('ops', 'noop');
    expect(summary.keys).toEqual([
      { key: 'date', distinctValues: 3, items: 4, intValues: 0, isoDateValues: 2, dateLikeValues: 3 },
      { key: 'tier', distinctValues: 4, items: 5, intValues: 2, isoDateValues: 0, dateLikeValues: 0 },
    ]);
    expect(summary.states).toEqual({ WAITING: 1, PENDING: 4, RUNNING: 0, RETRY_WAIT: 0, COMPLETE: 0, FAILED: 0, CANCELLED: 0 });
    expect((await store.partitionSummary('ops', 'other')).keys).toEqual([
      { key: 'n', distinctValues: 1, items: 1, intValues: 1, isoDateValues: 0, dateLikeValues: 0 },
    ]);
    expect(await store.partitionSummary('ops', 'nope')).toEqual({
      keys: [],
      states: { WAITING: 0, PENDING: 0, RUNNING: 0, RETRY_WAIT: 0, COMPLETE: 0, FAILED: 0, CANCELLED: 0 },
    });
  });

  it('pages values in sort-key order: integers by value, other text as is, either direction', async () => {
    const store = await open();
    await store.enqueue(['10', '9', '100', '0', '2'].map((n) => spec({ n })));
    expect(await store.partitionValues('ops', 'noop', 'n')).toEqual(['0', '2', '9', '10', '100']);
    expect(await store.partitionValues('ops', 'noop', 'n', { descending: true, limit: 2 })).toEqual(['100', '10']);
    expect(await store.partitionValues('ops', 'noop', 'n', { offset: 3 })).toEqual(['10', '100']);
    await store.enqueue(['2026-01-07', '2025-12-31', '2026-01-05'].map((date) => spec({ date }, { pipeline: 'dates' })));
    expect(await store.partitionValues('ops', 'dates', 'date', { descending: true })).toEqual(['2026-01-07', '2026-01-05', '2025-12-31']);
    expect(await store.partitionValues('ops', 'dates', 'nope')).toEqual([]);
  });

  it('forgets pruned items: counts go down, a value with no item left is gone, a key with no value left too', async () => {
    const store = await open();
    await store.enqueue([spec({ date: '2026-01-05', tier: 'OTC' }), spec({ date: '2026-01-06', tier: 'OTC' }), spec({ date: '2026-01-06' })]);
    await finish(store, 2); // the two oldest (ids in enqueue order at equal priority)
    expect(await store.pruneFinished(new Date(Date.now() + 60_000))).toBe(2);
    const summary = await store.partitionSummary('ops', 'noop');
    expect(summary.keys).toEqual([{ key: 'date', distinctValues: 1, items: 1, intValues: 0, isoDateValues: 1, dateLikeValues: 1 }]);
    expect(await store.partitionValues('ops', 'noop', 'date')).toEqual(['2026-01-06']);
    expect(await store.partitionValues('ops', 'noop', 'tier')).toEqual([]);
    // A value comes back with a new item.
    await store.enqueue([spec({ date: '2026-01-05', tier: 'OTC' })]);
    expect((await store.partitionSummary('ops', 'noop')).keys.map((k) => [k.key, k.distinctValues, k.items])).toEqual([
      ['date', 2, 2],
      ['tier', 1, 1],
    ]);
  });

  it('reads the items of given partition keys only, with their state', async () => {
    const store = await open();
    const [a, b] = (await store.enqueue([spec({ n: '1' }), spec({ n: '2' }), spec({ n: '3' })])).map((o) => o.item);
    const got = await store.partitionStatesByKey('ops', 'noop', ['n=2', 'n=1', 'n=9']);
    expect(got.map((p) => [p.partitionKey, p.itemId, p.state, p.partition]).sort()).toEqual([
      ['n=1', a!.id, 'PENDING', { n: '1' }],
      ['n=2', b!.id, 'PENDING', { n: '2' }],
    ]);
    expect(await store.partitionStatesByKey('ops', 'noop', [])).toEqual([]);
    expect(await store.partitionStatesByKey('ops', 'other', ['n=1'])).toEqual([]);
  });

  it('refreshes statistics after a bulk insert without changing what is stored', async () => {
    const store = await open();
    await store.enqueue(Array.from({ length: 50 }, (_, i) => spec({ n: String(i) })));
    const before = await store.partitionSummary('ops', 'noop');
    await store.refreshStatistics();
    expect(await store.partitionSummary('ops', 'noop')).toEqual(before);
    expect(await store.countPartitions('ops', 'noop')).toBe(50);
  });

  it('stays exact under concurrent enqueues that share new values', async () => {
    const store = await open();
    const dates = Array.from({ length: 20 }, (_, i) => `2026-02-${String(i + 1).padStart(2, '0')}`);
    // Four batches at once, each every date with its own tier: every date is new to all four.
    await Promise.all(['A', 'B', 'C', 'D'].map((tier) => store.enqueue(dates.map((date) => spec({ date, tier })))));
    expect((await store.partitionSummary('ops', 'noop')).keys).toEqual([
      { key: 'date', distinctValues: 20, items: 80, intValues: 0, isoDateValues: 20, dateLikeValues: 20 },
      { key: 'tier', distinctValues: 4, items: 80, intValues: 0, isoDateValues: 0, dateLikeValues: 0 },
    ]);
  });
});
