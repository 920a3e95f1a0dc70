import { mustRule, SluiceError } from '../core/errors.js';

/**
 * The one error type the time layer throws for bad input.
 *
 * Every caller above us (config loader, CLI, REST API) has to tell the user *which* input was
 * wrong and *why*, so the error carries the input's name (`field`), the offending `value` and
 * the `rule` it broke as separate properties. The message is built from the same three parts,
 * e.g. `cron "61 * * * *": invalid value for minute: 61 (minute must be 0-59)`, so a log line
 * is useful on its own and an API can still map `field` to a 400 body.
 */
export class TimeInputError extends SluiceError {
  override readonly name = 'TimeInputError';

  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly rule: string,
  ) {
    super(`${field} ${describeValue(value)}: ${mustRule(rule)}`, 'invalid_input');
  }
}

/** JSON-ish rendering so strings show their quotes and `undefined` is visible. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
