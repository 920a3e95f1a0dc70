import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../src/core/errors.js';
import { ruleOfIssue } from '../../src/core/zod-rule.js';
import { zodToValidation } from '../../src/engine/registry.js';

function messageOf(schema: z.ZodType, value: unknown): string {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected a failure');
  return zodToValidation(parsed.error, 'cfg', value).message;
}

describe('validation messages read "must …" and never show zod wording', () => {
  const cases: [string, z.ZodType, unknown, string][] = [
    ['missing required field', z.strictObject({ name: z.string() }), {}, 'cfg.name: missing value is invalid: must be given (it is required)'],
    ['wrong type', z.strictObject({ n: z.number() }), { n: 'x' }, 'cfg.n: "x" is invalid: must be a number'],
    ['unknown key', z.strictObject({ n: z.number() }), { n: 1, m: 2 }, 'cfg.m: 2 is invalid: must not be present: unknown field (check the spelling)'],
    ['below minimum', z.strictObject({ n: z.number().int().min(1) }), { n: 0 }, 'cfg.n: 0 is invalid: must be at least 1'],
    ['above maximum (exclusive)', z.strictObject({ n: z.number().lt(5) }), { n: 9 }, 'cfg.n: 9 is invalid: must be less than 5'],
    ['empty string', z.strictObject({ s: z.string().min(1) }), { s: '' }, 'cfg.s: "" is invalid: must not be empty'],
    ['enum', z.strictObject({ e: z.enum(['a', 'b']) }), { e: 'c' }, 'cfg.e: "c" is invalid: must be one of "a", "b"'],
    [
      'schema-authored rule kept',
      z.strictObject({ d: z.string().refine((v) => v.endsWith('s'), 'be a duration such as 5s') }),
      { d: '5x' },
      'cfg.d: "5x" is invalid: must be a duration such as 5s',
    ],
  ];
  for (const [what, schema, value, expected] of cases) {
    it(what, () => {
      const message = messageOf(schema, value);
      expect(message).toBe(expected);
      expect(message).not.toMatch(/Invalid input|Unrecognized key|expected \w+, received|Too (small|big)/);
    });
  }

  it('a rule that already says "must" is not doubled', () => {
    expect(new ValidationError('x', 1, 'must be 2').message).toBe('x: 1 is invalid: must be 2');
    expect(new ValidationError('x', 1, 'be 2').rule).toBe('be 2');
  });

  it('a format issue maps to a lower-case rule', () => {
    const r = z.string().email().safeParse('nope');
    expect(ruleOfIssue(r.error!.issues[0]!)).toBe('be a valid email');
  });
});
