import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { workItemToJson } from '../../core/work-item.js';
import { enqueueWork } from '../../engine/enqueue.js';
import { parseIntOption, printJson, withApp } from '../context.js';
import { addItemTargetOptions, partitionsOf } from '../options.js';

export function registerEnqueue(program: Command): void {
  addItemTargetOptions(program.command('enqueue').description('Add a work item (idempotent: an existing (pipeline, partition) is reported, not duplicated)'), {
    partition: 'partition; repeat to enqueue several',
    priority: 'higher runs first (default: the pipeline priority, 0)',
  })
    .option('--at <iso>', 'do not run before this ISO-8601 instant')
    .option('--max-attempts <n>', 'override the pipeline retry budget', parseIntOption('--max-attempts'))
    .option('--base-delay <duration>', 'override the first retry delay, e.g. 5s')
    .option('--json', 'print the items as JSON')
    .action(async (pipeline: string, opts, command: Command) => {
      const partitions = partitionsOf(opts);
      let desiredAt: Date | undefined;
      if (opts.at !== undefined) {
        desiredAt = new Date(opts.at);
        if (Number.isNaN(desiredAt.getTime())) throw new ValidationError('--at', opts.at, 'be an ISO-8601 instant, e.g. 2026-01-05T14:30:00Z');
      }
      await withApp(
        command,
        async (app) => {
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
          if (opts.json) return printJson(outcomes.map((o) => ({ ...workItemToJson(o.item), created: o.created })));
          for (const o of outcomes) {
            process.stdout.write(
              `${o.created ? 'enqueued' : 'exists  '} #${o.item.id} ${o.item.domain}.${o.item.pipeline} [${o.item.partitionKey}] ${o.item.state}\n`,
            );
          }
        },
        { logLevel: 'warn' },
      );
    });
}
