import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPgTestSchema, describeIfPg, type PgTestSchema } from '../helpers/pg.js';
import { startHarness, testPipelines, waitFor, type Harness } from './support/harness.js';

/** The same API over the PostgreSQL store (the server only uses the Store interface). */
describeIfPg('REST API and metrics on PostgreSQL', () => {
  let h: Harness;
  let db: PgTestSchema;
  const { pipelines, control } = testPipelines();

  beforeAll(async () => {
    db = createPgTestSchema();
    const store = db.open();
    await store.migrate();
    h = await startHarness({ pipelines, store, worker: { concurrency: 2 } });
  });
  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('enqueue 201/200, bad input 400 with the queue untouched, list, item, cancel 409, retry', async () => {
    const body = { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-01-05', symbol: 'AAPL' }, max_attempts: 1 };
    const first = await h.call('POST', '/api/v1/work/enqueue', { body });
    expect(first.status).toBe(201);
    const dup = await h.call('POST', '/api/v1/work/enqueue', { body });
    expect(dup.status).toBe(200);
    expect(dup.body.item.id).toBe(first.body.item.id);
    const bad = await h.call('POST', '/api/v1/work/enqueue', { body: { ...body, partition: { date: 'x', symbol: 'AAPL' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('partition.date');
    expect(await h.app.store.countItems()).toBe(1);

    control.fail.add('2026-01-06|MSFT');
    const failing = (await h.call('POST', '/api/v1/work/enqueue', { body: { ...body, partition: { date: '2026-01-06', symbol: 'MSFT' } } })).body.item.id;
    h.worker!.start();
    await waitFor(async () => (await h.app.store.countOutstanding()) === 0, 20_000, 'worker');

    const list = await h.call('GET', '/api/v1/work/pending?state=ALL');
    expect(list.body.total).toBe(2);
    const failed = await h.call('GET', `/api/v1/work/${failing}`);
    expect(failed.body.item.state).toBe('FAILED');
    expect(failed.body.attempts[0].error).toMatch(/503/);
    const conflict = await h.call('POST', '/api/v1/work/cancel', { body: { id: first.body.item.id } });
    expect(conflict.status).toBe(409);
    control.fail.clear();
    const retried = await h.call('POST', '/api/v1/work/retry', { body: { id: failing } });
    expect(retried.body.items[0].state).toBe('PENDING');
    await waitFor(async () => (await h.app.store.getItem(failing))!.state === 'COMPLETE', 20_000, 'retry to complete');
    const runs = await h.call('GET', '/api/v1/runs');
    expect(runs.body.runs[0]).toMatchObject({ item_id: failing, status: 'succeeded' });
  });

  it('overview, grid, readiness and metrics carry numbers (not strings) from PostgreSQL', async () => {
    const overview = await h.call('GET', '/api/v1/overview');
    expect(overview.body.totals.COMPLETE).toBe(2);
    expect(overview.body.database).toBe('postgres');
    const grid = await h.call('GET', '/api/v1/grid/prices.daily_ohlcv');
    expect(grid.body).toMatchObject({ total_items: 2, row_key: 'date', col_key: 'symbol', state_totals: { COMPLETE: 2 } });
    const ready = await h.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.migrations.status).toBe('current');
    const metrics = await h.call('GET', '/metrics');
    expect(metrics.text).toMatch(/^sluice_work_items\{pipeline="prices\.daily_ohlcv",state="COMPLETE"\} 2$/m);
    expect(metrics.text).toMatch(/^sluice_database_up 1$/m);
    const page = await h.call('GET', '/', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('database: postgres');
  });
});
