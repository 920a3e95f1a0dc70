/**
 * Parsers on hostile input: real fixture files truncated at every kind of point, with bytes
 * flipped, lines duplicated or dropped, and plain random text. Never a crash (a TypeError,
 * a RangeError), always the parser's own error class with a message that says where: line
 * and column for text formats and invalid JSON, the JSON path for well-formed JSON of the
 * wrong shape.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/connectors/errors.js';
import { FinraParseError, parseFinraFile } from '../../src/domains/finra/parse.js';
import { FredApiError, FredParseError, parseFredObservations } from '../../src/domains/fred/parse.js';
import { OutputFileError, readOutputRows } from '../../src/domains/ops/command-output.js';
import {
  AlphaVantageError,
  parseAlphaVantageDaily,
  parseDailyCsv,
  parsePolygonAggs,
  PolygonError,
  PriceParseError,
  RateLimitedError,
} from '../../src/domains/prices/parse.js';
import { jsonErrorAt } from '../../src/core/json-location.js';
import { REPO_ROOT } from '../helpers/process.js';

const RUNS = Number(process.env.SLUICE_PROPERTY_RUNS ?? 300);
const fixture = (p: string) => readFileSync(path.join(REPO_ROOT, 'fixtures', p), 'utf8');
const FINRA = fixture('finra/tier1_20251219.csv');
const PRICES = fixture('prices/AAPL.csv');
const FRED = fixture('fred/DGS10.json');
const AV = JSON.stringify({
  'Meta Data': { '2. Symbol': 'AAPL' },
  'Time Series (Daily)': { '2025-12-19': { '1. open': '1', '2. high': '2', '3. low': '0.5', '4. close': '1.5', '5. volume': '100' } },
});
const POLYGON = JSON.stringify({ ticker: 'AAPL', status: 'OK', results: [{ t: 1766120400000, o: 1, h: 2, l: 0.5, c: 1.5, v: 100 }] });

/** A valid document damaged: truncated, a character replaced, a line dropped or repeated. */
function damaged(valid: string): fc.Arbitrary<string> {
  const lines = valid.split('\n');
  return fc.oneof(
    fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
    fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }))
      .map(([i, s]) => valid.slice(0, i) + s + valid.slice(i + 1)),
    fc.nat({ max: lines.length - 1 }).map((i) => lines.filter((_, j) => j !== i).join('\n')),
    fc.nat({ max: lines.length - 1 }).map((i) => [...lines.slice(0, i + 1), ...lines.slice(i)].join('\n')),
    fc.string({ maxLength: 400, unit: 'binary' }),
    fc.array(fc.constantFrom('|', ',', '\n', '"', '{', '}', '[', ']', ':', '1', 'a', ' ', '\r', '\\', '.', '-'), { maxLength: 200 }).map((a) => a.join('')),
  );
}

/** `check` for an asynchronous parser: a rejection must be one of `allowed` and name where. */
async function checkAsync(parse: () => Promise<unknown>, allowed: (abstract new (...a: never[]) => Error)[], where: (e: Error) => RegExp): Promise<void> {
  let failure: unknown = null;
  try {
    await parse();
  } catch (err) {
    failure = err;
  }
  if (failure !== null) {
    check(
      () => {
        throw failure;
      },
      allowed,
      where,
    );
  }
}

/** Runs `parse`; a thrown error must be one of `allowed` and its message must match `where`. */
function check(parse: () => unknown, allowed: (abstract new (...a: never[]) => Error)[], where: (e: Error) => RegExp): void {
  try {
    parse();
  } catch (err) {
    if (!allowed.some((c) => err instanceof c)) throw new Error(`crashed with ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    const e = err as Error;
    expect(e.message).toMatch(where(e));
    // A message for a person: bounded, never the whole input echoed back.
    expect(e.message.length).toBeLessThan(2_000);
  }
}

const LINE_COL = /line \d+, column \d+/;

describe('parsers on random and truncated input', () => {
  it('FINRA weekly file: FinraParseError naming line and column', () => {
    fc.assert(
      fc.property(damaged(FINRA), (text) => {
        check(
          () => parseFinraFile(text, { uri: 'tier1_20251219.csv', weekEnding: '2025-12-19', tier: 'NMS_TIER_1' }),
          [FinraParseError],
          () => LINE_COL,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('daily price CSV: PriceParseError naming the line', () => {
    fc.assert(
      fc.property(damaged(PRICES), (text) => {
        check(
          () => parseDailyCsv(text, 'AAPL.csv'),
          [PriceParseError],
          () => /line \d+/,
        );
      }),
      { numRuns: RUNS },
    );
  });

  // Invalid JSON: line and column. Well-formed JSON of the wrong shape: `URI: PATH: what`
  // (PATH such as observations[3].value). A vendor's own error answer: it names the URI.
  const jsonWhere = (uri: string) => (e: Error) =>
    e instanceof SourceError && !(e instanceof RateLimitedError)
      ? LINE_COL
      : e instanceof PriceParseError || e instanceof FredParseError
        ? new RegExp(`^${uri}: [^:]+: \\S`)
        : new RegExp(uri);
  for (const [name, valid, parse, errors, uri] of [
    ['FRED observations JSON', FRED, (t: string) => parseFredObservations(t, 'fred'), [FredParseError, FredApiError, SourceError], 'fred'],
    [
      'Alpha Vantage JSON',
      AV,
      (t: string) => parseAlphaVantageDaily(t, 'av', 'AAPL'),
      [PriceParseError, AlphaVantageError, RateLimitedError, SourceError],
      'av',
    ],
    ['Polygon JSON', POLYGON, (t: string) => parsePolygonAggs(t, 'polygon', 'AAPL'), [PriceParseError, PolygonError, SourceError], 'polygon'],
  ] as const) {
    it(`${name}: its own error; invalid JSON names line and column`, () => {
      fc.assert(
        fc.property(damaged(valid), (text) => {
          check(() => parse(text), [...errors], jsonWhere(uri));
        }),
        { numRuns: RUNS },
      );
    });
  }

  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-prop-out-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const NDJSON = '{"date":"2025-12-19","value":1}\n{"date":"2025-12-22","value":2}\n';
  const CSV = 'date,value\n2025-12-19,1\n2025-12-22,2\n';
  for (const [format, valid] of [
    ['ndjson', NDJSON],
    ['csv', CSV],
  ] as const) {
    it(`script output (${format}): OutputFileError naming the line`, async () => {
      const file = path.join(dir, `out.${format}`);
      await fc.assert(
        fc.asyncProperty(damaged(valid), async (text) => {
          writeFileSync(file, text);
          await checkAsync(
            () => readOutputRows(file, format),
            [OutputFileError],
            () => (format === 'ndjson' ? /line \d+, column \d+/ : /line \d+/),
          );
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    });
  }

  it('the JSON locator agrees with JSON.parse on what is valid', () => {
    fc.assert(
      fc.property(fc.oneof(damaged(FRED), fc.json(), damaged(POLYGON)), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        expect(jsonErrorAt(text).what === 'no error').toBe(valid);
      }),
      { numRuns: RUNS },
    );
  });
});
