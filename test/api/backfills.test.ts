import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../../src/core/pipeline.js';
import type { Store } from '../../src/store/store.js';
import { createPgTestSchema, describeIfPg, type PgTestSchema } from '../helpers/pg.js';
import { startHarness, waitFor, type Harness } from './support/harness.js';

/**
 * Backfills as objects over the REST API, on SQLite and PostgreSQL: create (fan-out over an
 * enum dimension, auto downstream brought in and counted), progress advancing to done,
 * --no-downstream, cancel, bad input.
 */
const LANES = ['east', 'west', 'north'] as const;
const gate = { open: true };
const ingest = definePipeline({
  domain: 'test.bf',
  name: 'ingest',
  partition: z.strictObject({ date: z.string(), lane: z.enum(LANES) }),
  params: z.object({}),
  handler: async () => {
    while (!gate.open) await new Promise((r) => setTimeout(r, 20));
  },
});
const summarize = definePipeline({
  domain: 'test.bf',
  name: 'summarize',
  partition: z.strictObject({ date: z.string(), lane: z.enum(LANES) }),
  params: z.object({}),
  dependsOn: [{ pipeline: 'test.bf.ingest', mapping: { kind: 'identity' as const }, auto: true }],
  handler: () => undefined,
});

function backfillSuite(name: string, openStore?: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  let h: Harness;
  let cleanup: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const opened = await openStore?.();
    cleanup = opened?.cleanup;
    h = await startHarness({ pipelines: [ingest, summarize], store: opened?.store, worker: { concurrency: 4 } });
  });
  afterAll(async () => {
    await h?.close();
    await cleanup?.();
  });

  it(`${name}: creates a backfill that fans out over the enum and brings in the downstream; progress advances to done`, async () => {
    const created = await h.call('POST', '/api/v1/backfills', { body: { pipeline: 'test.bf.ingest', from: '2026-01-05', to: '2026-01-07', priority: -5 } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body).toMatchObject({ pipeline: 'test.bf.ingest', priority: -5, reprocess: 'missing', downstream: true });
    const enqueued = await waitFor(async () => {
      const s = (await h.call('GET', `/api/v1/backfills/${id}`)).body;
      return s.status === 'enqueued' && s;
    });
    // 3 sessions × 3 lanes, and one summarize item per ingest partition.
    expect(enqueued.partitions).toBe(9);
    expect(enqueued.progress.requested.PENDING).toBe(9);
    expect(enqueued.progress.downstream.WAITING).toBe(9);
    expect(enqueued.progress).toMatchObject({ total: 18, finished: 0, outstanding: 18, percent: 0 });
    expect(enqueued.state).toBe('running');
    const items = (await h.call('GET', '/api/v1/work/pending?state=ALL&limit=100')).body.items;
    expect(new Set(items.map((i: { partition: { lane: string } }) => i.partition.lane))).toEqual(new Set(LANES));
    expect(items.every((i: { priority: number }) => i.priority === -5)).toBe(true);

    h.worker!.start();
    const done = await waitFor(
      async () => {
        const s = (await h.call('GET', `/api/v1/backfills/${id}`)).body;
        return s.state === 'done' && s;
      },
      30_000,
      'backfill done',
    );
    expect(done.progress).toMatchObject({ total: 18, finished: 18, complete: 18, outstanding: 0, percent: 100, eta_seconds: 0 });
    expect(done.progress.rate_per_minute).toBeGreaterThan(0);
    expect(done.progress.downstream.COMPLETE).toBe(9);
    const list = (await h.call('GET', '/api/v1/backfills')).body;
    expect(list.total).toBe(1);
    expect(list.backfills[0].id).toBe(id);
  });

  it(`${name}: a narrowed enum and downstream:false stop at the named pipeline; cancel stops outstanding items`, async () => {
    gate.open = false;
    try {
      const created = await h.call('POST', '/api/v1/backfills', {
        body: { pipeline: 'test.bf.ingest', from: '2026-02-02', to: '2026-02-06', partition: { lane: 'west' }, downstream: false },
      });
      expect(created.status).toBe(201);
      const id = created.body.id;
      const s = await waitFor(async () => {
        const b = (await h.call('GET', `/api/v1/backfills/${id}`)).body;
        return b.status === 'enqueued' && b;
      });
      expect(s.partitions).toBe(5);
      expect(s.progress.total).toBe(5);
      expect(Object.values(s.progress.downstream).every((n) => n === 0)).toBe(true);
      const cancel = await h.call('POST', `/api/v1/backfills/${id}/cancel`);
      expect(cancel.status).toBe(200);
      expect(cancel.body.backfill.state).toBe('cancelled');
      gate.open = true;
      const after = await waitFor(async () => {
        const b = (await h.call('GET', `/api/v1/backfills/${id}`)).body;
        return b.progress.outstanding === 0 && b;
      });
      expect(after.progress.requested.CANCELLED).toBe(cancel.body.cancelled);
      expect(after.progress.requested.CANCELLED + after.progress.requested.COMPLETE).toBe(5);
      expect(cancel.body.cancelled).toBeGreaterThan(0);
      const again = await h.call('POST', `/api/v1/backfills/${id}/cancel`);
      expect(again.status).toBe(400);
    } finally {
      gate.open = true;
    }
  });

  it(`${name}: bad input names the field and stores nothing; unknown id is 404`, async () => {
    const before = (await h.call('GET', '/api/v1/backfills')).body.total;
    const bad = await h.call('POST', '/api/v1/backfills', {
      body: { pipeline: 'test.bf.ingest', from: '2026-01-05', to: '2026-01-06', partition: { lane: 'south' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/lane/);
    const noRange = await h.call('POST', '/api/v1/backfills', { body: { pipeline: 'test.bf.ingest' } });
    expect(noRange.status).toBe(400);
    expect(noRange.body.error.field).toBe('--from');
    expect((await h.call('GET', '/api/v1/backfills')).body.total).toBe(before);
    expect((await h.call('GET', '/api/v1/backfills/9999')).status).toBe(404);
  });
}

describe('backfills API on SQLite', () => backfillSuite('sqlite'));

describeIfPg('backfills API on PostgreSQL', () => {
  let db: PgTestSchema;
  backfillSuite('postgres', async () => {
    db = createPgTestSchema();
    const store = db.open();
    await store.migrate();
    return { store, cleanup: () => db.drop() };
  });
});
