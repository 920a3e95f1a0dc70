import type { z } from 'zod';
import { PermanentError } from '../../core/errors.js';
import type { HandlerContext, HandlerResult } from '../../core/pipeline.js';
import { abortableSleep } from '../../connectors/abortable.js';
import { permanentIfSourceSaysSo, SourceError } from '../../connectors/errors.js';
import { PRICES_ROW_VERSION } from './constants.js';
import { dailyOhlcv } from './datasets.js';
import type { Bar } from './parse.js';
import { previousSession } from './partitions.js';
import {
  describeMissingSource,
  fetchSeries,
  resolvePriceSource,
  sourceParamsFromConfig,
  sourceParamsFromEnv,
  type sourceParamsSchema,
  type FetchedSeries,
  type PriceSource,
  type PriceSourceParams,
} from './source.js';
import type { PricesDomainOptions } from './pipelines.js';

/** What prices.daily_ohlcv does when an item runs; imported on its first run (pipelines.ts holds the definition). */

type Params = z.infer<typeof sourceParamsSchema> & { force: boolean };

export interface PriceRow extends Bar {
  symbol: string;
  prev_date: string | null;
  prev_close: number | null;
  change: number | null;
  change_pct: number | null;
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** The dataset row of one bar, with its change against `prev` (null when there is none). */
export function priceRow(symbol: string, bar: Bar, prev: { date: string; close: number } | null): PriceRow {
  const change = prev ? round6(bar.close - prev.close) : null;
  const pct = prev && prev.close !== 0 ? round6(((bar.close - prev.close) / prev.close) * 100) : null;
  return {
    symbol,
    date: bar.date,
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
    prev_date: prev?.date ?? null,
    prev_close: prev?.close ?? null,
    change,
    change_pct: pct,
  };
}

/**
 * The bar of `date` and the bar before it in the series, or an error saying why there is no
 * bar: not published yet (retryable), before the series starts (permanent; for Alpha Vantage
 * `compact` the hint to use `full`), or a gap in the series (permanent).
 */
export function findBar(bars: readonly Bar[], date: string, ctx: { symbol: string; uri: string; source: PriceSource }): { bar: Bar; prev: Bar | null } {
  const i = bars.findIndex((b) => b.date === date);
  if (i >= 0) return { bar: bars[i]!, prev: i > 0 ? bars[i - 1]! : null };
  const first = bars[0]?.date;
  const last = bars.at(-1)?.date;
  const what = `${ctx.uri}: no ${ctx.symbol} bar for ${date}`;
  if (last === undefined || date > last) {
    throw new SourceError(`${what} yet (${last ? `latest bar ${last}` : 'no bars at all'}); it may not be published yet`, ctx.uri, 'source_not_found');
  }
  if (date < first!) {
    const hint =
      ctx.source.kind === 'alphavantage' && ctx.source.outputsize === 'compact'
        ? '; outputsize compact returns the last 100 sessions only: use outputsize full (--outputsize full)'
        : '';
    throw new PermanentError(`${what}: the series starts at ${first}${hint}`);
  }
  throw new PermanentError(`${what}: the series covers ${first}..${last} but skips that session`);
}

/** prices.daily_ohlcv: one symbol's bar of one session, with its change against the previous bar. */
export async function landDailyBar(ctx: HandlerContext<Params>, options: PricesDomainOptions): Promise<HandlerResult> {
  const { date, symbol } = ctx.partition as { date: string; symbol: string };
  const run = ctx.run;
  // Set by planPricesBatch, the only writer of `run.shared` for this pipeline.
  const shared = run?.shared as PricesBatchState | undefined;
  const source = sourceOf(ctx, run?.source as PriceSourceParams | undefined, options);
  const prevSession = previousSession(date);
  const window = shared && shared.window.from <= prevSession && shared.window.to >= date ? shared.window : { from: prevSession, to: date };
  const fetched = await permanentIfSourceSaysSo(() => seriesFor(ctx, source, symbol, window, shared));
  const { bar, prev } = findBar(fetched.bars, date, { symbol, uri: fetched.uri, source });
  const warnings: string[] = [];
  let previous: { date: string; close: number } | null = prev;
  if (!previous) {
    // Not in this fetch (a series that starts here): the bar landed for the previous session.
    const [landed] = await ctx.data.latest(dailyOhlcv, { where: { symbol, date: prevSession } });
    if (landed && typeof landed.close === 'number') previous = { date: prevSession, close: landed.close };
    else warnings.push(`${symbol} ${date}: no earlier bar in ${fetched.uri} or in the dataset; change and change_pct are null`);
  } else if (previous.date !== prevSession) {
    warnings.push(
      `${symbol} ${date}: the previous bar is ${previous.date}, not the previous session ${prevSession} (a gap in the source); change is against ${previous.date}`,
    );
  }
  const row = priceRow(symbol, bar, previous);
  const result = await ctx.data.land(dailyOhlcv, {
    partition: ctx.partition,
    stage: 'daily_ohlcv',
    // The partition's slice of the source, canonical: a vendor's whole-series body changes
    // every day, the bar of one past session does not.
    sourceBytes: JSON.stringify({ version: PRICES_ROW_VERSION, row }),
    rows: [row],
    source: fetched.uri,
    force: run?.force ?? ctx.params.force,
  });
  ctx.output(`${result.status} ${result.capture_id}: ${symbol} ${date} close ${row.close} from ${fetched.uri}\n`);
  return { ...result, source_uri: fetched.uri, warnings };
}

/**
 * What the items of one `sluice prices` batch share (`ctx.run.shared`). Within a batch a
 * symbol's series is fetched once, over `window` (the whole batch's date range), and shared
 * by every date of that symbol: ten sessions of AAPL from Alpha Vantage are one call, not
 * ten. A failed fetch fails every date of that symbol in the batch (it is not re-tried
 * against a vendor that just refused it). Items run by a worker pool fetch per partition.
 */
export interface PricesBatchState {
  /** Fetch range covering every date of the batch (and the session before the first). */
  window: { from: string; to: string };
  /** Pause this long before every vendor call after the first (`--sleep`, in ms here). */
  sleepMs: number;
  /** Series fetched so far, by source, symbol and window. */
  cache: Map<string, Promise<FetchedSeries>>;
  /** Vendor calls started so far, across every batch of the command (the first does not sleep). */
  fetches: { count: number };
}

/** The symbol's series over `window`, fetched once per batch (see PricesBatchState). */
function seriesFor(
  ctx: HandlerContext<Params>,
  source: PriceSource,
  symbol: string,
  window: { from: string; to: string },
  run: PricesBatchState | undefined,
): Promise<FetchedSeries> {
  const fetch = async () => {
    if (run && source.kind !== 'file' && source.kind !== 'mock') {
      if (run.sleepMs && run.fetches.count > 0) await abortableSleep(run.sleepMs, ctx.signal);
      run.fetches.count++;
    }
    return fetchSeries(source, symbol, { ...window, signal: ctx.signal, log: ctx.log });
  };
  if (!run?.cache) return fetch();
  const key = JSON.stringify([source, symbol, window]);
  let pending = run.cache.get(key);
  if (!pending) {
    pending = fetch();
    run.cache.set(key, pending);
  }
  return pending;
}

function sourceOf(ctx: HandlerContext<Params>, override: PriceSourceParams | undefined, options: PricesDomainOptions): PriceSource {
  const { force: _force, ...itemSource } = ctx.params;
  const cwd = process.cwd();
  const baseDir = options.baseDir ?? cwd;
  const source = resolvePriceSource([
    { params: override, baseDir: cwd },
    { params: itemSource, baseDir },
    { params: sourceParamsFromEnv(options.env ?? process.env), baseDir: cwd },
    { params: sourceParamsFromConfig(options.config), baseDir },
  ]);
  if (!source) throw new PermanentError(describeMissingSource(override?.source ?? itemSource.source));
  return source;
}
