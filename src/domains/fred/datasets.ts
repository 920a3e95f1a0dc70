import { defineKeyedDataset, required, type Dataset } from '../../data/dataset.js';
import { FRED_DOMAIN } from './constants.js';

/**
 * Every observation of every ingested series, one row per (series_id, date) as FRED dates
 * it. FRED's missing value `"."` (a holiday, a release gap) is kept as a row with
 * `value = null`: the table shows FRED reported the date without a value. Readers that want
 * "the latest value at or before a date" skip nulls (the feature matrix does).
 *
 * Rows are landed per (series_id, calendar month): a capture is one series' month as FRED
 * returned it, so a late or revised observation is a revision of its month, and every
 * (series_id, date) belongs to exactly one capture.
 */
export const observations = defineKeyedDataset({
  domain: FRED_DOMAIN,
  name: 'observations',
  key: { series_id: 'text', date: 'date' },
  values: { value: 'real', bucket: required('text') },
});

/** What `sluice data fred NAME` reads. */
export const FRED_DATASETS: Readonly<Record<string, Dataset>> = Object.freeze({ observations });
