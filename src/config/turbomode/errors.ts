import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { ruleOfIssue } from '../../core/zod-rule.js';

/**
 * Config errors of a TurboMode file name the task as its users know it, by position, id and
 * name: `scheduled_tasks[1] (task 2 "TurboMode Training Orchestrator").schedule.hour: 25 is
 * invalid: must be 0-23 …`. One line, like every Sluice config error.
 */
export function taskLabel(index: number, task: unknown): string {
  const t = (task ?? {}) as { task_id?: unknown; name?: unknown };
  const id = typeof t.task_id === 'number' ? ` (task ${t.task_id}${typeof t.name === 'string' ? ` ${JSON.stringify(t.name)}` : ''})` : '';
  return `scheduled_tasks[${index}]${id}`;
}

export class TurboModeConfigError extends ValidationError {}

export function taskError(index: number, task: unknown, field: string, value: unknown, rule: string, file?: string): TurboModeConfigError {
  return new TurboModeConfigError(`${taskLabel(index, task)}${field ? `.${field}` : ''}`, value, rule, file);
}

/** The first zod issue as a ValidationError, with `scheduled_tasks[i]` spelled as the task. */
export function fromZod(error: z.ZodError, raw: unknown, file?: string): TurboModeConfigError {
  const issue = error.issues[0]!;
  const path: PropertyKey[] = issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? [...issue.path, issue.keys[0]!] : [...issue.path];
  let value: unknown = raw;
  for (const segment of path) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[String(segment)] : undefined;
  let where = '';
  let rest = path;
  if (path[0] === 'scheduled_tasks' && typeof path[1] === 'number') {
    const tasks = (raw as { scheduled_tasks?: unknown[] }).scheduled_tasks;
    where = taskLabel(path[1], Array.isArray(tasks) ? tasks[path[1]] : undefined);
    rest = path.slice(2);
  }
  for (const segment of rest) where += typeof segment === 'number' ? `[${segment}]` : where ? `.${String(segment)}` : String(segment);
  return new TurboModeConfigError(where || '(top level)', value, ruleOfIssue(issue), file);
}
