import { defineKeyedDataset, required, type ColumnSpec, type Dataset } from '../../data/dataset.js';
import { FINRA_DOMAIN, TIER_COLUMN, TIERS } from './constants.js';

/**
 * The domain's datasets. `otc_weekly_raw` is what ingest lands (the file's rows as they are,
 * minus rows rejected at parse time); `otc_weekly` is what normalize lands (validated, tier
 * codes, integers); the rest are published by the computes and read by `sluice data`.
 */

/** The key of every per-symbol weekly table: one row per (week, tier, symbol[, …]). */
const WEEK_TIER_SYMBOL = { week_ending: 'date', tier: 'text', symbol: 'text' } as const;
/** One venue's weekly totals, as normalize names them. */
const VENUE_TOTALS = { venue_name: 'text', shares: required('integer'), trades: required('integer') } as const;

export const rawWeekly = defineKeyedDataset({
  domain: FINRA_DOMAIN,
  name: 'otc_weekly_raw',
  key: { ...WEEK_TIER_SYMBOL, mpid: 'text' },
  values: {
    tier_description: required('text'),
    issue_name: 'text',
    participant_name: 'text',
    total_weekly_share_quantity: required('integer'),
    total_weekly_trade_count: required('integer'),
    last_update_date: required('text'),
  },
});

export const normalizedWeekly = defineKeyedDataset({
  domain: FINRA_DOMAIN,
  name: 'otc_weekly',
  key: { ...WEEK_TIER_SYMBOL, venue: 'text' },
  values: { issue_name: 'text', ...VENUE_TOTALS, publication_date: required('date'), last_update_date: required('date') },
});

export const venueVolume = defineKeyedDataset({
  domain: FINRA_DOMAIN,
  name: 'venue_volume',
  key: { ...WEEK_TIER_SYMBOL, venue: 'text' },
  values: { ...VENUE_TOTALS, avg_trade_size: 'real' },
});

/**
 * `level = symbol`: each venue's fraction of one symbol's weekly shares in one tier.
 * `level = tier`: each venue's fraction of the whole tier's weekly shares (`symbol = '*'`).
 * Within a (week_ending, tier, level, symbol) group the `share` values sum to 1 and `rank`
 * orders venues by shares (1 = largest; ties by venue).
 */
export const venueShare = defineKeyedDataset({
  domain: FINRA_DOMAIN,
  name: 'venue_share',
  key: { week_ending: 'date', tier: 'text', level: 'text', symbol: 'text', venue: 'text' },
  values: { ...VENUE_TOTALS, share: required('real'), trade_share: 'real', rank: required('integer') },
});

/** Herfindahl-Hirschman index per (week_ending, tier, symbol): Σ (100 × venue share)², 0..10000. */
export const hhi = defineKeyedDataset({
  domain: FINRA_DOMAIN,
  name: 'hhi',
  key: WEEK_TIER_SYMBOL,
  values: { hhi: required('real'), venue_count: required('integer'), total_shares: required('integer'), top_venue: 'text', top_share: 'real' },
});

/** One column per tier, in TIERS order: `nms_tier_1_shares`, `nms_tier_2_shares`, `otc_shares`. */
const perTier = (suffix: string, spec: ColumnSpec): Record<string, ColumnSpec> => Object.fromEntries(TIERS.map((t) => [`${TIER_COLUMN[t]}_${suffix}`, spec]));

/** Per (week_ending, symbol): the symbol's weekly shares in each tier, and each tier's fraction. */
export const tierSplit = defineKeyedDataset({
  domain: FINRA_DOMAIN,
  name: 'tier_split',
  key: { week_ending: 'date', symbol: 'text' },
  values: { ...perTier('shares', required('integer')), total_shares: required('integer'), ...perTier('fraction', 'real'), total_trades: required('integer') },
});

/**
 * A 6-week window ending at `week_ending`, per symbol across all tiers. A week counts as
 * present when all three tiers are normalized for it; `complete` is false (and
 * `missing_weeks` lists them) when any is not. `trend` is the least-squares slope of weekly
 * shares over the present weeks, as a fraction of the window's average week per week.
 */
export const rolling = defineKeyedDataset({
  domain: FINRA_DOMAIN,
  name: 'rolling',
  key: { week_ending: 'date', symbol: 'text' },
  values: {
    window_weeks: required('integer'),
    weeks_present: required('integer'),
    complete: required('boolean'),
    missing_weeks: 'text',
    total_shares: required('integer'),
    total_trades: required('integer'),
    avg_weekly_shares: 'real',
    trend: 'real',
  },
});

/** Every dataset of the domain, by name (what `sluice data finra.otc_transparency NAME` reads). */
export const FINRA_DATASETS: Readonly<Record<string, Dataset>> = Object.freeze({
  venue_volume: venueVolume,
  venue_share: venueShare,
  hhi,
  tier_split: tierSplit,
  rolling,
  otc_weekly: normalizedWeekly,
  otc_weekly_raw: rawWeekly,
});
