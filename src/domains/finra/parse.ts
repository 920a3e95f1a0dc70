import { parse } from 'csv-parse/sync';
import { PermanentError } from '../../core/errors.js';
import type { RejectInput } from '../../data/data-store.js';
import { HEADER, MPID_RE, SYMBOL_RE, TIER_DESCRIPTIONS, tierFromDescription, type Tier } from './constants.js';

/**
 * Structural damage in a FINRA file: wrong header, wrong column count, a non-numeric
 * quantity, a truncated last line. The whole capture fails (nothing lands) and, since the
 * same bytes will fail the same way, it is a PermanentError: the worker does not retry it.
 */
export class FinraParseError extends PermanentError {
  constructor(
    readonly uri: string,
    readonly line: number,
    readonly column: number,
    readonly columnName: string | null,
    detail: string,
  ) {
    super(`${uri}: line ${line}, column ${column}${columnName ? ` (${columnName})` : ''}: ${detail}`);
  }
}

export interface RawRow {
  week_ending: string;
  tier: Tier;
  symbol: string;
  mpid: string;
  tier_description: string;
  issue_name: string;
  participant_name: string;
  total_weekly_share_quantity: number;
  total_weekly_trade_count: number;
  last_update_date: string;
  /** Source line, for the data layer's error messages (not stored). */
  __line: number;
}

export interface ParsedFile {
  rows: RawRow[];
  /** Rows that parsed but are not valid data; recorded with their line and reason. */
  rejects: RejectInput[];
  /** Data lines seen (header excluded). */
  lines: number;
}

const QTY = 5;
const TRADES = 6;
const INT_RE = /^-?\d+$/;

/**
 * Parses one weekly file (pipe-delimited, header row, optional final newline) for the
 * partition (`weekEnding`, `tier`). Structural damage throws FinraParseError naming the
 * file, line and column; rows with an empty or malformed symbol, a bad MPID, a tier that is
 * not the partition's, or a duplicate (symbol, MPID) are returned as rejects.
 */
export function parseFinraFile(bytes: Buffer | string, opts: { uri: string; weekEnding: string; tier: Tier }): ParsedFile {
  const { uri } = opts;
  let records: { record: string[]; info: { lines: number; raw?: string } }[];
  try {
    records = parse(bytes, {
      delimiter: '|',
      // FINRA files are not quoted; a `"` inside an issue name is just a character.
      quote: false,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      raw: true,
    }) as unknown as typeof records;
  } catch (err) {
    const e = err as { lines?: number; message?: string };
    throw new FinraParseError(uri, e.lines ?? 1, 1, null, `cannot be parsed as pipe-delimited text: ${e.message ?? String(err)}`);
  }
  const withRaw = records as unknown as { record: string[]; info: { lines: number }; raw: string }[];
  if (withRaw.length === 0) {
    throw new FinraParseError(uri, 1, 1, HEADER[0], `the file is empty; expected the header row ${HEADER.join('|')}`);
  }
  checkHeader(withRaw[0]!.record.map((f) => f.trim()), withRaw[0]!.info.lines, uri);

  const rows: RawRow[] = [];
  const rejects: RejectInput[] = [];
  const seen = new Map<string, number>();
  for (let i = 1; i < withRaw.length; i++) {
    const { record, info, raw } = withRaw[i]!;
    const line = info.lines;
    const fields = record.map((f) => f.trim());
    const rawText = raw.replace(/\r?\n$/, '');
    if (fields.length !== HEADER.length) {
      const column = fields.length < HEADER.length ? fields.length + 1 : HEADER.length + 1;
      const what = fields.length < HEADER.length ? `missing ${HEADER[fields.length]} onwards` : 'extra fields after lastUpdateDate';
      throw new FinraParseError(uri, line, column, HEADER[column - 1] ?? null, `has ${fields.length} columns, expected ${HEADER.length} (${what}; truncated file or wrong delimiter?)`);
    }
    const [tierDescription, symbol, issueName, participant, mpid, qty, trades, lastUpdate] = fields as [string, string, string, string, string, string, string, string];
    const reject = (reason: string) => rejects.push({ line, reason, raw: rawText });
    // A trailing row with no symbol is common in real files: not data, but not damage either.
    if (symbol === '') {
      reject('empty issueSymbolIdentifier');
      continue;
    }
    const shares = integerField(qty, uri, line, QTY);
    const tradeCount = integerField(trades, uri, line, TRADES);
    const rowTier = tierFromDescription(tierDescription);
    if (rowTier === null) {
      reject(`tierDescription ${JSON.stringify(tierDescription)} is not one of ${Object.values(TIER_DESCRIPTIONS).join(', ')}`);
      continue;
    }
    if (rowTier !== opts.tier) {
      reject(`tierDescription ${JSON.stringify(tierDescription)} does not match the partition's tier ${opts.tier} (${TIER_DESCRIPTIONS[opts.tier]})`);
      continue;
    }
    if (!SYMBOL_RE.test(symbol)) {
      reject(`issueSymbolIdentifier ${JSON.stringify(symbol)} is not a symbol (upper-case letters and digits, optional .X / /X / -X class suffix)`);
      continue;
    }
    if (!MPID_RE.test(mpid)) {
      reject(`MPID ${JSON.stringify(mpid)} is not a market participant identifier (four upper-case letters or digits)`);
      continue;
    }
    const key = `${symbol}|${mpid}`;
    const first = seen.get(key);
    if (first !== undefined) {
      reject(`duplicate of line ${first}: ${symbol} at ${mpid} appears twice`);
      continue;
    }
    seen.set(key, line);
    rows.push({
      week_ending: opts.weekEnding,
      tier: opts.tier,
      symbol,
      mpid,
      tier_description: tierDescription,
      issue_name: issueName,
      participant_name: participant,
      total_weekly_share_quantity: shares,
      total_weekly_trade_count: tradeCount,
      last_update_date: lastUpdate,
      __line: line,
    });
  }
  return { rows, rejects, lines: withRaw.length - 1 };
}

function checkHeader(fields: string[], line: number, uri: string): void {
  const html = /^<(!doctype|html)/i.test(fields[0] ?? '') ? ' (this looks like an HTML page, not a FINRA file)' : '';
  for (let i = 0; i < Math.max(fields.length, HEADER.length); i++) {
    const want = HEADER[i];
    const got = fields[i];
    if (want === undefined) {
      throw new FinraParseError(uri, line, i + 1, null, `header has ${fields.length} columns, expected ${HEADER.length}: unexpected ${JSON.stringify(got)}; the header must be exactly ${HEADER.join('|')}`);
    }
    if (got !== want) {
      const found = got === undefined ? 'nothing' : JSON.stringify(got);
      throw new FinraParseError(uri, line, i + 1, want, `header column ${i + 1} must be "${want}", found ${found}${html}; the header must be exactly ${HEADER.join('|')}`);
    }
  }
}

function integerField(text: string, uri: string, line: number, index: number): number {
  const n = INT_RE.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new FinraParseError(uri, line, index + 1, HEADER[index]!, `${JSON.stringify(text)} is not a whole number`);
  }
  return n;
}
