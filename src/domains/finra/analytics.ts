import { TIER_COLUMN, TIERS, type Tier } from './constants.js';

/**
 * The computations behind the published datasets, as pure functions over normalized rows
 * (one row = one venue's weekly volume in one symbol and tier).
 */
export interface VenueRow {
  week_ending: string;
  tier: string;
  symbol: string;
  venue: string;
  venue_name: string | null;
  shares: number;
  trades: number;
}

export interface Computed<R> {
  rows: R[];
  warnings: string[];
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function venueVolumeRows(rows: readonly VenueRow[]) {
  return rows.map((r) => ({
    week_ending: r.week_ending,
    tier: r.tier,
    symbol: r.symbol,
    venue: r.venue,
    venue_name: r.venue_name,
    shares: r.shares,
    trades: r.trades,
    avg_trade_size: r.trades > 0 ? r.shares / r.trades : null,
  }));
}

export interface ShareRow {
  week_ending: string;
  tier: string;
  level: 'symbol' | 'tier';
  symbol: string;
  venue: string;
  venue_name: string | null;
  shares: number;
  trades: number;
  share: number;
  trade_share: number | null;
  rank: number;
}

/** Shares of one group's venues: fractions of the group's shares (sum 1), ranked by shares. */
function shareGroup(
  base: { week_ending: string; tier: string; level: 'symbol' | 'tier'; symbol: string },
  venues: readonly { venue: string; venue_name: string | null; shares: number; trades: number }[],
): ShareRow[] {
  const total = venues.reduce((s, v) => s + v.shares, 0);
  const totalTrades = venues.reduce((s, v) => s + v.trades, 0);
  const ordered = [...venues].sort((a, b) => b.shares - a.shares || byText(a.venue, b.venue));
  return ordered.map((v, i) => ({
    ...base,
    venue: v.venue,
    venue_name: v.venue_name,
    shares: v.shares,
    trades: v.trades,
    share: v.shares / total,
    trade_share: totalTrades > 0 ? v.trades / totalTrades : null,
    rank: i + 1,
  }));
}

/**
 * `level = symbol`: per (tier, symbol), each venue's fraction of the symbol's weekly shares.
 * `level = tier`: per tier, each venue's fraction of all the tier's weekly shares (symbol `*`).
 * Groups with no shares at all have no fractions and are left out (with a warning).
 */
export function venueShareRows(rows: readonly VenueRow[]): Computed<ShareRow> {
  const out: ShareRow[] = [];
  const warnings: string[] = [];
  for (const [, group] of groupBy(rows, (r) => `${r.week_ending}|${r.tier}|${r.symbol}`)) {
    const { week_ending, tier, symbol } = group[0]!;
    if (group.every((r) => r.shares === 0)) {
      warnings.push(`venue_share: ${symbol} (${tier}, week ${week_ending}) traded no shares; no shares computed`);
      continue;
    }
    out.push(...shareGroup({ week_ending, tier, level: 'symbol', symbol }, group));
  }
  for (const [, group] of groupBy(rows, (r) => `${r.week_ending}|${r.tier}`)) {
    const { week_ending, tier } = group[0]!;
    const venues = [...groupBy(group, (r) => r.venue).values()].map((vs) => ({
      venue: vs[0]!.venue,
      venue_name: vs.find((v) => v.venue_name)?.venue_name ?? null,
      shares: vs.reduce((s, v) => s + v.shares, 0),
      trades: vs.reduce((s, v) => s + v.trades, 0),
    }));
    if (venues.every((v) => v.shares === 0)) continue;
    out.push(...shareGroup({ week_ending, tier, level: 'tier', symbol: '*' }, venues));
  }
  return { rows: out, warnings };
}

export interface HhiRow {
  week_ending: string;
  tier: string;
  symbol: string;
  hhi: number;
  venue_count: number;
  total_shares: number;
  top_venue: string | null;
  top_share: number | null;
}

/**
 * Herfindahl-Hirschman index per (week_ending, tier, symbol): the sum over venues of
 * (100 × the venue's share of the symbol's weekly shares)², from 10000/N (N equal venues)
 * up to 10000 (one venue). Symbols with no shares have no index (left out, with a warning).
 */
export function hhiRows(rows: readonly VenueRow[]): Computed<HhiRow> {
  const out: HhiRow[] = [];
  const warnings: string[] = [];
  for (const [, group] of groupBy(rows, (r) => `${r.week_ending}|${r.tier}|${r.symbol}`)) {
    const { week_ending, tier, symbol } = group[0]!;
    const total = group.reduce((s, r) => s + r.shares, 0);
    if (total === 0) {
      warnings.push(`hhi: ${symbol} (${tier}, week ${week_ending}) traded no shares; no index computed`);
      continue;
    }
    let index = 0;
    let top: VenueRow | null = null;
    for (const r of group) {
      index += ((100 * r.shares) / total) ** 2;
      if (!top || r.shares > top.shares || (r.shares === top.shares && byText(r.venue, top.venue) < 0)) top = r;
    }
    out.push({
      week_ending,
      tier,
      symbol,
      hhi: Math.min(10_000, index),
      venue_count: group.filter((r) => r.shares > 0).length,
      total_shares: total,
      top_venue: top?.venue ?? null,
      top_share: top ? top.shares / total : null,
    });
  }
  return { rows: out, warnings };
}

export interface TierSplitRow {
  week_ending: string;
  symbol: string;
  nms_tier_1_shares: number;
  nms_tier_2_shares: number;
  otc_shares: number;
  total_shares: number;
  nms_tier_1_fraction: number | null;
  nms_tier_2_fraction: number | null;
  otc_fraction: number | null;
  total_trades: number;
}

/**
 * Per (week_ending, symbol): the symbol's weekly shares in each tier and each tier's fraction
 * of the symbol's total. Needs the rows of every tier of the week at once: computed from one
 * tier's rows alone, every symbol would be 100% in that tier.
 */
export function tierSplitRows(rows: readonly VenueRow[]): TierSplitRow[] {
  const out: TierSplitRow[] = [];
  for (const [, group] of groupBy(rows, (r) => `${r.week_ending}|${r.symbol}`)) {
    const { week_ending, symbol } = group[0]!;
    const shares: Record<Tier, number> = { NMS_TIER_1: 0, NMS_TIER_2: 0, OTC: 0 };
    let trades = 0;
    for (const r of group) {
      if ((TIERS as readonly string[]).includes(r.tier)) shares[r.tier as Tier] += r.shares;
      trades += r.trades;
    }
    const total = shares.NMS_TIER_1 + shares.NMS_TIER_2 + shares.OTC;
    const row = { week_ending, symbol, total_shares: total, total_trades: trades } as TierSplitRow;
    for (const tier of TIERS) {
      const col = TIER_COLUMN[tier];
      row[`${col}_shares`] = shares[tier];
      row[`${col}_fraction`] = total > 0 ? shares[tier] / total : null;
    }
    out.push(row);
  }
  return out;
}

export interface RollingRow {
  week_ending: string;
  symbol: string;
  window_weeks: number;
  weeks_present: number;
  complete: boolean;
  missing_weeks: string | null;
  total_shares: number;
  total_trades: number;
  avg_weekly_shares: number | null;
  trend: number | null;
}

/**
 * The rolling window ending at `weekEnding`: `weeks` oldest first, each with its rows or null
 * when the week is not (fully) in. Per symbol across tiers: totals over the present weeks, the
 * average present week, and the trend: the least-squares slope of weekly shares against the
 * week's position in the window, divided by the average week (0.1 = growing by 10% of an
 * average week per week). A symbol absent from a present week traded 0 shares that week.
 */
export function rollingRows(weekEnding: string, weeks: readonly { week_ending: string; rows: readonly VenueRow[] | null }[]): RollingRow[] {
  const present = weeks.map((w, i) => ({ ...w, index: i })).filter((w) => w.rows !== null);
  const missing = weeks.filter((w) => w.rows === null).map((w) => w.week_ending);
  const symbols = new Set<string>();
  for (const w of present) for (const r of w.rows!) symbols.add(r.symbol);
  const out: RollingRow[] = [];
  for (const symbol of [...symbols].sort(byText)) {
    const points = present.map((w) => {
      let shares = 0;
      let trades = 0;
      for (const r of w.rows!)
        if (r.symbol === symbol) {
          shares += r.shares;
          trades += r.trades;
        }
      return { x: w.index, shares, trades };
    });
    const totalShares = points.reduce((s, p) => s + p.shares, 0);
    const totalTrades = points.reduce((s, p) => s + p.trades, 0);
    const avg = points.length ? totalShares / points.length : null;
    let trend: number | null = null;
    if (points.length >= 2 && avg) {
      const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
      const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
      const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.shares - avg), 0);
      trend = sxx > 0 ? sxy / sxx / avg : null;
    }
    out.push({
      week_ending: weekEnding,
      symbol,
      window_weeks: weeks.length,
      weeks_present: present.length,
      complete: missing.length === 0,
      missing_weeks: missing.length ? missing.join(',') : null,
      total_shares: totalShares,
      total_trades: totalTrades,
      avg_weekly_shares: avg,
      trend,
    });
  }
  return out;
}
