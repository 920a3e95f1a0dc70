import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testPipelines, type Harness } from './support/harness.js';
import { StoreScheduler } from './support/store-scheduler.js';

const schedules = [
  {
    name: 'prices-after-close',
    pipeline: 'prices.daily_ohlcv',
    cron: '15 16 * * 1-5',
    timezone: 'America/New_York',
    calendar: 'XNYS',
    partitions: (at: Date) => ['AAPL', 'MSFT'].map((symbol) => ({ date: at.toISOString().slice(0, 10), symbol })),
  },
  { name: 'nightly-noop', pipeline: 'ops.noop', cron: '0 3 * * *', enabled: false, partitions: (at: Date) => [{ night: at.toISOString().slice(0, 10) }] },
];

describe('REST API: schedules and scheduler (attached SchedulerPort backed by the store)', () => {
  let h: Harness;
  let scheduler: StoreScheduler;

  beforeAll(async () => {
    h = await startHarness({
      pipelines: testPipelines().pipelines,
      scheduler: (app) => (scheduler = new StoreScheduler(app, schedules)),
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('GET /api/v1/scheduler/status, then start and stop', async () => {
    const status = await h.call('GET', '/api/v1/scheduler/status');
    expect(status.status).toBe(200);
    expect(status.body).toEqual({ running: false, leader: false, schedules: 2, last_tick_at: null });
    const started = await h.call('POST', '/api/v1/scheduler/start');
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ running: true, leader: true });
    expect(scheduler.running).toBe(true);
    const stopped = await h.call('POST', '/api/v1/scheduler/stop');
    expect(stopped.body).toMatchObject({ running: false });
    expect(scheduler.running).toBe(false);
  });

  it('GET /api/v1/schedules lists schedules with next fire times and recent ticks', async () => {
    const res = await h.call('GET', '/api/v1/schedules');
    expect(res.status).toBe(200);
    expect(res.body.schedules.map((s: any) => s.name)).toEqual(['prices-after-close', 'nightly-noop']);
    const prices = res.body.schedules[0];
    expect(prices).toMatchObject({ pipeline: 'prices.daily_ohlcv', cron: '15 16 * * 1-5', timezone: 'America/New_York', calendar: 'XNYS', enabled: true });
    expect(prices.next_fire_times).toHaveLength(3);
    for (const t of prices.next_fire_times) expect(Date.parse(t)).toBeGreaterThan(Date.now());
    expect(res.body.schedules[1].enabled).toBe(false);
  });

  it('POST /api/v1/schedules/:name/trigger enqueues through the store and records a tick', async () => {
    const before = await h.app.store.countItems();
    const res = await h.call('POST', '/api/v1/schedules/prices-after-close/trigger');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ schedule: 'prices-after-close', enqueued: 2 });
    expect(res.body.items).toHaveLength(2);
    expect(await h.app.store.countItems()).toBe(before + 2);
    const items = await Promise.all(res.body.items.map((id: number) => h.app.store.getItem(id)));
    expect(items.map((i) => i!.partition.symbol).sort()).toEqual(['AAPL', 'MSFT']);
    const list = await h.call('GET', '/api/v1/schedules');
    expect(list.body.schedules[0].recent_ticks[0]).toMatchObject({ outcome: 'fired', detail: 'enqueued 2 of 2' });
    const status = await h.call('GET', '/api/v1/scheduler/status');
    expect(status.body.last_tick_at).not.toBeNull();
    // A second trigger the same day finds the partitions already there.
    const again = await h.call('POST', '/api/v1/schedules/prices-after-close/trigger');
    expect(again.body).toMatchObject({ enqueued: 0, items: res.body.items });
  });

  it('POST /api/v1/schedules/:name/trigger: 404 for an unknown schedule, queue untouched', async () => {
    const before = await h.app.store.countItems();
    const res = await h.call('POST', '/api/v1/schedules/no-such-schedule/trigger');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found', field: 'name', value: 'no-such-schedule' });
    expect(res.body.error.rule).toContain('prices-after-close');
    expect(await h.app.store.countItems()).toBe(before);
  });

  it('the overview lists the next ticks of enabled schedules', async () => {
    const res = await h.call('GET', '/api/v1/overview');
    expect(res.status).toBe(200);
    expect(res.body.scheduler_attached).toBe(true);
    expect(res.body.scheduler.next_ticks.length).toBeGreaterThan(0);
    expect(res.body.scheduler.next_ticks.every((t: any) => t.schedule === 'prices-after-close')).toBe(true);
  });
});

describe('REST API: scheduler routes without a scheduler', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  for (const [method, url] of [
    ['GET', '/api/v1/scheduler/status'],
    ['POST', '/api/v1/scheduler/start'],
    ['POST', '/api/v1/scheduler/stop'],
    ['GET', '/api/v1/schedules'],
    ['POST', '/api/v1/schedules/anything/trigger'],
  ] as const) {
    it(`${method} ${url} answers 503 with a clear message`, async () => {
      const res = await h.call(method, url);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('scheduler_unavailable');
      expect(res.body.error.message).toMatch(/No scheduler is attached to this process/);
    });
  }

  it('the overview says no scheduler is attached', async () => {
    const res = await h.call('GET', '/api/v1/overview');
    expect(res.body).toMatchObject({ scheduler_attached: false, scheduler: null });
  });
});
