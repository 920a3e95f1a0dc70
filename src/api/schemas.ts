import { z } from 'zod';
import { ATTEMPT_STATUSES, WORK_STATES, isWorkState, type WorkState } from '../core/states.js';
import { errorBodySchema } from './errors.js';

/** Shared request/response schemas. Each route file declares its own on top of these; the
 * OpenAPI document at /docs is generated from them. */

export const workStateSchema = z.enum(WORK_STATES).meta({ id: 'WorkState' });

export const workItemSchema = z
  .object({
    id: z.number().int(),
    domain: z.string(),
    pipeline: z.string(),
    partition: z.record(z.string(), z.string()),
    partition_key: z.string(),
    params: z.record(z.string(), z.unknown()),
    state: workStateSchema,
    attempts: z.number().int().meta({ description: 'attempts used from the current budget' }),
    max_attempts: z.number().int(),
    attempts_total: z.number().int().meta({ description: 'every attempt the item ever had (the latest attempt_no), across manual retries and re-runs' }),
    priority: z.number().int(),
    desired_at: z.string(),
    locked_by: z.string().nullable(),
    lease_expires_at: z.string().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'WorkItem' });

export const attemptSchema = z
  .object({
    id: z.number().int(),
    attempt_no: z.number().int(),
    worker_id: z.string(),
    status: z.enum(ATTEMPT_STATUSES),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    duration_ms: z.number().nullable(),
    error: z.string().nullable(),
    output_tail: z.string().nullable(),
    result: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'Attempt' });

export const eventSchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    event: z.string(),
    from_state: workStateSchema.nullable(),
    to_state: workStateSchema,
    actor: z.string().nullable(),
    detail: z.string().nullable(),
  })
  .meta({ id: 'WorkEvent' });

/** Standard error responses, for routes' `response` maps. */
export const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  404: errorBodySchema,
  409: errorBodySchema,
  415: errorBodySchema,
  503: errorBodySchema,
} as const;

export function pickErrors<const K extends keyof typeof errors>(...codes: K[]): Pick<typeof errors, K> {
  const out = {} as Pick<typeof errors, K>;
  for (const c of codes) out[c] = errors[c];
  return out;
}

/** A positive integer path/body id. Path params arrive as strings. */
export const idParam = z.coerce
  .number({ error: 'be a positive integer work item id' })
  .int({ error: 'be a positive integer work item id' })
  .positive({ error: 'be a positive integer work item id' });

export const DEFAULT_LIST_STATES: readonly WorkState[] = ['PENDING', 'RETRY_WAIT', 'WAITING'];

/**
 * `state` filter: one state, a comma-separated list, the parameter repeated, or `ALL`.
 * Absent: the outstanding-but-not-running states PENDING, RETRY_WAIT and WAITING.
 */
export const stateFilter = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((raw, ctx): WorkState[] | 'ALL' => {
    if (raw === undefined) return [...DEFAULT_LIST_STATES];
    const parts = (Array.isArray(raw) ? raw : [raw])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim().toUpperCase())
      .filter((s) => s !== '');
    if (parts.length === 0) return [...DEFAULT_LIST_STATES];
    if (parts.includes('ALL')) return 'ALL';
    const bad = parts.find((s) => !isWorkState(s));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `be one of ${WORK_STATES.join(', ')} or ALL (comma-separated for several)` });
      return z.NEVER;
    }
    return [...new Set(parts as WorkState[])];
  })
  .meta({
    description: `Comma-separated states (${WORK_STATES.join(', ')}) or ALL. Default when absent: PENDING,RETRY_WAIT,WAITING.`,
    example: 'FAILED,RETRY_WAIT',
  });

export const limitParam = (def: number, max: number) =>
  z.coerce
    .number({ error: `be an integer from 1 to ${max}` })
    .int({ error: `be an integer from 1 to ${max}` })
    .min(1, { error: `be an integer from 1 to ${max}` })
    .max(max, { error: `be an integer from 1 to ${max}` })
    .default(def);

export const offsetParam = z.coerce
  .number({ error: 'be an integer of at least 0' })
  .int({ error: 'be an integer of at least 0' })
  .min(0, { error: 'be an integer of at least 0' })
  .default(0);

/** Partition / params objects are checked by the pipeline registry (its own schemas), so the
 * request schema only documents them. */
export const partitionDoc = z.unknown().meta({
  type: 'object',
  additionalProperties: { type: ['string', 'number'] },
  description: 'Partition keys and values, e.g. {"week_ending":"2025-12-19","tier":"NMS_TIER_1"}; checked against the pipeline\'s partition schema.',
  example: { date: '2026-01-05' },
});

export const paramsDoc = z.unknown().meta({
  type: 'object',
  description: "Handler params; checked against the pipeline's params schema.",
  example: {},
});
