import { AsyncLocalStorage } from 'node:async_hooks';
import type { FetchedSeries, PriceSourceParams } from './source.js';

/**
 * Options one `sluice prices` invocation applies to every handler it runs inline (a work
 * item's params are fixed when it is first enqueued, so flags cannot change them). Handlers
 * run by a worker pool elsewhere never see these and fetch per partition.
 *
 * Within one invocation a symbol's series is fetched once, over `window` (the whole batch's
 * date range), and shared by every date of that symbol: ten sessions of AAPL from Alpha
 * Vantage are one call, not ten. A failed fetch fails every date of that symbol in the batch
 * (it is not re-tried against a vendor that just refused it).
 */
export interface PricesRunOptions {
  /** Source from the command line; paths already absolute. */
  source?: PriceSourceParams;
  /** Land even when the row is unchanged. */
  force?: boolean;
  /** Fetch range covering every date of the batch (and the session before the first). */
  window?: { from: string; to: string };
  /** Pause this long before every network fetch after the first (`--sleep MS`). */
  sleepMs?: number;
  /** Series fetched so far, by source, symbol and window. */
  cache?: Map<string, Promise<FetchedSeries>>;
  /** Network fetches started so far (the first one does not sleep). */
  fetches?: { count: number };
}

const storage = new AsyncLocalStorage<PricesRunOptions>();

export function runWithPricesOptions<T>(options: PricesRunOptions, fn: () => Promise<T>): Promise<T> {
  return storage.run(options, fn);
}

export function currentPricesRunOptions(): PricesRunOptions | undefined {
  return storage.getStore();
}
