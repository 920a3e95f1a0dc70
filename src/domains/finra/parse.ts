import { StringDecoder } from 'node:string_decoder';
import { SeenKeys } from './seen-keys.js';
import { PermanentError } from '../../core/errors.js';
import type { RejectInput, ValueChunk } from '../../data/data-store.js';
import { rawWeekly } from './datasets.js';
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
 * Fewest bytes a data line is taken to have when the key table is sized from the file's
 * length (real and generated lines are 85-100 bytes): rows are over- rather than
 * underestimated, and more rows than that still fit, by growing the table.
 */
const MIN_ROW_BYTES = 80;

/**
 * Parses one weekly file (pipe-delimited, header row, optional final newline) for the
 * partition (`weekEnding`, `tier`). Structural damage throws FinraParseError naming the
 * file, line and column; rows with an empty or malformed symbol, a bad MPID, a tier that is
 * not the partition's, or a duplicate (symbol, MPID) are returned as rejects.
 */
export function parseFinraFile(bytes: Buffer | string, opts: { uri: string; weekEnding: string; tier: Tier }): ParsedFile {
  const parser = new FinraStreamParser([bytes], { ...opts, sizeBytes: bytes.length });
  const rows: RawRow[] = [];
  for (const chunk of parser.chunks()) for (const r of chunk) rows.push(r);
  return { rows, rejects: parser.rejects, lines: parser.lines };
}

/**
 * `rawWeekly`'s columns, the order of the parser's value arrays. The parser writes them as
 * one array literal (the cheapest row there is), so a change of the dataset's columns must
 * change it too: checked once here rather than trusted.
 */
const VALUE_COLUMNS = [
  'week_ending',
  'tier',
  'symbol',
  'mpid',
  'tier_description',
  'issue_name',
  'participant_name',
  'total_weekly_share_quantity',
  'total_weekly_trade_count',
  'last_update_date',
] as const satisfies readonly (keyof RawRow)[];
if (rawWeekly.columns.map((c) => c.name).join() !== VALUE_COLUMNS.join())
  throw new Error(`FINRA parser: otc_weekly_raw columns are ${rawWeekly.columns.map((c) => c.name).join()}, the parser writes ${VALUE_COLUMNS.join()}`);

type RawValues = [string, Tier, string, string, string, string, string, number, number, string];

/**
 * The streaming parser: the file arrives in pieces (file reads, one buffer), UTF-8 decoded
 * across piece boundaries, BOM dropped, `\n` or `\r\n` endings, empty lines skipped but
 * counted. FINRA files are not quoted (a `"` inside an issue name is just a character), so a
 * record is a line. Rows come out in chunks of `chunkRows`, either as value arrays in
 * `rawWeekly`'s column order (`valueChunks()`, what ingest lands: `{ chunks:
 * parser.valueChunks(), rejects: () => parser.rejects, uniqueKeys: true }`) or as RawRow
 * objects (`chunks()`). It holds the current piece, one partial line, one chunk of rows and,
 * to reject a duplicate (symbol, MPID), the keys seen so far (sized once from `sizeBytes`,
 * the file's length, when it is given).
 */
export class FinraStreamParser {
  readonly rejects: RejectInput[] = [];
  /** Data lines seen (header excluded). */
  lines = 0;
  /** Made when rows are first read: an unchanged file is skipped before that. */
  private seen: SeenKeys | null = null;
  private lineNo = 0;
  private carry = '';
  private first = true;
  private header = true;
  private values: unknown[][] = [];
  private lineNos: number[] = [];
  /** `tierFromDescription` of the last description: a file's rows all carry one. */
  private lastTierText: string | null = null;
  private lastTier: Tier | null = null;
  /** The current data line's fields, reused for every line. */
  private readonly fields: string[] = new Array<string>(HEADER.length).fill('');
  /** Where the current line is, for a reject's raw text. */
  private lineText = '';
  private lineStart = 0;
  private lineEnd = 0;

  constructor(
    private readonly pieces: Iterable<Uint8Array | string>,
    private readonly opts: { uri: string; weekEnding: string; tier: Tier; chunkRows?: number; sizeBytes?: number },
  ) {}

  /** Rows as value arrays in `rawWeekly`'s column order, with their lines. */
  *valueChunks(): Generator<ValueChunk> {
    const size = this.opts.chunkRows ?? FINRA_CHUNK_ROWS;
    const decoder = new StringDecoder('utf8');
    this.seen ??= new SeenKeys(this.opts.sizeBytes === undefined ? 0 : Math.ceil(this.opts.sizeBytes / MIN_ROW_BYTES));
    for (const piece of this.pieces) yield* this.take(typeof piece === 'string' ? piece : decoder.write(piece as Buffer), size);
    yield* this.take(decoder.end(), size);
    if (this.carry) {
      const last = this.carry;
      this.carry = '';
      this.line(last, 0, last.length);
    }
    if (this.header) throw new FinraParseError(this.opts.uri, 1, 1, HEADER[0], `the file is empty; expected the header row ${HEADER.join('|')}`);
    if (this.values.length) yield this.flush();
  }

  /** Rows as RawRow objects. */
  *chunks(): Generator<RawRow[]> {
    for (const { values, lines } of this.valueChunks()) {
      const rows: RawRow[] = new Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const [week_ending, tier, symbol, mpid, tier_description, issue_name, participant_name, shares, trades, last_update_date] = values[i] as RawValues;
        rows[i] = {
          week_ending,
          tier,
          symbol,
          mpid,
          tier_description,
          issue_name,
          participant_name,
          total_weekly_share_quantity: shares,
          total_weekly_trade_count: trades,
          last_update_date,
          __line: lines![i]!,
        };
      }
      yield rows;
    }
  }

  private flush(): ValueChunk {
    const chunk = { values: this.values, lines: this.lineNos };
    this.values = [];
    this.lineNos = [];
    return chunk;
  }

  /** The lines of one decoded piece, each handled straight from this loop (no object or generator step per line). */
  private *take(text: string, size: number): Generator<ValueChunk> {
    if (this.first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.first = false;
    }
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      if (this.carry) {
        const joined = this.carry + text.slice(start, nl);
        this.carry = '';
        this.line(joined, 0, joined.length);
      } else {
        this.line(text, start, nl);
      }
      if (this.values.length >= size) yield this.flush();
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    this.carry += text.slice(start);
  }

  /**
   * One line, `text` from `start` to `end` (its `\n` excluded). A data line's fields are cut
   * from the piece itself into one reused array: no string for the line and no array per
   * row (the line's text is made only for a reject's record).
   */
  private line(text: string, start: number, end: number): void {
    const line = ++this.lineNo;
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    if (end === start) return;
    if (this.header) {
      checkHeader(
        text
          .slice(start, end)
          .split('|')
          .map((f) => f.trim()),
        line,
        this.opts.uri,
      );
      this.header = false;
      return;
    }
    this.lines++;
    const fields = this.fields;
    let n = 0;
    for (let from = start; ; n++) {
      const bar = text.indexOf('|', from);
      if (bar < 0 || bar >= end) {
        if (n < HEADER.length) fields[n] = text.slice(from, end).trim();
        n++;
        break;
      }
      if (n < HEADER.length) fields[n] = text.slice(from, bar).trim();
      from = bar + 1;
    }
    this.lineText = text;
    this.lineStart = start;
    this.lineEnd = end;
    const row = this.record(fields, n, line);
    if (row === null) return;
    this.values.push(row);
    this.lineNos.push(line);
  }

  /** A method, not a closure made for every row (a million closures for a million rows). */
  private reject(line: number, reason: string): null {
    this.rejects.push({ line, reason, raw: this.lineText.slice(this.lineStart, this.lineEnd) });
    return null;
  }

  private tierOf(description: string): Tier | null {
    if (description !== this.lastTierText) {
      this.lastTier = tierFromDescription(description);
      this.lastTierText = description;
    }
    return this.lastTier;
  }

  /** `count` fields were on the line; the first HEADER.length of them are in `fields`, trimmed. */
  private record(fields: string[], count: number, line: number): RawValues | null {
    const { uri, tier } = this.opts;
    if (count !== HEADER.length) {
      const column = count < HEADER.length ? count + 1 : HEADER.length + 1;
      const what = count < HEADER.length ? `missing ${HEADER[count]} onwards` : 'extra fields after lastUpdateDate';
      throw new FinraParseError(
        uri,
        line,
        column,
        HEADER[column - 1] ?? null,
        `has ${count} columns, expected ${HEADER.length} (${what}; truncated file or wrong delimiter?)`,
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
    if (symbol === '') return this.reject(line, 'empty issueSymbolIdentifier');
    const shares = integerField(qty, uri, line, QTY);
    const tradeCount = integerField(trades, uri, line, TRADES);
    const rowTier = this.tierOf(tierDescription);
    if (rowTier === null)
      return this.reject(line, `tierDescription ${JSON.stringify(tierDescription)} is not one of ${Object.values(TIER_DESCRIPTIONS).join(', ')}`);
    if (rowTier !== tier)
      return this.reject(line, `tierDescription ${JSON.stringify(tierDescription)} does not match the partition's tier ${tier} (${TIER_DESCRIPTIONS[tier]})`);
    if (!SYMBOL_RE.test(symbol)) {
      return this.reject(
        line,
        `issueSymbolIdentifier ${JSON.stringify(symbol)} is not a symbol (upper-case letters and digits, optional .X / /X / -X class suffix)`,
      );
    }
    if (!MPID_RE.test(mpid))
      return this.reject(line, `MPID ${JSON.stringify(mpid)} is not a market participant identifier (four upper-case letters or digits)`);
    const first = this.seen!.firstOrAdd(symbol, mpid, line);
    if (first !== undefined) return this.reject(line, `duplicate of line ${first}: ${symbol} at ${mpid} appears twice`);
    // VALUE_COLUMNS order.
    return [this.opts.weekEnding, tier, symbol, mpid, tierDescription, issueName, participant, shares, tradeCount, lastUpdate];
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
