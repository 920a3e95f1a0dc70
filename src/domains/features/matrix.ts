import { seriesColumn } from './datasets.js';

export interface PriceInput {
  close: number;
  change_pct: number | null;
}

export interface SeriesValue {
  date: string;
  value: number;
}

export type MatrixRow = Record<string, string | number | null>;

/**
 * The latest non-missing observation at or before `date` (FRED's `"."` rows, value null, are
 * skipped), or null when there is none.
 */
export function latestAtOrBefore(observations: readonly Readonly<Record<string, unknown>>[], date: string): SeriesValue | null {
  let best: SeriesValue | null = null;
  for (const o of observations) {
    if (typeof o.date !== 'string' || typeof o.value !== 'number' || o.date > date) continue;
    if (!best || o.date > best.date) best = { date: o.date, value: o.value };
  }
  return best;
}

/**
 * The matrix of one session: one row per symbol (in the order given) with its close and
 * change_pct, and every series' value and value date.
 */
export function buildMatrix(
  date: string,
  symbols: readonly string[],
  prices: ReadonlyMap<string, PriceInput>,
  series: readonly string[],
  values: ReadonlyMap<string, SeriesValue | null>,
): MatrixRow[] {
  return symbols.map((symbol) => {
    const p = prices.get(symbol);
    if (!p) throw new Error(`no price for ${symbol} on ${date}`);
    const row: MatrixRow = { symbol, date, close: p.close, change_pct: p.change_pct };
    for (const s of series) {
      const v = values.get(s) ?? null;
      row[seriesColumn(s)] = v?.value ?? null;
      row[`${seriesColumn(s)}_date`] = v?.date ?? null;
    }
    return row;
  });
}
