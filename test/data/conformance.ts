/**
 * One conformance suite for the data layer, run against SQLite and PostgreSQL by
 * `sqlite-data-store.test.ts` and `pg-data-store.test.ts`. Every test uses its own domain,
 * so tests share one database (file or schema) without seeing each other's rows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { RejectThresholdError } from '../../src/data/reject-threshold.js';
import { partitionKey } from '../../src/core/partition.js';
import {
  RowValidationError,
  datasetTables,
  defineDataset,
  toRunAnomaly,
  type DataRow,
  type DataStore,
  type Dataset,
  type LandInput,
} from '../../src/data/index.js';
import { bigRows, bytesOf, symbolTotals, venueVolume, vv, type VV } from './fixtures/datasets.js';

export interface DataHarness {
  readonly backend: 'sqlite' | 'postgres';
  /** The DataStore under test, from `createDataStore(store)` on a real store. */
  data(): DataStore;
  /** A DataStore on a new store/connection to the same database (as after a restart). */
  reopen(): Promise<DataStore>;
  /** Where the crash child finds the database: `{backend, path}` or `{backend, url, schema}`. */
  childLocation(): Record<string, string>;
  /** Rows in a data-layer table (optionally of one capture), read on a separate connection. */
  count(table: string, captureId?: string): Promise<number>;
  /** Runs one statement on a separate connection; `q(name)` is a table's quoted (schema-qualified) name. */
  exec(statement: (q: (name: string) => string) => string): Promise<void>;
  close(): Promise<void>;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUN_TS = path.join(REPO_ROOT, 'bin', 'run-ts.js');
const CHILD = path.join(REPO_ROOT, 'test', 'data', 'fixtures', 'land-child.ts');

const T1 = { tier: 'NMS_TIER_1', week_ending: '2025-12-19' };
const T2 = { tier: 'NMS_TIER_2', week_ending: '2025-12-19' };
const OTC = { tier: 'OTC', week_ending: '2025-12-19' };
const at = (iso: string) => new Date(iso);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** `latest`/`asOf` rows without the two system columns, in read order. */
const plain = (rows: DataRow[]) => rows.map(({ partition_key: _p, capture_id: _c, ...rest }) => rest);
/** Expected rows in read order (partition_key, then key columns). */
const sorted = (rows: VV[]) => [...rows].sort((a, b) => (a.week_ending + a.symbol + a.mpid < b.week_ending + b.symbol + b.mpid ? -1 : 1));

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to throw');
}

export function dataStoreConformance(name: string, open: () => Promise<DataHarness>): void {
  describe(`data layer conformance: ${name}`, () => {
    let h: DataHarness;
    let data: DataStore;
    let n = 0;
    const children: ChildProcess[] = [];
    /** A domain of its own for each test. */
    const domain = () => `t${++n}.finra.otc`;
    const land = (ds: Dataset, rows: readonly object[], input: Partial<LandInput> & { capturedAt: Date }) =>
      data.land(ds, { partition: T1, stage: 'ingest', sourceBytes: bytesOf(rows), rows, ...input });

    beforeAll(async () => {
      h = await open();
      data = h.data();
      await data.ensureSchema();
    });
    afterEach(() => {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
    afterAll(async () => {
      await h?.close();
    });

    it('is the implementation for the store backend', () => {
      expect(data.backend).toBe(h.backend);
    });

    it('lands a first capture: typed rows, capture id, captures and manifest', async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const input = [
        // strings as a CSV parser gives them are coerced; hostile text is stored as a value
        {
          week_ending: '2025-12-19',
          symbol: 'AAPL',
          mpid: 'ABCD',
          issue_name: `O'Reilly"; DROP TABLE captures; --`,
          shares: '1200',
          trades: '7',
          share_pct: '0.5',
          is_ats: 'true',
        },
        { week_ending: '2025-12-19', symbol: 'MSFT', mpid: 'ABCD', issue_name: null, shares: 300, trades: null, share_pct: 0.125, is_ats: false },
        { week_ending: '2025-12-19', symbol: 'AAPL', mpid: 'WXYZ', issue_name: 'Apple', shares: 9_007_199_254_740_991, trades: 1, share_pct: 1e-9, is_ats: 0 },
      ];
      const bytes = bytesOf(input);
      const r = await data.land(ds, {
        partition: T1,
        stage: 'ingest',
        sourceBytes: bytes,
        rows: input,
        source: 'file:///finra/tier1_20251219.csv',
        capturedAt: at('2025-12-22T15:30:00Z'),
      });
      const pk = partitionKey(T1);
      expect(r).toMatchObject({
        status: 'landed',
        skipped: false,
        capture_id: `${dom}:NMS_TIER_1:2025-12-19:20251222`,
        partition_key: pk,
        stage: 'ingest',
        row_count: 3,
        is_revision: false,
        revision_summary: null,
        content_hash: sha256(bytes),
        rows_written: 3,
        anomalies: [],
      });
      const rows = await data.latest(ds);
      expect(rows).toEqual([
        {
          partition_key: pk,
          capture_id: r.capture_id,
          week_ending: '2025-12-19',
          symbol: 'AAPL',
          mpid: 'ABCD',
          issue_name: `O'Reilly"; DROP TABLE captures; --`,
          shares: 1200,
          trades: 7,
          share_pct: 0.5,
          is_ats: true,
        },
        {
          partition_key: pk,
          capture_id: r.capture_id,
          week_ending: '2025-12-19',
          symbol: 'AAPL',
          mpid: 'WXYZ',
          issue_name: 'Apple',
          shares: 9_007_199_254_740_991,
          trades: 1,
          share_pct: 1e-9,
          is_ats: false,
        },
        {
          partition_key: pk,
          capture_id: r.capture_id,
          week_ending: '2025-12-19',
          symbol: 'MSFT',
          mpid: 'ABCD',
          issue_name: null,
          shares: 300,
          trades: null,
          share_pct: 0.125,
          is_ats: false,
        },
      ]);
      const manifest = await data.manifest({ domain: dom });
      expect(manifest).toEqual([
        {
          domain: dom,
          partition_key: pk,
          stage: 'ingest',
          dataset: 'venue_volume',
          capture_id: r.capture_id,
          row_count: 3,
          content_hash: sha256(bytes),
          captured_at: at('2025-12-22T15:30:00Z'),
          updated_at: expect.any(Date),
        },
      ]);
      const captures = await data.listCaptures({ domain: dom });
      expect(captures).toHaveLength(1);
      expect(captures[0]).toMatchObject({
        capture_id: r.capture_id,
        dataset: 'venue_volume',
        status: 'landed',
        row_count: 3,
        source: 'file:///finra/tier1_20251219.csv',
        captured_at: at('2025-12-22T15:30:00Z'),
        is_revision: false,
        revision_summary: null,
        error: null,
      });
      expect(await h.count(datasetTables(ds).table, r.capture_id)).toBe(3);
      expect(await h.count(datasetTables(ds).staging)).toBe(0);
    });

    it('a dataset table of the first layout (capture id and partition key on every row) is converted on first use; reads are unchanged', async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const first = await land(ds, [vv('AAPL', 'ABCD', 100), vv('MSFT', 'ABCD', 200)], { capturedAt: at('2025-12-22T15:30:00Z') });
      const second = await land(ds, [vv('AAPL', 'ABCD', 150)], { capturedAt: at('2025-12-23T15:30:00Z') });
      const before = { latest: await data.latest(ds), first: await data.asOf(ds, { capture_id: first.capture_id }) };
      const { table, staging } = datasetTables(ds);
      // Rebuild the table as the first layout stored it: the capture's id and key texts per row.
      await h.exec(
        (q) =>
          `CREATE TABLE ${q(`${table}__v1`)} AS SELECT cap.capture_id, cap.partition_key, d.* FROM ${q(table)} AS d JOIN ${q('captures')} AS cap ON cap.seq = d.capture_seq`,
      );
      await h.exec((q) => `DROP TABLE ${q(table)}`);
      await h.exec((q) => `DROP TABLE ${q(staging)}`);
      await h.exec((q) => `ALTER TABLE ${q(`${table}__v1`)} RENAME TO "${table}"`);
      const reopened = await h.reopen();
      expect(await reopened.latest(ds)).toEqual(before.latest);
      expect(await reopened.asOf(ds, { capture_id: first.capture_id })).toEqual(before.first);
      expect(await h.count(table, second.capture_id)).toBe(1);
      const third = await reopened.land(ds, {
        partition: T1,
        stage: 'ingest',
        sourceBytes: 'third',
        rows: [vv('AAPL', 'ABCD', 175)],
        capturedAt: at('2025-12-24T15:30:00Z'),
      });
      expect(third.revision_summary).toEqual({ rows_added: 0, rows_removed: 0, rows_changed: 1 });
      expect(plain(await reopened.latest(ds))).toEqual([vv('AAPL', 'ABCD', 175)]);
    });

    it('re-running with identical bytes is skipped and writes nothing; force reuses the capture and changes no row', async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const v1 = [vv('AAPL', 'ABCD', 100), vv('MSFT', 'ABCD', 200)];
      const first = await land(ds, v1, { capturedAt: at('2025-12-22T15:00:00Z') });
      const snapshot = async () => ({
        captures: await data.listCaptures({ domain: dom }),
        manifest: await data.manifest({ domain: dom }),
        rows: await data.latest(ds),
        anomalies: await data.anomalies({ domain: dom }),
        stored: await h.count(datasetTables(ds).table),
      });
      const before = await snapshot();

      const again = await land(ds, v1, { capturedAt: at('2025-12-22T16:00:00Z') });
      expect(again).toMatchObject({ status: 'skipped', skipped: true, capture_id: first.capture_id, row_count: 2, rows_written: 0, is_revision: false });
      expect(again.reason).toMatch(/^unchanged/);
      // a later day with the same bytes is still unchanged: the hash decides, not the date
      const nextDay = await land(ds, v1, { capturedAt: at('2025-12-23T09:00:00Z') });
      expect(nextDay.status).toBe('skipped');
      expect(await snapshot()).toEqual(before);

      const forced = await land(ds, v1, { capturedAt: at('2025-12-22T17:00:00Z'), force: true });
      expect(forced).toMatchObject({ status: 'landed', capture_id: first.capture_id, row_count: 2, rows_written: 0, is_revision: false });
      const after = await snapshot();
      expect(after.rows).toEqual(before.rows);
      expect(after.stored).toBe(2);
      expect(after.captures.map((c) => c.capture_id)).toEqual([first.capture_id]);
      // the capture keeps its first captured_at (as-of reads stay stable)
      expect(after.captures[0]!.captured_at).toEqual(at('2025-12-22T15:00:00Z'));
      expect(after.manifest[0]!.capture_id).toBe(first.capture_id);
    });

    it("a forced re-run with the same bytes but re-parsed rows replaces that capture's rows atomically", async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const v1 = [vv('AAPL', 'ABCD', 100), vv('MSFT', 'ABCD', 200)];
      const first = await land(ds, v1, { capturedAt: at('2025-12-22T15:00:00Z') });
      // a parser fix: same source bytes (same hash), different rows
      const reparsed = [vv('AAPL', 'ABCD', 100), vv('NVDA', 'ABCD', 300)];
      const again = await data.land(ds, {
        partition: T1,
        stage: 'ingest',
        contentHash: first.content_hash,
        rows: reparsed,
        force: true,
        capturedAt: at('2025-12-22T16:00:00Z'),
      });
      expect(again).toMatchObject({ status: 'landed', capture_id: first.capture_id, row_count: 2, rows_written: 2, is_revision: false });
      expect(plain(await data.latest(ds))).toEqual(reparsed);
      expect(await h.count(datasetTables(ds).table)).toBe(2);
      expect(await h.count(datasetTables(ds).staging)).toBe(0);
      expect((await data.listCaptures({ domain: dom })).map((c) => c.capture_id)).toEqual([first.capture_id]);
      const mismatched = await caught(
        data.land(ds, {
          partition: T1,
          stage: 'ingest',
          sourceBytes: 'abc',
          contentHash: first.content_hash,
          rows: reparsed,
          capturedAt: at('2025-12-22T17:00:00Z'),
        }),
      );
      expect((mismatched as ValidationError).field).toBe('contentHash');
    });

    it('changed bytes land a new capture (revision); both are kept, latest reads the new one, as-of the old', async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const v1 = [vv('AAPL', 'ABCD', 100), vv('MSFT', 'ABCD', 200), vv('NVDA', 'ABCD', 300)];
      // AAPL changed, MSFT removed, NVDA unchanged, TSLA and AMZN added
      const v2 = [vv('AAPL', 'ABCD', 150), vv('NVDA', 'ABCD', 300), vv('TSLA', 'ABCD', 400), vv('AMZN', 'ABCD', 500)];
      const c1 = await land(ds, v1, { capturedAt: at('2025-12-22T15:00:00Z') });
      const c2 = await land(ds, v2, { capturedAt: at('2025-12-22T18:00:00Z') });
      expect(c2).toMatchObject({
        status: 'landed',
        capture_id: `${c1.capture_id}#2`,
        row_count: 4,
        is_revision: true,
        revision_summary: { rows_added: 2, rows_removed: 1, rows_changed: 1 },
        rows_written: 4,
      });

      const captures = await data.listCaptures({ domain: dom });
      expect(captures.map((c) => [c.capture_id, c.status, c.is_revision, c.row_count])).toEqual([
        [c1.capture_id, 'landed', false, 3],
        [c2.capture_id, 'landed', true, 4],
      ]);
      expect(captures[1]!.revision_summary).toEqual({ rows_added: 2, rows_removed: 1, rows_changed: 1 });
      expect(await h.count(datasetTables(ds).table, c1.capture_id)).toBe(3);
      expect(await h.count(datasetTables(ds).table, c2.capture_id)).toBe(4);

      expect(plain(await data.latest(ds))).toEqual(sorted(v2));
      expect((await data.latest(ds)).every((r) => r.capture_id === c2.capture_id)).toBe(true);
      expect(plain(await data.asOf(ds, { capture_id: c1.capture_id }))).toEqual(sorted(v1));
      expect(plain(await data.asOf(ds, { at: at('2025-12-22T17:59:59.999Z') }))).toEqual(sorted(v1));
      expect(plain(await data.asOf(ds, { at: at('2025-12-22T18:00:00Z') }))).toEqual(sorted(v2));
      expect(await data.asOf(ds, { at: at('2025-12-22T14:59:59Z') })).toEqual([]);
      expect(plain(await data.asOf(ds, { capture_id: c1.capture_id }, { symbol: 'MSFT' }))).toEqual([vv('MSFT', 'ABCD', 200)]);
      expect(await data.latest(ds, { where: { symbol: 'MSFT' } })).toEqual([]);
      expect((await data.manifest({ domain: dom }))[0]).toMatchObject({ capture_id: c2.capture_id, row_count: 4 });

      // the next day's bytes equal v1 again: a restatement back, compared with v2
      const c3 = await land(ds, v1, { capturedAt: at('2025-12-23T15:00:00Z') });
      expect(c3).toMatchObject({
        capture_id: `${dom}:NMS_TIER_1:2025-12-19:20251223`,
        is_revision: true,
        revision_summary: { rows_added: 1, rows_removed: 2, rows_changed: 1 },
      });
      expect(plain(await data.latest(ds))).toEqual(sorted(v1));
      expect(plain(await data.asOf(ds, { at: at('2025-12-22T23:00:00Z') }))).toEqual(sorted(v2));
      expect(await data.listCaptures({ domain: dom })).toHaveLength(3);
    });

    it('two stores landing different bytes of one partition at once get distinct capture ids', async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const other = await h.reopen();
      await other.ensureDataset(ds);
      const a = [vv('AAPL', 'ABCD', 1), vv('MSFT', 'ABCD', 2)];
      const b = [vv('AAPL', 'ABCD', 9), vv('MSFT', 'ABCD', 2)];
      const when = at('2025-12-22T15:00:00Z');
      const [ra, rb] = await Promise.all([
        data.land(ds, { partition: T1, stage: 'ingest', sourceBytes: bytesOf(a), rows: a, capturedAt: when }),
        other.land(ds, { partition: T1, stage: 'ingest', sourceBytes: bytesOf(b), rows: b, capturedAt: when }),
      ]);
      const base = `${dom}:NMS_TIER_1:2025-12-19:20251222`;
      expect([ra.capture_id, rb.capture_id].sort()).toEqual([base, `${base}#2`]);
      const [firstLanded, second] = ra.capture_id === base ? [ra, rb] : [rb, ra];
      expect(firstLanded.is_revision).toBe(false);
      expect(second).toMatchObject({ is_revision: true, revision_summary: { rows_added: 0, rows_removed: 0, rows_changed: 1 } });
      expect((await data.latest(ds)).map((r) => r.capture_id)).toEqual([second.capture_id, second.capture_id]);
      expect(await h.count(datasetTables(ds).table)).toBe(4);
    });

    it('keeps partitions apart; filters rows by column and partition', async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const t1 = [vv('AAPL', 'ABCD', 100), vv('MSFT', 'ABCD', 200)];
      const t2 = [vv('AAPL', 'QRST', 7)];
      await land(ds, t1, { capturedAt: at('2025-12-22T15:00:00Z') });
      const c2 = await land(ds, t2, { partition: T2, capturedAt: at('2025-12-22T15:01:00Z') });
      // each partition has its own history: T2's first capture is not a revision of T1
      expect(c2).toMatchObject({ capture_id: `${dom}:NMS_TIER_2:2025-12-19:20251222`, is_revision: false });
      const all = await data.latest(ds);
      expect(all.map((r) => [r.partition_key, r.symbol, r.mpid])).toEqual([
        [partitionKey(T1), 'AAPL', 'ABCD'],
        [partitionKey(T1), 'MSFT', 'ABCD'],
        [partitionKey(T2), 'AAPL', 'QRST'],
      ]);
      expect((await data.latest(ds, { where: { symbol: 'AAPL' } })).map((r) => r.mpid)).toEqual(['ABCD', 'QRST']);
      expect((await data.latest(ds, { where: { shares: '200' } })).map((r) => r.symbol)).toEqual(['MSFT']);
      expect((await data.latest(ds, { where: { is_ats: 'true', partition_key: partitionKey(T2) } })).map((r) => r.shares)).toEqual([7]);

      // a revision of T2 leaves T1 as it was
      await land(ds, [vv('AAPL', 'QRST', 8)], { partition: T2, capturedAt: at('2025-12-22T16:00:00Z') });
      expect(plain(await data.latest(ds, { where: { partition_key: partitionKey(T1) } }))).toEqual(t1);
      expect(plain(await data.latest(ds, { where: { partition_key: partitionKey(T2) } }))).toEqual([vv('AAPL', 'QRST', 8)]);

      const bad = await caught(data.latest(ds, { where: { bogus: 1 } }));
      expect(bad).toBeInstanceOf(ValidationError);
      expect((bad as ValidationError).field).toBe('where.bogus');
      const badType = await caught(data.latest(ds, { where: { shares: 'lots' } }));
      expect((badType as ValidationError).field).toBe('where.shares');
    });

    describe('bad input fails the capture, names row and column, leaves prior captures intact', () => {
      const cases: { title: string; rows: object[]; row: number; line: number | null; column: string; field: string; rule: RegExp }[] = [
        {
          title: 'a row missing its primary key',
          rows: [vv('AAPL', 'ABCD', 1), { ...vv('', 'ABCD', 2) }, vv('NVDA', 'ABCD', 3)],
          row: 2,
          line: null,
          column: 'symbol',
          field: 'row 2.symbol',
          rule: /primary key/,
        },
        {
          title: 'a duplicate primary key within one capture',
          rows: [vv('AAPL', 'ABCD', 1), vv('MSFT', 'ABCD', 2), vv('AAPL', 'ABCD', 3)],
          row: 3,
          line: null,
          column: 'week_ending,symbol,mpid',
          field: 'row 3.week_ending,symbol,mpid',
          rule: /unique within one capture .*row 1/,
        },
        {
          title: 'a type mismatch (source lines given)',
          rows: [
            { ...vv('AAPL', 'ABCD', 1), __line: 2 },
            { ...vv('MSFT', 'ABCD', 2), __line: 3 },
            { ...vv('NVDA', 'ABCD', 3), shares: '12x', __line: 5 },
          ],
          row: 3,
          line: 5,
          column: 'shares',
          field: 'line 5.shares',
          rule: /integer/,
        },
        {
          title: 'an impossible date',
          rows: [vv('AAPL', 'ABCD', 1, { week_ending: '2025-02-30' })],
          row: 1,
          line: null,
          column: 'week_ending',
          field: 'row 1.week_ending',
          rule: /YYYY-MM-DD/,
        },
      ];
      for (const tc of cases) {
        it(tc.title, async () => {
          const dom = domain();
          const ds = venueVolume(dom);
          const v1 = [vv('AAPL', 'ABCD', 100), vv('MSFT', 'ABCD', 200)];
          const good = await land(ds, v1, { capturedAt: at('2025-12-22T15:00:00Z') });
          const manifestBefore = await data.manifest({ domain: dom });

          const err = await caught(land(ds, tc.rows, { capturedAt: at('2025-12-22T16:00:00Z') }));
          expect(err).toBeInstanceOf(RowValidationError);
          expect(err).toBeInstanceOf(ValidationError);
          const e = err as RowValidationError;
          expect({ row: e.row, line: e.line, column: e.column, field: e.field }).toEqual({ row: tc.row, line: tc.line, column: tc.column, field: tc.field });
          expect(e.rule).toMatch(tc.rule);
          expect(e.message).toContain(tc.field);
          expect(e.captureId).toBe(`${good.capture_id}#2`);

          // nothing of the failed capture is visible; the prior one is intact
          expect(plain(await data.latest(ds))).toEqual(v1);
          expect(await data.manifest({ domain: dom })).toEqual(manifestBefore);
          expect(await h.count(datasetTables(ds).table, e.captureId!)).toBe(0);
          expect(await h.count(datasetTables(ds).table)).toBe(2);
          expect(await h.count(datasetTables(ds).staging)).toBe(0);
          expect(await data.anomalies({ domain: dom })).toEqual([]);
          const captures = await data.listCaptures({ domain: dom });
          expect(captures.map((c) => [c.capture_id, c.status])).toEqual([
            [good.capture_id, 'landed'],
            [e.captureId, 'failed'],
          ]);
          expect(captures[1]!.error).toContain(tc.field);
          await expect(data.asOf(ds, { capture_id: e.captureId! })).rejects.toThrow(/landed capture/);

          // a corrected file lands next and is compared with the last *landed* capture
          const fixed = [vv('AAPL', 'ABCD', 100), vv('MSFT', 'ABCD', 250)];
          const next = await land(ds, fixed, { capturedAt: at('2025-12-22T17:00:00Z') });
          expect(next).toMatchObject({
            capture_id: `${good.capture_id}#3`,
            is_revision: true,
            revision_summary: { rows_added: 0, rows_removed: 0, rows_changed: 1 },
          });
        });
      }

      it('the same bad bytes again the same day reuse the failed capture record', async () => {
        const dom = domain();
        const ds = venueVolume(dom);
        const bad = [vv('AAPL', 'ABCD', 1), vv('AAPL', 'ABCD', 2)];
        const e1 = (await caught(land(ds, bad, { capturedAt: at('2025-12-22T15:00:00Z') }))) as RowValidationError;
        const e2 = (await caught(land(ds, bad, { capturedAt: at('2025-12-22T15:05:00Z') }))) as RowValidationError;
        expect(e1.captureId).toBe(`${dom}:NMS_TIER_1:2025-12-19:20251222`);
        expect(e2.captureId).toBe(e1.captureId);
        expect((await data.listCaptures({ domain: dom })).map((c) => c.status)).toEqual(['failed']);
        expect(await data.manifest({ domain: dom })).toEqual([]);
        expect(await data.latest(ds)).toEqual([]);
      });
    });

    it('a crash between staging and MERGE (SIGKILLed child) leaves no partial rows visible', async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const v1 = [vv('AAPL', 'ABCD', 100), vv('MSFT', 'ABCD', 200), vv('NVDA', 'ABCD', 300)];
      const c1 = await land(ds, v1, { capturedAt: at('2025-12-22T15:00:00Z') });
      const BIG = 20_000;

      const child = spawn(
        process.execPath,
        [RUN_TS, CHILD, JSON.stringify({ ...h.childLocation(), domain: dom, partition: T1, rows: BIG, capturedAt: '2025-12-23T15:00:00Z' })],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let out = '';
      let errText = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (errText += s));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('close', (code, signal) => resolve({ code, signal })),
      );
      const deadline = Date.now() + 45_000;
      while (!out.includes('STAGED')) {
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          throw new Error(`child did not reach STAGED (exit ${child.exitCode}, ${child.signalCode})\nstdout:\n${out}\nstderr:\n${errText}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }

      // While the child sits inside its transaction, 20k staged rows exist but nobody sees them.
      expect(plain(await data.latest(ds))).toEqual(v1);
      expect(await h.count(datasetTables(ds).staging)).toBe(0);

      child.kill('SIGKILL');
      expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(out).not.toContain('MERGED');

      const fresh = await h.reopen();
      expect(plain(await fresh.latest(ds))).toEqual(v1);
      expect((await fresh.listCaptures({ domain: dom })).map((c) => c.capture_id)).toEqual([c1.capture_id]);
      expect((await fresh.manifest({ domain: dom })).map((m) => [m.capture_id, m.row_count])).toEqual([[c1.capture_id, 3]]);
      expect(await h.count(datasetTables(ds).table)).toBe(3);
      expect(await h.count(datasetTables(ds).staging)).toBe(0);

      // The partition is not left locked: the same capture lands now, as a revision of v1.
      const rows = bigRows(BIG);
      const again = await fresh.land(ds, { partition: T1, stage: 'ingest', sourceBytes: bytesOf(rows), rows, capturedAt: at('2025-12-23T15:00:00Z') });
      expect(again).toMatchObject({
        status: 'landed',
        capture_id: `${dom}:NMS_TIER_1:2025-12-19:20251223`,
        row_count: BIG,
        is_revision: true,
        revision_summary: { rows_added: BIG, rows_removed: 3, rows_changed: 0 },
      });
      expect((await fresh.latest(ds)).length).toBe(BIG);
      expect(await h.count(datasetTables(ds).staging)).toBe(0);
    });

    it('a capture that rejects every row, or more than max_reject_share of them, lands nothing; the prior capture stays latest', async () => {
      const ds = venueVolume(domain());
      await data.ensureDataset(ds);
      const good = [vv('AAPL', 'ABCD', 1), vv('MSFT', 'ABCD', 2)];
      const first = await land(ds, good, { capturedAt: at('2025-12-22T15:00:00Z') });
      const rejects = (n: number) =>
        Array.from({ length: n }, (_, i) => ({
          line: i + 2,
          reason: `MPID "ABCDE" is not a market participant identifier`,
          raw: `NMS Tier 1|X|x|v|ABCDE|1|1|2025-12-22`,
        }));
      // every row rejected: fails even with a share of 1
      const allBad = land(ds, [], { sourceBytes: 'all bad', capturedAt: at('2025-12-23T15:00:00Z'), rejects: rejects(1000), maxRejectShare: 1 });
      await expect(allBad).rejects.toBeInstanceOf(RejectThresholdError);
      await expect(allBad).rejects.toThrow(/all 1000 rows rejected; nothing landed.*First rejects: line 2: MPID "ABCDE".*line 6: /);
      // 3 of 4 rejected (75%) > default 0.5
      const most = land(ds, [vv('NVDA', 'ABCD', 3)], { sourceBytes: 'most bad', capturedAt: at('2025-12-23T15:00:00Z'), rejects: rejects(3) });
      await expect(most).rejects.toThrow(/3 of 4 rows rejected \(75\.0%\), more than max_reject_share 0\.5/);
      const latest = await data.latest(ds);
      expect(latest.map((r) => r.capture_id)).toEqual([first.capture_id, first.capture_id]);
      expect((await data.manifest({ domain: ds.domain }))[0]).toMatchObject({ capture_id: first.capture_id, row_count: 2 });
      // at the share (2 of 4 = 0.5) it lands, rejects recorded; a share out of range is refused
      const half = await land(ds, [vv('NVDA', 'ABCD', 3), vv('TSLA', 'ABCD', 4)], {
        sourceBytes: 'half bad',
        capturedAt: at('2025-12-23T15:00:00Z'),
        rejects: rejects(2),
      });
      expect(half).toMatchObject({ status: 'landed', row_count: 2 });
      expect(await data.rejects(half.capture_id)).toHaveLength(2);
      await expect(land(ds, good, { sourceBytes: 'x', capturedAt: at('2025-12-24T15:00:00Z'), maxRejectShare: 2 })).rejects.toThrow(
        /maxRejectShare: 2 is invalid/,
      );
    });

    it('anomalies: row count drop vs the previous partition, late data, required nulls, rejects; none below threshold', async () => {
      const dom = domain();
      const ds = venueVolume(dom);
      const week = (tier: string, week_ending: string) => ({ tier, week_ending });
      const rowsFor = (count: number, week_ending: string, mpid = 'ABCD') =>
        Array.from({ length: count }, (_, i) => vv(`S${i}`, mpid, 100 + i, { week_ending }));
      const drop = [{ check: 'row_count_drop' as const, threshold: 0.5 }];
      const landWeek = (tier: string, weekEnding: string, count: number, capturedAt: string, extra: Partial<LandInput> = {}) => {
        const rows = rowsFor(count, weekEnding, tier);
        return data.land(ds, {
          partition: week(tier, weekEnding),
          stage: 'ingest',
          sourceBytes: bytesOf(rows),
          rows,
          capturedAt: at(capturedAt),
          checks: drop,
          ...extra,
        });
      };

      const w1 = await landWeek('NMS_TIER_1', '2025-12-05', 10, '2025-12-08T15:00:00Z');
      expect(w1.anomalies).toEqual([]); // no previous partition
      const w2 = await landWeek('NMS_TIER_1', '2025-12-12', 5, '2025-12-15T15:00:00Z');
      expect(w2.anomalies).toEqual([]); // exactly 50%: not beyond the threshold
      await landWeek('NMS_TIER_2', '2025-12-12', 100, '2025-12-15T15:00:00Z');
      const w3 = await landWeek('NMS_TIER_1', '2025-12-19', 3, '2025-12-22T15:00:00Z');
      expect(w3.anomalies).toEqual([]); // 40% below tier 1's 5 (tier 2's 100 is another series)
      const w4 = await landWeek('NMS_TIER_1', '2025-12-26', 1, '2025-12-29T15:00:00Z', {
        checks: [
          { check: 'row_count_drop', threshold: 0.5, severity: 'error' },
          { check: 'late', expected_by: at('2025-12-29T14:00:00Z') },
        ],
      });
      const prevKey = partitionKey(week('NMS_TIER_1', '2025-12-19'));
      expect(w4.anomalies.map((a) => [a.check, a.severity])).toEqual([
        ['row_count_drop', 'error'],
        ['late', 'warning'],
      ]);
      expect(w4.anomalies[0]).toMatchObject({
        partition_key: partitionKey(week('NMS_TIER_1', '2025-12-26')),
        stage: 'ingest',
        capture_id: w4.capture_id,
        detail: { row_count: 1, previous_row_count: 3, previous_partition_key: prevKey, threshold: 0.5 },
      });
      expect(w4.anomalies[0]!.message).toContain('66.7%');
      expect(w4.anomalies[1]!.detail).toMatchObject({ late_ms: 3_600_000 });
      expect(toRunAnomaly(w4.anomalies[0]!, `${dom}.ingest_week`)).toEqual({
        pipeline: `${dom}.ingest_week`,
        partition_key: partitionKey(week('NMS_TIER_1', '2025-12-26')),
        check: 'row_count_drop',
        severity: 'error',
        message: w4.anomalies[0]!.message,
      });

      // on time: no late anomaly
      const onTime = await landWeek('OTC', '2025-12-26', 2, '2025-12-29T15:00:00Z', { checks: [{ check: 'late', expected_by: at('2025-12-29T16:00:00Z') }] });
      expect(onTime.anomalies).toEqual([]);

      // nulls in a required column are an anomaly, not a failure; a non-required null is fine
      const withNulls = [vv('AAPL', 'N1', null), vv('MSFT', 'N1', null, { trades: null }), vv('NVDA', 'N1', 5), vv('TSLA', 'N1', 6)];
      const nulls = await data.land(ds, {
        partition: week('NULLS', '2025-12-19'),
        stage: 'ingest',
        sourceBytes: bytesOf(withNulls),
        rows: withNulls,
        capturedAt: at('2025-12-22T15:00:00Z'),
        rejects: [{ line: 6, reason: 'empty symbol', raw: 'NMS Tier 1||||X|1|1|2025-12-22' }],
      });
      expect(nulls.status).toBe('landed');
      expect(nulls.anomalies.map((a) => [a.check, a.detail])).toEqual([
        ['required_nulls', { column: 'shares', nulls: 2, rows: 4, fraction: 0.5 }],
        ['rejected_rows', { count: 1, first: [{ line: 6, reason: 'empty symbol', raw: 'NMS Tier 1||||X|1|1|2025-12-22' }] }],
      ]);
      expect((await data.latest(ds, { where: { mpid: 'N1' } })).map((r) => r.shares)).toEqual([null, null, 5, 6]);
      expect(await data.rejects(nulls.capture_id)).toEqual([
        { capture_id: nulls.capture_id, line: 6, reason: 'empty symbol', raw: 'NMS Tier 1||||X|1|1|2025-12-22' },
      ]);

      // everything that fired is recorded against its partition and capture, and nothing else
      const recorded = await data.anomalies({ domain: dom });
      expect(recorded.map((a) => [a.capture_id, a.check, a.severity])).toEqual([
        [w4.capture_id, 'row_count_drop', 'error'],
        [w4.capture_id, 'late', 'warning'],
        [nulls.capture_id, 'required_nulls', 'warning'],
        [nulls.capture_id, 'rejected_rows', 'warning'],
      ]);
      expect(recorded[0]).toEqual(w4.anomalies[0]);
      expect(await data.anomalies({ domain: dom, partitionKey: w4.partition_key, check: 'late' })).toHaveLength(1);

      // a forced re-landing of a capture replaces its anomalies rather than adding more
      const again = await landWeek('NMS_TIER_1', '2025-12-26', 1, '2025-12-29T15:00:00Z', {
        force: true,
        checks: [{ check: 'row_count_drop', threshold: 0.9 }],
      });
      expect(again.capture_id).toBe(w4.capture_id);
      expect(again.anomalies).toEqual([]);
      expect(await data.anomalies({ domain: dom, captureId: w4.capture_id })).toEqual([]);
    });

    it('completion: which stages are in and which are missing for a week', async () => {
      const dom = domain();
      const raw = venueVolume(dom);
      const totals = symbolTotals(dom);
      await land(raw, [vv('AAPL', 'ABCD', 1)], { partition: T1, capturedAt: at('2025-12-22T15:00:00Z') });
      await land(raw, [vv('AAPL', 'QRST', 2)], { partition: T2, capturedAt: at('2025-12-22T15:00:00Z') });
      const norm = await data.land(totals, {
        partition: T1,
        stage: 'normalize',
        sourceBytes: 'AAPL|1',
        rows: [{ week_ending: '2025-12-19', symbol: 'AAPL', shares: 1 }],
        capturedAt: at('2025-12-22T15:10:00Z'),
      });
      // every stage of a partition draws from the day's id family, so ids stay distinct
      expect(norm.capture_id).toBe(`${dom}:NMS_TIER_1:2025-12-19:20251222#2`);

      const report = await data.completion({ domain: dom, stages: [{ stage: 'ingest' }, { stage: 'normalize' }], partitionKeys: [T1, T2, OTC] });
      const cell = (c: { stage: string; partition_key: string }) => [c.stage, c.partition_key];
      expect(report.complete).toBe(false);
      expect(report.in.map(cell)).toEqual([
        ['ingest', partitionKey(T1)],
        ['ingest', partitionKey(T2)],
        ['normalize', partitionKey(T1)],
      ]);
      expect(report.missing.map(cell)).toEqual([
        ['ingest', partitionKey(OTC)],
        ['normalize', partitionKey(T2)],
        ['normalize', partitionKey(OTC)],
      ]);
      expect(report.cells).toHaveLength(6);
      expect(report.in[2]).toMatchObject({ status: 'in', dataset: 'symbol_totals', capture_id: norm.capture_id, row_count: 1 });
      expect(report.missing[0]).toMatchObject({ status: 'missing', capture_id: null, row_count: null });

      const ingestOnly = await data.completion({ stages: [{ domain: dom, stage: 'ingest', partitionKeys: [partitionKey(T1), T2] }] });
      expect(ingestOnly.complete).toBe(true);
      expect(ingestOnly.missing).toEqual([]);

      // another source with its own partitions (a daily price file) that has not arrived
      const mixed = await data.completion({
        stages: [
          { domain: dom, stage: 'ingest', partitionKeys: [T1] },
          { domain: `${dom}.prices`, stage: 'daily_ohlcv', partitionKeys: [{ date: '2025-12-19' }] },
        ],
      });
      expect(mixed.missing.map((c) => [c.domain, c.stage, c.partition_key])).toEqual([[`${dom}.prices`, 'daily_ohlcv', 'date=2025-12-19']]);
      await expect(data.completion({ stages: [] })).rejects.toBeInstanceOf(ValidationError);
    });

    it('rejects a second dataset at the same stage, capture times going backwards, and a changed definition', async () => {
      const dom = domain();
      const raw = venueVolume(dom);
      await land(raw, [vv('AAPL', 'ABCD', 1)], { capturedAt: at('2025-12-22T15:00:00Z') });

      const clash = await caught(
        data.land(symbolTotals(dom), { partition: T1, stage: 'ingest', sourceBytes: 'x', rows: [], capturedAt: at('2025-12-22T16:00:00Z') }),
      );
      expect(clash).toBeInstanceOf(ValidationError);
      expect((clash as ValidationError).field).toBe('stage');
      const moved = await caught(land(raw, [vv('AAPL', 'ABCD', 2)], { stage: 'other', capturedAt: at('2025-12-22T16:00:00Z') }));
      expect((moved as ValidationError).field).toBe('stage');

      const back = await caught(land(raw, [vv('AAPL', 'ABCD', 3)], { capturedAt: at('2025-12-21T15:00:00Z') }));
      expect((back as ValidationError).field).toBe('capturedAt');
      expect(await data.listCaptures({ domain: dom })).toHaveLength(1);

      const changed = defineDataset({ ...raw, columns: raw.columns.filter((c) => c.name !== 'trades') });
      const onOpen = await caught(data.ensureDataset(changed));
      expect((onOpen as ValidationError).field).toBe('dataset');
      const fresh = await h.reopen();
      const afterRestart = await caught(fresh.latest(changed));
      expect((afterRestart as ValidationError).rule).toMatch(/definition/);
      expect(plain(await fresh.latest(raw))).toEqual([vv('AAPL', 'ABCD', 1)]);

      const unknownColumn = (await caught(
        land(raw, [{ ...vv('AAPL', 'ABCD', 1), venue: 'x' }], { capturedAt: at('2025-12-22T17:00:00Z') }),
      )) as RowValidationError;
      expect(unknownColumn.column).toBe('venue');
      await expect(data.asOf(raw, { capture_id: 'nope' })).rejects.toThrow(/not found/);
      await expect(data.asOf(raw, { at: new Date('x') })).rejects.toBeInstanceOf(ValidationError);
    });
  });
}
