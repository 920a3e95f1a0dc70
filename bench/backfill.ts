/**
 * The backfill workload from shared/bench-protocol.md: a P-partition backfill of ops.noop
 * (`--partition-range n=1..P`) enqueued through `runBackfill`, exactly as `sluice backfill`
 * does; then the real HTTP server (`buildServer` on 127.0.0.1:0) answers the dashboard's
 * partition grid, `GET /api/v1/grid/ops.noop` with its default paging, at that size; and
 * the database size.
 *
 * Baselines measured in the same run:
 *   enqueue  the same P rows (every work_items column, same values) bulk-loaded into an
 *            unindexed copy of work_items with no events: SQLite one prepared INSERT in one
 *            transaction, PostgreSQL INSERT … SELECT FROM unnest(arrays) in 50k-row
 *            statements (no COPY client library is installed; `baseline_method` says so)
 *   grid     `GET /healthz` on the same server (the HTTP round trip itself)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { createApp, type SluiceApp } from '../src/app/create-app.js';
import { buildServer } from '../src/api/server.js';
import { parseConfigObject } from '../src/config/load-config.js';
import { partitionKey } from '../src/core/partition.js';
import { chunksInFlight, runBackfill, BACKFILL_DEFAULT_PRIORITY } from '../src/engine/backfill.js';
import { quoteIdent } from '../src/store/postgres/migrations.js';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { PG_URL, loadAverage, percentile, pgSchemaMib, pgUrlWithSchema, round, rssSampler, scratchPgSchema, sqliteFileMib } from './support.js';

export interface BackfillBenchOptions {
  backend: 'sqlite' | 'postgres';
  partitions: number;
  /** Chunks written at once (runBackfill's default when absent). */
  inFlight?: number;
}

const BACKOFF = JSON.stringify({ baseDelayMs: 1_000, factor: 2, maxDelayMs: 60_000, jitter: 0 });

/** The backfill's rows, as columns, outside the timed part. */
function baselineColumns(p: number) {
  const keys: string[] = new Array(p);
  const partitions: string[] = new Array(p);
  for (let i = 0; i < p; i++) {
    const partition = { n: String(i + 1) };
    keys[i] = partitionKey(partition);
    partitions[i] = JSON.stringify(partition);
  }
  return { keys, partitions };
}

function sqliteBaseline(app: SluiceApp, p: number): number {
  const db = (app.store as SqliteStore).database;
  db.exec('DROP TABLE IF EXISTS bench_items; CREATE TABLE bench_items AS SELECT * FROM work_items WHERE 0');
  const { keys, partitions } = baselineColumns(p);
  const insert = db.prepare(
    `INSERT INTO bench_items (id, domain, pipeline, partition_key, partition, params, state, priority, desired_at, attempts, total_attempts,
                              max_attempts, backoff, created_at, updated_at)
     VALUES (?, 'ops', 'noop', ?, ?, '{}', 'PENDING', ?, ?, 0, 0, 3, ?, ?, ?)`,
  );
  const now = Date.now();
  const t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < p; i++) insert.run(i + 1, keys[i], partitions[i], BACKFILL_DEFAULT_PRIORITY, now, BACKOFF, now, now);
  })();
  const ms = performance.now() - t0;
  db.exec('DROP TABLE bench_items');
  return ms;
}

async function pgBaseline(schema: string, p: number): Promise<number> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const q = quoteIdent(schema, 'schema name');
  try {
    await client.query(`CREATE TABLE ${q}.bench_items (LIKE ${q}.work_items)`);
    const { keys, partitions } = baselineColumns(p);
    const CHUNK = 50_000;
    const t0 = performance.now();
    await client.query('BEGIN');
    for (let start = 0; start < p; start += CHUNK) {
      const end = Math.min(p, start + CHUNK);
      await client.query(
        `INSERT INTO ${q}.bench_items (id, domain, pipeline, partition_key, partition, params, state, priority, desired_at, attempts,
                                       total_attempts, max_attempts, backoff, created_at, updated_at)
         SELECT t.id, 'ops', 'noop', t.k, t.p::jsonb, '{}', 'PENDING', $4, now(), 0, 0, 3, $5::jsonb, now(), now()
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(id, k, p)`,
        [
          Array.from({ length: end - start }, (_, i) => start + i + 1),
          keys.slice(start, end),
          partitions.slice(start, end),
          BACKFILL_DEFAULT_PRIORITY,
          BACKOFF,
        ],
      );
    }
    await client.query('COMMIT');
    return performance.now() - t0;
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${q}.bench_items`).catch(() => undefined);
    await client.end();
  }
}

async function timeGet(base: string, url: string): Promise<{ ms: number; status: number; body: string }> {
  const t0 = performance.now();
  const res = await fetch(`${base}${url}`);
  const body = await res.text();
  return { ms: performance.now() - t0, status: res.status, body };
}

export async function benchBackfill(opts: BackfillBenchOptions): Promise<Record<string, unknown>> {
  const load = loadAverage();
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-backfill-'));
  const sqlitePath = path.join(dir, 'sluice.db');
  const scratchPg = opts.backend === 'postgres' ? await scratchPgSchema('sluice_backfill') : null;
  const database = scratchPg ? pgUrlWithSchema(scratchPg.schema) : `sqlite:${sqlitePath}`;
  const app = await createApp({ loaded: { config: parseConfigObject({ log_level: 'warn' }), file: null, baseDir: dir }, database, logLevel: 'silent' });
  let server: FastifyInstance | undefined;
  try {
    const rss = rssSampler();
    let t = performance.now();
    const result = await runBackfill(app.store, app.registry, { pipeline: 'ops.noop', partitionRange: `n=1..${opts.partitions}` }, undefined, undefined, {
      inFlight: opts.inFlight,
    });
    const enqueueMs = performance.now() - t;
    if (result.created !== opts.partitions) throw new Error(`backfill created ${result.created} items, expected ${opts.partitions}`);
    const dbMib = scratchPg ? await pgSchemaMib(scratchPg.schema) : sqliteFileMib(sqlitePath, (app.store as SqliteStore).database);
    const enqueueRss = rss.stop();

    server = await buildServer({ app, apiToken: '' });
    const address = await server.listen({ host: '127.0.0.1', port: 0 });
    const health: number[] = [];
    for (let i = 0; i < 5; i++) health.push((await timeGet(address, '/healthz')).ms);
    const gridRss = rssSampler();
    const cold = await timeGet(address, '/api/v1/grid/ops.noop');
    if (cold.status !== 200) throw new Error(`GET /api/v1/grid/ops.noop: ${cold.status} ${cold.body.slice(0, 300)}`);
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push((await timeGet(address, '/api/v1/grid/ops.noop')).ms);
    const gridMemory = gridRss.stop();
    const grid = JSON.parse(cold.body) as { total_items: number; truncated: boolean; total_rows: number; total_columns: number; rows: string[] };
    if (grid.total_items !== opts.partitions && !grid.truncated) throw new Error(`grid shows ${grid.total_items} items, expected ${opts.partitions}`);

    t = performance.now();
    const baselineMs = scratchPg ? await pgBaseline(scratchPg.schema, opts.partitions) : sqliteBaseline(app, opts.partitions);
    const method = scratchPg
      ? 'postgres: INSERT … SELECT FROM unnest(arrays), 50k rows per statement, one transaction, into an unindexed copy of work_items, no events (no COPY client library installed)'
      : 'sqlite: one prepared INSERT, one transaction, into an unindexed copy of work_items, no events';

    health.sort((a, b) => a - b);
    warm.sort((a, b) => a - b);
    const healthMs = percentile(health, 50);
    const warmMs = percentile(warm, 50);
    return {
      system: `sluice-${opts.backend}`,
      workload: 'backfill',
      partitions: opts.partitions,
      in_flight: chunksInFlight(app.store, opts.inFlight),
      enqueue_s: round(enqueueMs / 1000, 2),
      enqueue_per_s: round(opts.partitions / (enqueueMs / 1000), 0),
      baseline_s: round(baselineMs / 1000, 2),
      baseline_per_s: round(opts.partitions / (baselineMs / 1000), 0),
      baseline_method: method,
      enqueue_vs_baseline: round(baselineMs / enqueueMs, 3),
      grid_cold_ms: round(cold.ms, 0),
      grid_warm_ms: round(warmMs, 1),
      grid_bytes: cold.body.length,
      grid_total_items: grid.total_items,
      grid_truncated: grid.truncated,
      grid_total_rows: grid.total_rows,
      healthz_ms: round(healthMs, 1),
      grid_cold_vs_healthz: round(cold.ms / healthMs, 0),
      grid_warm_vs_healthz: round(warmMs / healthMs, 1),
      db_mib: dbMib,
      db_bytes_per_partition: round((dbMib * 2 ** 20) / opts.partitions, 0),
      enqueue_peak_rss_mib: enqueueRss.peak_rss_mib,
      peak_rss_mib: gridMemory.peak_rss_mib,
      load_avg_start: load,
      load_avg_end: loadAverage(),
    };
  } finally {
    await server?.close();
    await app.close();
    await scratchPg?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
