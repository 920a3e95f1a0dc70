import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueWork } from '../../src/engine/enqueue.js';
import type { Store } from '../../src/store/store.js';
import { createPgTestSchema, describeIfPg, type PgTestSchema } from '../helpers/pg.js';
import { startHarness, waitFor, type Harness } from './support/harness.js';

/** Paging totals are exact (GET /api/v1/runs?limit=1 counts every attempt, an offset past the
 * end returns no rows), and the dashboard answers 404 for an unknown pipeline. On SQLite and
 * PostgreSQL. 600 attempts: more than the old 500-attempt counting window. */
function pagingSuite(name: string, openStore?: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  let h: Harness;
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const opened = await openStore?.();
    cleanup = opened?.cleanup;
    h = await startHarness({ store: opened?.store, worker: { concurrency: 8 } });
    await enqueueWork(
      h.app.store,
      h.app.registry,
      Array.from({ length: 600 }, (_, i) => ({ pipeline: 'ops.noop', partition: { n: String(i) } })),
    );
    h.worker!.start();
    await waitFor(async () => (await h.app.store.countOutstanding()) === 0, 60_000, '600 attempts');
  }, 90_000);
  afterAll(async () => {
    await h?.close();
    await cleanup?.();
  });

  it(`${name}: runs total is exact; offset past the end is empty; filters count too`, async () => {
    const one = await h.call('GET', '/api/v1/runs?limit=1');
    expect(one.body.total).toBe(600);
    expect(one.body.runs).toHaveLength(1);
    const last = await h.call('GET', '/api/v1/runs?limit=50&offset=590');
    expect(last.body.runs).toHaveLength(10);
    expect(last.body.total).toBe(600);
    const past = await h.call('GET', '/api/v1/runs?limit=50&offset=600');
    expect(past.body).toMatchObject({ total: 600, runs: [] });
    expect((await h.call('GET', '/api/v1/runs?limit=1&pipeline=ops.fail')).body.total).toBe(0);
    expect((await h.call('GET', '/api/v1/runs?limit=1&status=succeeded&pipeline=ops.noop')).body.total).toBe(600);
    const work = await h.call('GET', '/api/v1/work/pending?state=ALL&limit=1');
    expect(work.body.total).toBe(600);
    expect((await h.call('GET', '/api/v1/work/pending?state=ALL&limit=10&offset=600')).body.items).toEqual([]);
  });

  it(`${name}: the dashboard answers 404 for an unknown pipeline's grid`, async () => {
    const r = await h.call('GET', '/grid/ops.nope');
    expect(r.status).toBe(404);
    expect(r.text).toContain('ops.nope');
    expect((await h.call('GET', '/grid/ops.noop')).status).toBe(200);
  });
}

describe('paging totals on SQLite', () => pagingSuite('sqlite'));

describeIfPg('paging totals on PostgreSQL', () => {
  let db: PgTestSchema;
  pagingSuite('postgres', async () => {
    db = createPgTestSchema();
    const store = db.open();
    await store.migrate();
    return { store, cleanup: () => db.drop() };
  });
});
