import CircuitBreaker from 'opossum';
import type { Logger } from '../core/logger.js';
import { CircuitOpenError } from './errors.js';

export interface BreakerOptions {
  /** The breaker looks at calls once this many were made in the window (default 5)… */
  failureThreshold?: number;
  /** …and opens when more than this percentage of them failed (default 50). */
  errorThresholdPercentage?: number;
  /** How long it stays open before one trial call is let through (default 30 s). */
  resetTimeoutMs?: number;
  /** The rolling window failures are counted in (default 60 s). */
  windowMs?: number;
  /** Errors that say nothing about the source's health (a caller's abort, a 404) do not count. */
  isFailure?: (err: unknown) => boolean;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * A per-source circuit breaker around opossum. While the source keeps failing (network
 * errors, timeouts, 5xx, 429) the breaker opens and every call is refused at once with a
 * CircuitOpenError naming the source and when it will try again, without touching the
 * source. After `resetTimeoutMs` it half-opens: the next call goes through; success closes
 * the breaker, failure opens it again for another `resetTimeoutMs`.
 */
export class SourceCircuitBreaker {
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  private openedAt: number | null = null;
  readonly resetTimeoutMs: number;
  readonly failureThreshold: number;

  constructor(
    readonly name: string,
    options: BreakerOptions = {},
    private readonly log?: Logger,
  ) {
    this.resetTimeoutMs = options.resetTimeoutMs ?? 30_000;
    this.failureThreshold = options.failureThreshold ?? 5;
    const isFailure = options.isFailure ?? (() => true);
    const windowMs = options.windowMs ?? 60_000;
    this.breaker = new CircuitBreaker((fn: () => Promise<unknown>) => fn(), {
      name,
      // Per-request timeouts are the source's job (AbortSignal), not the breaker's.
      timeout: false,
      resetTimeout: this.resetTimeoutMs,
      volumeThreshold: this.failureThreshold,
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      rollingCountTimeout: windowMs,
      rollingCountBuckets: 10,
      rollingPercentilesEnabled: false,
      // errorFilter returning true means "not a failure".
      errorFilter: (err: unknown) => !isFailure(err),
    });
    this.breaker.on('open', () => {
      this.openedAt = Date.now();
      this.log?.warn(
        { source: name, reset_timeout_ms: this.resetTimeoutMs },
        'circuit breaker opened: source keeps failing; calls are refused until the reset timeout',
      );
    });
    this.breaker.on('halfOpen', () => this.log?.info({ source: name }, 'circuit breaker half-open: letting one trial call through'));
    this.breaker.on('close', () => {
      this.openedAt = null;
      this.log?.info({ source: name }, 'circuit breaker closed: source answered again');
    });
  }

  get state(): BreakerState {
    if (this.breaker.halfOpen) return 'half_open';
    if (this.breaker.opened) return 'open';
    return 'closed';
  }

  /** When an open breaker will let a trial call through. */
  get retryAt(): Date | null {
    return this.openedAt === null || this.state !== 'open' ? null : new Date(this.openedAt + this.resetTimeoutMs);
  }

  /** Throws CircuitOpenError if the breaker would refuse a call right now. */
  check(target: string): void {
    if (this.state === 'open') throw this.openError(target);
  }

  async exec<T>(fn: () => Promise<T>, target: string): Promise<T> {
    try {
      return (await this.breaker.fire(fn)) as T;
    } catch (err) {
      if ((err as { code?: string })?.code === 'EOPENBREAKER') throw this.openError(target);
      throw err;
    }
  }

  private openError(target: string): CircuitOpenError {
    const at = this.retryAt;
    const when = at ? `until ${at.toISOString()}` : 'until a trial call succeeds';
    return new CircuitOpenError(
      `source ${this.name}: circuit breaker is open after repeated failures; refusing ${target} without calling it ${when} (reset timeout ${this.resetTimeoutMs} ms)`,
      target,
      this.name,
      at,
    );
  }

  /** Stops opossum's timers (tests, shutdown). */
  shutdown(): void {
    this.breaker.shutdown();
  }
}
