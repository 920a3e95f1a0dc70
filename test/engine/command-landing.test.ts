import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { enqueueWork } from '../../src/engine/enqueue.js';
import { backendsUnderTest, openTestDatabase, type TestDatabase } from '../helpers/backends.js';

/**
 * Command pipelines with depends_on and output, one body on both backends: real python3
 * children writing to SLUICE_OUTPUT, a real database, the worker's own drain.
 *
 * app.ingest (NDJSON) <- app.bars (CSV, depends_on app.ingest with auto): enqueueing the
 * upstream creates the downstream WAITING; it runs only once the upstream is COMPLETE.
 */
const INGEST_PY = `
import json, os, sys
src = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ingest-rows.ndjson')
with open(os.path.join(os.path.dirname(src), 'order.log'), 'a') as log:
    log.write('ingest ' + os.environ['SLUICE_PARTITION_DATE'] + '\\n')
assert os.environ['SLUICE_OUTPUT_FORMAT'] == 'ndjson'
with open(src) as f, open(os.environ['SLUICE_OUTPUT'], 'w') as out:
    out.write(f.read())
`;

const BARS_PY = `
import csv, os, sys
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'order.log'), 'a') as log:
    log.write('bars ' + os.environ['SLUICE_PARTITION_DATE'] + '\\n')
assert os.environ['SLUICE_OUTPUT_FORMAT'] == 'csv'
with open(os.path.join(here, 'bars-rows.csv')) as f, open(os.environ['SLUICE_OUTPUT'], 'w') as out:
    out.write(f.read())
`;

const DATE = '2026-01-05';
const ndjson = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function pipelinesConfig(dir: string) {
  writeFileSync(path.join(dir, 'ingest.py'), INGEST_PY);
  writeFileSync(path.join(dir, 'bars.py'), BARS_PY);
  return {
    workers: { poll_interval: '50ms', lease: '10s' },
    pipelines: [
      {
        domain: 'app',
        name: 'bars',
        command: ['python3', 'bars.py'],
        partition: { date: 'date' },
        // Listed before its upstream: references are checked once everything is registered.
        depends_on: [{ pipeline: 'app.ingest', auto: true }],
        retry: { max_attempts: 1 },
        output: {
          dataset: 'bars',
          format: 'csv',
          columns: { symbol: 'text', date: 'date', high: { type: 'real', required: true }, volume: 'integer' },
          primary_key: ['symbol', 'date'],
        },
      },
      {
        domain: 'app',
        name: 'ingest',
        command: ['python3', 'ingest.py'],
        partition: { date: 'date' },
        retry: { max_attempts: 1 },
        output: {
          dataset: 'quotes',
          columns: { symbol: 'text', date: 'date', close: { type: 'real', required: true } },
          primary_key: ['symbol', 'date'],
          checks: { min_rows: 1 },
        },
      },
    ],
  };
}

const dbs: TestDatabase[] = [];
const apps: SluiceApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const db of dbs.splice(0)) await db.dispose();
});

describe.each(backendsUnderTest())('command pipeline dependencies and landing (%s)', (backend) => {
  it('a depends_on naming an unknown pipeline is a config error with the path', async () => {
    const db = await openTestDatabase(backend);
    dbs.push(db);
    const configPath = db.writeConfig({ pipelines: [{ domain: 'app', name: 'x', command: ['true'], depends_on: ['app.nope'] }] });
    await expect(createApp({ configPath, database: db.url, logLevel: 'silent' })).rejects.toThrow(
      /pipelines\[0\]\.depends_on\[0\]: "app\.nope" is invalid: must name a registered pipeline/,
    );
  });

  it('two outputs of one domain sharing a stage with different datasets is a config error naming the path', async () => {
    const db = await openTestDatabase(backend);
    dbs.push(db);
    const out = (dataset: string) => ({ dataset, stage: 'raw', columns: { id: 'text' }, primary_key: ['id'] });
    const configPath = db.writeConfig({
      pipelines: [
        { domain: 'app', name: 'a', command: ['true'], output: out('one') },
        { domain: 'app', name: 'b', command: ['true'], output: out('two') },
      ],
    });
    await expect(createApp({ configPath, logLevel: 'silent' })).rejects.toThrow(
      /pipelines\[1\]\.output\.stage: "raw" is invalid: must be a stage no other output of domain app lands a different dataset in \(pipelines\[0\] lands one there\)/,
    );
  });

  it(
    'python scripts: the downstream waits, NDJSON and CSV land, unchanged is skipped, a change is a revision, bad rows land nothing',
    { timeout: 120_000 },
    async () => {
      const db = await openTestDatabase(backend);
      dbs.push(db);
      const write = (name: string, text: string) => writeFileSync(path.join(db.dir, name), text);
      write(
        'ingest-rows.ndjson',
        ndjson([
          { symbol: 'AAPL', date: DATE, close: 190.5 },
          { symbol: 'MSFT', date: DATE, close: 410.25 },
        ]),
      );
      write('bars-rows.csv', `symbol,date,high,volume\nAAPL,${DATE},191.2,1000\nMSFT,${DATE},412,2000\n`);
      const app = await createApp({ configPath: db.writeConfig(pipelinesConfig(db.dir)), logLevel: 'silent' });
      apps.push(app);
      const quotes = app.datasets.find((d) => d.name === 'quotes')!;
      const bars = app.datasets.find((d) => d.name === 'bars')!;
      const item = async (name: string) => (await app.store.findItem('app', name, `date=${DATE}`))!;
      const order = () => readFileSync(path.join(db.dir, 'order.log'), 'utf8').trim().split('\n');

      await enqueueWork(app.store, app.registry, [{ pipeline: 'app.ingest', partition: { date: DATE } }]);
      expect((await item('bars')).state).toBe('WAITING');
      expect((await app.store.listDependencies((await item('bars')).id)).map((d) => `${d.pipeline} ${d.state}`)).toEqual(['ingest PENDING']);

      // Both land in domain app, same partition: each output has its own stage (the dataset's
      // name), so the second landing is neither refused nor compared with the first's bytes.
      expect((await app.createWorker({ concurrency: 2 }).drain()).failed).toBe(0);
      expect((await item('ingest')).state).toBe('COMPLETE');
      expect((await item('bars')).state).toBe('COMPLETE');
      expect(order()).toEqual([`ingest ${DATE}`, `bars ${DATE}`]);
      const rowsOf = async (ds: typeof quotes) => (await app.data.latest(ds)).map((r) => Object.fromEntries(ds.columns.map((c) => [c.name, r[c.name]])));
      expect(await rowsOf(quotes)).toEqual([
        { symbol: 'AAPL', date: DATE, close: 190.5 },
        { symbol: 'MSFT', date: DATE, close: 410.25 },
      ]);
      expect(await rowsOf(bars)).toEqual([
        { symbol: 'AAPL', date: DATE, high: 191.2, volume: 1000 },
        { symbol: 'MSFT', date: DATE, high: 412, volume: 2000 },
      ]);
      const manifest = await app.data.manifest({ domain: 'app' });
      expect(manifest.map((m) => `${m.dataset} ${m.stage} ${m.partition_key} ${m.row_count}`).sort()).toEqual([
        `bars bars date=${DATE} 2`,
        `quotes quotes date=${DATE} 2`,
      ]);

      // Second run, same bytes: skipped as unchanged, nothing new captured.
      await app.store.rerun((await item('ingest')).id, 'test');
      expect((await app.createWorker().drain()).failed).toBe(0);
      const attempts = await app.store.listAttempts((await item('ingest')).id);
      expect(attempts.at(-1)?.result).toMatchObject({ status: 'skipped', skipped: true, exit_code: 0 });
      expect(await app.data.listCaptures({ domain: 'app', dataset: 'quotes' })).toHaveLength(1);

      // The script's output changes: a revision, with a summary against the prior capture;
      // the downstream of a restated upstream runs again.
      write(
        'ingest-rows.ndjson',
        ndjson([
          { symbol: 'AAPL', date: DATE, close: 191 },
          { symbol: 'MSFT', date: DATE, close: 410.25 },
          { symbol: 'NVDA', date: DATE, close: 140 },
        ]),
      );
      await app.store.rerun((await item('ingest')).id, 'test');
      expect((await app.createWorker().drain()).failed).toBe(0);
      const revised = (await app.store.listAttempts((await item('ingest')).id)).at(-1)?.result;
      expect(revised).toMatchObject({ status: 'landed', is_revision: true, row_count: 3 });
      expect(revised?.revision_summary).toEqual({ rows_added: 1, rows_removed: 0, rows_changed: 1 });
      expect((await rowsOf(quotes)).map((r) => `${r.symbol} ${r.close}`)).toEqual(['AAPL 191', 'MSFT 410.25', 'NVDA 140']);
      expect(order().filter((l) => l.startsWith('bars'))).toHaveLength(2);

      // Bad rows (CSV line 3, column high; NDJSON line 2, column close): the attempt fails
      // naming the file, line and column, and the prior capture stays latest.
      write('bars-rows.csv', `symbol,date,high,volume\nAAPL,${DATE},191.2,1000\nMSFT,${DATE},lots,2000\n`);
      await app.store.rerun((await item('bars')).id, 'test');
      expect((await app.createWorker().drain()).failed).toBe(1);
      const failedBars = await item('bars');
      expect(failedBars.state).toBe('FAILED');
      expect(failedBars.lastError).toMatch(/rows\.csv.*line 3\.high: "lots" is invalid: must be a finite number/);
      expect((await rowsOf(bars)).map((r) => r.high)).toEqual([191.2, 412]);
      // The refused file stays where the error says, for the script's author to look at.
      const kept = /SLUICE_OUTPUT (\S+) \(csv\)/.exec(failedBars.lastError ?? '')?.[1];
      expect(readFileSync(kept!, 'utf8')).toContain(`MSFT,${DATE},lots,2000`);
      rmSync(path.dirname(kept!), { recursive: true, force: true });

      write(
        'ingest-rows.ndjson',
        ndjson([
          { symbol: 'AAPL', date: DATE, close: 1 },
          { symbol: 'MSFT', date: DATE, close: 'n/a' },
        ]),
      );
      await app.store.rerun((await item('ingest')).id, 'test');
      expect((await app.createWorker().drain()).failed).toBe(1);
      expect((await item('ingest')).lastError).toMatch(/rows\.ndjson.*line 2\.close: "n\/a" is invalid: must be a finite number/);
      expect((await rowsOf(quotes)).map((r) => r.close)).toEqual([191, 410.25, 140]);
    },
  );
});

/** A script writing Parquet (here node with hyparquet-writer, as pyarrow or pandas would):
 * INT64 and DATE columns land as integers and dates; a row the dataset refuses names the
 * file, the row and the column. */
const WRITER_URL = pathToFileURL(createRequire(import.meta.url).resolve('hyparquet-writer')).href;
const PARQUET_JS = `
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
const { parquetWriteBuffer } = await import(${JSON.stringify(WRITER_URL)});
const rows = JSON.parse(readFileSync(new URL('./fx-rows.json', import.meta.url), 'utf8'));
// DATE (INT32 days) and INT64 as pyarrow writes them for datetime.date and int64 columns.
const schema = [
  { name: 'root', num_children: 4 },
  { name: 'pair', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'date', type: 'INT32', converted_type: 'DATE', repetition_type: 'REQUIRED' },
  { name: 'rate', type: 'DOUBLE', repetition_type: 'REQUIRED' },
  { name: 'ticks', type: 'INT64', repetition_type: 'REQUIRED' },
];
const columnData = [
  { name: 'pair', data: rows.map((r) => r.pair) },
  { name: 'date', data: rows.map((r) => new Date(r.date + 'T00:00:00Z')) },
  { name: 'rate', data: rows.map((r) => r.rate) },
  { name: 'ticks', data: rows.map((r) => BigInt(r.ticks)) },
];
writeFileSync(process.env.SLUICE_OUTPUT, new Uint8Array(parquetWriteBuffer({ columnData, schema })));
`;

describe.each(backendsUnderTest())('command pipeline Parquet output (%s)', (backend) => {
  it('Parquet rows land (INT64, DATE converted); unchanged is skipped; a null key names the file, row and column', { timeout: 120_000 }, async () => {
    const db = await openTestDatabase(backend);
    dbs.push(db);
    writeFileSync(path.join(db.dir, 'fx.mjs'), PARQUET_JS);
    const rows = (list: object[]) => writeFileSync(path.join(db.dir, 'fx-rows.json'), JSON.stringify(list));
    rows([
      { pair: 'EURUSD', date: DATE, rate: 1.0912, ticks: 12000 },
      { pair: 'USDJPY', date: DATE, rate: 157.25, ticks: 9000 },
    ]);
    const configPath = db.writeConfig({
      pipelines: [
        {
          domain: 'fx',
          name: 'rates',
          command: [process.execPath, 'fx.mjs'],
          partition: { date: 'date' },
          retry: { max_attempts: 1 },
          output: {
            dataset: 'rates',
            format: 'parquet',
            columns: { pair: 'text', date: 'date', rate: 'real', ticks: 'integer' },
            primary_key: ['pair', 'date'],
          },
        },
      ],
    });
    const app = await createApp({ configPath, logLevel: 'silent' });
    apps.push(app);
    const ds = app.datasets.find((d) => d.name === 'rates')!;
    await enqueueWork(app.store, app.registry, [{ pipeline: 'fx.rates', partition: { date: DATE } }]);
    const d1 = await app.createWorker().drain();
    if (d1.failed) console.log((await app.store.findItem('fx', 'rates', `date=${DATE}`))?.lastError);
    expect(d1.failed).toBe(0);
    const latest = async () => (await app.data.latest(ds)).map((r) => `${r.pair} ${r.date} ${r.rate} ${r.ticks}`);
    expect(await latest()).toEqual([`EURUSD ${DATE} 1.0912 12000`, `USDJPY ${DATE} 157.25 9000`]);
    const fx = (await app.store.findItem('fx', 'rates', `date=${DATE}`))!;

    await app.store.rerun(fx.id, 'test');
    expect((await app.createWorker().drain()).failed).toBe(0);
    expect((await app.store.listAttempts(fx.id)).at(-1)?.result).toMatchObject({ status: 'skipped', exit_code: 0 });

    rows([
      { pair: 'EURUSD', date: DATE, rate: 1.0915, ticks: 12001 },
      { pair: null, date: DATE, rate: 157.3, ticks: 9001 },
    ]);
    await app.store.rerun(fx.id, 'test');
    expect((await app.createWorker().drain()).failed).toBe(1);
    expect((await app.store.getItem(fx.id))!.lastError).toMatch(
      /SLUICE_OUTPUT \S+rows\.parquet \(parquet\): row 2\.pair: null is invalid: must be present: it is part of the primary key/,
    );
    expect(await latest()).toEqual([`EURUSD ${DATE} 1.0912 12000`, `USDJPY ${DATE} 157.25 9000`]);
  });
});
