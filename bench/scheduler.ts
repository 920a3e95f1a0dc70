/**
 * Scheduler timeliness: S cron schedules on one scheduler, each firing once a minute at its
 * own second (`{i mod 60} * * * * *`, so S/60 ticks fall due every second), run for D
 * seconds against a real store. Lateness of a tick = the moment its `fireTicks` (tick rows
 * and enqueues of a pass, one transaction) has committed minus its scheduled instant; the target is
 * p99 <= 1 s at S = 10,000. The scheduler is the production one (`app.createScheduler`);
 * the bench only observes `fireTick`/`fireTicks` calls through a Proxy of the store.
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
  const app = await createApp({
    loaded: { config: parseConfigObject({ log_level: 'warn', schedules }), file: null, baseDir: dir },
    database,
    logLevel: 'silent',
  });
  const setupMs = performance.now() - t;
  const lateness: number[] = [];
  let notRecorded = 0;
  const observe = (tick: Parameters<Store['fireTick']>[0], recorded: boolean) => {
    if (tick.kind !== 'cron') return;
    if (recorded) lateness.push(Date.now() - tick.scheduledAt.getTime());
    else notRecorded++;
  };
  // The scheduler records a pass's due ticks in one `fireTicks` transaction (and falls back
  // to `fireTick` per tick); a tick's lateness is taken when its transaction has committed.
  const observed = new Proxy(app.store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'fireTick') {
        return async (...args: Parameters<Store['fireTick']>) => {
          const out = await (value as Store['fireTick']).apply(target, args);
          observe(args[0], out.recorded);
          return out;
        };
      }
      if (prop === 'fireTicks') {
        return async (...args: Parameters<Store['fireTicks']>) => {
          const out = await (value as Store['fireTicks']).apply(target, args);
          args[0].forEach((t, i) => observe(t.tick, out[i]!.recorded));
          return out;
        };
      }
      return value.bind(target);
    },
  }) as Store;
  const scheduler = app.createScheduler({ store: observed });
  try {
    t = performance.now();
    await scheduler.start();
    // Start-up, reported apart from lateness (which it is not hidden from: every tick due
    // after the scheduler was created counts): until its first pass over all schedules ends.
    let firstPassMs: number | null = null;
    while (scheduler.lastEvaluation === null && performance.now() - t < opts.seconds * 1000) await sleep(5);
    if (scheduler.lastEvaluation !== null) firstPassMs = performance.now() - t;
    await sleep(Math.max(0, opts.seconds * 1000 - (performance.now() - t)));
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
      first_pass_ms: firstPassMs === null ? null : round(firstPassMs, 0),
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
