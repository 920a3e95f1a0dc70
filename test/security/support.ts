import { expect } from 'vitest';
import type { ExitResult } from '../helpers/process.js';

/** The CLI's answer to bad input: exit 64 (EX_USAGE), one line on stderr naming `field`, nothing on stdout.
 * A refusal that is not about the input's form (an unsafe bind) exits 1: pass `code`. */
export function expectRefused(r: ExitResult, field: string, rule?: RegExp, code = 64): void {
  expect(r.code, `exit code; stderr:\n${r.stderr}`).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, `stderr should be one line:\n${r.stderr}`).toHaveLength(1);
  expect(lines[0]).toMatch(/^sluice: error: /);
  expect(lines[0]).toContain(` ${field}: `);
  if (rule) expect(lines[0]).toMatch(rule);
}

/** The API's answer to bad input: 400 whose body names `field`. */
export function expectBadRequest(res: { status: number; body: any; text: string }, field: string, rule?: RegExp): void {
  expect(res.status, res.text).toBe(400);
  expect(res.body?.error?.field ?? res.body?.field, res.text).toBe(field);
  if (rule) expect(res.body.error.message).toMatch(rule);
}
