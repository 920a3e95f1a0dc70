import { ValidationError } from '../core/errors.js';
import type { AsOfRef } from './data-store.js';

/** `--as-of`: an ISO-8601 date or instant (a date alone is its start, UTC), or a capture_id. */
export function parseAsOf(value: string | undefined, field = '--as-of'): AsOfRef | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') throw new ValidationError(field, value, 'be an ISO-8601 instant or a capture_id');
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const at = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (Number.isNaN(at.getTime())) throw new ValidationError(field, value, 'be a valid ISO-8601 date or instant');
    return { at };
  }
  return { capture_id: text };
}
