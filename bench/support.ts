/** Small helpers shared by the benchmarks: percentiles, timing, temp databases. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const PG_URL = process.env.SLUICE_BENCH_PG_URL ?? process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A scratch SQLite path, removed on dispose. */
export function scratchSqlite(): { url: string; path: string; dispose: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-'));
  const file = path.join(dir, 'bench.db');
  return { url: `sqlite:${file}`, path: file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A scratch PostgreSQL schema, dropped on dispose. */
export async function scratchPgSchema(prefix: string): Promise<{ schema: string; dispose: () => Promise<void> }> {
  const schema = `${prefix}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return {
    schema,
    dispose: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** 1, 5 and 15 minute load averages, for the record next to the figures. */
export function loadAverage(): number[] {
  return os.loadavg().map((n) => round(n, 2));
}

/**
 * Peak resident set size: the kernel's high-water mark for the process (`maxRSS`), and the
 * highest of periodic samples of `rss` (the samples miss peaks inside long synchronous
 * stretches, which `maxRSS` does not).
 */
export function rssSampler(everyMs = 50): { sample: () => void; stop: () => { peak_rss_mib: number; sampled_peak_rss_mib: number } } {
  let peak = process.memoryUsage().rss;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    sample,
    stop: () => {
      clearInterval(timer);
      sample();
      return { peak_rss_mib: round((process.resourceUsage().maxRSS * 1024) / 2 ** 20, 0), sampled_peak_rss_mib: round(peak / 2 ** 20, 0) };
    },
  };
}

/** Size of a SQLite database file plus its WAL, in MiB (0 for missing files). Pass the open
 * connection to checkpoint first, so a large transaction's WAL is not counted twice. */
export function sqliteFileMib(file: string, db?: { pragma(source: string): unknown }): number {
  db?.pragma('wal_checkpoint(TRUNCATE)');
  let bytes = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      bytes += statSync(f).size;
    } catch {
      /* not there */
    }
  }
  return round(bytes / 2 ** 20, 1);
}

/** Total size (tables with their indexes and TOAST) of one PostgreSQL schema, in MiB. */
export async function pgSchemaMib(schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string | null }>(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
      [schema],
    );
    return round(Number(rows[0]?.bytes ?? 0) / 2 ** 20, 1);
  } finally {
    await client.end();
  }
}

/** `postgres://…` with `?schema=NAME` added, the form `openStore` takes. */
export function pgUrlWithSchema(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** The protocol's queue report (bench-protocol.md) from one throughput run and latency samples. */
export function queueReport(
  system: string,
  opts: { jobs: number; concurrency: number },
  enqueueMs: number,
  drainMs: number,
  samples: number[],
): Record<string, unknown> {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    system,
    jobs: opts.jobs,
    concurrency: opts.concurrency,
    enqueue_per_s: round(opts.jobs / (enqueueMs / 1000), 0),
    processed_per_s: round(opts.jobs / (drainMs / 1000), 0),
    latency_ms_p50: round(percentile(sorted, 50), 2),
    latency_ms_p99: round(percentile(sorted, 99), 2),
  };
}
