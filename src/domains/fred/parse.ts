import { PermanentError } from '../../core/errors.js';
import { describeJsonError } from '../../core/json-location.js';
import { SourceError } from '../../connectors/errors.js';
import { redact } from '../../connectors/redact.js';
import { isValidDate } from '../../time/civil-date.js';

export interface Observation {
  date: string;
  /** null where FRED says `"."` (no value for that date). */
  value: number | null;
}

/** Structural damage in a FRED response: not the observations shape, a bad date or value. */
export class FredParseError extends PermanentError {
  constructor(
    readonly uri: string,
    readonly where: string,
    detail: string,
  ) {
    super(`${uri}: ${where}: ${detail}`);
  }
}

/** FRED answered `{"error_code": …, "error_message": …}` with a 2xx status. */
export class FredApiError extends PermanentError {
  constructor(
    readonly uri: string,
    readonly vendorMessage: string,
  ) {
    super(`GET ${uri} answered a FRED error: ${vendorMessage}`);
  }
}

/** FRED's missing-value marker. */
export const MISSING = '.';
const NUM_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * `fred/series/observations?file_type=json`:
 * `{"observations": [{"date": "2026-01-02", "value": "4.33"}, {"date": "…", "value": "."}]}`.
 * `"."` is FRED's "no value for this date" and becomes `value: null`, never an error. A value
 * that is neither a number nor `"."`, a bad date, a date twice or a missing `observations`
 * array is structural damage (permanent). Invalid JSON is a source error naming the URL.
 */
export function parseFredObservations(bytes: Buffer | string, uri: string, secrets: readonly (string | null | undefined)[] = []): Observation[] {
  let doc: unknown;
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  try {
    doc = JSON.parse(text);
  } catch {
    // Our own location, not V8's message: that one may quote the whole body (and a key).
    throw new SourceError(`GET ${uri} returned invalid JSON: ${describeJsonError(text)}`, uri, 'source_invalid_json');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new FredParseError(uri, 'body', 'is not a JSON object');
  const body = doc as Record<string, unknown>;
  if (typeof body.error_message === 'string')
    throw new FredApiError(uri, `${redact(body.error_message, secrets)}${body.error_code !== undefined ? ` (error_code ${String(body.error_code)})` : ''}`);
  if (!Array.isArray(body.observations)) throw new FredParseError(uri, 'observations', `is ${body.observations === undefined ? 'missing' : 'not an array'}`);
  const out: Observation[] = [];
  const seen = new Set<string>();
  body.observations.forEach((o, i) => {
    const where = `observations[${i}]`;
    if (typeof o !== 'object' || o === null) throw new FredParseError(uri, where, 'is not an object');
    const { date, value } = o as { date?: unknown; value?: unknown };
    if (typeof date !== 'string' || !isValidDate(date)) throw new FredParseError(uri, `${where}.date`, `${JSON.stringify(date)} is not a date YYYY-MM-DD`);
    if (seen.has(date)) throw new FredParseError(uri, `${where}.date`, `${date} appears twice`);
    seen.add(date);
    let v: number | null;
    if (value === MISSING) v = null;
    else if (typeof value === 'string' && NUM_RE.test(value.trim())) v = Number(value.trim());
    else if (typeof value === 'number' && Number.isFinite(value)) v = value;
    else throw new FredParseError(uri, `${where}.value`, `${JSON.stringify(value)} is neither a number nor "." (FRED's missing value)`);
    out.push({ date, value: v });
  });
  return out.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}
