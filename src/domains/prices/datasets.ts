import { defineKeyedDataset, required, type Dataset } from '../../data/dataset.js';
import { PRICES_DOMAIN } from './constants.js';

/**
 * One row per (symbol, date): the session's bar and its change against the previous bar of
 * the same symbol (`prev_date`, normally the previous XNYS session). `change` is
 * `close - prev_close`, `change_pct` is that in percent of `prev_close` (1.5 = +1.5%), both
 * rounded to 6 decimals; all three are null when no earlier bar is known. Which source a
 * row came from is on its capture (`source`), not in the row, so the same bars from a CSV,
 * Alpha Vantage or Polygon are the same rows.
 */
export const dailyOhlcv = defineKeyedDataset({
  domain: PRICES_DOMAIN,
  name: 'daily_ohlcv',
  key: { symbol: 'text', date: 'date' },
  values: {
    open: required('real'),
    high: required('real'),
    low: required('real'),
    close: required('real'),
    volume: required('integer'),
    prev_date: 'date',
    prev_close: 'real',
    change: 'real',
    change_pct: 'real',
  },
});

/** What `sluice data prices NAME` reads. */
export const PRICES_DATASETS: Readonly<Record<string, Dataset>> = Object.freeze({ daily_ohlcv: dailyOhlcv });
