import path from 'node:path';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { PipelineDefinition } from '../core/pipeline.js';
import { resolveRetryPolicy } from '../core/retry-policy.js';
import { commandPipeline, opsPipelines } from '../domains/ops/index.js';
import { finraPipelines } from '../domains/finra/index.js';
import { pricesPipelines } from '../domains/prices/index.js';
import { fredPipelines } from '../domains/fred/index.js';
import { featuresPipelines } from '../domains/features/index.js';
import { checkDependencyGraph } from '../engine/dependencies.js';
import { PipelineRegistry } from '../engine/registry.js';
import { Worker, type WorkerOptions } from '../engine/worker.js';
import { loadConfig, resolveDatabaseUrl, type LoadedConfig } from '../config/load-config.js';
import type { SluiceConfig } from '../config/schema.js';
import { createLogger, type LogLevel } from '../log/logger.js';
import { openStore } from '../store/open-store.js';
import { createDataStore } from '../data/index.js';
import type { DataStore } from '../data/data-store.js';
import type { Store } from '../store/store.js';
import { compileSchedules, type CompiledSchedule } from '../engine/scheduler/compile-schedule.js';
import { Scheduler, type SchedulerOptions } from '../engine/scheduler/scheduler.js';
import type pino from 'pino';

export interface AppOptions {
  configPath?: string;
  /** `--db`: overrides the config's database (and SLUICE_DATABASE_URL). */
  database?: string;
  logLevel?: LogLevel;
  /** Extra pipelines (library users, tests). */
  pipelines?: PipelineDefinition[];
  /** Use an already loaded config instead of reading a file. */
  loaded?: LoadedConfig;
}

/** Everything one Sluice process needs, wired once: config, store, registry, logger. */
export interface SluiceApp {
  readonly loaded: LoadedConfig;
  readonly config: SluiceConfig;
  readonly databaseUrl: string;
  readonly store: Store;
  readonly registry: PipelineRegistry;
  readonly logger: pino.Logger;
  readonly data: DataStore;
  readonly schedules: readonly CompiledSchedule[];
  createWorker(overrides?: Partial<WorkerOptions>): Worker;
  createScheduler(overrides?: Partial<SchedulerOptions>): Scheduler;
  close(): Promise<void>;
}

export async function createApp(options: AppOptions = {}): Promise<SluiceApp> {
  const loaded = options.loaded ?? (await loadConfig(options.configPath));
  const { config } = loaded;
  const logger = createLogger(options.logLevel ?? (process.env.SLUICE_LOG_LEVEL as LogLevel | undefined) ?? config.log_level);
  const databaseUrl = resolveDatabaseUrl(loaded, options.database);
  // The registry is built (and the config's pipelines checked) before the database is
  // opened, so a bad config never creates or migrates a database file.
  const registry = new PipelineRegistry();
  const pendingStore: { store?: Store } = {};
  const storeProxy = lazyStore(pendingStore);
  for (const def of opsPipelines(storeProxy)) registry.register(def);
  for (const def of finraPipelines({ config, baseDir: loaded.baseDir })) registry.register(def);
  for (const def of pricesPipelines({ config, baseDir: loaded.baseDir })) registry.register(def);
  for (const def of fredPipelines({ config, baseDir: loaded.baseDir })) registry.register(def);
  for (const def of featuresPipelines({ config, baseDir: loaded.baseDir })) registry.register(def);
  for (const def of options.pipelines ?? []) registry.register(def);
  applyPipelineConfig(registry, loaded);
  checkDependencyGraph(registry);
  const schedules = compileSchedules(config, registry, loaded.file ?? undefined);

  const store = await openStore(databaseUrl);
  pendingStore.store = store;

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
  });

  return {
    loaded,
    config,
    databaseUrl,
    store,
    registry,
    logger,
    data,
    schedules,
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
    close: () => store.close(),
  };
}

/** Config `pipelines[]`: a `command` entry defines a new command pipeline; an entry without
 * one tunes a pipeline that code already registered (retry, timeout, concurrency). */
function applyPipelineConfig(registry: PipelineRegistry, loaded: LoadedConfig): void {
  loaded.config.pipelines.forEach((p, i) => {
    const field = `pipelines[${i}]`;
    const key = `${p.domain}.${p.name}`;
    const settings = {
      retry: p.retry ? resolveRetryPolicy(p.retry, undefined, `${field}.retry`) : undefined,
      timeoutMs: p.timeout === undefined ? undefined : parseDuration(p.timeout, `${field}.timeout`),
      concurrency: p.concurrency,
      priority: p.priority,
    };
    if (p.command) {
      const cwd = p.cwd ? path.resolve(loaded.baseDir, p.cwd) : loaded.baseDir;
      registry.register(
        commandPipeline({ domain: p.domain, name: p.name, description: p.description, argv: p.command, cwd, env: p.env, partition: p.partition, params: p.params }),
        settings,
      );
    } else if (registry.has(key)) {
      registry.configure(key, settings);
    } else {
      throw new ValidationError(`${field}.command`, undefined, `be given: "${key}" is not a built-in pipeline, so the config must say what to run`, loaded.file ?? undefined);
    }
  });
}

/** Lets built-in pipelines hold the store before it is opened (it is opened after the
 * config has been validated). */
function lazyStore(holder: { store?: Store }): Store {
  return new Proxy({} as Store, {
    get(_target, prop) {
      if (!holder.store) throw new Error('store used before it was opened');
      const value = (holder.store as unknown as Record<string | symbol, unknown>)[prop];
      return typeof value === 'function' ? value.bind(holder.store) : value;
    },
  });
}
