import type { Command } from 'commander';
import { WORK_STATES } from '../../core/states.js';
import { summarizeCounts } from '../../engine/state-summary.js';
import { printTable } from '../context.js';
import { reportCoreAction } from '../options.js';

/** Per pipeline: how many items sit in each state. */
export function registerStatus(program: Command): void {
  reportCoreAction(
    program.command('status').description('Counts of work items by state and pipeline'),
    async (app) => ({ database: app.store.backend, ...summarizeCounts(await app.store.countByState()) }),
    (summary) => {
      printTable(summary.pipelines, ['pipeline', ...WORK_STATES]);
      process.stdout.write(`\ntotal: ${WORK_STATES.map((s) => `${s} ${summary.totals[s]}`).join(', ')}\n`);
    },
  );

  reportCoreAction(
    program.command('pipelines').description('List the pipelines this config knows'),
    async (app) =>
      app.registry.list().map((p) => ({
        pipeline: p.key,
        description: p.definition.description ?? '',
        max_attempts: p.retry.maxAttempts,
        timeout_ms: p.timeoutMs ?? null,
        concurrency: p.concurrency ?? null,
      })),
    (rows) => printTable(rows, ['pipeline', 'max_attempts', 'timeout_ms', 'concurrency', 'description']),
  );
}
