import type { z } from 'zod';
import { ValidationError } from './errors.js';

/**
 * The rule a zod issue stands for, phrased to read after "must" (see ValidationError), so
 * users never see zod's own wording ("Invalid input: expected string, received undefined",
 * "Unrecognized key"). A schema's own message (`.refine(…, 'be a Friday')`) is already in
 * that form, lower-case first, and is kept as written; zod's built-in messages start with a
 * capital and are rewritten from the issue's code and figures.
 */
export function ruleOfIssue(issue: z.core.$ZodIssue): string {
  const own = issue.message;
  if (own && /^[a-z]/.test(own)) return own;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined && /received undefined/.test(own ?? '')) return 'be given (it is required)';
      return `be ${article(issue.expected)}`;
    case 'too_small':
      return bound(issue.origin, 'at least', 'more than', issue.minimum, issue.inclusive);
    case 'too_big':
      return bound(issue.origin, 'at most', 'less than', issue.maximum, issue.inclusive);
    case 'invalid_value':
      return issue.values.length === 1 ? `be ${JSON.stringify(issue.values[0])}` : `be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return 'not be present: unknown field (check the spelling)';
    case 'invalid_format':
      return issue.format === 'regex' ? 'match the expected pattern' : `be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `be a multiple of ${String(issue.divisor)}`;
    case 'invalid_union':
      return 'match one of the allowed forms';
    case 'invalid_key':
      return 'have valid keys';
    case 'invalid_element':
      return 'have valid elements';
    default:
      return 'be valid';
  }
}

function bound(origin: string, inclusiveWord: string, exclusiveWord: string, limit: number | bigint | Date, inclusive: boolean | undefined): string {
  const n = limit instanceof Date ? limit.toISOString() : String(limit);
  const word = inclusive === false ? exclusiveWord : inclusiveWord;
  if (origin === 'string') return n === '1' && word === 'at least' ? 'not be empty' : `be ${word} ${n} characters long`;
  if (origin === 'array' || origin === 'set') return n === '1' && word === 'at least' ? 'not be empty' : `have ${word} ${n} items`;
  return `be ${word} ${n}`;
}

function article(expected: string): string {
  const word = expected === 'int' ? 'integer' : expected;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** The first zod issue as a ValidationError naming the field path, its value and the rule. */
export function zodToValidation(error: z.ZodError, field: string, root: unknown, source?: string): ValidationError {
  const issue = error.issues[0]!;
  // A misspelt key (strict objects) is reported by zod on the parent object; point at the
  // key itself, so the message reads `workers.concurency: 4 is invalid: must not be present…`
  // rather than dumping the whole parent object (or, at the top level, an empty path).
  const fullPath: PropertyKey[] = issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? [...issue.path, issue.keys[0]!] : [...issue.path];
  let value: unknown = root;
  for (const segment of fullPath.map(String)) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
  const where = formatPath(field, fullPath) || '(top level)';
  return new ValidationError(where, value, ruleOfIssue(issue), source);
}

/** `pipelines[0].retry.base_delay` style paths, as users read them in their JSON. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}
