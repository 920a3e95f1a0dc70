import { describe, expect, it } from 'vitest';
import { landedRevision, readHandlerResult } from '../../src/core/handler-result.js';

describe('readHandlerResult', () => {
  it('reads the typed shape: landed, warnings, skipped', () => {
    const r = readHandlerResult({
      landed: { capture_id: 'c1', row_count: 3, is_revision: true, revision_summary: { rows_added: 1, rows_removed: 0, rows_changed: 2 } },
      warnings: ['late file'],
    });
    expect(r).toEqual({
      landed: { capture_id: 'c1', row_count: 3, is_revision: true, revision_summary: { rows_added: 1, rows_removed: 0, rows_changed: 2 } },
      warnings: ['late file'],
      anomalies: [],
      skipped: false,
      reason: null,
    });
  });

  it('still reads the flat shape handlers returned before `landed` (a LandResult as it is)', () => {
    const r = readHandlerResult({ capture_id: 'c2', row_count: 7, is_revision: false, anomalies: [{ check: 'min_rows' }], skipped: true, reason: 'unchanged' });
    expect(r.landed).toEqual({ capture_id: 'c2', row_count: 7, is_revision: false, revision_summary: null });
    expect(r.anomalies).toEqual([{ check: 'min_rows' }]);
    expect(r.skipped).toBe(true);
    expect(r.reason).toBe('unchanged');
  });

  it('a result without a capture lands nothing; an empty result reads as nothing', () => {
    expect(readHandlerResult({ pruned: 3 }).landed).toBeNull();
    expect(readHandlerResult(null)).toEqual({ landed: null, warnings: [], anomalies: [], skipped: false, reason: null });
  });
});

describe('landedRevision', () => {
  it('agrees with readHandlerResult on every shape', () => {
    const results: (Record<string, unknown> | null)[] = [
      null,
      {},
      { landed: { capture_id: 'c1', row_count: 3, is_revision: true } },
      { landed: { capture_id: 'c1', row_count: 3, is_revision: false } },
      { landed: { row_count: 3, is_revision: true } },
      { capture_id: 'c2', row_count: 1, is_revision: true },
      { capture_id: 'c2', is_revision: 'yes' },
      { landed: 'not an object', capture_id: 'c3', is_revision: true },
    ];
    const expected = [false, false, true, false, false, true, false, true];
    expect(results.map(landedRevision)).toEqual(expected);
    expect(results.map((r) => readHandlerResult(r).landed?.is_revision === true)).toEqual(expected);
  });
});
