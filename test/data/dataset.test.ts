/** Pure rules of the data layer (no database): definitions, values, checks, capture ids, SQL text. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  coerceValue,
  datasetTables,
  defineDataset,
  evaluateChecks,
  normalizeChecks,
  planCapture,
  previousPartitionKey,
  validateRows,
  type ScopeCapture,
} from '../../src/data/index.js';
import { datasetSql, toPgParams } from '../../src/data/sql.js';
import { venueVolume } from './fixtures/datasets.js';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.field;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

const base = {
  domain: 'finra.otc_transparency',
  name: 'venue_volume',
  columns: [
    { name: 'symbol', type: 'text' as const },
    { name: 'shares', type: 'integer' as const },
  ],
  primaryKey: ['symbol'],
};

describe('dataset definitions', () => {
  it('derives sanitized table names', () => {
    expect(datasetTables(base)).toEqual({ table: 'finra_otc_transparency__venue_volume', staging: 'finra_otc_transparency__venue_volume__staging' });
    expect(datasetTables({ ...base, domain: 'Prices.US-Equities' }).table).toBe('prices_us_equities__venue_volume');
  });

  it('rejects identifiers that are not plain lower-case names, reserved names and bad keys', () => {
    expect(fieldOf(() => defineDataset({ ...base, columns: [{ name: 'symbol"; DROP TABLE captures; --', type: 'text' }] }))).toBe('dataset.columns[0].name');
    expect(fieldOf(() => defineDataset({ ...base, columns: [{ name: 'Symbol', type: 'text' }], primaryKey: ['Symbol'] }))).toBe('dataset.columns[0].name');
    expect(fieldOf(() => defineDataset({ ...base, columns: [...base.columns, { name: 'capture_id', type: 'text' }] }))).toBe('dataset.columns[2].name');
    expect(fieldOf(() => defineDataset({ ...base, columns: [...base.columns, { name: 'shares', type: 'real' }] }))).toBe('dataset.columns[2].name');
    expect(fieldOf(() => defineDataset({ ...base, columns: [{ name: 'symbol', type: 'varchar' as never }] }))).toBe('dataset.columns[0].type');
    expect(fieldOf(() => defineDataset({ ...base, primaryKey: ['venue'] }))).toBe('dataset.primaryKey[0]');
    expect(fieldOf(() => defineDataset({ ...base, primaryKey: [] }))).toBe('dataset.primaryKey');
    expect(fieldOf(() => defineDataset({ ...base, name: 'x'.repeat(60) }))).toBe('dataset');
  });

  it('puts only quoted identifiers into SQL and numbers placeholders for PostgreSQL', () => {
    const sql = datasetSql({ kind: 'postgres', table: (t) => `"s"."${t}"` }, venueVolume('finra.otc'));
    expect(sql.upsert).toContain('ON CONFLICT (capture_seq, "week_ending", "symbol", "mpid") DO UPDATE SET "issue_name" = excluded."issue_name"');
    expect(toPgParams('a = ? AND b = ? OR c = ?')).toBe('a = $1 AND b = $2 OR c = $3');
  });
});

describe('values', () => {
  it.each([
    ['integer', '42', 42],
    ['integer', ' -7 ', -7],
    ['integer', '', null],
    ['real', '1.5e3', 1500],
    ['date', '2024-02-29', '2024-02-29'],
    ['boolean', 'TRUE', true],
    ['boolean', 0, false],
    ['text', 'x', 'x'],
  ] as const)('%s accepts %j as %j', (type, input, out) => {
    expect(coerceValue(type, input)).toEqual({ ok: true, value: out });
  });

  it.each([
    ['integer', '4.2'],
    ['integer', 2 ** 53],
    ['real', 'NaN'],
    ['real', Infinity],
    ['date', '2025-02-29'],
    ['date', '2025-1-5'],
    ['boolean', 'yes'],
    ['text', 5],
  ] as const)('%s rejects %j', (type, input) => {
    expect(coerceValue(type, input).ok).toBe(false);
  });

  it('counts nulls of required non-key columns instead of failing', () => {
    const ds = venueVolume('x');
    const rows = [
      { week_ending: '2025-12-19', symbol: 'A', mpid: 'M', shares: null },
      { week_ending: '2025-12-19', symbol: 'B', mpid: 'M', shares: '' },
      { week_ending: '2025-12-19', symbol: 'C', mpid: 'M', shares: 1 },
    ];
    const out = validateRows(ds, rows);
    expect([...out.requiredNulls]).toEqual([['shares', 2]]);
    expect(out.rows[2]).toEqual(['2025-12-19', 'C', 'M', null, 1, null, null, null]);
  });
});

describe('anomaly checks', () => {
  it('validates check options', () => {
    expect(fieldOf(() => normalizeChecks([{ check: 'row_count_drop', threshold: 0 }]))).toBe('checks[0].threshold');
    expect(fieldOf(() => normalizeChecks([{ check: 'row_count_drop', threshold: 1.5 }]))).toBe('checks[0].threshold');
    expect(fieldOf(() => normalizeChecks([{ check: 'late', expected_by: 'soon' }]))).toBe('checks[0].expected_by');
    expect(fieldOf(() => normalizeChecks([{ check: 'nope' } as never]))).toBe('checks[0].check');
  });

  it('finds the previous partition of the same series by its date key', () => {
    const keys = ['tier=T1|week_ending=2025-12-05', 'tier=T1|week_ending=2025-12-12', 'tier=T2|week_ending=2025-12-18', 'tier=T1|week_ending=2025-12-26'];
    expect(previousPartitionKey('tier=T1|week_ending=2025-12-19', keys)).toBe('tier=T1|week_ending=2025-12-12');
    expect(previousPartitionKey('tier=T1|week_ending=2025-12-05', keys)).toBeNull();
    expect(previousPartitionKey('symbol=AAPL', ['symbol=MSFT'])).toBeNull();
  });

  it('fires only beyond the threshold', () => {
    const ctx = (rowCount: number) => ({
      dataset: venueVolume('x'),
      partitionKey: 'week_ending=2025-12-19',
      rowCount,
      capturedAt: new Date('2025-12-22T15:00:00Z'),
      requiredNulls: new Map<string, number>(),
      previous: { partition_key: 'week_ending=2025-12-12', row_count: 10 },
      rejects: [],
    });
    const checks = normalizeChecks([{ check: 'row_count_drop', threshold: 0.5 }]);
    expect(evaluateChecks(ctx(5), checks)).toEqual([]);
    expect(evaluateChecks(ctx(4), checks).map((a) => [a.check, a.detail.drop])).toEqual([['row_count_drop', 0.6]]);
    expect(evaluateChecks(ctx(20), checks)).toEqual([]);
  });
});

describe('capture ids', () => {
  const ds = venueVolume('finra');
  const day = new Date('2025-12-22T15:00:00Z');
  const cap = (over: Partial<ScopeCapture>): ScopeCapture => ({
    capture_id: 'finra:p:20251222',
    dataset: 'venue_volume',
    stage: 'ingest',
    status: 'landed',
    content_hash: 'h1',
    captured_at: new Date('2025-12-22T14:00:00Z'),
    seq: 1,
    row_count: 1,
    ...over,
  });
  const plan = (related: ScopeCapture[], familyIds: string[], hash = 'h2', forFailure = false) =>
    planCapture({ ds, partitionKey: 'p', stage: 'ingest', hash, capturedAt: day, related, familyIds, forFailure });

  it('numbers the day family across stages and reuses only the latest same-content capture', () => {
    expect(plan([], []).captureId).toBe('finra:p:20251222');
    expect(plan([cap({})], ['finra:p:20251222', 'finra:p:20251222#2', 'finra:p:2025122']).captureId).toBe('finra:p:20251222#3');
    // forced re-run of the latest capture: same id
    expect(plan([cap({})], ['finra:p:20251222'], 'h1')).toMatchObject({ captureId: 'finra:p:20251222', reuse: { capture_id: 'finra:p:20251222' } });
    // a failure never takes over a landed capture's id
    expect(plan([cap({})], ['finra:p:20251222'], 'h1', true).captureId).toBe('finra:p:20251222#2');
    // back to older bytes after a newer capture: a new id, history untouched
    const older = cap({});
    const newer = cap({ capture_id: 'finra:p:20251222#2', content_hash: 'h2', seq: 2, captured_at: new Date('2025-12-22T14:30:00Z') });
    expect(plan([older, newer], [older.capture_id, newer.capture_id], 'h1')).toMatchObject({ captureId: 'finra:p:20251222#3', reuse: null });
  });
});
