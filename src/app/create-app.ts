import { parseDuration } from '../core/duration.js';
import { Worker, type WorkerOptions } from '../engine/worker.js';
import { createDataStore } from '../data/index.js';
import type { DataStore } from '../data/data-store.js';
import { Scheduler, type SchedulerOptions } from '../engine/scheduler/scheduler.js';
import { openApp, type AppCore, type AppOptions } from './open-app.js';

export { applyPipelineConfig, openApp, type AppCore, type AppOptions } from './open-app.js';

/** Everything one Sluice process needs, wired once: config, store, registry, logger, data
 * layer, and the factories of workers and schedulers. */
export interface SluiceApp extends AppCore {
  readonly data: DataStore;
  createWorker(overrides?: Partial<WorkerOptions>): Worker;
  createScheduler(overrides?: Partial<SchedulerOptions>): Scheduler;
}

export async function createApp(options: AppOptions = {}): Promise<SluiceApp> {
  const core = await openApp(options);
  const { config, store, registry, schedules } = core;
  const logger = core.logger;
  const data = createDataStore(store);
  const workerDefaults = (): WorkerOptions => ({
    store,
    data,
    registry,
    logger,
    concurrency: config.workers.concurrency,
    leaseMs: parseDuration(config.workers.lease),
    heartbeatMs: config.workers.heartbeat === undefined ? undefined : parseDuration(config.workers.heartbeat),
    pollMs: parseDuration(config.workers.poll_interval),
    shutdownGraceMs: parseDuration(config.workers.shutdown_grace),
    localQueue: config.workers.local_queue,
  });

  return {
    loaded: core.loaded,
    config,
    databaseUrl: core.databaseUrl,
    store,
    registry,
    logger,
    data,
    schedules,
    datasets: core.datasets,
    createWorker: (overrides = {}) => new Worker({ ...workerDefaults(), ...overrides }),
    createScheduler: (overrides = {}) =>
      new Scheduler({
        store,
        registry,
        schedules,
        logger,
        leaseMs: parseDuration(config.scheduler.lease),
        ...overrides,
      }),
    close: () => core.close(),
  };
}
