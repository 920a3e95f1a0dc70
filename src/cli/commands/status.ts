import type { Command } from 'commander';
import { WORK_STATES } from '../../core/states.js';
import { summarizeCounts } from '../../engine/state-summary.js';
import { printJson, printTable, withAppCore } from '../context.js';

/** Per pipeline: how many items sit in each state. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('Counts of work items by state and pipeline')
    .option('--json', 'print JSON')
    .action(async (opts, command: Command) => {
      await withAppCore(command, async (app) => {
        const summary = summarizeCounts(await app.store.countByState());
        if (opts.json) return printJson({ database: app.store.backend, ...summary });
        printTable(summary.pipelines, ['pipeline', ...WORK_STATES]);
        process.stdout.write(`\ntotal: ${WORK_STATES.map((s) => `${s} ${summary.totals[s]}`).join(', ')}\n`);
      }, { logLevel: 'warn' });
    });

  program
    .command('pipelines')
    .description('List the pipelines this config knows')
    .option('--json', 'print JSON')
    .action(async (opts, command: Command) => {
      await withAppCore(command, async (app) => {
        const rows = app.registry.list().map((p) => ({
          pipeline: p.key,
          description: p.definition.description ?? '',
          max_attempts: p.retry.maxAttempts,
          timeout_ms: p.timeoutMs ?? null,
          concurrency: p.concurrency ?? null,
        }));
        if (opts.json) return printJson(rows);
        printTable(rows, ['pipeline', 'max_attempts', 'timeout_ms', 'concurrency', 'description']);
      }, { logLevel: 'warn' });
    });
}
