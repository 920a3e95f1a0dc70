/**
 * The Store contract, once, run against every backend: SQLite on a real temp file and
 * PostgreSQL on an isolated schema (skipped when unreachable, failing with
 * SLUICE_REQUIRE_PG=1). Each test gets a fresh, migrated database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NotFoundError, TransitionError } from '../../src/core/errors.js';
import { partitionKey } from '../../src/core/partition.js';
import type { WorkItem } from '../../src/core/work-item.js';
import { PostgresStore } from '../../src/store/postgres/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ScheduleStore } from '../../src/store/schedule-store.js';
import type { ClaimRequest, ClaimedItem, EnqueueSpec, Store, UpstreamRef } from '../../src/store/store.js';
import { PG, createPgTestSchema, reportPgUnavailable } from '../helpers/pg.js';

type TestStore = Store & ScheduleStore & { schemaVersion(): Promise<number> };

interface Harness {
  /** Another store instance on the same database (as a second process would have). Unmigrated. */
  open(): TestStore;
  /** Resolves once `store` receives notifications sent by other instances. */
  listening(store: Store): Promise<void>;
  cleanup(): Promise<void>;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  /** Wake/cancel notifications reach other store instances (other processes). */
  crossInstanceNotify: boolean;
  create(): Promise<Harness>;
}

const sqliteBackend: Backend = {
  name: 'sqlite',
  crossInstanceNotify: false,
  async create() {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-conformance-'));
    const file = path.join(dir, 'sluice.db');
    const stores: SqliteStore[] = [];
    return {
      open() {
        const store = new SqliteStore({ path: file });
        stores.push(store);
        return store;
      },
      listening: async () => undefined,
      async cleanup() {
        await Promise.all(stores.map((s) => s.close()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

const pgBackend: Backend = {
  name: 'postgres',
  crossInstanceNotify: true,
  async create() {
    const db = createPgTestSchema();
    return {
      open: () => db.open(),
      listening: (store) => (store as PostgresStore).listenerReady(),
      cleanup: () => db.drop(),
    };
  },
};

const backends: Backend[] = [sqliteBackend, ...(PG.available ? [pgBackend] : [])];
reportPgUnavailable('Store conformance: postgres');

const BACKOFF = { baseDelayMs: 1_000, factor: 2, maxDelayMs: 60_000, jitter: 0 };
const LEASE = 60_000;

function spec(over: Partial<EnqueueSpec> = {}): EnqueueSpec {
  return { domain: 'test', pipeline: 'job', partition: { n: '1' }, maxAttempts: 3, backoff: BACKOFF, ...over };
}

const ago = (ms: number) => new Date(Date.now() - ms);

describe.each(backends)('Store conformance: $name', (backend) => {
  let h: Harness;
  let store: TestStore;

  beforeEach(async () => {
    h = await backend.create();
    store = h.open();
    await store.migrate();
  });

  afterEach(async () => {
    await h.cleanup();
  });

  async function enqueueOne(over: Partial<EnqueueSpec> = {}): Promise<WorkItem> {
    const [outcome] = await store.enqueue([spec(over)]);
    expect(outcome?.created).toBe(true);
    return outcome!.item;
  }

  async function claimOne(workerId = 'w1', over: Partial<ClaimRequest> = {}, s: Store = store): Promise<ClaimedItem> {
    const items = await s.claim({ workerId, limit: 1, leaseMs: LEASE, ...over });
    expect(items).toHaveLength(1);
    return items[0]!;
  }

  async function item(id: number): Promise<WorkItem> {
    const found = await store.getItem(id);
    expect(found).not.toBeNull();
    return found!;
  }

  const eventTrail = async (id: number) => (await store.listEvents(id)).map((e) => [e.event, e.fromState, e.toState]);

  describe('migrate', () => {
    it('is idempotent: a second migrate changes nothing and keeps data', async () => {
      const version = await store.schemaVersion();
      expect(version).toBeGreaterThanOrEqual(1);
      const created = await enqueueOne();
      await store.migrate();
      const again = h.open();
      await again.migrate();
      expect(await store.schemaVersion()).toBe(version);
      expect(await again.getItem(created.id)).toEqual(created);
    });

    it('is safe when several instances migrate a new database at once', async () => {
      const fresh = await backend.create();
      try {
        const instances = [fresh.open(), fresh.open(), fresh.open()];
        await Promise.all(instances.map((s) => s.migrate()));
        for (const s of instances) expect(await s.schemaVersion()).toBeGreaterThanOrEqual(1);
        const [outcome] = await instances[1]!.enqueue([spec()]);
        expect(await instances[2]!.getItem(outcome!.item.id)).toEqual(outcome!.item);
      } finally {
        await fresh.cleanup();
      }
    });
  });

  describe('enqueue', () => {
    it('creates a PENDING item with the given fields', async () => {
      const desiredAt = new Date(Date.now() + 3_600_000);
      const [outcome] = await store.enqueue([
        spec({ partition: { week_ending: '2025-12-19', tier: 'OTC' }, params: { force: true, n: 2 }, priority: 7, desiredAt, maxAttempts: 5 }),
      ]);
      expect(outcome!.created).toBe(true);
      const it0 = outcome!.item;
      expect(it0).toMatchObject({
        domain: 'test',
        pipeline: 'job',
        partition: { week_ending: '2025-12-19', tier: 'OTC' },
        partitionKey: 'tier=OTC|week_ending=2025-12-19',
        params: { force: true, n: 2 },
        state: 'PENDING',
        priority: 7,
        attempts: 0,
        maxAttempts: 5,
        backoff: BACKOFF,
        lockedBy: null,
        leaseExpiresAt: null,
        currentAttemptId: null,
        lastError: null,
        finishedAt: null,
      });
      expect(typeof it0.id).toBe('number');
      expect(it0.desiredAt).toBeInstanceOf(Date);
      expect(it0.desiredAt.getTime()).toBe(desiredAt.getTime());
      expect(it0.createdAt).toBeInstanceOf(Date);
      expect(Math.abs(it0.createdAt.getTime() - Date.now())).toBeLessThan(10_000);
      expect(it0.updatedAt.getTime()).toBe(it0.createdAt.getTime());
      expect(await store.getItem(it0.id)).toEqual(it0);
      expect(await store.findItem('test', 'job', 'tier=OTC|week_ending=2025-12-19')).toEqual(it0);
      expect(await eventTrail(it0.id)).toEqual([['enqueue', null, 'PENDING']]);
    });

    it('defaults priority to 0, params to {} and desired_at to now', async () => {
      const created = await enqueueOne();
      expect(created.priority).toBe(0);
      expect(created.params).toEqual({});
      expect(Math.abs(created.desiredAt.getTime() - Date.now())).toBeLessThan(10_000);
    });

    it('is idempotent on (domain, pipeline, partition): the original is returned, nothing changes', async () => {
      const original = await enqueueOne({ params: { a: 1 }, priority: 1 });
      const [again] = await store.enqueue([spec({ params: { a: 2 }, priority: 9, desiredAt: new Date(Date.now() + 86_400_000), maxAttempts: 10 })]);
      expect(again!.created).toBe(false);
      expect(again!.item).toEqual(original);
      expect(await store.getItem(original.id)).toEqual(original);
      expect(await store.countItems()).toBe(1);
      expect(await store.listEvents(original.id)).toHaveLength(1);
      // Another pipeline or partition is a different item.
      const [other] = await store.enqueue([spec({ pipeline: 'other' })]);
      expect(other!.created).toBe(true);
      expect(other!.item.id).not.toBe(original.id);
    });

    it('enqueueRefs: the same items and events as enqueue, answered as id, key and state', async () => {
      const existing = await enqueueOne({ partition: { n: '1' } });
      const refs = await store.enqueueRefs([spec({ partition: { n: '1' } }), spec({ partition: { n: '2' } }), spec({ partition: { n: '2' } })]);
      const made = await store.findItem('test', 'job', 'n=2');
      expect(refs).toEqual([
        { id: existing.id, partitionKey: 'n=1', state: 'PENDING', created: false },
        { id: made!.id, partitionKey: 'n=2', state: 'PENDING', created: true },
        { id: made!.id, partitionKey: 'n=2', state: 'PENDING', created: false },
      ]);
      expect(await store.countItems()).toBe(2);
      expect(await eventTrail(made!.id)).toEqual([['enqueue', null, 'PENDING']]);
    });

    it('reports a triple repeated within one batch once as created', async () => {
      const outcomes = await store.enqueue([spec({ partition: { a: '1', b: '2' } }), spec({ partition: { b: '2', a: '1' } }), spec({ partition: { a: '3' } })]);
      expect(outcomes.map((o) => o.created)).toEqual([true, false, true]);
      expect(outcomes[1]!.item.id).toBe(outcomes[0]!.item.id);
      expect(await store.countItems()).toBe(2);
    });

    it('enqueues a batch of 500 in order and re-enqueues it as a no-op', async () => {
      const specs = Array.from({ length: 500 }, (_, i) => spec({ partition: { n: String(i) }, priority: i % 3 }));
      const outcomes = await store.enqueue(specs);
      expect(outcomes).toHaveLength(500);
      expect(outcomes.every((o) => o.created)).toBe(true);
      const ids = outcomes.map((o) => o.item.id);
      expect(new Set(ids).size).toBe(500);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      outcomes.forEach((o, i) => expect(o.item.partition).toEqual({ n: String(i) }));
      expect(await store.countItems({ state: 'PENDING' })).toBe(500);

      const more = [...specs, ...Array.from({ length: 10 }, (_, i) => spec({ partition: { n: String(500 + i) } }))];
      const again = await store.enqueue(more);
      expect(again.filter((o) => o.created)).toHaveLength(10);
      expect(again.slice(0, 500).map((o) => o.item.id)).toEqual(ids);
      expect(again.slice(0, 500).every((o) => !o.created)).toBe(true);
      expect(await store.countItems()).toBe(510);
    });

    it("keeps each spec's own fields in a batch mixing pipelines, params, priorities and times", async () => {
      const soon = new Date(Date.now() + 60_000);
      const shared = { a: 1 };
      const specs = [
        spec({ partition: { n: '1' }, params: shared }),
        spec({ partition: { n: '2' }, params: shared, desiredAt: soon }),
        spec({ pipeline: 'other', partition: { n: '1' }, priority: 5, maxAttempts: 7 }),
        spec({ partition: { n: '3' }, params: { a: 2 }, backoff: { ...BACKOFF, factor: 3 } }),
        spec({ domain: 'else', partition: { n: '1' }, params: shared }),
      ];
      const outcomes = await store.enqueue(specs);
      expect(outcomes.every((o) => o.created)).toBe(true);
      for (const [i, o] of outcomes.entries()) {
        const s = specs[i]!;
        expect(o.item).toMatchObject({
          domain: s.domain,
          pipeline: s.pipeline,
          partition: s.partition,
          params: s.params ?? {},
          priority: s.priority ?? 0,
          maxAttempts: s.maxAttempts,
          backoff: s.backoff,
          state: 'PENDING',
        });
        expect(await store.getItem(o.item.id)).toEqual(o.item);
      }
      expect(outcomes[1]!.item.desiredAt.getTime()).toBe(soon.getTime());
      expect(outcomes[0]!.item.desiredAt.getTime()).toBe(outcomes[0]!.item.createdAt.getTime());
      // Returned params are the item's own copy, not the caller's object.
      expect(outcomes[0]!.item.params).not.toBe(shared);
    });

    it('keys partitions canonically, whatever the key order', async () => {
      const first = await enqueueOne({ partition: { week_ending: '2025-12-19', tier: 'NMS_TIER_1' } });
      const [second] = await store.enqueue([spec({ partition: { tier: 'NMS_TIER_1', week_ending: '2025-12-19' } })]);
      expect(second!.created).toBe(false);
      expect(second!.item.id).toBe(first.id);
      expect(first.partitionKey).toBe(partitionKey({ tier: 'NMS_TIER_1', week_ending: '2025-12-19' }));
      expect(first.partitionKey).toBe('tier=NMS_TIER_1|week_ending=2025-12-19');
      expect((await store.findItem('test', 'job', first.partitionKey))?.id).toBe(first.id);
    });
  });

  describe('claim', () => {
    it('takes items by priority DESC, then desired_at, then id', async () => {
      const t = Date.now() - 60_000;
      const [a, b, c, d, e] = (
        await store.enqueue([
          spec({ partition: { n: 'a' }, priority: 0, desiredAt: new Date(t - 3_000) }),
          spec({ partition: { n: 'b' }, priority: 5, desiredAt: new Date(t - 1_000) }),
          spec({ partition: { n: 'c' }, priority: 5, desiredAt: new Date(t - 2_000) }),
          spec({ partition: { n: 'd' }, priority: 0, desiredAt: new Date(t - 3_000) }),
          spec({ partition: { n: 'e' }, priority: -1, desiredAt: new Date(t - 10_000) }),
        ])
      ).map((o) => o.item);
      const expected = [c!.id, b!.id, a!.id, d!.id, e!.id];
      const one: number[] = [];
      for (let i = 0; i < 5; i++) one.push((await claimOne('w1')).id);
      expect(one).toEqual(expected);

      const batch = await store.enqueue(
        [0, 1, 2, 3].map((i) => spec({ pipeline: 'batch', partition: { n: String(i) }, priority: i % 2, desiredAt: new Date(t - i * 1_000) })),
      );
      const got = await store.claim({ workerId: 'w2', limit: 10, leaseMs: LEASE });
      // priority 1: n=3 (t-3s), n=1 (t-1s); priority 0: n=2 (t-2s), n=0 (t).
      expect(got.map((g) => g.id)).toEqual([3, 1, 2, 0].map((i) => batch[i]!.item.id));
    });

    it('sets RUNNING, the lease, a new attempt and a claim event', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const now = new Date();
      const claimed = await claimOne('worker-a', { now, leaseMs: 30_000 });
      expect(claimed).toMatchObject({ id: created.id, state: 'RUNNING', lockedBy: 'worker-a', attempts: 1, attemptNo: 1 });
      expect(claimed.leaseExpiresAt?.getTime()).toBe(now.getTime() + 30_000);
      expect(claimed.currentAttemptId).toBe(claimed.attemptId);
      expect(await item(created.id)).toMatchObject({ state: 'RUNNING', lockedBy: 'worker-a', currentAttemptId: claimed.attemptId });
      const attempts = await store.listAttempts(created.id);
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({ id: claimed.attemptId, itemId: created.id, attemptNo: 1, workerId: 'worker-a', status: 'running', finishedAt: null });
      expect(attempts[0]!.startedAt.getTime()).toBe(now.getTime());
      const events = await store.listEvents(created.id);
      expect(events.map((e) => [e.event, e.fromState, e.toState, e.actor])).toEqual([
        ['enqueue', null, 'PENDING', null],
        ['claim', 'PENDING', 'RUNNING', 'worker-a'],
      ]);
    });

    it('does not take an item before its desired_at', async () => {
      const due = new Date(Date.now() + 60_000);
      const created = await enqueueOne({ desiredAt: due });
      expect(await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE })).toEqual([]);
      expect(await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE, now: new Date(due.getTime() - 1) })).toEqual([]);
      const claimed = await claimOne('w', { now: due });
      expect(claimed.id).toBe(created.id);
    });

    it('respects the limit', async () => {
      await store.enqueue(Array.from({ length: 5 }, (_, i) => spec({ partition: { n: String(i) }, desiredAt: ago(1_000) })));
      expect(await store.claim({ workerId: 'w', limit: 0, leaseMs: LEASE })).toEqual([]);
      expect(await store.claim({ workerId: 'w', limit: 2, leaseMs: LEASE })).toHaveLength(2);
      expect(await store.claim({ workerId: 'w', limit: 10, leaseMs: LEASE })).toHaveLength(3);
      expect(await store.claim({ workerId: 'w', limit: 10, leaseMs: LEASE })).toEqual([]);
      expect(await store.countItems({ state: 'RUNNING' })).toBe(5);
    });

    it('never gives the same item to two concurrent claimers', async () => {
      await store.enqueue(Array.from({ length: 200 }, (_, i) => spec({ partition: { n: String(i) }, desiredAt: ago(1_000) })));
      const claimers: Store[] = [store, h.open(), h.open(), h.open()];
      const taken = await Promise.all(
        claimers.map(async (s, i) => {
          const mine: number[] = [];
          for (;;) {
            const got = await s.claim({ workerId: `w${i}`, limit: 5, leaseMs: LEASE });
            if (got.length === 0) return mine;
            mine.push(...got.map((g) => g.id));
          }
        }),
      );
      const all = taken.flat();
      expect(all).toHaveLength(200);
      expect(new Set(all).size).toBe(200);
      expect(await store.countItems({ state: 'RUNNING' })).toBe(200);
      if (backend.name === 'postgres') expect(taken.filter((t) => t.length > 0).length).toBeGreaterThan(1);
    });

    it('only takes the pipelines asked for', async () => {
      const a = await enqueueOne({ domain: 'finra.otc_transparency', pipeline: 'ingest_week', priority: 0, desiredAt: ago(1_000) });
      await enqueueOne({ domain: 'prices', pipeline: 'daily', priority: 10, desiredAt: ago(1_000) });
      const got = await store.claim({ workerId: 'w', limit: 10, leaseMs: LEASE, pipelines: ['finra.otc_transparency.ingest_week', 'other.x'] });
      expect(got.map((g) => g.id)).toEqual([a.id]);
      expect(await store.claim({ workerId: 'w', limit: 10, leaseMs: LEASE, pipelines: [] })).toEqual([]);
      expect(await store.claim({ workerId: 'w', limit: 10, leaseMs: LEASE, pipelines: ['prices.daily'] })).toHaveLength(1);
    });

    it('claims one specific ready item with claimItem', async () => {
      const future = await enqueueOne({ desiredAt: new Date(Date.now() + 3_600_000) });
      const claimed = await store.claimItem(future.id, 'runner', 5_000);
      expect(claimed).toMatchObject({ id: future.id, state: 'RUNNING', lockedBy: 'runner', attemptNo: 1 });
      expect(await store.claimItem(future.id, 'runner', 5_000)).toBeNull();
      expect(await store.claimItem(999_999, 'runner', 5_000)).toBeNull();
    });
  });

  describe('concurrency limits', () => {
    const limits = { 'test.capped': 1 };

    it('holds a cap while one item runs, and leaves other pipelines claimable', async () => {
      await store.enqueue([
        ...Array.from({ length: 3 }, (_, i) => spec({ pipeline: 'capped', partition: { n: String(i) }, priority: 10, desiredAt: ago(1_000) })),
        ...Array.from({ length: 3 }, (_, i) => spec({ pipeline: 'free', partition: { n: String(i) }, desiredAt: ago(1_000) })),
      ]);
      const first = await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE, concurrencyLimits: limits });
      expect(first.map((f) => f.pipeline).sort()).toEqual(['capped', 'free', 'free', 'free']);
      expect(await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE, concurrencyLimits: limits })).toEqual([]);

      const running = first.find((f) => f.pipeline === 'capped')!;
      expect(await store.complete([{ itemId: running.id, attemptId: running.attemptId, workerId: 'w' }])).toEqual([true]);
      const next = await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE, concurrencyLimits: limits });
      expect(next.map((n) => n.pipeline)).toEqual(['capped']);
      // Without the cap the rest is claimable.
      expect(await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE })).toHaveLength(1);
    });

    it('allows up to the cap in one claim', async () => {
      await store.enqueue(Array.from({ length: 5 }, (_, i) => spec({ pipeline: 'capped', partition: { n: String(i) }, desiredAt: ago(1_000) })));
      const got = await store.claim({ workerId: 'w', limit: 10, leaseMs: LEASE, concurrencyLimits: { 'test.capped': 2 } });
      expect(got).toHaveLength(2);
      expect(await store.claim({ workerId: 'w', limit: 10, leaseMs: LEASE, concurrencyLimits: { 'test.capped': 3 } })).toHaveLength(1);
    });

    it('takes uncapped work ranked ahead of capped work, then the capped work up to its cap', async () => {
      await store.enqueue([
        ...[0, 1, 2].map((i) => spec({ pipeline: 'capped', partition: { n: String(i) }, desiredAt: ago(1_000) })),
        ...[0, 1].map((i) => spec({ pipeline: 'free', partition: { n: String(i) }, priority: 5, desiredAt: ago(1_000) })),
      ]);
      const first = await store.claim({ workerId: 'w', limit: 2, leaseMs: LEASE, concurrencyLimits: limits });
      expect(first.map((f) => f.pipeline)).toEqual(['free', 'free']);
      const second = await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE, concurrencyLimits: limits });
      expect(second.map((f) => f.pipeline)).toEqual(['capped']);
      expect(await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE, concurrencyLimits: limits })).toEqual([]);
      // A cap only binds the pipelines the worker asked for.
      expect(await store.claim({ workerId: 'w', limit: 5, leaseMs: LEASE, pipelines: ['test.other'], concurrencyLimits: limits })).toEqual([]);
    });

    it('holds across store instances claiming at the same time', async () => {
      await store.enqueue(Array.from({ length: 8 }, (_, i) => spec({ pipeline: 'capped', partition: { n: String(i) }, desiredAt: ago(1_000) })));
      const instances: Store[] = [store, h.open(), h.open(), h.open()];
      for (let round = 0; round < 4; round++) {
        const got = (await Promise.all(instances.map((s, i) => s.claim({ workerId: `w${i}`, limit: 3, leaseMs: LEASE, concurrencyLimits: limits })))).flat();
        expect(got).toHaveLength(1);
        expect(await store.countItems({ state: 'RUNNING', pipeline: 'capped' })).toBe(1);
        expect(await store.complete([{ itemId: got[0]!.id, attemptId: got[0]!.attemptId, workerId: got[0]!.lockedBy! }])).toEqual([true]);
      }
    });
  });

  describe('heartbeat', () => {
    it('extends the leases the worker still owns and returns only those ids', async () => {
      await store.enqueue([0, 1, 2].map((i) => spec({ partition: { n: String(i) }, desiredAt: ago(1_000) })));
      const [a, b] = await store.claim({ workerId: 'w1', limit: 2, leaseMs: 1_000 });
      const c = await claimOne('w2');
      const before = (await item(a!.id)).leaseExpiresAt!.getTime();
      const owned = await store.heartbeat('w1', [b!.id, c.id, 424_242, a!.id], 120_000);
      expect(owned).toEqual([b!.id, a!.id]);
      const after = (await item(a!.id)).leaseExpiresAt!.getTime();
      expect(after).toBeGreaterThan(before + 100_000);
      expect(await store.heartbeat('w2', [a!.id], 120_000)).toEqual([]);
      expect(await store.heartbeat('w1', [], 120_000)).toEqual([]);
    });
  });

  describe('complete', () => {
    it('moves the item to COMPLETE and records the attempt as succeeded', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      expect(await store.complete([{ itemId: c.id, attemptId: c.attemptId, workerId: 'w1', result: { rows: 3 }, outputTail: 'done\n' }])).toEqual([true]);
      const done = await item(created.id);
      expect(done).toMatchObject({ state: 'COMPLETE', lockedBy: null, leaseExpiresAt: null, lastError: null, attempts: 1 });
      expect(done.finishedAt).toBeInstanceOf(Date);
      const [attempt] = await store.listAttempts(created.id);
      expect(attempt).toMatchObject({ status: 'succeeded', result: { rows: 3 }, outputTail: 'done\n', error: null });
      expect(attempt!.finishedAt).toBeInstanceOf(Date);
      expect((await eventTrail(created.id)).at(-1)).toEqual(['complete', 'RUNNING', 'COMPLETE']);
    });

    it('completes a batch in one call, reporting each item', async () => {
      await store.enqueue([0, 1, 2].map((i) => spec({ partition: { n: String(i) }, desiredAt: ago(1_000) })));
      const [a, b, c] = await store.claim({ workerId: 'w1', limit: 3, leaseMs: LEASE });
      const results = await store.complete([
        { itemId: a!.id, attemptId: a!.attemptId, workerId: 'w1' },
        { itemId: b!.id, attemptId: b!.attemptId + 1000, workerId: 'w1' },
        { itemId: c!.id, attemptId: c!.attemptId, workerId: 'w1', result: null, outputTail: null },
      ]);
      expect(results).toEqual([true, false, true]);
      expect((await item(a!.id)).state).toBe('COMPLETE');
      expect((await item(b!.id)).state).toBe('RUNNING');
      expect((await item(c!.id)).state).toBe('COMPLETE');
      expect(await store.complete([])).toEqual([]);
    });

    it('from a worker that does not own the attempt changes nothing', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      const snapshot = await item(created.id);
      // Wrong worker, right attempt id: the owner's attempt must stay untouched.
      expect(await store.complete([{ itemId: c.id, attemptId: c.attemptId, workerId: 'intruder' }])).toEqual([false]);
      expect(await item(created.id)).toEqual(snapshot);
      expect((await store.listAttempts(created.id))[0]!.status).toBe('running');
      expect(await store.complete([{ itemId: c.id, attemptId: c.attemptId, workerId: 'w1' }])).toEqual([true]);
      expect((await store.listAttempts(created.id))[0]!.status).toBe('succeeded');
    });

    it('from a stale attempt (lease lost, item re-claimed) changes nothing', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const now = new Date();
      const first = await claimOne('slow', { now, leaseMs: 1_000 });
      expect(await store.reclaimExpired(new Date(now.getTime() + 5_000))).toBe(1);
      const second = await claimOne('fast', { now: new Date(now.getTime() + 5_000) });
      expect(second.attemptNo).toBe(2);
      const snapshot = await item(created.id);
      expect(await store.complete([{ itemId: first.id, attemptId: first.attemptId, workerId: 'slow', result: { stale: true } }])).toEqual([false]);
      expect(await item(created.id)).toEqual(snapshot);
      const attempts = await store.listAttempts(created.id);
      expect(attempts.map((a) => a.status)).toEqual(['lost', 'running']);
      expect(attempts[0]!.result).toBeNull();
      expect(await store.fail({ itemId: first.id, attemptId: first.attemptId, workerId: 'slow', error: 'late', status: 'failed', retryAt: null })).toBeNull();
      expect(await store.release({ itemId: first.id, attemptId: first.attemptId, workerId: 'slow', reason: 'late' })).toBe(false);
      expect(await item(created.id)).toEqual(snapshot);
    });
  });

  describe('fail', () => {
    it('with retryAt moves to RETRY_WAIT until due, then it is claimable again', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      const retryAt = new Date(Date.now() + 30_000);
      const after = await store.fail({ itemId: c.id, attemptId: c.attemptId, workerId: 'w1', error: 'boom', status: 'failed', retryAt, outputTail: 'tail' });
      expect(after).toMatchObject({
        id: created.id,
        state: 'RETRY_WAIT',
        lastError: 'boom',
        lockedBy: null,
        leaseExpiresAt: null,
        finishedAt: null,
        attempts: 1,
      });
      expect(after!.desiredAt.getTime()).toBe(retryAt.getTime());
      expect(await item(created.id)).toEqual(after);
      expect(await store.listAttempts(created.id)).toMatchObject([{ status: 'failed', error: 'boom', outputTail: 'tail' }]);
      expect(await eventTrail(created.id)).toEqual([
        ['enqueue', null, 'PENDING'],
        ['claim', 'PENDING', 'RUNNING'],
        ['fail_retry', 'RUNNING', 'RETRY_WAIT'],
      ]);
      expect((await store.listEvents(created.id))[2]).toMatchObject({ actor: 'w1', detail: 'boom' });

      expect(await store.claim({ workerId: 'w1', limit: 1, leaseMs: LEASE })).toEqual([]);
      const again = await claimOne('w2', { now: retryAt });
      expect(again).toMatchObject({ id: created.id, attempts: 2, attemptNo: 2 });
      expect((await store.listEvents(created.id)).at(-1)).toMatchObject({ event: 'claim', fromState: 'RETRY_WAIT' });
    });

    it('records timeouts as timed_out', async () => {
      await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      await store.fail({ itemId: c.id, attemptId: c.attemptId, workerId: 'w1', error: 'timed out after 10 ms', status: 'timed_out', retryAt: new Date() });
      expect((await store.listAttempts(c.id))[0]!.status).toBe('timed_out');
    });

    it('goes to FAILED when attempts are exhausted or retryAt is null', async () => {
      const since = ago(1_000);
      const one = await enqueueOne({ partition: { n: 'one' }, maxAttempts: 1, desiredAt: ago(1_000) });
      const c1 = await claimOne('w1');
      const r1 = await store.fail({ itemId: c1.id, attemptId: c1.attemptId, workerId: 'w1', error: 'e1', status: 'failed', retryAt: new Date() });
      expect(r1).toMatchObject({ id: one.id, state: 'FAILED', attempts: 1, lastError: 'e1' });
      expect(r1!.finishedAt).toBeInstanceOf(Date);

      const two = await enqueueOne({ partition: { n: 'two' }, maxAttempts: 5, desiredAt: ago(1_000) });
      const c2 = await claimOne('w1');
      const r2 = await store.fail({ itemId: c2.id, attemptId: c2.attemptId, workerId: 'w1', error: 'permanent', status: 'failed', retryAt: null });
      expect(r2).toMatchObject({ id: two.id, state: 'FAILED', attempts: 1 });
      expect((await eventTrail(two.id)).at(-1)).toEqual(['fail_final', 'RUNNING', 'FAILED']);
      expect(await store.countFailedSince(since)).toBe(2);
      expect(await store.countFailedSince(new Date(r2!.finishedAt!.getTime() + 1))).toBe(0);
      expect(await store.countFailedSince(r2!.finishedAt!)).toBeGreaterThanOrEqual(1);
    });
  });

  describe('release', () => {
    it('hands the item back to PENDING without counting the attempt', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      expect(await store.release({ itemId: c.id, attemptId: c.attemptId, workerId: 'w1', reason: 'shutting down', outputTail: 'partial' })).toBe(true);
      expect(await item(created.id)).toMatchObject({ state: 'PENDING', attempts: 0, lockedBy: null, leaseExpiresAt: null });
      expect(await store.listAttempts(created.id)).toMatchObject([{ status: 'interrupted', error: 'shutting down', outputTail: 'partial' }]);
      expect((await eventTrail(created.id)).at(-1)).toEqual(['release', 'RUNNING', 'PENDING']);
      const again = await claimOne('w2');
      expect(again).toMatchObject({ attempts: 1, attemptNo: 2 });
      expect(await store.release({ itemId: again.id, attemptId: again.attemptId, workerId: 'w1', reason: 'not mine' })).toBe(false);
      expect((await item(created.id)).state).toBe('RUNNING');
    });
  });

  describe('reclaimExpired', () => {
    it('moves a lost lease to RETRY_WAIT due now, naming the worker', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const now = new Date();
      const c = await claimOne('host-7:123', { now, leaseMs: 1_000 });
      expect(await store.reclaimExpired(new Date(now.getTime() + 500))).toBe(0);
      const at = new Date(now.getTime() + 1_500);
      expect(await store.reclaimExpired(at)).toBe(1);
      const after = await item(created.id);
      expect(after).toMatchObject({ state: 'RETRY_WAIT', lockedBy: null, leaseExpiresAt: null, attempts: 1, finishedAt: null });
      expect(after.desiredAt.getTime()).toBe(at.getTime());
      expect(after.lastError).toContain('host-7:123');
      const [attempt] = await store.listAttempts(created.id);
      expect(attempt).toMatchObject({ id: c.attemptId, status: 'lost' });
      expect(attempt!.error).toContain('host-7:123');
      expect((await store.listEvents(created.id)).at(-1)).toMatchObject({ event: 'lease_expired', fromState: 'RUNNING', toState: 'RETRY_WAIT', actor: null });
      expect(await store.reclaimExpired(at)).toBe(0);
      expect((await claimOne('w2', { now: at })).attemptNo).toBe(2);
    });

    it('fails the item when its attempts are exhausted', async () => {
      const created = await enqueueOne({ maxAttempts: 1, desiredAt: ago(1_000) });
      const now = new Date();
      await claimOne('w1', { now, leaseMs: 1_000 });
      expect(await store.reclaimExpired(new Date(now.getTime() + 2_000))).toBe(1);
      const after = await item(created.id);
      expect(after).toMatchObject({ state: 'FAILED', attempts: 1 });
      expect(after.finishedAt).toBeInstanceOf(Date);
      expect((await eventTrail(created.id)).at(-1)).toEqual(['lease_expired', 'RUNNING', 'FAILED']);
    });
  });

  describe('cancel', () => {
    it('cancels a PENDING item', async () => {
      const created = await enqueueOne();
      const outcome = await store.cancel(created.id, 'alice');
      expect(outcome.changed).toBe(true);
      expect(outcome.item).toMatchObject({ id: created.id, state: 'CANCELLED' });
      expect(outcome.item.finishedAt).toBeInstanceOf(Date);
      expect(await item(created.id)).toEqual(outcome.item);
      expect((await store.listEvents(created.id)).at(-1)).toMatchObject({ event: 'cancel', fromState: 'PENDING', toState: 'CANCELLED', actor: 'alice' });
      const again = await store.cancel(created.id);
      expect(again.changed).toBe(false);
      expect(again.item).toEqual(outcome.item);
    });

    it('cancels a RUNNING item: attempt cancelled, listeners told, late completion ignored', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      const cancelled: number[] = [];
      const off = store.onCancel((id) => cancelled.push(id));
      const outcome = await store.cancel(created.id);
      expect(outcome.item).toMatchObject({ state: 'CANCELLED', lockedBy: null, leaseExpiresAt: null });
      await vi.waitFor(() => expect(cancelled).toEqual([created.id]));
      off();
      expect((await store.listAttempts(created.id))[0]!.status).toBe('cancelled');
      expect(await store.heartbeat('w1', [created.id], LEASE)).toEqual([]);
      expect(await store.complete([{ itemId: c.id, attemptId: c.attemptId, workerId: 'w1' }])).toEqual([false]);
      expect((await item(created.id)).state).toBe('CANCELLED');
      expect((await store.listAttempts(created.id))[0]!.status).toBe('cancelled');
    });

    it('refuses finished items and unknown ids', async () => {
      await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      await store.complete([{ itemId: c.id, attemptId: c.attemptId, workerId: 'w1' }]);
      await expect(store.cancel(c.id)).rejects.toBeInstanceOf(TransitionError);
      expect((await item(c.id)).state).toBe('COMPLETE');
      await expect(store.cancel(987_654)).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('retry and rerun', () => {
    async function failedItem(partition: Record<string, string>, over: Partial<EnqueueSpec> = {}): Promise<WorkItem> {
      const created = await enqueueOne({ partition, maxAttempts: 1, desiredAt: ago(1_000), ...over });
      const c = await claimOne('w1', { pipelines: [`${created.domain}.${created.pipeline}`] });
      expect(c.id).toBe(created.id);
      const failed = await store.fail({ itemId: c.id, attemptId: c.attemptId, workerId: 'w1', error: 'bad', status: 'failed', retryAt: null });
      expect(failed?.state).toBe('FAILED');
      return failed!;
    }

    it('retries one item by id with a fresh budget, keeping attempt history', async () => {
      const failed = await failedItem({ n: '1' });
      const [retried, ...rest] = await store.retry({ id: failed.id }, 'bob');
      expect(rest).toEqual([]);
      expect(retried).toMatchObject({ id: failed.id, state: 'PENDING', attempts: 0, lastError: null, finishedAt: null });
      expect((await store.listEvents(failed.id)).at(-1)).toMatchObject({ event: 'retry', fromState: 'FAILED', toState: 'PENDING', actor: 'bob' });
      const again = await claimOne('w2');
      expect(again).toMatchObject({ id: failed.id, attempts: 1, attemptNo: 2 });
      expect((await store.listAttempts(failed.id)).map((a) => [a.attemptNo, a.status])).toEqual([
        [1, 'failed'],
        [2, 'running'],
      ]);
    });

    it('retries all FAILED items of a domain or pipeline', async () => {
      const a = await failedItem({ n: 'a' });
      const b = await failedItem({ n: 'b' }, { pipeline: 'other' });
      const elsewhere = await failedItem({ n: 'c' }, { domain: 'elsewhere' });
      const cancelled = await enqueueOne({ partition: { n: 'd' } });
      await store.cancel(cancelled.id);

      const byPipeline = await store.retry({ domain: 'test', pipeline: 'other' });
      expect(byPipeline.map((i) => i.id)).toEqual([b.id]);
      const byDomain = await store.retry({ domain: 'test' });
      expect(byDomain.map((i) => i.id)).toEqual([a.id]);
      expect(byDomain[0]).toMatchObject({ state: 'PENDING', attempts: 0 });
      expect((await item(elsewhere.id)).state).toBe('FAILED');
      expect((await item(cancelled.id)).state).toBe('CANCELLED');
      expect(await store.retry({ domain: 'test' })).toEqual([]);

      // A cancelled item comes back by id.
      expect((await store.retry({ id: cancelled.id }))[0]?.state).toBe('PENDING');
    });

    it('refuses to retry an item that is not FAILED or CANCELLED', async () => {
      await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      await store.complete([{ itemId: c.id, attemptId: c.attemptId, workerId: 'w1' }]);
      await expect(store.retry({ id: c.id })).rejects.toBeInstanceOf(TransitionError);
      await expect(store.retry({ id: 123_456 })).rejects.toBeInstanceOf(NotFoundError);
      expect((await item(c.id)).state).toBe('COMPLETE');
    });

    it('reruns a COMPLETE item and leaves unfinished ones alone', async () => {
      const created = await enqueueOne({ desiredAt: ago(1_000) });
      const c = await claimOne('w1');
      await store.complete([{ itemId: c.id, attemptId: c.attemptId, workerId: 'w1' }]);
      const outcome = await store.rerun(created.id, 'cli');
      expect(outcome.changed).toBe(true);
      expect(outcome.item).toMatchObject({ state: 'PENDING', attempts: 0, finishedAt: null });
      expect((await store.listEvents(created.id)).at(-1)).toMatchObject({ event: 'rerun', fromState: 'COMPLETE', toState: 'PENDING', actor: 'cli' });
      const unchanged = await store.rerun(created.id);
      expect(unchanged.changed).toBe(false);
      expect(unchanged.item).toEqual(outcome.item);
      await expect(store.rerun(555_555)).rejects.toBeInstanceOf(NotFoundError);
      expect((await claimOne('w1')).attemptNo).toBe(2);
    });
  });

  it('records every transition as an event, in order', async () => {
    const created = await enqueueOne({ desiredAt: ago(1_000) });
    const c1 = await claimOne('w1');
    await store.fail({ itemId: c1.id, attemptId: c1.attemptId, workerId: 'w1', error: 'x', status: 'failed', retryAt: ago(1) });
    const c2 = await claimOne('w1');
    await store.complete([{ itemId: c2.id, attemptId: c2.attemptId, workerId: 'w1' }]);
    await store.rerun(created.id, 'ops');
    const c3 = await claimOne('w2');
    await store.release({ itemId: c3.id, attemptId: c3.attemptId, workerId: 'w2', reason: 'bye' });
    await store.cancel(created.id, 'ops');
    await store.retry({ id: created.id }, 'ops');
    const events = await store.listEvents(created.id);
    expect(events.map((e) => [e.event, e.fromState, e.toState, e.actor])).toEqual([
      ['enqueue', null, 'PENDING', null],
      ['claim', 'PENDING', 'RUNNING', 'w1'],
      ['fail_retry', 'RUNNING', 'RETRY_WAIT', 'w1'],
      ['claim', 'RETRY_WAIT', 'RUNNING', 'w1'],
      ['complete', 'RUNNING', 'COMPLETE', 'w1'],
      ['rerun', 'COMPLETE', 'PENDING', 'ops'],
      ['claim', 'PENDING', 'RUNNING', 'w2'],
      ['release', 'RUNNING', 'PENDING', 'w2'],
      ['cancel', 'PENDING', 'CANCELLED', 'ops'],
      ['retry', 'CANCELLED', 'PENDING', 'ops'],
    ]);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.id).toBeGreaterThan(events[i - 1]!.id);
      expect(events[i]!.at.getTime()).toBeGreaterThanOrEqual(events[i - 1]!.at.getTime());
      expect(events[i]!.itemId).toBe(created.id);
    }
    expect((await store.listAttempts(created.id)).map((a) => [a.attemptNo, a.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
      [3, 'interrupted'],
    ]);
  });

  describe('dependencies', () => {
    const up = (n: string): UpstreamRef => ({ domain: 'test', pipeline: 'up', partitionKey: partitionKey({ n }) });
    const upSpec = (n: string) => spec({ pipeline: 'up', partition: { n }, desiredAt: ago(1_000) });
    const downSpec = (n: string, deps: UpstreamRef[], over: Partial<EnqueueSpec> = {}) =>
      spec({ pipeline: 'down', partition: { n }, desiredAt: ago(1_000), dependencies: deps, ...over });

    async function runToComplete(id: number, s: Store = store): Promise<void> {
      const c = await s.claimItem(id, 'w-up', LEASE);
      expect(c?.id).toBe(id);
      expect(await s.complete([{ itemId: id, attemptId: c!.attemptId, workerId: 'w-up' }])).toEqual([true]);
    }

    it('creates an item WAITING while an upstream is not COMPLETE, and lists its upstreams', async () => {
      const [u1] = await store.enqueue([upSpec('1')]);
      const [d] = await store.enqueue([downSpec('x', [up('2'), up('1')])]);
      expect(d!.created).toBe(true);
      expect(d!.item.state).toBe('WAITING');
      expect(await item(d!.item.id)).toEqual(d!.item);
      expect(await eventTrail(d!.item.id)).toEqual([['enqueue', null, 'WAITING']]);
      expect(await store.claim({ workerId: 'w', limit: 10, leaseMs: LEASE, pipelines: ['test.down'] })).toEqual([]);
      expect(await store.claimItem(d!.item.id, 'w', LEASE)).toBeNull();
      expect(await store.listDependencies(d!.item.id)).toEqual([
        { domain: 'test', pipeline: 'up', partitionKey: 'n=1', state: 'PENDING', itemId: u1!.item.id, lastError: null },
        { domain: 'test', pipeline: 'up', partitionKey: 'n=2', state: null, itemId: null, lastError: null },
      ]);
      expect(await store.listDependencies(u1!.item.id)).toEqual([]);
    });

    it('creates an item PENDING when every upstream is already COMPLETE', async () => {
      const [u1] = await store.enqueue([upSpec('1')]);
      await runToComplete(u1!.item.id);
      const [d] = await store.enqueue([downSpec('x', [up('1')])]);
      expect(d!.item.state).toBe('PENDING');
      expect((await store.listDependencies(d!.item.id))[0]).toMatchObject({ state: 'COMPLETE', itemId: u1!.item.id });
    });

    it('promotes a WAITING item in the call that completes its last upstream', async () => {
      const [u1, u2, d] = await store.enqueue([upSpec('1'), upSpec('2'), downSpec('x', [up('1'), up('2')])]);
      expect(d!.item.state).toBe('WAITING');
      let wakes = 0;
      store.onWake(() => wakes++);
      await runToComplete(u1!.item.id);
      expect((await item(d!.item.id)).state).toBe('WAITING');
      const before = Date.now();
      await runToComplete(u2!.item.id);
      const promoted = await item(d!.item.id);
      expect(promoted.state).toBe('PENDING');
      expect(promoted.desiredAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect((await store.listEvents(d!.item.id)).map((e) => [e.event, e.fromState, e.toState, e.actor, e.detail])).toEqual([
        ['enqueue', null, 'WAITING', null, null],
        ['upstream_ready', 'WAITING', 'PENDING', null, 'test.up [n=2] completed'],
      ]);
      await vi.waitFor(() => expect(wakes).toBeGreaterThan(0));
      expect((await claimOne('w', { pipelines: ['test.down'] })).id).toBe(d!.item.id);
    });

    it('promotes once when one batch completes several upstreams', async () => {
      const [, , d] = await store.enqueue([upSpec('1'), upSpec('2'), downSpec('x', [up('1'), up('2')])]);
      const ups = await store.claim({ workerId: 'w', limit: 2, leaseMs: LEASE, pipelines: ['test.up'] });
      expect(ups).toHaveLength(2);
      const order = [...ups].sort((a, b) => b.id - a.id);
      expect(await store.complete(order.map((u) => ({ itemId: u.id, attemptId: u.attemptId, workerId: 'w' })))).toEqual([true, true]);
      expect((await item(d!.item.id)).state).toBe('PENDING');
      const promotions = (await store.listEvents(d!.item.id)).filter((e) => e.event === 'upstream_ready');
      expect(promotions).toHaveLength(1);
      expect(promotions[0]!.detail).toBe(`test.up [${order[1]!.partitionKey}] completed`);
    });

    it('counts a WAITING item as outstanding only while an upstream can still run', async () => {
      const [u] = await store.enqueue([upSpec('1')]);
      await store.enqueue([
        spec({ pipeline: 'mid', partition: { n: '1' }, dependencies: [up('1')] }),
        spec({ pipeline: 'last', partition: { n: '1' }, dependencies: [{ domain: 'test', pipeline: 'mid', partitionKey: 'n=1' }] }),
        spec({ pipeline: 'orphan', partition: { n: '1' }, dependencies: [up('never')] }),
      ]);
      expect(await store.countOutstanding(['test.mid', 'test.last', 'test.orphan'])).toBe(2);
      expect(await store.countOutstanding()).toBe(3);
      const c = await store.claimItem(u!.item.id, 'w', LEASE);
      await store.fail({ itemId: c!.id, attemptId: c!.attemptId, workerId: 'w', error: 'bad file', status: 'failed', retryAt: null });
      expect(await store.countOutstanding()).toBe(0);
      expect((await store.listDependencies((await store.findItem('test', 'mid', 'n=1'))!.id))[0]).toMatchObject({ state: 'FAILED', lastError: 'bad file' });
    });

    it('promotes the item when two instances complete its two upstreams at the same time', async () => {
      const other = h.open();
      for (let trial = 0; trial < 8; trial++) {
        const [u1, u2, d] = await store.enqueue([upSpec(`${trial}a`), upSpec(`${trial}b`), downSpec(String(trial), [up(`${trial}a`), up(`${trial}b`)])]);
        const c1 = await store.claimItem(u1!.item.id, 'w1', LEASE);
        const c2 = await other.claimItem(u2!.item.id, 'w2', LEASE);
        await Promise.all([
          store.complete([{ itemId: c1!.id, attemptId: c1!.attemptId, workerId: 'w1' }]),
          other.complete([{ itemId: c2!.id, attemptId: c2!.attemptId, workerId: 'w2' }]),
        ]);
        expect((await item(d!.item.id)).state, `trial ${trial}`).toBe('PENDING');
      }
    });

    it('never strands an item whose enqueue races the completion of its upstream', async () => {
      const other = h.open();
      for (let trial = 0; trial < 8; trial++) {
        const [u] = await store.enqueue([upSpec(String(trial))]);
        const c = await store.claimItem(u!.item.id, 'w1', LEASE);
        const [, [d]] = await Promise.all([
          store.complete([{ itemId: c!.id, attemptId: c!.attemptId, workerId: 'w1' }]),
          other.enqueue([downSpec(String(trial), [up(String(trial))])]),
        ]);
        expect((await item(d!.item.id)).state, `trial ${trial}`).toBe('PENDING');
      }
    });
  });

  describe('schedule ticks and leases', () => {
    const tick = (over: Partial<Parameters<ScheduleStore['fireTick']>[0]> = {}) => ({
      schedule: 'nightly',
      kind: 'cron' as const,
      scheduledAt: new Date('2026-03-09T14:30:00Z'),
      outcome: 'fired' as const,
      detail: null,
      schedulerId: 'sched-1',
      ...over,
    });

    it('fires a tick exactly once, enqueueing its work in the same transaction', async () => {
      const first = await store.fireTick(tick({ detail: 'two partitions' }), [spec({ partition: { n: '1' } }), spec({ partition: { n: '2' } })]);
      expect(first.recorded).toBe(true);
      expect(first.outcomes.map((o) => o.created)).toEqual([true, true]);
      const again = await store.fireTick(tick({ schedulerId: 'sched-2' }), [spec({ partition: { n: '3' } })]);
      expect(again).toEqual({ recorded: false, outcomes: [] });
      expect(await store.countItems()).toBe(2);
      const [recorded, ...rest] = await store.listTicks('nightly', 10);
      expect(rest).toEqual([]);
      expect(recorded).toMatchObject({
        schedule: 'nightly',
        kind: 'cron',
        outcome: 'fired',
        detail: 'two partitions',
        schedulerId: 'sched-1',
        itemIds: first.outcomes.map((o) => o.item.id),
      });
      expect(recorded!.scheduledAt.getTime()).toBe(tick().scheduledAt.getTime());
      expect(recorded!.firedAt).toBeInstanceOf(Date);
    });

    it('lets only one of several racing schedulers fire a tick', async () => {
      const schedulers = [store, h.open(), h.open()];
      const results = await Promise.all(schedulers.map((s, i) => s.fireTick(tick({ schedulerId: `sched-${i}` }), [spec({ partition: { n: String(i) } })])));
      expect(results.filter((r) => r.recorded)).toHaveLength(1);
      expect(await store.countItems()).toBe(1);
    });

    it('records skipped ticks without work, lists newest first, and tracks the cron cursor', async () => {
      expect(await store.lastTickAt('nightly')).toBeNull();
      const at = (hour: number) => new Date(Date.UTC(2026, 2, 9, hour));
      const missed = await store.fireTick(tick({ scheduledAt: at(1), outcome: 'missed', detail: 'late by 2h' }), [spec()]);
      expect(missed).toEqual({ recorded: true, outcomes: [] });
      await store.fireTick(tick({ scheduledAt: at(2) }), []);
      await store.fireTick(tick({ scheduledAt: at(3), outcome: 'skipped_overlap' }), []);
      await store.fireTick(tick({ scheduledAt: at(5), kind: 'manual' }), []);
      await store.fireTick(tick({ schedule: 'other', scheduledAt: at(9) }), []);
      expect(await store.countItems()).toBe(0);
      const ticks = await store.listTicks('nightly', 10);
      expect(ticks.map((t) => [t.scheduledAt.getTime(), t.kind, t.outcome])).toEqual([
        [at(5).getTime(), 'manual', 'fired'],
        [at(3).getTime(), 'cron', 'skipped_overlap'],
        [at(2).getTime(), 'cron', 'fired'],
        [at(1).getTime(), 'cron', 'missed'],
      ]);
      expect(ticks[3]).toMatchObject({ firedAt: null, itemIds: [], detail: 'late by 2h' });
      expect((await store.listTicks('nightly', 2)).map((t) => t.scheduledAt.getTime())).toEqual([at(5).getTime(), at(3).getTime()]);
      expect((await store.lastTickAt('nightly'))?.getTime()).toBe(at(3).getTime());
    });

    it('fires a batch of ticks in one call: each recorded once, work only for the fired ones, results in order', async () => {
      const at = (minute: number) => new Date(Date.UTC(2026, 2, 9, 14, minute));
      // Recorded before: the batch must skip it and enqueue nothing for it.
      await store.fireTick(tick({ schedule: 'b', scheduledAt: at(1) }), [spec({ partition: { n: 'old' } })]);
      const results = await store.fireTicks([
        { tick: tick({ schedule: 'c', scheduledAt: at(1) }), specs: [spec({ partition: { n: 'c1' } }), spec({ partition: { n: 'c2' } })] },
        { tick: tick({ schedule: 'b', scheduledAt: at(1) }), specs: [spec({ partition: { n: 'b1' } })] },
        { tick: tick({ schedule: 'a', scheduledAt: at(1), outcome: 'missed', detail: 'late' }), specs: [spec({ partition: { n: 'a1' } })] },
        // Two ticks sharing a triple: the first creates the item, the second finds it.
        { tick: tick({ schedule: 'a', scheduledAt: at(2) }), specs: [spec({ partition: { n: 'shared' } })] },
        { tick: tick({ schedule: 'd', scheduledAt: at(2) }), specs: [spec({ partition: { n: 'shared' } })] },
      ]);
      expect(results.map((r) => r.recorded)).toEqual([true, false, true, true, true]);
      expect(results.map((r) => r.outcomes.map((o) => [o.item.partitionKey, o.created]))).toEqual([
        [
          [partitionKey({ n: 'c1' }), true],
          [partitionKey({ n: 'c2' }), true],
        ],
        [],
        [],
        [[partitionKey({ n: 'shared' }), true]],
        [[partitionKey({ n: 'shared' }), false]],
      ]);
      expect(results[4]!.outcomes[0]!.item.id).toBe(results[3]!.outcomes[0]!.item.id);
      expect(await store.countItems()).toBe(4);
      const [c] = await store.listTicks('c', 10);
      expect(c).toMatchObject({ outcome: 'fired', itemIds: results[0]!.outcomes.map((o) => o.item.id) });
      expect(c!.firedAt).toBeInstanceOf(Date);
      expect((await store.listTicks('a', 10)).map((t) => [t.outcome, t.itemIds])).toEqual([
        ['fired', [results[3]!.outcomes[0]!.item.id]],
        ['missed', []],
      ]);
      expect(await store.fireTicks([])).toEqual([]);
    });

    it('lets racing schedulers fire overlapping batches with every tick recorded once', async () => {
      const schedulers = [store, h.open(), h.open()];
      const at = (minute: number) => new Date(Date.UTC(2026, 2, 9, 15, minute));
      // Each scheduler's batch in a different order, as passes of different processes may be.
      const ticks = (i: number) =>
        Array.from({ length: 12 }, (_, n) => ({
          tick: tick({ schedule: `s${n % 4}`, scheduledAt: at(n), schedulerId: `sched-${i}` }),
          specs: [spec({ partition: { n: String(n) } })],
        }));
      // Each scheduler's batch in another order, as the passes of different processes may be.
      const orders = [
        (b: ReturnType<typeof ticks>) => b,
        (b: ReturnType<typeof ticks>) => b.reverse(),
        (b: ReturnType<typeof ticks>) => [...b.slice(5), ...b.slice(0, 5)],
      ];
      const results = await Promise.all(schedulers.map((s, i) => s.fireTicks(orders[i]!(ticks(i)))));
      expect(results.flat().filter((r) => r.recorded)).toHaveLength(12);
      expect(await store.countItems()).toBe(12);
      for (let n = 0; n < 4; n++) expect(await store.listTicks(`s${n}`, 10)).toHaveLength(3);
    });

    it('grants a lease to one holder at a time until it expires or is released', async () => {
      const other = h.open();
      expect(await store.acquireLease('scheduler', 'a', 60_000)).toBe(true);
      expect(await other.acquireLease('scheduler', 'b', 60_000)).toBe(false);
      expect(await store.acquireLease('scheduler', 'a', 60_000)).toBe(true);
      const held = await other.leaseHolder('scheduler');
      expect(held?.holder).toBe('a');
      expect(held!.expiresAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
      await other.releaseLease('scheduler', 'b');
      expect((await store.leaseHolder('scheduler'))?.holder).toBe('a');
      await store.releaseLease('scheduler', 'a');
      expect(await store.leaseHolder('scheduler')).toBeNull();
      expect(await other.acquireLease('scheduler', 'b', 30)).toBe(true);
      await vi.waitFor(async () => expect(await store.acquireLease('scheduler', 'a', 60_000)).toBe(true), { timeout: 2_000, interval: 10 });
      expect((await other.leaseHolder('scheduler'))?.holder).toBe('a');
      expect(await store.leaseHolder('nobody')).toBeNull();
    });
  });

  describe('queries', () => {
    async function seed() {
      const outcomes = await store.enqueue([
        spec({ domain: 'finra', pipeline: 'ingest', partition: { n: '1' }, desiredAt: ago(5_000) }),
        spec({ domain: 'finra', pipeline: 'ingest', partition: { n: '2' }, desiredAt: ago(5_000) }),
        spec({ domain: 'finra', pipeline: 'normalize', partition: { n: '1' }, desiredAt: ago(5_000) }),
        spec({ domain: 'prices', pipeline: 'daily', partition: { n: '1' }, desiredAt: ago(5_000) }),
        spec({ domain: 'prices', pipeline: 'daily', partition: { n: '2' }, desiredAt: new Date(Date.now() + 3_600_000) }),
      ]);
      const ids = outcomes.map((o) => o.item.id);
      const running = await claimOne('w1', { pipelines: ['finra.normalize'] });
      const done = await claimOne('w1', { pipelines: ['prices.daily'] });
      await store.complete([{ itemId: done.id, attemptId: done.attemptId, workerId: 'w1' }]);
      return { ids, running, done };
    }

    it('lists items with filters, order and paging, and counts them', async () => {
      const { ids } = await seed();
      expect((await store.listItems()).map((i) => i.id)).toEqual([...ids].reverse());
      expect((await store.listItems({ order: 'oldest' })).map((i) => i.id)).toEqual(ids);
      expect((await store.listItems({ order: 'oldest', limit: 2, offset: 1 })).map((i) => i.id)).toEqual(ids.slice(1, 3));
      expect((await store.listItems({ limit: 2, offset: 4 })).map((i) => i.id)).toEqual([ids[0]]);
      expect((await store.listItems({ state: 'PENDING' })).map((i) => i.id)).toEqual([ids[4], ids[1], ids[0]]);
      expect((await store.listItems({ state: ['RUNNING', 'COMPLETE'], order: 'oldest' })).map((i) => i.id)).toEqual([ids[2], ids[3]]);
      expect((await store.listItems({ domain: 'finra', pipeline: 'ingest', order: 'oldest' })).map((i) => i.id)).toEqual([ids[0], ids[1]]);
      expect((await store.listItems({ partitionKey: 'n=2', order: 'oldest' })).map((i) => i.id)).toEqual([ids[1], ids[4]]);
      expect(await store.listItems({ domain: 'nope' })).toEqual([]);
      expect(await store.countItems()).toBe(5);
      expect(await store.countItems({ state: 'PENDING' })).toBe(3);
      expect(await store.countItems({ domain: 'prices', state: ['PENDING', 'COMPLETE'] })).toBe(2);
      expect(await store.countItems({ partitionKey: 'n=1', domain: 'finra' })).toBe(2);
    });

    it('lists the partitions of one pipeline with their item state, in key order, paged, and counts them', async () => {
      const [p3, p1, p2] = (await store.enqueue(['3', '1', '2'].map((n) => spec({ partition: { n }, maxAttempts: 1, desiredAt: ago(5_000) })))).map(
        (o) => o.item,
      );
      await store.enqueue([spec({ pipeline: 'other', partition: { n: '1' } }), spec({ domain: 'else', partition: { n: '4' } })]);
      const c1 = await claimOne('w1', { pipelines: ['test.job'] });
      expect(c1.id).toBe(p3!.id);
      await store.complete([{ itemId: c1.id, attemptId: c1.attemptId, workerId: 'w1' }]);
      const c2 = await claimOne('w1', { pipelines: ['test.job'] });
      await store.fail({ itemId: c2.id, attemptId: c2.attemptId, workerId: 'w1', error: 'x', status: 'failed', retryAt: null });

      const all = await store.partitionStates('test', 'job');
      expect(all.map((p) => [p.partitionKey, p.state, p.itemId])).toEqual([
        ['n=1', 'FAILED', p1!.id],
        ['n=2', 'PENDING', p2!.id],
        ['n=3', 'COMPLETE', p3!.id],
      ]);
      expect(all[0]!.partition).toEqual({ n: '1' });
      for (const p of all) expect(p.updatedAt).toEqual((await item(p.itemId)).updatedAt);
      expect((await store.partitionStates('test', 'job', { limit: 2, offset: 1 })).map((p) => p.partitionKey)).toEqual(['n=2', 'n=3']);
      expect((await store.partitionStates('test', 'job', { limit: 1 })).map((p) => p.partitionKey)).toEqual(['n=1']);
      expect((await store.partitionStates('test', 'job', { offset: 2 })).map((p) => p.partitionKey)).toEqual(['n=3']);
      // Keyset paging: after the last key of the previous page.
      expect((await store.partitionStates('test', 'job', { after: 'n=1', limit: 1 })).map((p) => p.partitionKey)).toEqual(['n=2']);
      expect((await store.partitionStates('test', 'job', { after: 'n=2' })).map((p) => p.partitionKey)).toEqual(['n=3']);
      expect(await store.partitionStates('test', 'job', { after: 'n=3' })).toEqual([]);
      expect(await store.countPartitions('test', 'job')).toBe(3);
      expect(await store.countPartitions('test', 'other')).toBe(1);
      expect(await store.partitionStates('test', 'nope')).toEqual([]);
      expect(await store.countPartitions('test', 'nope')).toBe(0);
    });

    it('lists recent attempts across items newest first, with their item, filtered and paged', async () => {
      const t0 = Date.now() + 10_000;
      const at = (ms: number) => new Date(t0 + ms);
      const [a, b, c] = (
        await store.enqueue([
          spec({ partition: { n: 'a' } }),
          spec({ pipeline: 'other', partition: { n: 'b' } }),
          spec({ domain: 'prod', partition: { n: 'c' } }),
        ])
      ).map((o) => o.item);
      const a1 = await claimOne('w1', { pipelines: ['test.job'], now: at(0) });
      await store.fail({ itemId: a1.id, attemptId: a1.attemptId, workerId: 'w1', error: 'boom', status: 'failed', retryAt: at(1_000) });
      const b1 = await claimOne('w2', { pipelines: ['test.other'], now: at(100) });
      await store.complete([{ itemId: b1.id, attemptId: b1.attemptId, workerId: 'w2', result: { rows: 3 } }]);
      const a2 = await claimOne('w1', { pipelines: ['test.job'], now: at(2_000) });
      const c1 = await claimOne('w3', { pipelines: ['prod.job'], now: at(2_000) }); // same start: the later attempt id first
      expect([a1.id, b1.id, a2.id, c1.id]).toEqual([a!.id, b!.id, a!.id, c!.id]);

      const recent = await store.listRecentAttempts({ limit: 10 });
      expect(recent.map((r) => r.id)).toEqual([c1.attemptId, a2.attemptId, b1.attemptId, a1.attemptId]);
      expect(recent[1]).toMatchObject({
        itemId: a!.id,
        attemptNo: 2,
        status: 'running',
        workerId: 'w1',
        domain: 'test',
        pipeline: 'job',
        partitionKey: 'n=a',
        itemState: 'RUNNING',
      });
      expect(recent[1]!.startedAt.getTime()).toBe(at(2_000).getTime());
      expect(recent[2]).toMatchObject({ itemId: b!.id, status: 'succeeded', result: { rows: 3 }, pipeline: 'other', itemState: 'COMPLETE' });
      expect(recent[3]).toMatchObject({ status: 'failed', error: 'boom', itemState: 'RUNNING' });
      // The attempt fields are exactly what listAttempts gives.
      const { domain: _d, pipeline: _p, partitionKey: _k, itemState: _s, ...attempt } = recent[3]!;
      expect(attempt).toEqual((await store.listAttempts(a!.id))[0]);

      const ids = async (f: Partial<Parameters<Store['listRecentAttempts']>[0]>) => (await store.listRecentAttempts({ limit: 10, ...f })).map((r) => r.id);
      expect(await ids({ domain: 'test' })).toEqual([a2.attemptId, b1.attemptId, a1.attemptId]);
      expect(await ids({ pipeline: 'job' })).toEqual([c1.attemptId, a2.attemptId, a1.attemptId]);
      expect(await ids({ domain: 'test', pipeline: 'job' })).toEqual([a2.attemptId, a1.attemptId]);
      expect(await ids({ status: 'failed' })).toEqual([a1.attemptId]);
      expect(await ids({ limit: 2, offset: 1 })).toEqual([a2.attemptId, b1.attemptId]);
      expect(await ids({ domain: 'nope' })).toEqual([]);
    });

    it('counts by state as numbers', async () => {
      await seed();
      const counts = (await store.countByState()).sort((a, b) => `${a.domain}.${a.pipeline}.${a.state}`.localeCompare(`${b.domain}.${b.pipeline}.${b.state}`));
      expect(counts).toEqual([
        { domain: 'finra', pipeline: 'ingest', state: 'PENDING', count: 2 },
        { domain: 'finra', pipeline: 'normalize', state: 'RUNNING', count: 1 },
        { domain: 'prices', pipeline: 'daily', state: 'COMPLETE', count: 1 },
        { domain: 'prices', pipeline: 'daily', state: 'PENDING', count: 1 },
      ]);
    });

    it('counts outstanding items, optionally per pipeline', async () => {
      const { running } = await seed();
      expect(await store.countOutstanding()).toBe(4);
      expect(await store.countOutstanding(['finra.ingest'])).toBe(2);
      expect(await store.countOutstanding(['finra.normalize', 'prices.daily'])).toBe(2);
      expect(await store.countOutstanding(['nope.nothing'])).toBe(0);
      await store.fail({
        itemId: running.id,
        attemptId: running.attemptId,
        workerId: 'w1',
        error: 'x',
        status: 'failed',
        retryAt: new Date(Date.now() + 60_000),
      });
      expect(await store.countOutstanding(['finra.normalize'])).toBe(1); // RETRY_WAIT is outstanding
      const c = await claimOne('w1', { pipelines: ['finra.normalize'], now: new Date(Date.now() + 120_000) });
      await store.fail({ itemId: c.id, attemptId: c.attemptId, workerId: 'w1', error: 'x', status: 'failed', retryAt: null });
      expect(await store.countOutstanding(['finra.normalize'])).toBe(0); // FAILED is not
    });

    it('reports the earliest desired_at among ready items', async () => {
      expect(await store.nextDesiredAt()).toBeNull();
      const t = Date.now() + 60_000;
      await store.enqueue([
        spec({ domain: 'a', pipeline: 'x', partition: { n: '1' }, desiredAt: new Date(t + 5_000), priority: 5 }),
        spec({ domain: 'a', pipeline: 'x', partition: { n: '2' }, desiredAt: new Date(t + 2_000), priority: -5 }),
        spec({ domain: 'b', pipeline: 'y', partition: { n: '1' }, desiredAt: new Date(t + 1_000) }),
        spec({ domain: 'c', pipeline: 'z', partition: { n: '1' }, desiredAt: ago(1_000) }),
      ]);
      const running = await claimOne('w1', { pipelines: ['c.z'] });
      expect(running.domain).toBe('c');
      expect((await store.nextDesiredAt())?.getTime()).toBe(t + 1_000);
      expect((await store.nextDesiredAt(['a.x']))?.getTime()).toBe(t + 2_000);
      expect(await store.nextDesiredAt(['c.z'])).toBeNull();
      expect(await store.nextDesiredAt([])).toBeNull();
    });
  });

  describe('maintenance', () => {
    it('prunes finished items older than the cutoff with their attempts and events', async () => {
      const [old1, old2, recent, open] = (
        await store.enqueue(['old1', 'old2', 'recent', 'open'].map((n) => spec({ partition: { n }, desiredAt: ago(1_000) })))
      ).map((o) => o.item);
      const c1 = await claimOne('w1');
      await store.complete([{ itemId: c1.id, attemptId: c1.attemptId, workerId: 'w1' }]);
      await store.cancel(old2!.id);
      const oldest = Math.max((await item(old1!.id)).finishedAt!.getTime(), (await item(old2!.id)).finishedAt!.getTime());
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(oldest + 5), { interval: 2 });
      const c3 = await claimOne('w1');
      expect(c3.id).toBe(recent!.id);
      await store.complete([{ itemId: c3.id, attemptId: c3.attemptId, workerId: 'w1' }]);
      const cutoff = (await item(recent!.id)).finishedAt!;
      expect(cutoff.getTime()).toBeGreaterThan(oldest);

      expect(await store.pruneFinished(cutoff)).toBe(2);
      expect(await store.getItem(old1!.id)).toBeNull();
      expect(await store.getItem(old2!.id)).toBeNull();
      expect(await store.listAttempts(old1!.id)).toEqual([]);
      expect(await store.listEvents(old1!.id)).toEqual([]);
      expect(await store.listEvents(old2!.id)).toEqual([]);
      expect((await item(recent!.id)).state).toBe('COMPLETE');
      expect(await store.listAttempts(recent!.id)).toHaveLength(1);
      expect((await item(open!.id)).state).toBe('PENDING');
      expect(await store.pruneFinished(new Date(Date.now() + 60_000))).toBe(1);
      expect(await store.countItems()).toBe(1);
    });

    it('maintain() runs and leaves the store usable', async () => {
      await enqueueOne();
      await store.maintain();
      expect(await store.countItems()).toBe(1);
      expect((await store.enqueue([spec({ partition: { n: '2' } })]))[0]!.created).toBe(true);
    });
  });

  describe('notifications', () => {
    it('wakes listeners when work may be ready', async () => {
      let wakes = 0;
      const off = store.onWake(() => wakes++);
      await h.listening(store);
      wakes = 0;
      const expectWake = async (label: string, action: () => Promise<unknown>) => {
        const before = wakes;
        await action();
        await vi.waitFor(() => expect(wakes, label).toBeGreaterThan(before), { timeout: 2_000, interval: 5 });
      };
      await expectWake('enqueue', () => store.enqueue([spec({ desiredAt: ago(1_000) })]));
      const before = wakes;
      await store.enqueue([spec({ desiredAt: ago(1_000) })]);
      expect(wakes, 'duplicate enqueue').toBe(before);

      const now = new Date();
      const c = await claimOne('w1', { now, leaseMs: 1_000 });
      await expectWake('reclaimExpired', () => store.reclaimExpired(new Date(now.getTime() + 2_000)));
      const c2 = await claimOne('w1', { now: new Date(now.getTime() + 2_000) });
      await expectWake('release', () => store.release({ itemId: c2.id, attemptId: c2.attemptId, workerId: 'w1', reason: 'stop' }));
      await store.cancel(c.id);
      await expectWake('retry', () => store.retry({ id: c.id }));
      off();
      const after = wakes;
      await store.enqueue([spec({ partition: { n: 'unsubscribed' } })]);
      expect(wakes).toBe(after);
    });

    it.skipIf(!backend.crossInstanceNotify)('wakes and tells other store instances (other processes)', async () => {
      const other = h.open();
      let wakes = 0;
      const cancelled: number[] = [];
      other.onWake(() => wakes++);
      other.onCancel((id) => cancelled.push(id));
      await h.listening(other);
      wakes = 0;
      const [outcome] = await store.enqueue([spec({ desiredAt: ago(1_000) })]);
      await vi.waitFor(() => expect(wakes).toBeGreaterThan(0), { timeout: 2_000, interval: 5 });
      await store.cancel(outcome!.item.id);
      await vi.waitFor(() => expect(cancelled).toEqual([outcome!.item.id]), { timeout: 2_000, interval: 5 });
      const before = wakes;
      await store.retry({ id: outcome!.item.id });
      await vi.waitFor(() => expect(wakes).toBeGreaterThan(before), { timeout: 2_000, interval: 5 });
    });
  });
});
