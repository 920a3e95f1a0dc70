/**
 * The same throughput and latency workloads on graphile-worker and pg-boss, against the same
 * PostgreSQL, with default settings except a silent logger (bench-protocol.md). Each peer
 * runs in its own throwaway schema.
 */
import { performance } from 'node:perf_hooks';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import PgBoss from 'pg-boss';
import pg from 'pg';
import { PG_URL, queueReport, scratchPgSchema, sleep } from './support.js';

export interface PeerOptions {
  jobs: number;
  concurrency: number;
  samples: number;
}

const silentGraphileLogger = new Logger(() => () => undefined);

export async function benchGraphileWorker(opts: PeerOptions): Promise<Record<string, unknown>> {
  const { schema, dispose } = await scratchPgSchema('gw_bench');
  const gwSchema = `${schema}_gw`;
  const utils = await makeWorkerUtils({ connectionString: PG_URL, schema: gwSchema, logger: silentGraphileLogger });
  await utils.migrate();
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  try {
    // Throughput: one batch call through graphile-worker's own add_jobs().
    const specs = Array.from({ length: opts.jobs }, (_, i) => ({ identifier: 'noop', payload: { n: i } }));
    const t0 = performance.now();
    await pool.query(`SELECT "${gwSchema}".add_jobs(array(SELECT json_populate_recordset(null::"${gwSchema}".job_spec, $1::json)))`, [JSON.stringify(specs)]);
    const enqueueMs = performance.now() - t0;

    let first = 0;
    let last = 0;
    let done = 0;
    const starts = new Map<number, number>();
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const runner = await run({
      connectionString: PG_URL,
      schema: gwSchema,
      concurrency: opts.concurrency,
      noHandleSignals: true,
      logger: silentGraphileLogger,
      taskList: {
        noop: async () => {
          if (!first) first = performance.now();
        },
        probe: async (payload) => {
          starts.set((payload as { n: number }).n, performance.now());
        },
      },
    });
    runner.events.on('job:complete', ({ job }) => {
      if (job.task_identifier !== 'noop') return;
      last = performance.now();
      if (++done === opts.jobs) resolveAll();
    });
    await all;

    // Latency on the idle, running worker.
    await sleep(200);
    const samples: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const t = performance.now();
      await utils.addJob('probe', { n: i });
      while (!starts.has(i)) await new Promise((r) => setImmediate(r));
      samples.push(starts.get(i)! - t);
      await sleep(2);
    }
    await runner.stop();
    return queueReport('graphile-worker', opts, enqueueMs, last - first, samples);
  } finally {
    await utils.release();
    await pool.query(`DROP SCHEMA IF EXISTS "${gwSchema}" CASCADE`).catch(() => undefined);
    await pool.end();
    await dispose();
  }
}

export async function benchPgBoss(opts: PeerOptions): Promise<Record<string, unknown>> {
  const { schema, dispose } = await scratchPgSchema('pgboss_bench');
  const bossSchema = `${schema}_boss`;
  const boss = new PgBoss({ connectionString: PG_URL, schema: bossSchema });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    await boss.createQueue('noop');
    await boss.createQueue('probe');
    const jobs = Array.from({ length: opts.jobs }, (_, i) => ({ name: 'noop', data: { n: i } }));
    const t0 = performance.now();
    await boss.insert(jobs);
    const enqueueMs = performance.now() - t0;

    let first = 0;
    let last = 0;
    let done = 0;
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    // Handlers take batches of 100 (pg-boss waits out its polling interval after every
    // fetch); C concurrent workers, as graphile-worker and Sluice get C slots.
    for (let w = 0; w < opts.concurrency; w++) {
      await boss.work('noop', { batchSize: 100 }, async (batch) => {
        if (!first) first = performance.now();
        last = performance.now();
        done += batch.length;
        if (done >= opts.jobs) setImmediate(resolveAll);
      });
    }
    await all;
    // pg-boss completes a batch after the handler resolves; let the last completion land.
    last = performance.now();

    const starts = new Map<number, number>();
    await boss.work('probe', async (batch) => {
      for (const j of batch) starts.set((j.data as { n: number }).n, performance.now());
    });
    await sleep(200);
    const samples: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const t = performance.now();
      await boss.send('probe', { n: i });
      while (!starts.has(i)) await sleep(1);
      samples.push(starts.get(i)! - t);
    }
    return queueReport('pg-boss', opts, enqueueMs, last - first, samples);
  } finally {
    await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${bossSchema}" CASCADE`).catch(() => undefined);
    await c.end();
    await dispose();
  }
}
