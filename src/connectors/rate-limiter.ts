import { ValidationError } from '../core/errors.js';

/** At most `capacity` calls per `intervalMs`, with bursts of up to `capacity` calls. */
export interface RateLimit {
  capacity: number;
  intervalMs: number;
}

/**
 * A token bucket: it holds up to `capacity` tokens and refills continuously at
 * `capacity / intervalMs` tokens per millisecond; each call takes one token. A call that
 * finds the bucket empty *reserves* the next token (the balance goes negative) and sleeps
 * until it is due, so waiters are served first come, first served without a queue. Waiting
 * is abortable: an aborted waiter gives its token back and rejects with the signal's reason.
 *
 * `5 calls/min` is `{ capacity: 5, intervalMs: 60_000 }`: five at once, then one every 12 s.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly ratePerMs: number;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isFinite(limit.capacity) || limit.capacity < 1)
      throw new ValidationError('rateLimit.capacity', limit.capacity, 'be a number of calls of at least 1');
    if (!Number.isFinite(limit.intervalMs) || limit.intervalMs <= 0)
      throw new ValidationError('rateLimit.intervalMs', limit.intervalMs, 'be a positive number of milliseconds');
    this.tokens = limit.capacity;
    this.last = this.now();
    this.ratePerMs = limit.capacity / limit.intervalMs;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.limit.capacity, this.tokens + (t - this.last) * this.ratePerMs);
    this.last = t;
  }

  /** Takes a token now if one is free; never waits. */
  tryAcquire(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a call made now could go. */
  waitTimeMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.ratePerMs;
  }

  /** Takes a token, waiting for it if needed; resolves with the milliseconds waited. */
  acquire(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return Promise.resolve(0);
    const waitMs = -this.tokens / this.ratePerMs;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(waitMs);
      }, Math.ceil(waitMs));
      const onAbort = () => {
        clearTimeout(timer);
        this.refill();
        this.tokens = Math.min(this.limit.capacity, this.tokens + 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
