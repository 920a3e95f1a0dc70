import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/core/errors.js';
import { hhiRows, rollingRows, tierSplitRows, venueShareRows, type VenueRow } from '../../../src/domains/finra/analytics.js';
import { FinraParseError, candidateFileNames, parseFinraFile, resolveFinraSource } from '../../../src/domains/finra/index.js';
import { BAD, FIXTURES } from './support.js';

const read = (dir: string, name: string) => readFileSync(path.join(dir, name));
const opts = (uri: string) => ({ uri, weekEnding: '2025-12-19', tier: 'NMS_TIER_1' as const });

function parseError(fn: () => unknown): FinraParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FinraParseError);
    expect(err).toBeInstanceOf(PermanentError);
    return err as FinraParseError;
  }
  throw new Error('expected a FinraParseError');
}

describe('parseFinraFile', () => {
  it('parses a good file into raw rows with their lines', () => {
    const parsed = parseFinraFile(read(FIXTURES, 'tier1_20251219.csv'), opts('tier1.csv'));
    expect(parsed.rows).toHaveLength(9);
    expect(parsed.rejects).toEqual([]);
    expect(parsed.rows[0]).toEqual({
      week_ending: '2025-12-19',
      tier: 'NMS_TIER_1',
      symbol: 'AAPL',
      mpid: 'UBSA',
      tier_description: 'NMS Tier 1',
      issue_name: 'Apple Inc. Common Stock',
      participant_name: 'UBS ATS',
      total_weekly_share_quantity: 500000,
      total_weekly_trade_count: 2500,
      last_update_date: '2025-12-22',
      __line: 2,
    });
  });

  it('a trailing empty-symbol row without a final newline is rejected with its line; the rest parses', () => {
    const bytes = read(FIXTURES, 'otc_20251222.csv');
    expect(bytes.toString().endsWith('\n')).toBe(false);
    const parsed = parseFinraFile(bytes, { uri: 'otc.csv', weekEnding: '2025-12-19', tier: 'OTC' });
    expect(parsed.rows).toHaveLength(6);
    expect(parsed.rejects).toEqual([{ line: 8, reason: 'empty issueSymbolIdentifier', raw: 'OTC|||||0|0|2025-12-22' }]);
  });

  it('rejects rows with a bad MPID or another tier, naming line and reason', () => {
    const parsed = parseFinraFile(read(BAD, 'bad_rows_tier1_20251219.csv'), opts('bad.csv'));
    expect(parsed.rows).toHaveLength(9);
    expect(parsed.rejects.map((r) => [r.line, r.reason])).toEqual([
      [5, 'MPID "ab1" is not a market participant identifier (four upper-case letters or digits)'],
      [6, `tierDescription "NMS Tier 2" does not match the partition's tier NMS_TIER_1 (NMS Tier 1)`],
    ]);
  });

  it('a truncated file fails with file, line and column', () => {
    const err = parseError(() => parseFinraFile(read(BAD, 'truncated_tier1_20251219.csv'), opts('/data/tier1_20251219.csv')));
    expect(err.message).toBe(
      '/data/tier1_20251219.csv: line 5, column 5 (MPID): has 4 columns, expected 8 (missing MPID onwards; truncated file or wrong delimiter?)',
    );
    expect([err.line, err.column]).toEqual([5, 5]);
  });

  it('a wrong header fails naming the column', () => {
    const err = parseError(() => parseFinraFile(read(BAD, 'wrong_header_tier1_20251219.csv'), opts('f.csv')));
    expect(err.message).toMatch(
      /^f\.csv: line 1, column 6 \(totalWeeklyShareQuantity\): header column 6 must be "totalWeeklyShareQuantity", found "totalWeeklyShares"/,
    );
  });

  it('a non-numeric quantity fails naming line and column', () => {
    const err = parseError(() => parseFinraFile(read(BAD, 'non_numeric_tier1_20251219.csv'), opts('f.csv')));
    expect(err.message).toBe('f.csv: line 6, column 6 (totalWeeklyShareQuantity): "4OO000" is not a whole number');
  });

  it('an HTML page or an empty file fails at line 1', () => {
    expect(parseError(() => parseFinraFile(read(BAD, 'html_page.html'), opts('p'))).message).toMatch(
      /^p: line 1, column 1 \(tierDescription\): .*looks like an HTML page/,
    );
    expect(parseError(() => parseFinraFile('', opts('e'))).message).toMatch(/^e: line 1, column 1 \(tierDescription\): the file is empty/);
  });

  it('names files by week_ending Friday or publication Monday, with or without the prefix', () => {
    expect(candidateFileNames('2025-12-19', 'OTC')).toEqual([
      'otc_20251219.csv',
      'otc_20251222.csv',
      'finra_otc_weekly_otc_20251219.csv',
      'finra_otc_weekly_otc_20251222.csv',
    ]);
  });

  it('resolves the source from layers: first wins per field, relative dirs against their base', () => {
    expect(
      resolveFinraSource([
        { params: undefined, baseDir: '/a' },
        { params: { data_dir: 'x' }, baseDir: '/cfg' },
      ]),
    ).toEqual({ kind: 'file', dataDir: '/cfg/x' });
    expect(
      resolveFinraSource([
        { params: { source: 'http' }, baseDir: '/' },
        { params: { data_dir: '/d', base_url: 'http://h/f/' }, baseDir: '/' },
      ]),
    ).toEqual({ kind: 'http', baseUrl: 'http://h/f/' });
    expect(resolveFinraSource([{ params: { source: 'http' }, baseDir: '/' }])).toBeNull();
  });
});

describe('analytics', () => {
  const row = (tier: string, symbol: string, venue: string, shares: number, trades = 1): VenueRow => ({
    week_ending: '2025-12-19',
    tier,
    symbol,
    venue,
    venue_name: null,
    shares,
    trades,
  });

  it('HHI is the sum of squared percentage shares: 10000 for one venue, 10000/N for N equal ones', () => {
    const rows = [row('OTC', 'ONE', 'AAAA', 7), ...['AAAA', 'BBBB', 'CCCC', 'DDDD', 'EEEE'].map((v) => row('OTC', 'FIVE', v, 20))];
    const out = new Map(hhiRows(rows).rows.map((r) => [r.symbol, r.hhi]));
    expect(out.get('ONE')).toBe(10_000);
    expect(out.get('FIVE')).toBeCloseTo(2_000, 9);
  });

  it('symbols without shares get no HHI or shares, with a warning', () => {
    const rows = [row('OTC', 'ZERO', 'AAAA', 0), row('OTC', 'ZERO', 'BBBB', 0)];
    expect(hhiRows(rows)).toMatchObject({ rows: [], warnings: [expect.stringContaining('ZERO')] });
    expect(venueShareRows(rows).rows).toEqual([]);
  });

  it('tier split uses every tier of the week', () => {
    const split = tierSplitRows([row('NMS_TIER_2', 'SIRI', 'UBSA', 75), row('OTC', 'SIRI', 'OTCX', 25)]);
    expect(split[0]).toMatchObject({ nms_tier_1_fraction: 0, nms_tier_2_fraction: 0.75, otc_fraction: 0.25, total_shares: 100 });
  });

  it('rolling marks missing weeks and fits a trend over present ones', () => {
    const week = (w: string, shares: number | null) => ({
      week_ending: w,
      rows: shares === null ? null : [{ ...row('OTC', 'X', 'AAAA', shares), week_ending: w }],
    });
    const [r] = rollingRows('2025-12-19', [
      week('2025-11-14', null),
      week('2025-11-21', 100),
      week('2025-11-28', 200),
      week('2025-12-05', 300),
      week('2025-12-12', null),
      week('2025-12-19', 500),
    ]);
    expect(r).toMatchObject({ weeks_present: 4, complete: false, missing_weeks: '2025-11-14,2025-12-12', total_shares: 1100, avg_weekly_shares: 275 });
    // Points (x, y): (1,100) (2,200) (3,300) (5,500): a line of slope 100 per week; 100 / 275 per average week.
    expect(r!.trend).toBeCloseTo(100 / 275, 9);
  });
});
