import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { parseConfigObject } from '../../src/config/load-config.js';
import { SluiceError } from '../../src/core/errors.js';
import { definePipeline } from '../../src/core/pipeline.js';
import { BACKFILL_DEFAULT_PRIORITY, planBackfill, runBackfill, type BackfillProgress, type BackfillTracking } from '../../src/engine/backfill.js';
import { backendsUnderTest, openTestDatabase, type TestDatabase } from '../helpers/backends.js';

const weekly = definePipeline({
  domain: 'test.bf',
  name: 'weekly',
  partition: z.object({ week_ending: z.string(), tier: z.string() }),
  params: z.object({}),
  handler: () => undefined,
});
const daily = definePipeline({
  domain: 'test.bf',
  name: 'daily',
  partition: z.object({ date: z.string() }),
  params: z.object({}),
  retry: { maxAttempts: 1 },
  handler: ({ partition }) => {
    if (partition.date === '2025-11-26') throw new Error('source down');
  },
});

const apps: SluiceApp[] = [];
const dirs: string[] = [];
async function newApp(): Promise<SluiceApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bf-'));
  dirs.push(dir);
  const config = parseConfigObject({ database: `sqlite:${path.join(dir, 'q.db')}`, workers: { poll_interval: '50ms' } });
  const app = await createApp({ loaded: { config, file: null, baseDir: dir }, logLevel: 'silent', pipelines: [weekly, daily] });
  apps.push(app);
  return app;
}
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('backfill', () => {
  it('weekly pipelines get the Fridays in range, crossed with fixed keys, at backfill priority', async () => {
    const app = await newApp();
    const result = await runBackfill(app.store, app.registry, {
      pipeline: 'test.bf.weekly',
      from: '2025-12-01',
      to: '2025-12-20',
      fixed: [{ tier: 'OTC' }, { tier: 'NMS_TIER_1' }],
    });
    expect(result).toMatchObject({ total: 6, created: 6, existing: 0, requeued: 0 });
    const items = await app.store.listItems({ order: 'oldest' });
    expect(items.map((i) => i.partition.week_ending)).toEqual(['2025-12-05', '2025-12-05', '2025-12-12', '2025-12-12', '2025-12-19', '2025-12-19']);
    expect(items.every((i) => i.priority === BACKFILL_DEFAULT_PRIORITY)).toBe(true);
  });

  it('daily pipelines get XNYS sessions (Thanksgiving skipped); reprocess modes decide what happens to existing items', async () => {
    const app = await newApp();
    const request = { pipeline: 'test.bf.daily', from: '2025-11-24', to: '2025-11-28' };
    expect([...planBackfill(app.registry, request).partitions()].map((p) => p.date)).toEqual(['2025-11-24', '2025-11-25', '2025-11-26', '2025-11-28']);
    await runBackfill(app.store, app.registry, request);
    expect((await app.createWorker({ concurrency: 2 }).drain()).failed).toBe(1);

    // missing (default): nothing changes for existing partitions.
    expect(await runBackfill(app.store, app.registry, request)).toMatchObject({ created: 0, existing: 4, requeued: 0 });
    expect(await app.store.countItems({ state: 'PENDING' })).toBe(0);
    // failed: only the FAILED one goes back.
    expect(await runBackfill(app.store, app.registry, { ...request, reprocess: 'failed' })).toMatchObject({ requeued: 1 });
    expect((await app.store.listItems({ state: 'PENDING' })).map((i) => i.partition.date)).toEqual(['2025-11-26']);
    // all: every finished one goes back.
    expect(await runBackfill(app.store, app.registry, { ...request, reprocess: 'all' })).toMatchObject({ requeued: 3 });
    expect(await app.store.countItems({ state: 'PENDING' })).toBe(4);
  });

  it('a partition range over integers or dates works; --calendar none gives every day', async () => {
    const app = await newApp();
    expect(planBackfill(app.registry, { pipeline: 'ops.noop', partitionRange: 'n=1..5' }).total).toBe(5);
    expect(
      [...planBackfill(app.registry, { pipeline: 'test.bf.daily', from: '2025-11-22', to: '2025-11-23', calendar: 'none' }).partitions()].map((p) => p.date),
    ).toEqual(['2025-11-22', '2025-11-23']);
  });

  const bad: [string, Parameters<typeof planBackfill>[1], RegExp][] = [
    ['a reversed range', { pipeline: 'test.bf.daily', from: '2025-12-31', to: '2025-12-01' }, /--to "2025-12-01": must not be before/],
    ['an empty range (a weekend has no sessions)', { pipeline: 'test.bf.daily', from: '2025-11-22', to: '2025-11-23' }, /contain at least one session/],
    ['a range with no Friday', { pipeline: 'test.bf.weekly', from: '2025-12-01', to: '2025-12-04', fixed: [{ tier: 'OTC' }] }, /contain at least one Friday/],
    ['an invalid date', { pipeline: 'test.bf.daily', from: '2025-02-30', to: '2025-03-05' }, /2025-02-30/],
    ['a malformed partition range', { pipeline: 'ops.noop', partitionRange: 'n=5' }, /--partition-range: "n=5" is invalid: must be key=A\.\.B/],
    ['a reversed integer range', { pipeline: 'ops.noop', partitionRange: 'n=9..2' }, /not be reversed/],
    ['an unknown pipeline', { pipeline: 'test.bf.nope', from: '2025-12-01', to: '2025-12-05' }, /name a registered pipeline/],
  ];
  for (const [label, request, message] of bad) {
    it(`rejects ${label} with a clear error and enqueues nothing`, async () => {
      const app = await newApp();
      expect(() => planBackfill(app.registry, request)).toThrow(SluiceError);
      expect(() => planBackfill(app.registry, request)).toThrow(message);
      await expect(runBackfill(app.store, app.registry, request)).rejects.toThrow(message);
      expect(await app.store.countItems()).toBe(0);
    });
  }
});

// Backfills cut into many chunks, on both backends: PostgreSQL writes up to two chunks at once
// (store.concurrentWriters > 1), SQLite one at a time; the contracts are the same.
const computeWeekly = definePipeline({
  domain: 'test.bf',
  name: 'compute',
  partition: z.object({ week_ending: z.string() }),
  params: z.object({}),
  dependsOn: [{ pipeline: 'test.bf.weekly', mapping: { kind: 'fan_in', dimension: 'tier', values: ['OTC', 'NMS_TIER_1', 'NMS_TIER_2'] }, auto: true }],
  handler: () => undefined,
});

describe.each(backendsUnderTest())('backfill in chunks on %s', (backend) => {
  const dbs: TestDatabase[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    for (const db of dbs.splice(0)) await db.dispose();
  });
  async function open(): Promise<SluiceApp> {
    const db = await openTestDatabase(backend);
    dbs.push(db);
    const config = parseConfigObject({ database: db.url });
    const app = await createApp({
      loaded: { config, file: null, baseDir: db.dir },
      database: db.url,
      logLevel: 'silent',
      pipelines: [weekly, daily, computeWeekly],
    });
    apps.push(app);
    return app;
  }
  /** Links and progress as createBackfill's tracking would record them. */
  function recorder() {
    const linked: number[] = [];
    const progress: number[] = [];
    const tracking: BackfillTracking = {
      link: async (links) => {
        linked.push(...links.map((l) => l.itemId));
      },
    };
    return { linked, progress, tracking, onProgress: (p: BackfillProgress) => progress.push(p.done) };
  }
  async function enqueueEvents(app: SluiceApp): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const item of await app.store.listItems({ limit: 10_000 })) {
      out.set(item.id, (await app.store.listEvents(item.id)).filter((e) => e.event === 'enqueue').length);
    }
    return out;
  }
  const keys = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `n=${from + i}`);
  const storedKeys = async (app: SluiceApp) =>
    (await app.store.listItems({ limit: 10_000 })).map((i) => i.partitionKey).sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
  const request = { pipeline: 'ops.noop', partitionRange: 'n=1..50' };

  it('creates every item and its enqueue event once, counts, links and reports progress in chunk order; a re-run creates none', async () => {
    const app = await open();
    const r = recorder();
    const result = await runBackfill(app.store, app.registry, request, r.onProgress, r.tracking, { chunkSize: 7 });
    expect(result).toMatchObject({ total: 50, created: 50, existing: 0, requeued: 0, downstream: 0 });
    expect(result.cancelled).toBeUndefined();
    expect(result.items.map((i) => i.partitionKey)).toEqual(keys(1, 50));
    expect(r.progress).toEqual([7, 14, 21, 28, 35, 42, 49, 50]);
    expect(r.linked).toEqual(result.items.map((i) => i.id));
    expect(await storedKeys(app)).toEqual(keys(1, 50));
    const events = await enqueueEvents(app);
    expect([...events.values()]).toEqual(Array(50).fill(1));

    const again = await runBackfill(app.store, app.registry, request, undefined, undefined, { chunkSize: 7 });
    expect(again).toMatchObject({ total: 50, created: 0, existing: 50 });
    expect(again.items.map((i) => i.id)).toEqual(result.items.map((i) => i.id));
    expect(await app.store.countItems()).toBe(50);
    expect(await enqueueEvents(app)).toEqual(events);
  });

  it('a failing chunk fails the backfill after every chunk in flight has settled and been linked; a re-run fills the gap', async () => {
    const app = await open();
    const refuse = await refuseInsert(app, 'n=23');
    const r = recorder();
    await expect(runBackfill(app.store, app.registry, request, r.onProgress, r.tracking, { chunkSize: 5 })).rejects.toThrow(/refused n=23/);
    // Chunk 5 (n=21..25) is refused and rolled back whole. With two chunks in flight chunk 6
    // was started before chunk 5's failure was known: it was written, and it is linked.
    const written = app.store.concurrentWriters > 1 ? [...keys(1, 20), ...keys(26, 30)] : keys(1, 20);
    expect(await storedKeys(app)).toEqual(written);
    expect(r.linked.sort((a, b) => a - b)).toEqual((await app.store.listItems({ limit: 10_000 })).map((i) => i.id).sort((a, b) => a - b));
    expect(r.progress).toEqual(app.store.concurrentWriters > 1 ? [5, 10, 15, 20, 25] : [5, 10, 15, 20]);

    await refuse.drop();
    const again = await runBackfill(app.store, app.registry, request, undefined, undefined, { chunkSize: 5 });
    expect(again).toMatchObject({ total: 50, created: 50 - written.length, existing: written.length });
    expect(await storedKeys(app)).toEqual(keys(1, 50));
    expect([...(await enqueueEvents(app)).values()]).toEqual(Array(50).fill(1));
  });

  it('a cancel stops further chunks; the chunks already started are written, linked and counted', async () => {
    const app = await open();
    const r = recorder();
    const result = await runBackfill(
      app.store,
      app.registry,
      request,
      r.onProgress,
      { ...r.tracking, cancelled: async () => r.linked.length > 0 },
      { chunkSize: 5 },
    );
    // Checked after each chunk starts: sequentially after chunk 1 is linked; with two in
    // flight chunk 2 had started when chunk 1's link made the check true.
    const chunks = app.store.concurrentWriters > 1 ? 2 : 1;
    expect(result).toMatchObject({ cancelled: true, created: 5 * chunks });
    expect(await app.store.countItems()).toBe(5 * chunks);
    expect(r.linked).toHaveLength(5 * chunks);
    expect(r.progress).toEqual([5, 10].slice(0, chunks));
  });

  it('concurrent chunks sharing partition values and downstream items neither deadlock nor miscount the grid summary', async () => {
    const app = await open();
    // 52 Fridays × 3 tiers in chunks of 4: every chunk shares tier values (grid_values rows)
    // with the others, and a week's fan-in `compute` item is brought in by two chunks. Two
    // such backfills over overlapping ranges run at once, three chunks in flight each.
    const req = { pipeline: 'test.bf.weekly', from: '2025-01-01', to: '2025-12-31', fixed: [{ tier: 'OTC' }, { tier: 'NMS_TIER_1' }, { tier: 'NMS_TIER_2' }] };
    const [a, b] = await Promise.all([
      runBackfill(app.store, app.registry, req, undefined, undefined, { chunkSize: 4, inFlight: 3 }),
      runBackfill(app.store, app.registry, { ...req, from: '2025-06-01' }, undefined, undefined, { chunkSize: 4, inFlight: 3 }),
    ]);
    expect(a.total).toBe(156);
    expect(a.created + b.created).toBe(156);
    expect(await app.store.countItems({ pipeline: 'weekly' })).toBe(156);
    expect(await app.store.countItems({ pipeline: 'compute' })).toBe(52);
    const summary = await app.store.partitionSummary('test.bf', 'weekly');
    expect(summary.keys.map((k) => [k.key, k.distinctValues, k.items])).toEqual([
      ['tier', 3, 156],
      ['week_ending', 52, 156],
    ]);
    expect((await app.store.partitionSummary('test.bf', 'compute')).keys.map((k) => [k.key, k.distinctValues, k.items])).toEqual([['week_ending', 52, 52]]);
    const computes = await app.store.listItems({ pipeline: 'compute', limit: 100 });
    expect(computes.every((i) => i.state === 'WAITING')).toBe(true);
    expect(new Set((await Promise.all(computes.map((i) => app.store.listDependencies(i.id)))).map((d) => d.length))).toEqual(new Set([3]));
    expect([...(await enqueueEvents(app)).values()]).toEqual(Array(208).fill(1));
  });
});

/** A trigger that makes the database refuse one partition's insert (and so its whole batch). */
async function refuseInsert(app: SluiceApp, key: string): Promise<{ drop(): Promise<void> }> {
  const c = app.store.dataConnection();
  if (c.backend === 'sqlite') {
    c.database.exec(`CREATE TRIGGER bf_refuse BEFORE INSERT ON work_items WHEN NEW.partition_key = '${key}' BEGIN SELECT RAISE(ABORT, 'refused ${key}'); END`);
    return { drop: async () => void c.database.exec('DROP TRIGGER bf_refuse') };
  }
  const s = `"${c.schema}"`;
  await c.pool.query(`CREATE FUNCTION ${s}.bf_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused %', NEW.partition_key; END $$`);
  await c.pool.query(
    `CREATE TRIGGER bf_refuse BEFORE INSERT ON ${s}.work_items FOR EACH ROW WHEN (NEW.partition_key = '${key}') EXECUTE FUNCTION ${s}.bf_refuse()`,
  );
  return { drop: async () => void (await c.pool.query(`DROP TRIGGER bf_refuse ON ${s}.work_items`)) };
}
