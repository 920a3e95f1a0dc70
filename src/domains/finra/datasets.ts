import { defineDataset, type Dataset } from '../../data/dataset.js';
import { FINRA_DOMAIN } from './constants.js';

/**
 * The domain's datasets. `otc_weekly_raw` is what ingest lands (the file's rows as they are,
 * minus rows rejected at parse time); `otc_weekly` is what normalize lands (validated, tier
 * codes, integers); the rest are published by the computes and read by `sluice data`.
 */

export const rawWeekly = defineDataset({
  domain: FINRA_DOMAIN,
  name: 'otc_weekly_raw',
  columns: [
    { name: 'week_ending', type: 'date' },
    { name: 'tier', type: 'text' },
    { name: 'symbol', type: 'text' },
    { name: 'mpid', type: 'text' },
    { name: 'tier_description', type: 'text', required: true },
    { name: 'issue_name', type: 'text' },
    { name: 'participant_name', type: 'text' },
    { name: 'total_weekly_share_quantity', type: 'integer', required: true },
    { name: 'total_weekly_trade_count', type: 'integer', required: true },
    { name: 'last_update_date', type: 'text', required: true },
  ],
  primaryKey: ['week_ending', 'tier', 'symbol', 'mpid'],
});

export const normalizedWeekly = defineDataset({
  domain: FINRA_DOMAIN,
  name: 'otc_weekly',
  columns: [
    { name: 'week_ending', type: 'date' },
    { name: 'tier', type: 'text' },
    { name: 'symbol', type: 'text' },
    { name: 'venue', type: 'text' },
    { name: 'issue_name', type: 'text' },
    { name: 'venue_name', type: 'text' },
    { name: 'shares', type: 'integer', required: true },
    { name: 'trades', type: 'integer', required: true },
    { name: 'publication_date', type: 'date', required: true },
    { name: 'last_update_date', type: 'date', required: true },
  ],
  primaryKey: ['week_ending', 'tier', 'symbol', 'venue'],
});

export const venueVolume = defineDataset({
  domain: FINRA_DOMAIN,
  name: 'venue_volume',
  columns: [
    { name: 'week_ending', type: 'date' },
    { name: 'tier', type: 'text' },
    { name: 'symbol', type: 'text' },
    { name: 'venue', type: 'text' },
    { name: 'venue_name', type: 'text' },
    { name: 'shares', type: 'integer', required: true },
    { name: 'trades', type: 'integer', required: true },
    { name: 'avg_trade_size', type: 'real' },
  ],
  primaryKey: ['week_ending', 'tier', 'symbol', 'venue'],
});

/**
 * `level = symbol`: each venue's fraction of one symbol's weekly shares in one tier.
 * `level = tier`: each venue's fraction of the whole tier's weekly shares (`symbol = '*'`).
 * Within a (week_ending, tier, level, symbol) group the `share` values sum to 1 and `rank`
 * orders venues by shares (1 = largest; ties by venue).
 */
export const venueShare = defineDataset({
  domain: FINRA_DOMAIN,
  name: 'venue_share',
  columns: [
    { name: 'week_ending', type: 'date' },
    { name: 'tier', type: 'text' },
    { name: 'level', type: 'text' },
    { name: 'symbol', type: 'text' },
    { name: 'venue', type: 'text' },
    { name: 'venue_name', type: 'text' },
    { name: 'shares', type: 'integer', required: true },
    { name: 'trades', type: 'integer', required: true },
    { name: 'share', type: 'real', required: true },
    { name: 'trade_share', type: 'real' },
    { name: 'rank', type: 'integer', required: true },
  ],
  primaryKey: ['week_ending', 'tier', 'level', 'symbol', 'venue'],
});

/** Herfindahl-Hirschman index per (week_ending, tier, symbol): Σ (100 × venue share)², 0..10000. */
export const hhi = defineDataset({
  domain: FINRA_DOMAIN,
  name: 'hhi',
  columns: [
    { name: 'week_ending', type: 'date' },
    { name: 'tier', type: 'text' },
    { name: 'symbol', type: 'text' },
    { name: 'hhi', type: 'real', required: true },
    { name: 'venue_count', type: 'integer', required: true },
    { name: 'total_shares', type: 'integer', required: true },
    { name: 'top_venue', type: 'text' },
    { name: 'top_share', type: 'real' },
  ],
  primaryKey: ['week_ending', 'tier', 'symbol'],
});

/** Per (week_ending, symbol): the symbol's weekly shares in each tier, and each tier's fraction. */
export const tierSplit = defineDataset({
  domain: FINRA_DOMAIN,
  name: 'tier_split',
  columns: [
    { name: 'week_ending', type: 'date' },
    { name: 'symbol', type: 'text' },
    { name: 'nms_tier_1_shares', type: 'integer', required: true },
    { name: 'nms_tier_2_shares', type: 'integer', required: true },
    { name: 'otc_shares', type: 'integer', required: true },
    { name: 'total_shares', type: 'integer', required: true },
    { name: 'nms_tier_1_fraction', type: 'real' },
    { name: 'nms_tier_2_fraction', type: 'real' },
    { name: 'otc_fraction', type: 'real' },
    { name: 'total_trades', type: 'integer', required: true },
  ],
  primaryKey: ['week_ending', 'symbol'],
});

/**
 * A 6-week window ending at `week_ending`, per symbol across all tiers. A week counts as
 * present when all three tiers are normalized for it; `complete` is false (and
 * `missing_weeks` lists them) when any is not. `trend` is the least-squares slope of weekly
 * shares over the present weeks, as a fraction of the window's average week per week.
 */
export const rolling = defineDataset({
  domain: FINRA_DOMAIN,
  name: 'rolling',
  columns: [
    { name: 'week_ending', type: 'date' },
    { name: 'symbol', type: 'text' },
    { name: 'window_weeks', type: 'integer', required: true },
    { name: 'weeks_present', type: 'integer', required: true },
    { name: 'complete', type: 'boolean', required: true },
    { name: 'missing_weeks', type: 'text' },
    { name: 'total_shares', type: 'integer', required: true },
    { name: 'total_trades', type: 'integer', required: true },
    { name: 'avg_weekly_shares', type: 'real' },
    { name: 'trend', type: 'real' },
  ],
  primaryKey: ['week_ending', 'symbol'],
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
