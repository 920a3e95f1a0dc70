import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { parsePartitionArg } from '../../core/partition.js';
import { BACKFILL_DEFAULT_PRIORITY, planBackfill, runBackfill, type ReprocessMode } from '../../engine/backfill.js';
import { collect, parseIntOption, parseJsonOption, printJson, withApp } from '../context.js';

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description(`Enqueue a pipeline over a range of partitions (priority ${BACKFILL_DEFAULT_PRIORITY} by default, below scheduled work)`)
    .argument('<pipeline>', 'domain.name')
    .option('--from <date>', 'first date (YYYY-MM-DD); weekly pipelines use the Fridays in range, daily ones the sessions')
    .option('--to <date>', 'last date (inclusive)')
    .option('--partition-range <key=A..B>', 'explicit range over one partition key (dates or integers)')
    .option('-p, --partition <k=v,...>', 'fixed keys added to every partition; repeat for a cross product', collect, [])
    .option('--calendar <name>', 'calendar for date partitions (XNYS, or none for every day)', 'XNYS')
    .option('--params <json>', 'handler params as JSON', parseJsonOption('--params'))
    .option('--priority <n>', 'priority (higher runs first)', parseIntOption('--priority'))
    .addOption(new Option('--reprocess <mode>', 'existing partitions: missing (leave them), failed (retry failed), all (re-run finished)').choices(['missing', 'failed', 'all']).default('missing'))
    .option('--dry-run', 'only list the partitions that would be enqueued')
    .option('--json', 'print JSON')
    .action(async (pipeline: string, opts, command: Command) => {
      const request = {
        pipeline,
        from: opts.from,
        to: opts.to,
        partitionRange: opts.partitionRange,
        fixed: (opts.partition as string[]).map((p) => parsePartitionArg(p)),
        calendar: opts.calendar,
        params: opts.params,
        priority: opts.priority,
        reprocess: opts.reprocess as ReprocessMode,
      };
      await withApp(command, async (app) => {
        if (opts.dryRun) {
          const plan = planBackfill(app.registry, request);
          if (opts.json) return printJson({ dry_run: true, pipeline: plan.pipeline.key, total: plan.partitions.length, partitions: plan.partitions });
          process.stdout.write(`dry run: would enqueue ${plan.partitions.length} partition(s) of ${plan.pipeline.key}\n`);
          for (const p of plan.partitions.slice(0, 50)) process.stdout.write(`  ${JSON.stringify(p)}\n`);
          if (plan.partitions.length > 50) process.stdout.write(`  … ${plan.partitions.length - 50} more\n`);
          return;
        }
        // A progress bar only on an interactive terminal; scripts and --json get clean output.
        const bar = process.stderr.isTTY && !opts.json ? new cliProgress.SingleBar({ stream: process.stderr, format: 'backfill [{bar}] {value}/{total} partitions' }, cliProgress.Presets.shades_classic) : null;
        let started = false;
        const result = await runBackfill(app.store, app.registry, request, ({ done, total }) => {
          if (!bar) return;
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(done);
        });
        bar?.stop();
        if (opts.json) return printJson({ total: result.total, created: result.created, existing: result.existing, requeued: result.requeued, items: result.items.map((i) => ({ id: i.id, partition_key: i.partitionKey, state: i.state })) });
        process.stdout.write(`backfill ${pipeline}: ${result.total} partitions, ${result.created} enqueued, ${result.existing} already present, ${result.requeued} requeued\n`);
      }, { logLevel: 'warn' });
    });
}
