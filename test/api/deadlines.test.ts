/**
 * A partition's deadline as the API, the partition grid (and its dashboard page) and
 * /metrics show it, on a real SQLite file behind a real HTTP server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileDeadlines } from '../../src/engine/alerts/deadline-rules.js';
import { DeadlineSweeper } from '../../src/engine/alerts/deadline-sweeper.js';
import { alertStoreFor } from '../../src/store/alert-store.js';
import { startHarness, testPipelines, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('deadlines in the API, grid and metrics', () => {
  it('a missed partition is missed in work/:id, listed in the grid field and marked in the grid page, and counted in /metrics', async () => {
    h = await startHarness({ pipelines: testPipelines().pipelines, config: { pipelines: [{ domain: 'prices', name: 'daily_ohlcv', deadline: 'close+2h' }] } });
    const enqueue = async (partition: Record<string, string>) =>
      (await h!.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'prices.daily_ohlcv', partition } })).body.item.id as number;
    const late = await enqueue({ date: '2026-11-27', symbol: 'AAPL' });
    const ahead = await enqueue({ date: '2027-03-01', symbol: 'AAPL' });
    const alerts = alertStoreFor(h.app.store);
    const sweeper = new DeadlineSweeper(alerts, compileDeadlines(h.app.config, h.app.registry), h.app.logger);
    await sweeper.sweep(new Date('2026-11-27T12:00:00Z'));
    expect(await sweeper.sweep(new Date('2026-11-27T20:00:00Z'))).toBe(1); // 13:00 close + 2h

    const detail = await h.call('GET', `/api/v1/work/${late}`);
    expect(detail.status).toBe(200);
    expect(detail.body.deadline).toEqual({ deadline: 'close+2h', due_at: '2026-11-27T20:00:00.000Z', state: 'missed', met_at: null });
    expect((await h.call('GET', `/api/v1/work/${ahead}`)).body.deadline).toMatchObject({ due_at: '2027-03-01T23:00:00.000Z', state: 'pending' });

    const grid = await h.call('GET', '/api/v1/grid/prices.daily_ohlcv');
    expect(grid.status).toBe(200);
    expect(grid.body.deadline).toEqual({ deadline: 'close+2h', missed_item_ids: [late], counts: { missed: 1 } });
    const page = await h.call('GET', '/grid/prices.daily_ohlcv');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/class="cell s-PENDING deadline-missed"[^>]*title="[^"]*missed its deadline/);

    const metrics = await h.call('GET', '/metrics');
    expect(metrics.text).toContain('sluice_partition_deadlines{pipeline="prices.daily_ohlcv",state="missed"} 1');
  });
});
