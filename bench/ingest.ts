/**
 * The ingest workload from shared/bench-protocol.md: a FINRA-format weekly file of R rows
 * (generated, deterministic, written to disk), then timed end to end as the ingest pipeline
 * does it: a streamed SHA-256 pass (the content hash decides skip-when-unchanged before any
 * row is read), then the streaming parser feeding `land()` chunk by chunk inside one capture
 * transaction. Peak RSS is the process high-water mark up to the end of the landing. In the
 * same run, the same rows are bulk-loaded into an unindexed table as the baseline:
 *   SQLite      one prepared INSERT, one transaction
 *   PostgreSQL  COPY … FROM STDIN through pg-copy-streams (text format)
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { filePieces, hashFile } from '../src/connectors/file-pieces.js';
import type { Database as DB } from 'better-sqlite3';
import { createDataStore } from '../src/data/index.js';
import { quoteIdent, type ColumnType } from '../src/data/dataset.js';
import { HEADER } from '../src/domains/finra/constants.js';
import { rawWeekly } from '../src/domains/finra/datasets.js';
import { FinraStreamParser, parseFinraFile, type RawRow } from '../src/domains/finra/parse.js';
import { PostgresStore } from '../src/store/postgres/pg-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { PG_URL, loadAverage, pgSchemaMib, round, rssSampler, scratchPgSchema, scratchSqlite, sqliteFileMib } from './support.js';

export interface IngestBenchOptions {
  backend: 'sqlite' | 'postgres';
  rows: number;
}

const WEEK = '2025-12-19';
const TIER = 'NMS_TIER_1' as const;
const MPIDS = 500;

/** Writes `rows` data lines (plus the header) without holding the file in memory. Every
 * (symbol, MPID) pair is distinct, so every line is a valid row. */
export function writeFinraFile(file: string, rows: number): number {
  const fd = openSync(file, 'w');
  let bytes = 0;
  const put = (text: string) => {
    bytes += writeSync(fd, text);
  };
  try {
    put(`${HEADER.join('|')}\n`);
    let seed = 42;
    const mpid = (m: number) => (46_656 + m * 1_301).toString(36).toUpperCase(); // 4 characters
    let chunk: string[] = [];
    for (let i = 0; i < rows; i++) {
      const s = Math.floor(i / MPIDS);
      const m = i % MPIDS;
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      const shares = (seed % 5_000_000) + 100;
      const trades = Math.floor(shares / 250) + 1;
      chunk.push(`NMS Tier 1|S${s.toString(36).toUpperCase()}|Issue ${s} Inc. Common Stock|Participant ${m} LLC|${mpid(m)}|${shares}|${trades}|2025-12-22`);
      if (chunk.length === 10_000) {
        put(`${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length) put(`${chunk.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

const COLUMNS = rawWeekly.columns.map((c) => c.name) as (keyof RawRow)[];
const PG_TYPES: Record<ColumnType, string> = { text: 'text', integer: 'bigint', real: 'double precision', date: 'date', boolean: 'boolean' };

function baselineDdl(table: string, pgTypes: boolean): string {
  return `CREATE TABLE ${table} (${rawWeekly.columns.map((c) => `${quoteIdent(c.name)} ${pgTypes ? PG_TYPES[c.type] : c.type === 'integer' ? 'INTEGER' : 'TEXT'}`).join(', ')})`;
}

function sqliteBaseline(db: DB, rows: readonly RawRow[]): number {
  db.exec('DROP TABLE IF EXISTS bench_bulk');
  db.exec(baselineDdl('bench_bulk', false));
  const insert = db.prepare(`INSERT INTO bench_bulk VALUES (${COLUMNS.map(() => '?').join(', ')})`);
  const t0 = performance.now();
  db.transaction(() => {
    for (const r of rows) insert.run(COLUMNS.map((c) => r[c]));
  })();
  return performance.now() - t0;
}

const copyText = (v: unknown) =>
  v === null || v === undefined ? '\\N' : String(v).replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);

/** COPY … FROM STDIN (pg-copy-streams, text format) of the same rows into an unindexed table. */
async function pgCopyBaseline(schema: string, rows: readonly RawRow[]): Promise<number> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const table = `${quoteIdent(schema)}.bench_copy`;
  try {
    await client.query(baselineDdl(table, true));
    const t0 = performance.now();
    const stream = client.query(copyFrom(`COPY ${table} FROM STDIN`));
    const done = new Promise<void>((resolve, reject) => stream.on('finish', resolve).on('error', reject));
    for (let start = 0; start < rows.length; start += 10_000) {
      let text = '';
      for (let i = start; i < Math.min(rows.length, start + 10_000); i++) text += `${COLUMNS.map((c) => copyText(rows[i]![c])).join('\t')}\n`;
      if (!stream.write(text)) await new Promise((r) => stream.once('drain', r));
    }
    stream.end();
    await done;
    const ms = performance.now() - t0;
    const { rows: n } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    if (n[0]!.n !== rows.length) throw new Error(`COPY loaded ${n[0]!.n} rows, expected ${rows.length}`);
    return ms;
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await client.end();
  }
}

export async function benchIngest(opts: IngestBenchOptions): Promise<Record<string, unknown>> {
  const load = loadAverage();
  const sqlite = opts.backend === 'sqlite' ? scratchSqlite() : null;
  const scratchPg = opts.backend === 'postgres' ? await scratchPgSchema('sluice_ingest') : null;
  const workDir = sqlite ? path.dirname(sqlite.path) : mkdtempSync(path.join(tmpdir(), 'sluice-ingest-'));
  const store: Store = sqlite ? new SqliteStore({ path: sqlite.path }) : new PostgresStore({ connectionString: PG_URL, schema: scratchPg!.schema });
  await store.migrate();
  try {
    const data = createDataStore(store);
    await data.ensureDataset(rawWeekly);

    const file = path.join(workDir, `finra_otc_weekly_tier1_${WEEK.replaceAll('-', '')}.csv`);
    let t = performance.now();
    const fileBytes = writeFinraFile(file, opts.rows);
    const generateMs = performance.now() - t;

    // What the process holds before the timed part (node, tsx, the store): the floor of peak RSS.
    const rssBeforeMib = round(process.memoryUsage().rss / 2 ** 20, 0);
    const rss = rssSampler();
    t = performance.now();
    const hash = hashFile(file);
    const hashMs = performance.now() - t;
    const parser = new FinraStreamParser(filePieces(file), { uri: file, weekEnding: WEEK, tier: TIER, sizeBytes: statSync(file).size });
    const landed = await data.land(rawWeekly, {
      partition: { week_ending: WEEK, tier: TIER },
      stage: 'ingest',
      contentHash: hash,
      rows: { chunks: parser.valueChunks(), rejects: () => parser.rejects, uniqueKeys: true },
      source: file,
      checks: [{ check: 'row_count_drop', threshold: 0.5 }],
    });
    const ingestMs = performance.now() - t;
    const memory = rss.stop();
    if (landed.status !== 'landed' || landed.row_count !== opts.rows || parser.rejects.length !== 0)
      throw new Error(`land: ${landed.status}, ${landed.row_count} rows, ${parser.rejects.length} rejects`);
    const dbMib = sqlite ? sqliteFileMib(sqlite.path, (store as SqliteStore).database) : await pgSchemaMib(scratchPg!.schema);

    // The baseline loads rows already parsed (untimed), so it measures the database alone.
    const rows = parseFinraFile(readFileSync(file), { uri: file, weekEnding: WEEK, tier: TIER }).rows;
    let baselineMs: number;
    let method: string;
    if (sqlite) {
      baselineMs = sqliteBaseline((store as SqliteStore).database, rows);
      method = 'sqlite: one prepared INSERT, one transaction, unindexed table';
    } else {
      baselineMs = await pgCopyBaseline(scratchPg!.schema, rows);
      method = 'postgres: COPY FROM STDIN (pg-copy-streams, text format), unindexed table';
    }

    const perS = (ms: number) => round(opts.rows / (ms / 1000), 0);
    const rowsPerS = perS(ingestMs);
    const baselinePerS = perS(baselineMs);
    return {
      system: `sluice-${opts.backend}`,
      workload: 'ingest',
      rows: opts.rows,
      file_mib: round(fileBytes / 2 ** 20, 1),
      generate_s: round(generateMs / 1000, 2),
      hash_s: round(hashMs / 1000, 2),
      ingest_s: round(ingestMs / 1000, 2),
      rows_per_s: rowsPerS,
      baseline_rows_per_s: baselinePerS,
      baseline_method: method,
      vs_baseline: round(rowsPerS / baselinePerS, 3),
      rows_written: landed.rows_written,
      db_mib: dbMib,
      ...memory,
      rss_before_mib: rssBeforeMib,
      load_avg_start: load,
      load_avg_end: loadAverage(),
    };
  } finally {
    await store.close();
    sqlite?.dispose();
    await scratchPg?.dispose();
    if (!sqlite) rmSync(workDir, { recursive: true, force: true });
  }
}
