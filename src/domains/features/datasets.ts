import { defineKeyedDataset, required, type ColumnType, type Dataset } from '../../data/dataset.js';
import { ALL_SERIES } from '../fred/constants.js';
import { FEATURES_DOMAIN } from './constants.js';

/** The matrix column of a FRED series: `DGS10` -> `dgs10` (and `dgs10_date`). */
export function seriesColumn(seriesId: string): string {
  return seriesId.toLowerCase();
}

const fredColumns: Record<string, ColumnType> = Object.fromEntries(
  ALL_SERIES.flatMap((s) => [
    [seriesColumn(s), 'real'],
    [`${seriesColumn(s)}_date`, 'date'],
  ]),
);

/**
 * One row per (symbol, date): the symbol's close and change_pct on that session, and for
 * every FRED series its latest non-missing value at or before the date (`dgs10`) with the
 * date FRED gave that value (`dgs10_date`; weekly NFCI and late releases are older than the
 * session). A series with no value at all yet is null in both.
 */
export const dailyMatrix = defineKeyedDataset({
  domain: FEATURES_DOMAIN,
  name: 'daily_matrix',
  key: { symbol: 'text', date: 'date' },
  values: { close: required('real'), change_pct: 'real', ...fredColumns },
});

/** What `sluice data features NAME` reads. */
export const FEATURES_DATASETS: Readonly<Record<string, Dataset>> = Object.freeze({ daily_matrix: dailyMatrix });
