import type { Command } from 'commander';
import { Option } from 'commander';
import { parsePartitionArg } from '../../core/partition.js';
import { exitCodeFor, type RunResult } from '../../core/run-result.js';
import { runInline } from '../../engine/run-inline.js';
import { collect, parseIntOption, parseJsonOption, printJson, withApp } from '../context.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run a pipeline now, in this process, and print a run result (exit 0 success/dry-run, 1 failure, 2 partial)')
    .argument('<pipeline>', 'domain.name')
    .option('-p, --partition <k=v,...>', 'partition; repeat for several', collect, [])
    .option('--params <json>', 'handler params as a JSON object', parseJsonOption('--params'))
    .option('--priority <n>', 'priority recorded on the items', parseIntOption('--priority'))
    .option('--force', 'run again even if the partition is already COMPLETE')
    .option('--fail-fast', 'stop at the first failed partition')
    .addOption(new Option('--mode <mode>', 'run, or dry-run to only show what would run').choices(['run', 'dry-run']).default('run'))
    .option('--json', 'print the run result JSON')
    .action(async (pipeline: string, opts, command: Command) => {
      const partitions = (opts.partition as string[]).length ? (opts.partition as string[]).map((p) => parsePartitionArg(p)) : [{}];
      const result = await withApp(
        command,
        (app) => runInline(app, { pipeline, partitions, params: opts.params, priority: opts.priority, force: opts.force, failFast: opts.failFast, dryRun: opts.mode === 'dry-run' }),
        { logLevel: 'warn' },
      );
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
