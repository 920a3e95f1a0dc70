import { describe, expect, it } from 'vitest';
import { readHandlerResult } from '../../src/core/handler-result.js';

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
