import { getMetricsFromIterator, type PromData, type PromHistogramData, type PromMetric } from 'prom2javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testPipelines, waitFor, type Harness } from './support/harness.js';
import { StoreScheduler } from './support/store-scheduler.js';

/** Scrapes /metrics over the socket and parses it with a Prometheus text-format parser. */
async function scrape(h: Harness): Promise<Map<string, PromMetric>> {
  const res = await h.call('GET', '/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  // NaN is legal in the text format and prom-client writes it (as "Nan") for the event-loop
  // lag gauges of a registry that has no sample yet; prom2javascript rejects NaN, so those
  // lines (and only those: ours must never be NaN) are left out before parsing.
  const lines = res.text.split('\n');
  const nan = lines.filter((l) => /\sNaN$/i.test(l));
  expect(
    nan.every((l) => l.startsWith('nodejs_eventloop_lag_')),
    nan.join('\n'),
  ).toBe(true);
  const parsed = await getMetricsFromIterator(lines.filter((l) => !/\sNaN$/i.test(l))[Symbol.iterator]());
  return new Map(Object.entries(parsed));
}

function value(families: Map<string, PromMetric>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.get(name);
  const sample = (family?.data as PromData[] | undefined)?.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  return sample?.value;
}

describe('GET /metrics', () => {
  let h: Harness;
  let scheduler: StoreScheduler;
  const { pipelines, control } = testPipelines();

  beforeAll(async () => {
    h = await startHarness({
      pipelines,
      worker: { concurrency: 2 },
      scheduler: (app) =>
        (scheduler = new StoreScheduler(app, [
          {
            name: 'prices-close',
            pipeline: 'prices.daily_ohlcv',
            cron: '15 16 * * 1-5',
            timezone: 'America/New_York',
            partitions: () => [{ date: '2026-04-01', symbol: 'IBM' }],
          },
          { name: 'idle', pipeline: 'ops.noop', cron: '0 0 1 1 *', partitions: () => [] },
        ])),
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('reports items by state and pipeline (read from the database) and the queue lag', async () => {
    const enqueue = (pipeline: string, partition: Record<string, string>, extra: Record<string, unknown> = {}) =>
      h.call('POST', '/api/v1/work/enqueue', { body: { pipeline, partition, ...extra } });
    for (const symbol of ['AAPL', 'MSFT', 'NVDA']) await enqueue('prices.daily_ohlcv', { date: '2026-01-05', symbol }, { max_attempts: 1 });
    // Ready for a minute: the oldest ready item is 60 s late.
    await enqueue('ops.noop', { lag: 'x' }, { at: new Date(Date.now() - 60_000).toISOString() });
    await enqueue('ops.noop', { lag: 'future' }, { at: new Date(Date.now() + 3_600_000).toISOString() });
    const cancelled = (await enqueue('ops.noop', { lag: 'cancel' })).body.item.id;
    await h.call('POST', '/api/v1/work/cancel', { body: { id: cancelled } });

    const m = await scrape(h);
    expect(m.get('sluice_work_items')!.type).toBe('gauge');
    expect(value(m, 'sluice_work_items', { pipeline: 'prices.daily_ohlcv', state: 'PENDING' })).toBe(3);
    expect(value(m, 'sluice_work_items', { pipeline: 'ops.noop', state: 'PENDING' })).toBe(2);
    expect(value(m, 'sluice_work_items', { pipeline: 'ops.noop', state: 'CANCELLED' })).toBe(1);
    expect(value(m, 'sluice_work_items', { pipeline: 'prices.daily_ohlcv', state: 'COMPLETE' })).toBe(0);
    // Every registered pipeline x state is present (zeros included), so dashboards see gaps as 0.
    expect(value(m, 'sluice_work_items', { pipeline: 'ops.sleep', state: 'FAILED' })).toBe(0);
    // And it matches the store's own counts exactly.
    for (const c of await h.app.store.countByState())
      expect(value(m, 'sluice_work_items', { pipeline: `${c.domain}.${c.pipeline}`, state: c.state })).toBe(c.count);
    const lag = value(m, 'sluice_queue_lag_seconds')!;
    expect(lag).toBeGreaterThanOrEqual(59);
    expect(lag).toBeLessThan(600);
    expect(value(m, 'sluice_database_up')).toBe(1);
  });

  it('counts attempts, failures and durations from the attached worker', async () => {
    control.fail.add('2026-01-05|MSFT');
    await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'ops.fail', partition: { m: '1' }, max_attempts: 1 } });
    h.worker!.start();
    await waitFor(
      async () =>
        (await h.app.store.countItems({ state: ['RUNNING', 'RETRY_WAIT'] })) === 0 &&
        (await h.app.store.nextDesiredAt()) !== null &&
        (await h.app.store.countItems({ state: 'PENDING' })) === 1,
      20_000,
      'worker to finish',
    );
    await waitFor(async () => h.worker!.runningCount === 0);

    const m = await scrape(h);
    const started = (p: string) => value(m, 'sluice_attempts_started_total', { pipeline: p });
    expect(m.get('sluice_attempts_started_total')!.type).toBe('counter');
    expect(started('ops.noop')).toBe(1);
    expect(started('ops.fail')).toBe(1);
    expect(started('prices.daily_ohlcv')).toBe(3);
    expect(value(m, 'sluice_attempts_finished_total', { pipeline: 'prices.daily_ohlcv', status: 'succeeded' })).toBe(2);
    expect(value(m, 'sluice_attempts_finished_total', { pipeline: 'prices.daily_ohlcv', status: 'failed' })).toBe(1);
    expect(value(m, 'sluice_attempts_finished_total', { pipeline: 'ops.fail', status: 'failed' })).toBe(1);
    expect(value(m, 'sluice_attempt_failures_total', { pipeline: 'ops.fail' })).toBe(1);
    expect(value(m, 'sluice_attempt_failures_total', { pipeline: 'prices.daily_ohlcv' })).toBe(1);
    expect(value(m, 'sluice_work_items', { pipeline: 'ops.fail', state: 'FAILED' })).toBe(1);
    expect(value(m, 'sluice_work_items', { pipeline: 'prices.daily_ohlcv', state: 'COMPLETE' })).toBe(2);

    const hist = m.get('sluice_attempt_duration_seconds')!;
    expect(hist.type).toBe('histogram');
    const series = hist.data as PromHistogramData[];
    const ok = series.find((s) => s.labels.pipeline === 'prices.daily_ohlcv' && s.labels.status === 'succeeded')!;
    expect(ok.count).toBe(2);
    expect(ok.sum).toBeGreaterThanOrEqual(0);
    expect(ok.buckets['+Inf']).toBe(2);
    expect(ok.buckets['60']).toBe(2);
    const failed = series.find((s) => s.labels.pipeline === 'ops.fail' && s.labels.status === 'failed')!;
    expect(failed.count).toBe(1);
    expect(value(m, 'sluice_worker_running_attempts')).toBe(0);
    // Nothing ready is overdue any more (the remaining PENDING item is an hour in the future).
    expect(value(m, 'sluice_queue_lag_seconds')).toBe(0);
  });

  it('reports schedule lateness from the last fired tick of each schedule', async () => {
    const scheduled = new Date(Date.now() - 10_000);
    await scheduler.fire('prices-close', new Date(scheduled.getTime() - 86_400_000), new Date(scheduled.getTime() - 86_400_000 + 500));
    await scheduler.fire('prices-close', scheduled, new Date(scheduled.getTime() + 2_500));
    scheduler.record('idle', { scheduled_at: scheduled.toISOString(), fired_at: null, outcome: 'skipped', detail: 'misfire' });
    await scheduler.start();
    const m = await scrape(h);
    expect(value(m, 'sluice_schedule_lateness_seconds', { schedule: 'prices-close' })).toBeCloseTo(2.5, 3);
    expect(value(m, 'sluice_schedule_lateness_seconds', { schedule: 'idle' })).toBeUndefined();
    expect(value(m, 'sluice_scheduler_running')).toBe(1);
    expect(value(m, 'sluice_scheduler_leader')).toBe(1);
  });

  it('includes process metrics and uses a registry per server (two servers do not collide)', async () => {
    const m = await scrape(h);
    expect(m.has('process_cpu_user_seconds_total')).toBe(true);
    expect(m.has('process_resident_memory_bytes')).toBe(true);
    expect(m.has('nodejs_heap_size_total_bytes')).toBe(true);
    const other = await startHarness();
    try {
      const m2 = await scrape(other);
      expect(value(m2, 'sluice_work_items', { pipeline: 'ops.noop', state: 'PENDING' })).toBe(0);
      expect(m2.has('sluice_attempts_started_total')).toBe(true);
      expect(m2.get('sluice_attempts_started_total')!.data).toHaveLength(0);
      expect(m2.has('sluice_schedule_lateness_seconds')).toBe(false);
    } finally {
      await other.close();
    }
    // The first server is unaffected.
    expect(value(await scrape(h), 'sluice_attempts_started_total', { pipeline: 'ops.noop' })).toBe(1);
  });

  it('reports the database as down (and still answers) when it cannot be read', async () => {
    const other = await startHarness();
    await other.app.store.close();
    try {
      const m = await scrape(other);
      expect(value(m, 'sluice_database_up')).toBe(0);
    } finally {
      await other.close();
    }
  });
});
