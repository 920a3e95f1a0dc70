import { PermanentError, ValidationError } from '../core/errors.js';
import type { RejectInput } from './data-store.js';

/** Default for `LandInput.maxRejectShare`: a capture that refuses more than half of its
 * source rows is more likely a broken file than a few bad lines. */
export const DEFAULT_MAX_REJECT_SHARE = 0.5;

/** How many rejects the error message (and so the failed attempt) carries as a sample. */
const SAMPLE = 5;

/**
 * A landing whose parser refused every row, or more than the allowed share of them. It is
 * permanent (the same bytes fail the same way; fix the file or raise the share, then retry)
 * and it is thrown before the landing transaction starts, so nothing lands and the prior
 * capture stays the partition's latest.
 */
export class RejectThresholdError extends PermanentError {
  constructor(
    readonly rejected: number,
    readonly total: number,
    readonly maxShare: number,
    readonly sample: readonly RejectInput[],
    readonly source: string | null,
  ) {
    const pct = ((100 * rejected) / total).toFixed(1);
    const what = rejected === total ? `all ${total} rows rejected` : `${rejected} of ${total} rows rejected (${pct}%), more than max_reject_share ${maxShare}`;
    const lines = sample.map((r) => `${r.line === null ? 'row' : `line ${r.line}`}: ${r.reason}`).join('; ');
    super(`${source ? `${source}: ` : ''}${what}; nothing landed, the prior capture stays latest. First rejects: ${lines}`);
  }
}

/** Throws RejectThresholdError when `rejects` is all of the rows or more than `maxShare` of them. */
export function checkRejectShare(accepted: number, rejects: readonly RejectInput[], maxShare: number | undefined, source: string | null): void {
  const share = maxShare ?? DEFAULT_MAX_REJECT_SHARE;
  if (typeof share !== 'number' || !Number.isFinite(share) || share < 0 || share > 1) {
    throw new ValidationError('maxRejectShare', maxShare, 'be a number from 0 to 1');
  }
  if (rejects.length === 0) return;
  const total = accepted + rejects.length;
  if (accepted === 0 || rejects.length / total > share) {
    throw new RejectThresholdError(rejects.length, total, share, rejects.slice(0, SAMPLE), source);
  }
}
