import type { Command } from 'commander';
import { exitCodeFor, type RunResult } from '../../core/run-result.js';
import { runInline } from '../../engine/run-inline.js';
import { printJson, withApp } from '../context.js';
import { addItemTargetOptions, addRunModeOptions, partitionsOf, runModeOf } from '../options.js';

export function registerRun(program: Command): void {
  const run = program.command('run').description('Run a pipeline now, in this process, and print a run result (exit 0 success/dry-run, 1 failure, 2 partial)');
  addItemTargetOptions(run, { partition: 'partition; repeat for several', priority: 'priority recorded on the items' });
  addRunModeOptions(run, { force: 'run again even if the partition is already COMPLETE' });
  run.action(async (pipeline: string, opts, command: Command) => {
    const partitions = partitionsOf(opts);
    const result = await withApp(command, (app) => runInline(app, { pipeline, partitions, params: opts.params, priority: opts.priority, ...runModeOf(opts) }), {
      logLevel: 'warn',
    });
    if (opts.json) printJson(result);
    else printRunResult(result);
    process.exitCode = exitCodeFor(result.status);
  });
}

export function printRunResult(result: RunResult): void {
  for (const run of result.runs) {
    const detail = run.error ?? run.reason ?? (run.row_count !== null ? `${run.row_count} rows` : '');
    process.stdout.write(`${run.status.padEnd(9)} ${run.pipeline} [${run.sluice_partition_key}] ${run.duration_ms}ms ${detail}\n`);
  }
  const s = result.stats;
  process.stdout.write(`${result.status}: ${s.succeeded} succeeded, ${s.failed} failed, ${s.skipped} skipped\n`);
  for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
}
