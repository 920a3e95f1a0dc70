import { PermanentError, SluiceError } from '../core/errors.js';

/**
 * Errors a source (HTTP or file) raises. Every message names the URL or file (with any API
 * key already redacted) and, for HTTP, the status. Two separate questions are answered:
 *
 * - `retryable`: may the *same request* be tried again right away (after back-off)? True
 *   for network errors, timeouts, 5xx, 408 and 429.
 * - `permanent`: will retrying the *whole attempt later* never help? True for client
 *   errors such as 400/401/403 and for configuration problems (a missing API key). A
 *   pipeline should turn these into `PermanentError` so the worker does not retry them.
 */
export interface SourceErrorOptions {
  status?: number | null;
  retryable?: boolean;
  permanent?: boolean;
  /** From a `Retry-After` header, when the server sent one. */
  retryAfterMs?: number | null;
}

export class SourceError extends SluiceError {
  readonly status: number | null;
  readonly retryable: boolean;
  readonly permanent: boolean;
  readonly retryAfterMs: number | null;

  constructor(
    message: string,
    /** The URL (redacted) or file path the error is about. */
    readonly uri: string,
    code = 'source_error',
    options: SourceErrorOptions = {},
  ) {
    super(message, code);
    this.status = options.status ?? null;
    this.retryable = options.retryable ?? false;
    this.permanent = options.permanent ?? false;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

/** Runs a fetch; a source error that retrying can never fix becomes a PermanentError, so the
 * worker fails the item at once instead of spending its retries. */
export async function permanentIfSourceSaysSo<T>(fetch: () => Promise<T>): Promise<T> {
  try {
    return await fetch();
  } catch (err) {
    if (err instanceof SourceError && err.permanent) throw new PermanentError(err.message);
    throw err;
  }
}

/** The server answered with a status outside 2xx (after any retries). */
export class HttpStatusError extends SourceError {
  constructor(message: string, uri: string, status: number, retryAfterMs: number | null) {
    const retryable = status >= 500 || status === 429 || status === 408;
    const permanent = !retryable && status >= 400 && status < 500 && status !== 404 && status !== 409 && status !== 425;
    super(message, uri, 'source_http_status', { status, retryable, permanent, retryAfterMs });
  }
}

/** One request took longer than the source's per-request timeout. */
export class SourceTimeoutError extends SourceError {
  constructor(
    message: string,
    uri: string,
    readonly timeoutMs: number,
  ) {
    super(message, uri, 'source_timeout', { retryable: true });
  }
}

/** The per-source circuit breaker is open: the call was refused without touching the source. */
export class CircuitOpenError extends SourceError {
  constructor(
    message: string,
    uri: string,
    readonly source: string,
    /** When the breaker lets a trial call through again. */
    readonly retryAt: Date | null,
  ) {
    super(message, uri, 'circuit_open', { retryable: false });
  }
}

/** No file (or URL) of the given candidates exists. Later attempts may find it published. */
export class SourceNotFoundError extends SourceError {
  constructor(
    message: string,
    uri: string,
    readonly tried: readonly string[],
  ) {
    super(message, uri, 'source_not_found', { status: null, retryable: false, permanent: false });
  }
}
