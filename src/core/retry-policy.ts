import { parseDuration } from './duration.js';

/**
 * Retry delay for attempt n (1-based, the attempt that just failed):
 *   min(max_delay, base_delay * factor^(n-1)), then jittered.
 * Jitter is "equal jitter" by default: half the delay fixed, half random, so a burst of
 * failures (a source outage) does not come back as a synchronized thundering herd while
 * still guaranteeing at least half the intended back-off.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly factor: number;
  readonly maxDelayMs: number;
  /** 0 = exact delays, 1 = full jitter; default 0.5 (equal jitter). */
  readonly jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 5_000,
  factor: 3,
  maxDelayMs: 15 * 60_000,
  jitter: 0.5,
};

/** The JSON/config spelling, as in the design's contract. */
export interface RetryPolicyInput {
  max_attempts?: number;
  base_delay?: string | number;
  factor?: number;
  max_delay?: string | number;
  jitter?: number;
}

export function resolveRetryPolicy(input: RetryPolicyInput | undefined, base: RetryPolicy = DEFAULT_RETRY_POLICY, field = 'retry'): RetryPolicy {
  if (!input) return base;
  return {
    maxAttempts: input.max_attempts ?? base.maxAttempts,
    baseDelayMs: input.base_delay === undefined ? base.baseDelayMs : parseDuration(input.base_delay, `${field}.base_delay`),
    factor: input.factor ?? base.factor,
    maxDelayMs: input.max_delay === undefined ? base.maxDelayMs : parseDuration(input.max_delay, `${field}.max_delay`),
    jitter: input.jitter ?? base.jitter,
  };
}

export function backoffDelayMs(
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'factor' | 'maxDelayMs' | 'jitter'>,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failedAttempt - 1);
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** exponent);
  const jitterPart = raw * policy.jitter;
  return Math.round(raw - jitterPart + jitterPart * random());
}
