import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { parsePartitionArg } from '../../core/partition.js';
import { workItemToJson } from '../../core/work-item.js';
import { enqueueWork } from '../../engine/enqueue.js';
import { collect, parseIntOption, parseJsonOption, printJson, withApp } from '../context.js';

export function registerEnqueue(program: Command): void {
  program
    .command('enqueue')
    .description('Add a work item (idempotent: an existing (pipeline, partition) is reported, not duplicated)')
    .argument('<pipeline>', 'domain.name, e.g. ops.noop or finra.otc_transparency.ingest_week')
    .option('-p, --partition <k=v,...>', 'partition; repeat to enqueue several', collect, [])
    .option('--params <json>', 'handler params as a JSON object', parseJsonOption('--params'))
    .option('--priority <n>', 'higher runs first (default: the pipeline priority, 0)', parseIntOption('--priority'))
    .option('--at <iso>', 'do not run before this ISO-8601 instant')
    .option('--max-attempts <n>', 'override the pipeline retry budget', parseIntOption('--max-attempts'))
    .option('--base-delay <duration>', 'override the first retry delay, e.g. 5s')
    .option('--json', 'print the items as JSON')
    .action(async (pipeline: string, opts, command: Command) => {
      const partitions = (opts.partition as string[]).length ? (opts.partition as string[]).map((p) => parsePartitionArg(p)) : [{}];
      let desiredAt: Date | undefined;
      if (opts.at !== undefined) {
        desiredAt = new Date(opts.at);
        if (Number.isNaN(desiredAt.getTime())) throw new ValidationError('--at', opts.at, 'be an ISO-8601 instant, e.g. 2026-01-05T14:30:00Z');
      }
      await withApp(command, async (app) => {
        const outcomes = await enqueueWork(
          app.store,
          app.registry,
          partitions.map((partition) => ({
            pipeline,
            partition,
            params: opts.params,
            priority: opts.priority,
            desiredAt,
            maxAttempts: opts.maxAttempts,
            baseDelay: opts.baseDelay,
          })),
        );
        if (opts.json) {
          printJson(outcomes.map((o) => ({ ...workItemToJson(o.item), created: o.created })));
        } else {
          for (const o of outcomes) {
            process.stdout.write(
              `${o.created ? 'enqueued' : 'exists  '} #${o.item.id} ${o.item.domain}.${o.item.pipeline} [${o.item.partitionKey}] ${o.item.state}\n`,
            );
          }
        }
      }, { logLevel: 'warn' });
    });
}
