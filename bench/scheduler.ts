/**
 * Scheduler timeliness: S cron schedules on one scheduler, each firing once a minute at its
 * own second (`{i mod 60} * * * * *`, so S/60 ticks fall due every second), run for D
 * seconds against a real store. Lateness of a tick = the moment its `fireTick` (tick row
 * and enqueue, one transaction) has committed minus its scheduled instant; the target is
 * p99 <= 1 s at S = 10,000. The scheduler is the production one (`app.createScheduler`);
 * the bench only observes `fireTick` calls through a Proxy of the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app/create-app.js';
import { parseConfigObject } from '../src/config/load-config.js';
import type { Store } from '../src/store/store.js';
import { loadAverage, percentile, pgUrlWithSchema, round, scratchPgSchema, sleep } from './support.js';

export interface SchedulerBenchOptions {
  backend: 'sqlite' | 'postgres';
  schedules: number;
  seconds: number;
}

export async function benchScheduler(opts: SchedulerBenchOptions): Promise<Record<string, unknown>> {
  const load = loadAverage();
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-sched-'));
  const scratchPg = opts.backend === 'postgres' ? await scratchPgSchema('sluice_sched') : null;
  const database = scratchPg ? pgUrlWithSchema(scratchPg.schema) : `sqlite:${path.join(dir, 'sluice.db')}`;
  const schedules = Array.from({ length: opts.schedules }, (_, i) => ({
    name: `s${i}`,
    pipeline: 'ops.noop',
    cron: `${i % 60} * * * * *`,
    timezone: 'UTC',
    partitions: { s: String(i) },
    overlap: 'allow',
  }));
  let t = performance.now();
  const app = await createApp({ loaded: { config: parseConfigObject({ log_level: 'warn', schedules }), file: null, baseDir: dir }, database, logLevel: 'silent' });
  const setupMs = performance.now() - t;
  const lateness: number[] = [];
  let notRecorded = 0;
  const observed = new Proxy(app.store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'fireTick' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<Store['fireTick']>) => {
        const out = await (value as Store['fireTick']).apply(target, args);
        if (args[0].kind === 'cron') {
          if (out.recorded) lateness.push(Date.now() - args[0].scheduledAt.getTime());
          else notRecorded++;
        }
        return out;
      };
    },
  }) as Store;
  const scheduler = app.createScheduler({ store: observed });
  try {
    t = performance.now();
    await scheduler.start();
    await sleep(opts.seconds * 1000);
    await scheduler.stop();
    const ranMs = performance.now() - t;
    lateness.sort((a, b) => a - b);
    // Ticks that fell due while it ran (each schedule once a minute at its second).
    const expected = Math.floor((opts.schedules * Math.min(60, Math.floor(ranMs / 1000))) / 60);
    return {
      system: `sluice-${opts.backend}`,
      workload: 'scheduler',
      schedules: opts.schedules,
      seconds: round(ranMs / 1000, 1),
      setup_s: round(setupMs / 1000, 2),
      ticks: lateness.length,
      ticks_expected_about: expected,
      ticks_per_s: round(lateness.length / (ranMs / 1000), 1),
      lateness_ms_p50: lateness.length ? round(percentile(lateness, 50), 0) : null,
      lateness_ms_p99: lateness.length ? round(percentile(lateness, 99), 0) : null,
      lateness_ms_max: lateness.length ? lateness[lateness.length - 1] : null,
      not_recorded: notRecorded,
      load_avg_start: load,
      load_avg_end: loadAverage(),
    };
  } finally {
    await scheduler.stop().catch(() => undefined);
    await app.close();
    await scratchPg?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
