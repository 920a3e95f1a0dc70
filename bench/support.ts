/** Small helpers shared by the benchmarks: percentiles, timing, temp databases. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
