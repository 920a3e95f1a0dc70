/**
 * Errors that cross layer boundaries. Every user-facing error names the field, the value
 * and the rule it broke, so the CLI, the API and the logs can all say exactly what is wrong
 * without string parsing.
 */

/** Base class: `code` is stable for scripts; `message` is for humans. */
export class SluiceError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input from a user: a CLI flag, an API body, a config file, a partition, params. */
export class ValidationError extends SluiceError {
  constructor(
    /** Where the bad value was found, e.g. `partition.week_ending` or `pipelines[0].retry.factor`. */
    readonly field: string,
    readonly value: unknown,
    /** The rule it broke, phrased so it reads after "must": e.g. `be a Friday (YYYY-MM-DD)`. */
    readonly rule: string,
    /** Optional source: a file path, a URL, a CLI command. */
    readonly source?: string,
  ) {
    super(formatValidation(field, value, rule, source), 'invalid_input');
  }
}

function formatValidation(field: string, value: unknown, rule: string, source?: string): string {
  const where = source ? `${source}: ` : '';
  return `${where}${field}: ${describeValue(value)} is invalid: ${mustRule(rule)}`;
}

/** `be a duration` -> `must be a duration`; a rule already saying "must" is left alone. */
export function mustRule(rule: string): string {
  return /^must\b/.test(rule) ? rule : `must ${rule}`;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing value';
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return String(value);
  }
}

export class NotFoundError extends SluiceError {
  constructor(
    readonly what: string,
    readonly key: string | number,
  ) {
    super(`${what} ${JSON.stringify(key)} not found`, 'not_found');
  }
}

/** A state change the transition table does not allow (e.g. cancelling a COMPLETE item). */
export class TransitionError extends SluiceError {
  constructor(
    readonly itemId: number,
    readonly from: string,
    readonly event: string,
  ) {
    super(`work item ${itemId} is ${from}; "${event}" is not allowed from that state`, 'invalid_transition');
  }
}

/**
 * Thrown by a handler to fail without retrying (bad data that will not fix itself).
 * Any other error is retried according to the pipeline's retry policy.
 */
export class PermanentError extends SluiceError {
  constructor(message: string) {
    super(message, 'permanent');
  }

  /** `x instanceof PermanentError` holds for one from any copy of Sluice (see
   * PERMANENT_BRAND); subclasses keep the ordinary prototype check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return this === PermanentError ? isPermanentError(value) : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/**
 * Brand of PermanentError, shared across copies of this module. A project's config or
 * pipeline may import `sluice` from another copy than the one the worker runs (the dev CLI
 * runs src/ through tsx while `import 'sluice'` resolves to dist/; a nested install), and
 * `instanceof` against the worker's class then missed it: the error was retried. The
 * global symbol registry is one per process, so the brand matches whichever copy threw.
 */
const PERMANENT_BRAND = Symbol.for('sluice.PermanentError');
Object.defineProperty(PermanentError.prototype, PERMANENT_BRAND, { value: true });

/** Whether `err` is a PermanentError (or a subclass) from any copy of Sluice. */
export function isPermanentError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[PERMANENT_BRAND] === true;
}

/** The attempt ran past its pipeline's timeout. */
export class TimeoutError extends SluiceError {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`, 'timeout');
  }
}
