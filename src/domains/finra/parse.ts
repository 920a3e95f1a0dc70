import { StringDecoder } from 'node:string_decoder';
import { SeenKeys } from './seen-keys.js';
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

/** Rows per chunk handed to the data layer by the streaming parser. */
export const FINRA_CHUNK_ROWS = 2_000;

/**
 * The lines of pipe-delimited text arriving in pieces (file reads, one buffer): UTF-8 decoded
 * across piece boundaries, BOM dropped, `\n` or `\r\n` endings, empty lines skipped but
 * counted. FINRA files are not quoted (a `"` inside an issue name is just a character), so a
 * record is a line. Only the current piece and one partial line are held.
 */
export function* pipeLines(pieces: Iterable<Uint8Array | string>): Generator<{ fields: string[]; line: number; raw: string }> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let line = 0;
  let first = true;
  // One line at a time straight from the loop: a nested generator per line (`yield* emit()`)
  // was a generator object per row.
  const take = function* (text: string) {
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      let lineText = text.slice(start, nl);
      if (carry) {
        lineText = carry + lineText;
        carry = '';
      }
      line++;
      const raw = lineText.endsWith('\r') ? lineText.slice(0, -1) : lineText;
      if (raw !== '') yield { fields: raw.split('|'), line, raw };
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    carry += text.slice(start);
  };
  for (const piece of pieces) yield* take(typeof piece === 'string' ? piece : decoder.write(piece as Buffer));
  yield* take(decoder.end());
  if (carry) {
    line++;
    const raw = carry.endsWith('\r') ? carry.slice(0, -1) : carry;
    if (raw !== '') yield { fields: raw.split('|'), line, raw };
  }
}

/**
 * Parses one weekly file (pipe-delimited, header row, optional final newline) for the
 * partition (`weekEnding`, `tier`). Structural damage throws FinraParseError naming the
 * file, line and column; rows with an empty or malformed symbol, a bad MPID, a tier that is
 * not the partition's, or a duplicate (symbol, MPID) are returned as rejects.
 */
export function parseFinraFile(bytes: Buffer | string, opts: { uri: string; weekEnding: string; tier: Tier }): ParsedFile {
  const parser = new FinraStreamParser([bytes], opts);
  const rows: RawRow[] = [];
  for (const chunk of parser.chunks()) for (const r of chunk) rows.push(r);
  return { rows, rejects: parser.rejects, lines: parser.lines };
}

/**
 * The same parser over pieces of the file, yielding rows in chunks of `chunkRows` (for
 * `land` as a RowStream: `{ chunks: parser.chunks(), rejects: () => parser.rejects, uniqueKeys: true }`). It
 * holds one chunk of rows and, to reject a duplicate (symbol, MPID), the keys seen so far.
 */
export class FinraStreamParser {
  readonly rejects: RejectInput[] = [];
  /** Data lines seen (header excluded). */
  lines = 0;
  private readonly seen = new SeenKeys();

  constructor(
    private readonly pieces: Iterable<Uint8Array | string>,
    private readonly opts: { uri: string; weekEnding: string; tier: Tier; chunkRows?: number },
  ) {}

  *chunks(): Generator<RawRow[]> {
    const { uri } = this.opts;
    const size = this.opts.chunkRows ?? FINRA_CHUNK_ROWS;
    let header = true;
    let chunk: RawRow[] = [];
    for (const { fields, line, raw } of pipeLines(this.pieces)) {
      if (header) {
        checkHeader(
          fields.map((f) => f.trim()),
          line,
          uri,
        );
        header = false;
        continue;
      }
      this.lines++;
      const row = this.record(fields, line, raw);
      if (row === null) continue;
      chunk.push(row);
      if (chunk.length >= size) {
        yield chunk;
        chunk = [];
      }
    }
    if (header) throw new FinraParseError(uri, 1, 1, HEADER[0], `the file is empty; expected the header row ${HEADER.join('|')}`);
    if (chunk.length) yield chunk;
  }

  /** A method, not a closure made for every row (a million closures for a million rows). */
  private reject(line: number, raw: string, reason: string): null {
    this.rejects.push({ line, reason, raw });
    return null;
  }

  private record(record: string[], line: number, rawText: string): RawRow | null {
    const { uri, tier } = this.opts;
    // Trimmed in place: the array is this line's own (a second array per row was garbage).
    const fields = record;
    for (let i = 0; i < fields.length; i++) fields[i] = fields[i]!.trim();
    if (fields.length !== HEADER.length) {
      const column = fields.length < HEADER.length ? fields.length + 1 : HEADER.length + 1;
      const what = fields.length < HEADER.length ? `missing ${HEADER[fields.length]} onwards` : 'extra fields after lastUpdateDate';
      throw new FinraParseError(
        uri,
        line,
        column,
        HEADER[column - 1] ?? null,
        `has ${fields.length} columns, expected ${HEADER.length} (${what}; truncated file or wrong delimiter?)`,
      );
    }
    const [tierDescription, symbol, issueName, participant, mpid, qty, trades, lastUpdate] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    // A trailing row with no symbol is common in real files: not data, but not damage either.
    if (symbol === '') return this.reject(line, rawText, 'empty issueSymbolIdentifier');
    const shares = integerField(qty, uri, line, QTY);
    const tradeCount = integerField(trades, uri, line, TRADES);
    const rowTier = tierFromDescription(tierDescription);
    if (rowTier === null)
      return this.reject(line, rawText, `tierDescription ${JSON.stringify(tierDescription)} is not one of ${Object.values(TIER_DESCRIPTIONS).join(', ')}`);
    if (rowTier !== tier)
      return this.reject(
        line,
        rawText,
        `tierDescription ${JSON.stringify(tierDescription)} does not match the partition's tier ${tier} (${TIER_DESCRIPTIONS[tier]})`,
      );
    if (!SYMBOL_RE.test(symbol)) {
      return this.reject(
        line,
        rawText,
        `issueSymbolIdentifier ${JSON.stringify(symbol)} is not a symbol (upper-case letters and digits, optional .X / /X / -X class suffix)`,
      );
    }
    if (!MPID_RE.test(mpid))
      return this.reject(line, rawText, `MPID ${JSON.stringify(mpid)} is not a market participant identifier (four upper-case letters or digits)`);
    const first = this.seen.firstOrAdd(symbol, mpid, line);
    if (first !== undefined) return this.reject(line, rawText, `duplicate of line ${first}: ${symbol} at ${mpid} appears twice`);
    return {
      week_ending: this.opts.weekEnding,
      tier,
      symbol,
      mpid,
      tier_description: tierDescription,
      issue_name: issueName,
      participant_name: participant,
      total_weekly_share_quantity: shares,
      total_weekly_trade_count: tradeCount,
      last_update_date: lastUpdate,
      __line: line,
    };
  }
}

function checkHeader(fields: string[], line: number, uri: string): void {
  const html = /^<(!doctype|html)/i.test(fields[0] ?? '') ? ' (this looks like an HTML page, not a FINRA file)' : '';
  for (let i = 0; i < Math.max(fields.length, HEADER.length); i++) {
    const want = HEADER[i];
    const got = fields[i];
    if (want === undefined) {
      throw new FinraParseError(
        uri,
        line,
        i + 1,
        null,
        `header has ${fields.length} columns, expected ${HEADER.length}: unexpected ${JSON.stringify(got)}; the header must be exactly ${HEADER.join('|')}`,
      );
    }
    if (got !== want) {
      const found = got === undefined ? 'nothing' : JSON.stringify(got);
      throw new FinraParseError(
        uri,
        line,
        i + 1,
        want,
        `header column ${i + 1} must be "${want}", found ${found}${html}; the header must be exactly ${HEADER.join('|')}`,
      );
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
