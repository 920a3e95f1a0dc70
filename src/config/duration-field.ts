import { z } from 'zod';
import { DURATION_RULE, parseDuration } from '../core/duration.js';

/** A duration in a config file: a string such as `"5s"` or `"1h30m"`, or milliseconds; the message states the rule. */
export const durationField = z.union([z.string(), z.number()]).refine(
  (v) => {
    try {
      parseDuration(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: `must ${DURATION_RULE}` },
);
