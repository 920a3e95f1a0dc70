import type { Command } from 'commander';
import type { BatchPlan } from '../core/batch-plan.js';
import { exitCodeFor, type RunResult } from '../core/run-result.js';
import { batchHostOf } from '../app/batches.js';
import type { BatchHost } from '../domains/batch-host.js';
import { runBatch } from '../engine/batch-run.js';
import { globalsOf, printJson, withApp } from './context.js';
import { printRunResult } from './commands/run.js';

/**
 * The shared tail of `sluice finra|prices|fred|matrix`: open the app (the guide's
 * DATABASE_URL counts, logs at INFO unless --log-level says), let the domain plan, run the
 * plan, print the result and set the exit code (0 success/dry-run, 1 failure, 2 partial).
 * `WARNING: …` lines (the clamp, a week moved to its Friday) also go to stderr, as the
 * guide's schedulers log them, unless --log-level is above WARNING.
 */
export async function runBatchCommand(
  command: Command,
  json: boolean,
  plan: (host: BatchHost) => BatchPlan,
  exitCode: (r: RunResult) => number = (r) => exitCodeFor(r.status),
): Promise<void> {
  const result = await withApp(command, (app) => runBatch(app, plan(batchHostOf(app)), app.logger), { logLevel: 'info', databaseUrlEnv: true });
  const level = globalsOf(command).logLevel ?? 'info';
  if (!['error', 'fatal', 'silent'].includes(level)) for (const w of result.warnings) if (w.startsWith('WARNING: ')) process.stderr.write(`${w}\n`);
  if (json) printJson(result);
  else printRunResult(result);
  process.exitCode = exitCode(result);
}

/** Comma-separated flag values, blanks dropped. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
