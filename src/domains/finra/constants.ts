/** FINRA OTC (ATS) transparency: weekly venue volumes per tier, published each Monday. */
export const FINRA_DOMAIN = 'finra.otc_transparency';

export const TIERS = ['NMS_TIER_1', 'NMS_TIER_2', 'OTC'] as const;
export type Tier = (typeof TIERS)[number];

/** A tier's prefix in per-tier columns (tier_split's `nms_tier_1_shares`, `otc_fraction`). */
export const TIER_COLUMN: Readonly<Record<Tier, 'nms_tier_1' | 'nms_tier_2' | 'otc'>> = { NMS_TIER_1: 'nms_tier_1', NMS_TIER_2: 'nms_tier_2', OTC: 'otc' };

/** `tierDescription` values in the files. */
export const TIER_DESCRIPTIONS: Readonly<Record<Tier, string>> = {
  NMS_TIER_1: 'NMS Tier 1',
  NMS_TIER_2: 'NMS Tier 2',
  OTC: 'OTC',
};

/** File name stems: `tier1_20251219.csv`. */
export const TIER_FILE_STEMS: Readonly<Record<Tier, string>> = {
  NMS_TIER_1: 'tier1',
  NMS_TIER_2: 'tier2',
  OTC: 'otc',
};

export const FILE_PREFIX = 'finra_otc_weekly_';

/** The header row, exactly. */
export const HEADER = [
  'tierDescription',
  'issueSymbolIdentifier',
  'issueName',
  'marketParticipantName',
  'MPID',
  'totalWeeklyShareQuantity',
  'totalWeeklyTradeCount',
  'lastUpdateDate',
] as const;

/** Symbols: upper-case letters and digits, optionally with a class suffix (`BRK.A`, `BF/B`, `ABC-W`). */
export const SYMBOL_RE = /^[A-Z0-9]{1,10}([./-][A-Z0-9]{1,4})?$/;
/** Market participant identifiers: four upper-case letters or digits. */
export const MPID_RE = /^[A-Z0-9]{4}$/;

export function tierFromDescription(description: string): Tier | null {
  const text = description.trim().toLowerCase().replace(/\s+/g, ' ');
  for (const tier of TIERS) if (TIER_DESCRIPTIONS[tier].toLowerCase() === text) return tier;
  return null;
}

/** Pipeline keys, `domain.name`. */
export const PIPELINES = {
  ingest: `${FINRA_DOMAIN}.ingest_week`,
  normalize: `${FINRA_DOMAIN}.normalize_week`,
  venueVolume: `${FINRA_DOMAIN}.compute_venue_volume`,
  venueShare: `${FINRA_DOMAIN}.compute_venue_share`,
  hhi: `${FINRA_DOMAIN}.compute_hhi`,
  tierSplit: `${FINRA_DOMAIN}.compute_tier_split`,
  rolling: `${FINRA_DOMAIN}.compute_rolling`,
} as const;

/** The `calc` stage of `sluice finra`, in run order. */
export const COMPUTE_PIPELINES = [PIPELINES.venueVolume, PIPELINES.venueShare, PIPELINES.hhi, PIPELINES.tierSplit, PIPELINES.rolling] as const;

/** Weeks the rolling window covers (the partition's week and the five before it). */
export const ROLLING_WEEKS = 6;
