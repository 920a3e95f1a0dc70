/**
 * Queue workloads from shared/bench-protocol.md, for Sluice on SQLite or PostgreSQL:
 *   throughput  N ops.noop items (distinct partitions) enqueued in one batch call, then
 *               drained by one worker with C slots; processed_per_s = N / (first handler
 *               start .. last completion)
 *   latency     S items enqueued one at a time on an idle, running worker; each sample is
 *               just-before-enqueue .. the handler's first line
 *   depth       the throughput run again with D extra PENDING items due in the far future
 */
import { performance } from 'node:perf_hooks';
import { definePipeline } from '../src/core/pipeline.js';
import { DEFAULT_RETRY_POLICY } from '../src/core/retry-policy.js';
import { noop } from '../src/domains/ops/noop.js';
import { PipelineRegistry } from '../src/engine/registry.js';
import { Worker } from '../src/engine/worker.js';
import { createLogger } from '../src/log/logger.js';
import { PostgresStore } from '../src/store/postgres/pg-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { EnqueueSpec, Store } from '../src/store/store.js';
import { PG_URL, percentile, round, scratchPgSchema, scratchSqlite, sleep } from './support.js';

export interface QueueBenchOptions {
  backend: 'sqlite' | 'postgres';
  jobs: number;
  concurrency: number;
  samples: number;
  /** Extra far-future PENDING items for the depth workload (0 = skip it). */
  depth: number;
  /** Items the worker claims ahead of free slots (`WorkerOptions.localQueue`). */
  localQueue: number;
}

const backoff = { baseDelayMs: DEFAULT_RETRY_POLICY.baseDelayMs, factor: 3, maxDelayMs: 60_000, jitter: 0.5 };

function spec(pipeline: string, partition: Record<string, string>, desiredAt?: Date): EnqueueSpec {
  return { domain: 'ops', pipeline, partition, maxAttempts: 3, backoff, desiredAt };
}

async function openStore(backend: QueueBenchOptions['backend']): Promise<{ store: Store; dispose: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const scratch = scratchSqlite();
    const store = new SqliteStore({ path: scratch.path });
    await store.migrate();
    return {
      store,
      dispose: async () => {
        await store.close();
        scratch.dispose();
      },
    };
  }
  const scratch = await scratchPgSchema('sluice_bench');
  const store = new PostgresStore({ connectionString: PG_URL, schema: scratch.schema });
  await store.migrate();
  return {
    store,
    dispose: async () => {
      await store.close();
      await scratch.dispose();
    },
  };
}

/** Handler-start timestamps for the latency probe, keyed by partition. */
const probeStarts = new Map<string, number>();
const probe = definePipeline({
  domain: 'ops',
  name: 'latency_probe',
  handler: (ctx) => {
    probeStarts.set(ctx.partition.n!, performance.now());
  },
});

async function throughput(store: Store, opts: QueueBenchOptions, label: string): Promise<{ enqueue_per_s: number; processed_per_s: number }> {
  const registry = new PipelineRegistry().register(noop).register(probe);
  const specs = Array.from({ length: opts.jobs }, (_, i) => spec('noop', { run: label, n: String(i) }));
  const t0 = performance.now();
  await store.enqueue(specs);
  const enqueueMs = performance.now() - t0;

  const worker = new Worker({
    store,
    registry,
    logger: createLogger('silent'),
    concurrency: opts.concurrency,
    leaseMs: 60_000,
    pollMs: 50,
    claimBatch: opts.concurrency,
    localQueue: opts.localQueue,
  });
  let first = 0;
  let last = 0;
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    worker.on('start', () => {
      if (!first) first = performance.now();
    });
    worker.on('finish', () => {
      last = performance.now();
      if (++done === opts.jobs) resolve();
    });
  });
  worker.start();
  await finished;
  await worker.stop();
  return { enqueue_per_s: round(opts.jobs / (enqueueMs / 1000), 0), processed_per_s: round(opts.jobs / ((last - first) / 1000), 0) };
}

async function latency(store: Store, opts: QueueBenchOptions): Promise<{ p50: number; p99: number }> {
  const registry = new PipelineRegistry().register(noop).register(probe);
  // One process may run several backends back to back (peers, smoke): start clean.
  probeStarts.clear();
  const worker = new Worker({
    store,
    registry,
    logger: createLogger('silent'),
    concurrency: opts.concurrency,
    leaseMs: 60_000,
    pollMs: 1_000,
    localQueue: opts.localQueue,
  });
  worker.start();
  await sleep(200); // idle and already running
  const samples: number[] = [];
  for (let i = 0; i < opts.samples; i++) {
    const key = `lat-${i}`;
    const t0 = performance.now();
    await store.enqueue([spec('latency_probe', { n: key })]);
    while (!probeStarts.has(key)) await new Promise((r) => setImmediate(r));
    samples.push(probeStarts.get(key)! - t0);
    await sleep(2);
  }
  await worker.stop();
  samples.sort((a, b) => a - b);
  return { p50: round(percentile(samples, 50), 2), p99: round(percentile(samples, 99), 2) };
}

export async function benchQueue(opts: QueueBenchOptions): Promise<Record<string, unknown>> {
  const { store, dispose } = await openStore(opts.backend);
  try {
    const t = await throughput(store, opts, 'a');
    const lat = await latency(store, opts);
    const out: Record<string, unknown> = {
      system: `sluice-${opts.backend}`,
      jobs: opts.jobs,
      concurrency: opts.concurrency,
      local_queue: opts.localQueue,
      enqueue_per_s: t.enqueue_per_s,
      processed_per_s: t.processed_per_s,
      latency_ms_p50: lat.p50,
      latency_ms_p99: lat.p99,
    };
    if (opts.depth > 0) {
      const far = new Date(Date.now() + 10 * 365 * 86_400_000);
      for (let i = 0; i < opts.depth; i += 10_000) {
        const n = Math.min(10_000, opts.depth - i);
        await store.enqueue(Array.from({ length: n }, (_, j) => spec('noop', { depth: String(i + j) }, far)));
      }
      const deep = await throughput(store, opts, 'b');
      out.depth = opts.depth;
      out.processed_per_s_with_depth = deep.processed_per_s;
      out.depth_ratio = round(deep.processed_per_s / t.processed_per_s, 2);
    }
    return out;
  } finally {
    await dispose();
  }
}
