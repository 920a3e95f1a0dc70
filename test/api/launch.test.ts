import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { createPgTestSchema, describeIfPg, type PgTestSchema } from '../helpers/pg.js';
import { startHarness, testPipelines, waitFor, type Harness } from './support/harness.js';

/** Launch a partition now, re-run a COMPLETE one only with force, and bulk retry / re-run /
 * cancel with a per-item outcome. On SQLite and PostgreSQL. */
function launchSuite(name: string, openStore?: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  let h: Harness;
  let cleanup: (() => Promise<void>) | undefined;
  const { pipelines, control } = testPipelines();
  beforeAll(async () => {
    const opened = await openStore?.();
    cleanup = opened?.cleanup;
    h = await startHarness({ pipelines, store: opened?.store, worker: { concurrency: 2 } });
    h.worker!.start();
  });
  afterAll(async () => {
    await h?.close();
    await cleanup?.();
  });
  const state = async (id: number) => (await h.app.store.getItem(id))!.state;

  it(`${name}: launch runs a partition now; a COMPLETE one re-runs only with force`, async () => {
    const body = { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-03-02', symbol: 'AAPL' } };
    const first = await h.call('POST', '/api/v1/launch', { body });
    expect(first.status).toBe(200);
    expect(first.body.action).toBe('created');
    const id = first.body.item.id;
    await waitFor(async () => (await state(id)) === 'COMPLETE');
    const refused = await h.call('POST', '/api/v1/launch', { body });
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('force');
    const forced = await h.call('POST', '/api/v1/launch', { body: { ...body, force: true } });
    expect(forced.body).toMatchObject({ action: 'rerun', item: { id, state: 'PENDING' } });
    await waitFor(async () => (await h.app.store.listAttempts(id)).length === 2 && (await state(id)) === 'COMPLETE');
  });

  it(`${name}: bulk retry of failed cells, re-run with force, cancel; each item reports its outcome`, async () => {
    for (const s of ['MSFT', 'NVDA']) control.fail.add(`2026-03-03|${s}`);
    const ids: number[] = [];
    for (const symbol of ['MSFT', 'NVDA', 'AMZN'])
      ids.push(
        (await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'prices.daily_ohlcv', partition: { date: '2026-03-03', symbol }, max_attempts: 1 } }))
          .body.item.id,
      );
    await waitFor(async () => (await state(ids[0]!)) === 'FAILED' && (await state(ids[1]!)) === 'FAILED' && (await state(ids[2]!)) === 'COMPLETE');
    control.fail.clear();
    const retry = await h.call('POST', '/api/v1/work/bulk', { body: { action: 'retry', ids } });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ succeeded: 2, failed: 1 });
    expect(retry.body.results[2]).toMatchObject({ id: ids[2], ok: false, state: 'COMPLETE' });
    await waitFor(async () => (await Promise.all(ids.map(state))).every((s) => s === 'COMPLETE'));
    const noForce = await h.call('POST', '/api/v1/work/bulk', { body: { action: 'rerun', ids } });
    expect(noForce.body).toMatchObject({ succeeded: 0, failed: 3 });
    const rerun = await h.call('POST', '/api/v1/work/bulk', { body: { action: 'rerun', ids, force: true } });
    expect(rerun.body.succeeded).toBe(3);
    const bad = await h.call('POST', '/api/v1/work/bulk', { body: { action: 'explode', ids } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('action');
    const unknown = await h.call('POST', '/api/v1/work/bulk', { body: { action: 'cancel', ids: [999_999] } });
    expect(unknown.body.results[0]).toMatchObject({ ok: false, state: null });
  });
}

describe('launch and bulk actions on SQLite', () => launchSuite('sqlite'));

describeIfPg('launch and bulk actions on PostgreSQL', () => {
  let db: PgTestSchema;
  launchSuite('postgres', async () => {
    db = createPgTestSchema();
    const store = db.open();
    await store.migrate();
    return { store, cleanup: () => db.drop() };
  });
});
