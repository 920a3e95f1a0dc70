import { ValidationError } from './errors.js';

/**
 * Durations in config and CLI flags are short strings: `500ms`, `5s`, `15m`, `2h`, `1d`, or
 * compounds such as `1h30m`. A bare number is milliseconds. We keep the grammar strict on
 * purpose: `5 mins` or `5x` is a config mistake and must fail loudly, not become 5ms.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
export const DURATION_RULE = 'be a duration such as 500ms, 5s, 15m, 2h, 1d or 1h30m';

export function parseDuration(input: string | number, field = 'duration'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new ValidationError(field, input, DURATION_RULE);
    return input;
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = PART.lastIndex;
  }
  if (text.length === 0 || consumed !== text.length) throw new ValidationError(field, input, DURATION_RULE);
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}
