import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { mustRule, NotFoundError, SluiceError, TransitionError } from '../core/errors.js';
import { ruleOfIssue } from '../core/zod-rule.js';
import { formatPath } from '../core/zod-rule.js';

/**
 * One error shape for every 4xx/5xx the API sends:
 *
 *   { "error": { "code", "field", "value", "rule", "message" } }
 *
 * `field` names the input that was wrong (`partition.week_ending`, `state`, `id`, `body`),
 * `rule` says what it must be, phrased to read after "must" where we write it ourselves.
 * Validation errors from the core (`ValidationError`), the time layer (`TimeInputError`) and
 * the request schemas (zod, via Fastify) all end up in this shape.
 */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'stable machine-readable code, e.g. invalid_input, not_found, invalid_transition, unauthorized' }),
      field: z.string().nullable().meta({ description: 'the input that was wrong, e.g. partition.week_ending; null when no single field is at fault' }),
      value: z.unknown().optional().meta({ description: 'the offending value, when there is one' }),
      rule: z.string().nullable().meta({ description: 'what the field must be' }),
      message: z.string(),
    }),
  })
  .meta({ id: 'Error', description: 'Every error response has this shape.' });

export type ErrorBody = z.infer<typeof errorBodySchema>;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    readonly value: unknown = undefined,
    readonly rule: string | null = null,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return errorBody(this.code, this.message, this.field, this.value, this.rule);
  }
}

export function errorBody(code: string, message: string, field: string | null = null, value?: unknown, rule: string | null = null): ErrorBody {
  const error: ErrorBody['error'] = { code, field, rule, message };
  if (value !== undefined) error.value = value;
  return { error };
}

/** SluiceError subclasses that carry field/value/rule (ValidationError, TimeInputError). */
function hasFieldRule(err: unknown): err is SluiceError & { field: string; value: unknown; rule: string } {
  return err instanceof SluiceError && typeof (err as { field?: unknown }).field === 'string' && typeof (err as { rule?: unknown }).rule === 'string';
}

const CONTEXT_ROOT: Record<string, string> = { body: '', querystring: '', params: '', headers: 'headers' };

/** Maps any error a route or Fastify raised to a status code and the error body. */
export function toErrorResponse(err: unknown, request: FastifyRequest): { status: number; body: ErrorBody } {
  if (err instanceof ApiError) return { status: err.statusCode, body: err.toBody() };
  if (hasFieldRule(err)) return { status: 400, body: errorBody('invalid_input', err.message, err.field, err.value, err.rule) };
  if (err instanceof TransitionError) {
    return { status: 409, body: errorBody('invalid_transition', err.message, 'state', err.from, `allow "${err.event}" (the item is ${err.from})`) };
  }
  if (err instanceof NotFoundError) {
    return { status: 404, body: errorBody('not_found', err.message, 'id', err.key, `name an existing ${err.what}`) };
  }
  const fe = err as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(fe.validation) && fe.validation.length > 0)
    return { status: 400, body: fromSchemaValidation(fe.validation, fe.validationContext, request) };
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: errorBody('invalid_input', `body: is not valid JSON (${fe.message})`, 'body', undefined, 'be a valid JSON document') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: errorBody('invalid_input', 'body: is empty but content-type is application/json', 'body', undefined, 'be a JSON object') };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: errorBody(
          'unsupported_media_type',
          `content-type ${String(request.headers['content-type'] ?? '')} is not supported: send application/json`,
          'content-type',
          request.headers['content-type'],
          'be application/json',
        ),
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: errorBody('payload_too_large', 'request body is too large', 'body', undefined, 'be at most 1 MiB') };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: errorBody('invalid_input', 'content-length does not match the body', 'content-length', undefined, 'match the body length') };
  }
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
  if (status < 500) return { status, body: errorBody('bad_request', fe.message ?? 'bad request') };
  return { status: 500, body: errorBody('internal', 'internal error: see the server log') };
}

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns the first schema issue into our shape: field path as users write it, the value found
 * there, and the zod message as the rule. */
function fromSchemaValidation(issues: ValidationIssue[], context: string | undefined, request: FastifyRequest): ErrorBody {
  const issue = issues[0]!;
  const segments = (issue.instancePath ?? '')
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  // Unknown keys are reported on their parent object: name the key itself.
  const keys = issue.params?.keys;
  if (issue.keyword === 'unrecognized_keys' && Array.isArray(keys) && keys.length > 0) segments.push(String(keys[0]));
  const source = context === 'querystring' ? request.query : context === 'params' ? request.params : context === 'headers' ? request.headers : request.body;
  let value: unknown = source;
  for (const s of segments) value = value !== null && typeof value === 'object' ? (value as Record<string | number, unknown>)[s] : undefined;
  const root = CONTEXT_ROOT[context ?? 'body'] ?? '';
  let field = formatPath(root, segments);
  if (field === '') field = context === 'querystring' ? 'query' : 'body';
  const rule =
    issue.keyword === 'unrecognized_keys'
      ? 'not be present: unknown field (check the spelling)'
      : ruleOfIssue({ ...issue.params, code: issue.keyword, message: issue.message ?? '' } as unknown as z.core.$ZodIssue);
  return errorBody('invalid_input', `${field}: ${describe(value)} is invalid: ${mustRule(rule)}`, field, value === undefined ? undefined : value, rule);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing value';
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return String(value);
  }
}

export function sendError(reply: FastifyReply, err: unknown, request: FastifyRequest): FastifyReply {
  const { status, body } = toErrorResponse(err, request);
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
