/**
 * Chunked landing (a RowStream of row chunks, as the streaming parsers give them), run on
 * both backends by `sqlite-data-store.test.ts` and `pg-data-store.test.ts` next to the main
 * suite. The rules are those of whole-array landing: one capture, one transaction, the same
 * rows, revision summary, skip, reject threshold and failure record.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RowValidationError, datasetTables, type DataStore, type RowStream } from '../../src/data/index.js';
import { RejectThresholdError } from '../../src/data/reject-threshold.js';
import type { DataHarness } from './conformance.js';
import { bigRows, bytesOf, venueVolume, vv, type VV } from './fixtures/datasets.js';

const T1 = { tier: 'NMS_TIER_1', week_ending: '2025-12-19' };
const at = (iso: string) => new Date(iso);

/** `rows` in chunks of `size`, from a synchronous generator (what SQLite requires). */
function stream(rows: readonly object[], size: number, rejects?: () => { line: number | null; reason: string }[]): RowStream {
  function* chunks() {
    for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
  }
  return { chunks: chunks(), ...(rejects ? { rejects } : {}) };
}

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to throw');
}

export function chunkedLandingConformance(name: string, open: () => Promise<DataHarness>): void {
  describe(`chunked landing conformance: ${name}`, () => {
    let h: DataHarness;
    let data: DataStore;
    let n = 0;
    const domain = () => `c${++n}.finra.otc`;

    beforeAll(async () => {
      h = await open();
      data = h.data();
      await data.ensureSchema();
      return () => h.close();
    });

    it('lands a stream of chunks as one capture, equal to landing the same rows at once', async () => {
      const [a, b] = [venueVolume(domain()), venueVolume(domain())];
      const rows = bigRows(2_345);
      const bytes = bytesOf(rows);
      const whole = await data.land(a, { partition: T1, stage: 'ingest', sourceBytes: bytes, rows, capturedAt: at('2025-12-22T15:00:00Z') });
      const parts = await data.land(b, { partition: T1, stage: 'ingest', sourceBytes: bytes, rows: stream(rows, 500), capturedAt: at('2025-12-22T15:00:00Z') });
      expect(parts).toMatchObject({ status: 'landed', row_count: 2_345, rows_written: 2_345, content_hash: whole.content_hash, is_revision: false });
      const strip = (r: Record<string, unknown>[]) => r.map(({ capture_id: _c, ...rest }) => rest);
      expect(strip(await data.latest(b))).toEqual(strip(await data.latest(a)));
      expect((await data.manifest({ domain: b.domain }))[0]).toMatchObject({ capture_id: parts.capture_id, row_count: 2_345 });
      expect(await h.count(datasetTables(b).staging)).toBe(0);
    });

    it('an unchanged source is skipped before reading a chunk; a changed one is a revision; a forced re-run goes through staging and MERGE', async () => {
      const ds = venueVolume(domain());
      const rows = bigRows(1_200);
      const first = await data.land(ds, {
        partition: T1,
        stage: 'ingest',
        sourceBytes: bytesOf(rows),
        rows: stream(rows, 250),
        capturedAt: at('2025-12-22T15:00:00Z'),
      });
      let read = 0;
      const counting: RowStream = {
        chunks: (function* () {
          read++;
          yield rows;
        })(),
      };
      const again = await data.land(ds, { partition: T1, stage: 'ingest', sourceBytes: bytesOf(rows), rows: counting, capturedAt: at('2025-12-22T16:00:00Z') });
      expect(again).toMatchObject({ status: 'skipped', capture_id: first.capture_id, rows_written: 0 });
      expect(read).toBe(0);

      const changed: VV[] = rows.slice(1).map((r, i) => (i === 0 ? { ...r, shares: 7 } : r));
      changed.push(vv('NEW00001', 'VENU', 5));
      const rev = await data.land(ds, {
        partition: T1,
        stage: 'ingest',
        sourceBytes: bytesOf(changed),
        rows: stream(changed, 300),
        capturedAt: at('2025-12-23T15:00:00Z'),
      });
      expect(rev).toMatchObject({
        status: 'landed',
        is_revision: true,
        revision_summary: { rows_added: 1, rows_removed: 1, rows_changed: 1 },
        row_count: 1_200,
      });

      const forced = await data.land(ds, {
        partition: T1,
        stage: 'ingest',
        sourceBytes: bytesOf(changed),
        rows: stream(changed, 400),
        force: true,
        capturedAt: at('2025-12-23T16:00:00Z'),
      });
      expect(forced).toMatchObject({ status: 'landed', capture_id: rev.capture_id, rows_written: 0, row_count: 1_200 });
      expect(await h.count(datasetTables(ds).table, rev.capture_id)).toBe(1_200);
      expect(await h.count(datasetTables(ds).staging)).toBe(0);
    });

    it('a key repeated in a later chunk fails the capture naming its line, and nothing of it lands', async () => {
      const ds = venueVolume(domain());
      const good = bigRows(300);
      await data.land(ds, { partition: T1, stage: 'ingest', sourceBytes: bytesOf(good), rows: stream(good, 100), capturedAt: at('2025-12-22T15:00:00Z') });
      const rows = bigRows(600).map((r, i) => ({ ...r, __line: i + 2 }));
      rows[450] = { ...rows[10]!, __line: 452 };
      const err = await caught(
        data.land(ds, { partition: T1, stage: 'ingest', sourceBytes: bytesOf(rows), rows: stream(rows, 200), capturedAt: at('2025-12-23T15:00:00Z') }),
      );
      expect(err).toBeInstanceOf(RowValidationError);
      expect(err.message).toContain('line 452');
      expect(err.message).toMatch(/unique within one capture/);
      const failed = await data.listCaptures({ domain: ds.domain, status: 'failed' });
      expect(failed).toHaveLength(1);
      expect((err as RowValidationError).captureId).toBe(failed[0]!.capture_id);
      expect((await data.latest(ds)).length).toBe(300);
      expect(await h.count(datasetTables(ds).table, failed[0]!.capture_id)).toBe(0);
    });

    it('a stream whose source vouches for unique keys still fails on a key repeated within one chunk (the primary key catches it)', async () => {
      const ds = venueVolume(domain());
      const rows = bigRows(300).map((r, i) => ({ ...r, __line: i + 2 }));
      rows[150] = { ...rows[120]!, __line: 152 };
      const err = await caught(
        data.land(ds, {
          partition: T1,
          stage: 'ingest',
          sourceBytes: bytesOf(rows),
          rows: { ...stream(rows, 200), uniqueKeys: true },
          capturedAt: at('2025-12-23T15:00:00Z'),
        }),
      );
      expect(err).toBeInstanceOf(RowValidationError);
      expect(err.message).toContain('line 152');
      expect(err.message).toMatch(/unique within one capture/);
      const failed = await data.listCaptures({ domain: ds.domain, status: 'failed' });
      expect(failed).toHaveLength(1);
      expect(await h.count(datasetTables(ds).table, failed[0]!.capture_id)).toBe(0);
    });

    it('rejects counted once the stream ends: over max_reject_share nothing lands; under it they are recorded with an anomaly', async () => {
      const ds = venueVolume(domain());
      const rows = bigRows(100);
      const many = Array.from({ length: 150 }, (_, i) => ({ line: 200 + i, reason: 'empty issueSymbolIdentifier' }));
      const err = await caught(
        data.land(ds, { partition: T1, stage: 'ingest', sourceBytes: 'x1', rows: stream(rows, 30, () => many), capturedAt: at('2025-12-22T15:00:00Z') }),
      );
      expect(err).toBeInstanceOf(RejectThresholdError);
      expect(await data.latest(ds)).toEqual([]);
      expect(await h.count(datasetTables(ds).table)).toBe(0);

      const few = many.slice(0, 3);
      const ok = await data.land(ds, {
        partition: T1,
        stage: 'ingest',
        sourceBytes: 'x2',
        rows: stream(rows, 30, () => few),
        capturedAt: at('2025-12-22T16:00:00Z'),
      });
      expect(ok).toMatchObject({ status: 'landed', row_count: 100 });
      expect(ok.anomalies.map((a) => a.check)).toContain('rejected_rows');
      expect((await data.rejects(ok.capture_id)).map((r) => r.line)).toEqual([200, 201, 202]);
    });
  });
}
