import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { WORK_STATES } from '../core/states.js';
import type { Logger } from '../core/logger.js';
import type { AttemptOutcome, Worker } from '../engine/worker.js';
import type { ClaimedItem, Store } from '../store/store.js';
import type { PipelineRegistry } from '../engine/registry.js';
import { alertStoreFor } from '../store/alert-store.js';

/** The scheduler surface metrics read (a subset of the API's SchedulerPort). */
export interface SchedulerMetricsSource {
  status(): Promise<{ running: boolean; leader: boolean; schedules: number; last_tick_at: string | null }>;
  listSchedules(): Promise<Array<{ name: string; recent_ticks: Array<{ scheduled_at: string; fired_at: string | null }> }>>;
}

export interface MetricsOptions {
  store: Store;
  registry: PipelineRegistry;
  logger?: Logger;
  worker?: Worker;
  scheduler?: SchedulerMetricsSource;
  /** Collect Node.js process metrics (CPU, memory, event loop, GC). Default true. */
  processMetrics?: boolean;
}

export interface SluiceMetrics {
  readonly registry: Registry;
  /** Prometheus text exposition of every metric. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Stops listening to the worker. */
  detach(): void;
}

export const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * Prometheus metrics for one Sluice process, on a registry of its own (never prom-client's
 * global one, so several servers in one process — tests, embedding — do not collide).
 *
 * Gauges that describe the database (items by state, queue lag) are read at scrape time, so
 * every process serving /metrics reports the same shared queue; counters and the duration
 * histogram count what THIS process's worker did (sum them across processes).
 */
export function createMetrics(options: MetricsOptions): SluiceMetrics {
  const { store, registry: pipelines, worker, scheduler, logger } = options;
  const registry = new Registry();
  // prom-client runs every collect() of a scrape concurrently: gauges that share a source
  // share one read of it per scrape (render() starts a new scrape generation).
  let generation = 0;
  const perScrape = <T>(load: () => Promise<T>): (() => Promise<T>) => {
    let cached: { generation: number; value: Promise<T> } | null = null;
    return () => {
      if (!cached || cached.generation !== generation) {
        const value = load();
        value.catch(() => undefined);
        cached = { generation, value };
      }
      return cached.value;
    };
  };
  const counts = perScrape(() => store.countByState());

  new Gauge({
    name: 'sluice_work_items',
    help: 'Work items by pipeline (domain.name) and state, read from the database at scrape time',
    labelNames: ['pipeline', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const rows = await counts();
        const keys = new Set([...pipelines.keys(), ...rows.map((c) => `${c.domain}.${c.pipeline}`)]);
        for (const key of keys) for (const state of WORK_STATES) this.set({ pipeline: key, state }, 0);
        for (const c of rows) this.inc({ pipeline: `${c.domain}.${c.pipeline}`, state: c.state }, c.count);
      } catch (err) {
        logger?.warn({ err }, 'metrics: could not count work items');
      }
    },
  });

  new Gauge({
    name: 'sluice_database_up',
    help: '1 when this scrape could read the database, else 0',
    registers: [registry],
    async collect() {
      try {
        await counts();
        this.set(1);
      } catch {
        this.set(0);
      }
    },
  });

  new Gauge({
    name: 'sluice_queue_lag_seconds',
    help: 'How long the oldest ready item (PENDING or due RETRY_WAIT) has been waiting past its desired_at; 0 when nothing is overdue',
    registers: [registry],
    async collect() {
      try {
        const next = await store.nextDesiredAt();
        this.set(next ? Math.max(0, (Date.now() - next.getTime()) / 1000) : 0);
      } catch (err) {
        logger?.warn({ err }, 'metrics: could not read queue lag');
      }
    },
  });

  const started = new Counter({
    name: 'sluice_attempts_started_total',
    help: 'Attempts started by this process',
    labelNames: ['pipeline'],
    registers: [registry],
  });
  const finished = new Counter({
    name: 'sluice_attempts_finished_total',
    help: 'Attempts finished by this process, by outcome (succeeded, failed, timed_out, cancelled, lost, interrupted)',
    labelNames: ['pipeline', 'status'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'sluice_attempt_failures_total',
    help: 'Attempts that failed or timed out in this process (retried or final)',
    labelNames: ['pipeline'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'sluice_attempt_duration_seconds',
    help: 'Attempt durations in this process, by pipeline and outcome',
    labelNames: ['pipeline', 'status'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  if (worker) {
    new Gauge({
      name: 'sluice_worker_running_attempts',
      help: 'Attempts running in this process now',
      registers: [registry],
      collect() {
        this.set(worker.runningCount);
      },
    });
  }

  if (scheduler) {
    const status = perScrape(() => scheduler.status());
    new Gauge({
      name: 'sluice_scheduler_running',
      help: '1 when the scheduler in this process is running',
      registers: [registry],
      async collect() {
        try {
          this.set((await status()).running ? 1 : 0);
        } catch (err) {
          logger?.warn({ err }, 'metrics: could not read the scheduler status');
        }
      },
    });
    new Gauge({
      name: 'sluice_scheduler_leader',
      help: '1 when this process holds the scheduler lock (fires ticks)',
      registers: [registry],
      async collect() {
        try {
          this.set((await status()).leader ? 1 : 0);
        } catch {
          /* reported by sluice_scheduler_running's collect */
        }
      },
    });
    new Gauge({
      name: 'sluice_schedule_lateness_seconds',
      help: 'fired_at - scheduled_at of the last fired tick of each schedule',
      labelNames: ['schedule'],
      registers: [registry],
      async collect() {
        this.reset();
        try {
          for (const s of await scheduler.listSchedules()) {
            const last = lastFiredTick(s.recent_ticks);
            if (last) this.set({ schedule: s.name }, Math.max(0, (Date.parse(last.fired_at) - Date.parse(last.scheduled_at)) / 1000));
          }
        } catch (err) {
          logger?.warn({ err }, 'metrics: could not read the schedules');
        }
      },
    });
  }

  // Freshness deadlines and the alert outbox, read at scrape time like the work item gauges.
  new Gauge({
    name: 'sluice_partition_deadlines',
    help: 'Partitions whose freshness deadline was decided, by pipeline (domain.name) and state (met, missed)',
    labelNames: ['pipeline', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const c of await alertStoreFor(store).countDeadlines()) this.set({ pipeline: `${c.domain}.${c.pipeline}`, state: c.state }, c.count);
      } catch (err) {
        logger?.warn({ err }, 'metrics: could not count deadlines');
      }
    },
  });
  new Gauge({
    name: 'sluice_alert_deliveries',
    help: 'Alert webhook deliveries by alert name and state (pending, delivered, rejected)',
    labelNames: ['alert', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const c of await alertStoreFor(store).countDeliveries()) this.set({ alert: c.alert, state: c.state }, c.count);
      } catch (err) {
        logger?.warn({ err }, 'metrics: could not count alert deliveries');
      }
    },
  });
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const onStart = (item: ClaimedItem) => started.inc({ pipeline: `${item.domain}.${item.pipeline}` });
  const onFinish = (outcome: AttemptOutcome) => {
    const pipeline = `${outcome.item.domain}.${outcome.item.pipeline}`;
    finished.inc({ pipeline, status: outcome.status });
    if (outcome.status === 'failed' || outcome.status === 'timed_out') failures.inc({ pipeline });
    durations.observe({ pipeline, status: outcome.status }, outcome.durationMs / 1000);
  };
  worker?.on('start', onStart);
  worker?.on('finish', onFinish);

  return {
    registry,
    contentType: registry.contentType,
    render: () => {
      generation++;
      return registry.metrics();
    },
    detach() {
      worker?.off('start', onStart);
      worker?.off('finish', onFinish);
    },
  };
}

/** The most recent tick that actually fired (ticks may be listed in either order). */
function lastFiredTick(ticks: ReadonlyArray<{ scheduled_at: string; fired_at: string | null }>): { scheduled_at: string; fired_at: string } | null {
  let best: { scheduled_at: string; fired_at: string } | null = null;
  for (const t of ticks) {
    if (t.fired_at === null || Number.isNaN(Date.parse(t.fired_at)) || Number.isNaN(Date.parse(t.scheduled_at))) continue;
    if (!best || Date.parse(t.scheduled_at) > Date.parse(best.scheduled_at)) best = { scheduled_at: t.scheduled_at, fired_at: t.fired_at };
  }
  return best;
}
