import { defineDataset, type ColumnDef, type Dataset } from '../../data/dataset.js';
import { ALL_SERIES } from '../fred/constants.js';
import { FEATURES_DOMAIN } from './constants.js';

/** The matrix column of a FRED series: `DGS10` -> `dgs10` (and `dgs10_date`). */
export function seriesColumn(seriesId: string): string {
  return seriesId.toLowerCase();
}

const fredColumns: ColumnDef[] = ALL_SERIES.flatMap((s) => [
  { name: seriesColumn(s), type: 'real' as const },
  { name: `${seriesColumn(s)}_date`, type: 'date' as const },
]);

/**
 * One row per (symbol, date): the symbol's close and change_pct on that session, and for
 * every FRED series its latest non-missing value at or before the date (`dgs10`) with the
 * date FRED gave that value (`dgs10_date`; weekly NFCI and late releases are older than the
 * session). A series with no value at all yet is null in both.
 */
export const dailyMatrix = defineDataset({
  domain: FEATURES_DOMAIN,
  name: 'daily_matrix',
  columns: [
    { name: 'symbol', type: 'text' },
    { name: 'date', type: 'date' },
    { name: 'close', type: 'real', required: true },
    { name: 'change_pct', type: 'real' },
    ...fredColumns,
  ],
  primaryKey: ['symbol', 'date'],
});

/** What `sluice data features NAME` reads. */
export const FEATURES_DATASETS: Readonly<Record<string, Dataset>> = Object.freeze({ daily_matrix: dailyMatrix });
