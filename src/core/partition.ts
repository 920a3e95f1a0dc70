import { ValidationError } from './errors.js';

/**
 * A partition is the slice a run works on: a small flat object of string values, e.g.
 * `{week_ending: "2025-12-19", tier: "NMS_TIER_1"}`. Its canonical key sorts the keys so the
 * same slice always maps to the same work item, whatever order a caller wrote it in.
 */
export type Partition = Readonly<Record<string, string>>;

const KEY_RULE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function partitionKey(partition: Partition): string {
  const keys = Object.keys(partition).sort();
  if (keys.length === 0) return '-';
  // `k=v` pairs joined by `|`. Values are percent-encoded only for the separators, so keys
  // stay readable in the CLI and dashboard yet cannot collide.
  return keys.map((k) => `${k}=${encodeValue(partition[k]!)}`).join('|');
}

function encodeValue(value: string): string {
  return value.replace(/[%|=]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function parsePartitionKey(key: string): Partition {
  if (key === '-') return {};
  const out: Record<string, string> = {};
  for (const pair of key.split('|')) {
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = decodeURIComponent(pair.slice(eq + 1));
  }
  return out;
}

/** Validates shape: flat, identifier keys, string/number values (numbers become strings). */
export function normalizePartition(raw: unknown, field = 'partition'): Partition {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationError(field, raw, 'be an object of key/value pairs, e.g. {"date":"2026-01-05"}');
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!KEY_RULE.test(key)) {
      throw new ValidationError(`${field}.${key}`, key, 'use a key made of letters, digits and _ (not starting with a digit)');
    }
    if (typeof value === 'string') {
      if (value.length === 0) throw new ValidationError(`${field}.${key}`, value, 'be a non-empty string');
      if (value.length > 200) throw new ValidationError(`${field}.${key}`, value, 'be at most 200 characters');
      out[key] = value;
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      out[key] = String(value);
    } else {
      throw new ValidationError(`${field}.${key}`, value, 'be a string or a number');
    }
  }
  return out;
}

/** Parses the CLI form `k=v,k=v` (values may not contain commas; use --partition twice). */
export function parsePartitionArg(text: string, field = '--partition'): Partition {
  const out: Record<string, string> = {};
  if (text.trim() === '') return out;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ValidationError(field, text, 'be key=value pairs separated by commas, e.g. date=2026-01-05,symbol=AAPL');
    const key = pair.slice(0, eq).trim();
    if (key in out) throw new ValidationError(field, text, `name each key once (${key} appears twice)`);
    out[key] = pair.slice(eq + 1).trim();
  }
  return normalizePartition(out, field);
}

/** The partition grid's classes of a value (src/api/grid.ts orders axes by them; the
 * stores' grid summary counts them, and its SQL in migration 7 mirrors these patterns):
 * canonical integers (sorted by value), YYYY-MM-DD dates, and date-like values (rows go
 * newest first). */
export const CANONICAL_INT = /^(0|[1-9]\d{0,14})$/;
export const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
export const DATE_LIKE = /^\d{4}-\d{2}(-\d{2})?([T ].*)?$/;

/** A value's key in the grid summary's order: canonical integers zero-padded to 16 digits
 * (so they sort by value as text), everything else itself. */
export function gridSortKey(value: string): string {
  return CANONICAL_INT.test(value) ? value.padStart(16, '0') : value;
}
