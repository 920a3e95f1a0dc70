import { alertStoreFor } from '../../store/alert-store.js';
import { compileDeadlines } from '../../engine/alerts/deadline-rules.js';
import { itemDeadlineView } from '../../engine/alerts/deadline-view.js';
import type { Command } from 'commander';
import type { SluiceApp } from '../../app/create-app.js';
import { Option } from 'commander';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { WORK_STATES, isWorkState, type WorkState } from '../../core/states.js';
import { attemptToJson, workItemToJson } from '../../core/work-item.js';
import { blockedReason, dependencyToJson } from '../../engine/dependencies.js';
import { pipelineFilterOf } from '../options.js';
import { checkRegisteredFilter, parseBoundedIntOption, parseIntOption, printJson, printTable, withApp } from '../context.js';

export function registerWork(program: Command): void {
  const work = program.command('work').description('Inspect and operate on work items');

  work
    .command('list')
    .description('List work items, newest first')
    .addOption(new Option('--state <state>', 'only this state').choices([...WORK_STATES]))
    .option('--domain <domain>', 'only this domain')
    .option('--pipeline <pipeline>', 'only this pipeline (domain.name)')
    .option('--limit <n>', 'at most n items (1 to 10000)', parseBoundedIntOption('--limit', 1, 10_000), 100)
    .option('--offset <n>', 'skip n items', parseBoundedIntOption('--offset', 0, Number.MAX_SAFE_INTEGER), 0)
    .option('--json', 'print JSON')
    .action(async (opts, command: Command) => {
      const pipeline = pipelineFilterOf(opts.pipeline);
      await withApp(
        command,
        async (app) => {
          checkRegisteredFilter(app, { domain: opts.domain, pipeline });
          const items = await app.store.listItems({
            state: opts.state as WorkState | undefined,
            domain: pipeline?.domain ?? opts.domain,
            pipeline: pipeline?.pipeline,
            limit: opts.limit,
            offset: opts.offset,
          });
          if (opts.json) return printJson(items.map(workItemToJson));
          printTable(
            items.map((i) => ({
              id: i.id,
              pipeline: `${i.domain}.${i.pipeline}`,
              partition: i.partitionKey,
              state: i.state,
              attempts: `${i.attempts}/${i.maxAttempts}`,
              priority: i.priority,
              desired_at: i.desiredAt.toISOString(),
              last_error: i.lastError,
            })),
            ['id', 'pipeline', 'partition', 'state', 'attempts', 'priority', 'desired_at', 'last_error'],
          );
        },
        { logLevel: 'warn' },
      );
    });

  itemCommand(work, 'show', 'One work item with its attempts and events', 'print JSON', async (app, id, opts) => {
    const item = await app.store.getItem(id);
    if (!item) throw new NotFoundError('work item', id);
    const attempts = await app.store.listAttempts(id);
    const events = await app.store.listEvents(id);
    const dependencies = await app.store.listDependencies(id);
    const blocked = item.state === 'WAITING' ? blockedReason(dependencies) : null;
    const deadline = await itemDeadlineView(alertStoreFor(app.store), compileDeadlines(app.config, app.registry), item);
    if (opts.json) {
      return printJson({
        ...workItemToJson(item),
        blocked_reason: blocked,
        deadline,
        dependencies: dependencies.map(dependencyToJson),
        attempts: attempts.map(attemptToJson),
        events: events.map((e) => ({ at: e.at.toISOString(), event: e.event, from: e.fromState, to: e.toState, actor: e.actor, detail: e.detail })),
      });
    }
    const out = process.stdout;
    out.write(`#${item.id} ${item.domain}.${item.pipeline} [${item.partitionKey}]\n`);
    out.write(`state ${item.state}  attempts ${item.attempts}/${item.maxAttempts}  priority ${item.priority}  desired_at ${item.desiredAt.toISOString()}\n`);
    if (item.lastError) out.write(`last error: ${item.lastError}\n`);
    if (blocked) out.write(`${blocked}\n`);
    if (deadline) out.write(`deadline ${deadline.deadline}: due ${deadline.due_at}, ${deadline.state}${deadline.met_at ? ` at ${deadline.met_at}` : ''}\n`);
    if (dependencies.length) {
      out.write('\nupstream:\n');
      printTable(
        dependencies.map((d) => ({
          pipeline: `${d.domain}.${d.pipeline}`,
          partition: d.partitionKey,
          state: d.state ?? 'not enqueued',
          item: d.itemId ?? '',
        })),
        ['pipeline', 'partition', 'state', 'item'],
      );
    }
    out.write('\nattempts:\n');
    printTable(
      attempts.map((a) => ({
        no: a.attemptNo,
        status: a.status,
        worker: a.workerId,
        started: a.startedAt.toISOString(),
        ms: a.finishedAt ? a.finishedAt.getTime() - a.startedAt.getTime() : '',
        error: a.error,
      })),
      ['no', 'status', 'worker', 'started', 'ms', 'error'],
    );
    const tail = attempts.at(-1)?.outputTail;
    if (tail) out.write(`\noutput (last attempt, tail):\n${tail}\n`);
    out.write('\nevents:\n');
    printTable(
      events.map((e) => ({ at: e.at.toISOString(), event: e.event, from: e.fromState, to: e.toState, actor: e.actor })),
      ['at', 'event', 'from', 'to', 'actor'],
    );
  });

  work
    .command('retry')
    .description('Put FAILED (or CANCELLED) items back to PENDING with a fresh retry budget')
    .argument('[id]', 'one work item id', parseIntOption('id'))
    .option('--domain <domain>', 'retry every FAILED item of this domain')
    .option('--pipeline <pipeline>', 'retry every FAILED item of this pipeline (domain.name)')
    .option('--json', 'print the retried items as JSON')
    .action(async (id: number | undefined, opts, command: Command) => {
      const pipeline = pipelineFilterOf(opts.pipeline);
      if (id === undefined && !opts.domain && !pipeline)
        throw new ValidationError('id', undefined, 'be given, or use --domain/--pipeline to retry every failed item');
      await withApp(
        command,
        async (app) => {
          if (id === undefined) checkRegisteredFilter(app, { domain: opts.domain, pipeline });
          const items = await app.store.retry(id !== undefined ? { id } : { domain: pipeline?.domain ?? opts.domain, pipeline: pipeline?.pipeline }, 'cli');
          if (opts.json) return printJson(items.map(workItemToJson));
          process.stdout.write(`retried ${items.length} item(s)${items.length ? `: ${items.map((i) => `#${i.id}`).join(' ')}` : ''}\n`);
        },
        { logLevel: 'warn' },
      );
    });

  itemCommand(work, 'cancel', 'Cancel a waiting, pending or running item (a running handler is aborted)', 'print the item as JSON', async (app, id, opts) => {
    const { item, changed } = await app.store.cancel(id, 'cli');
    if (opts.json) return printJson({ ...workItemToJson(item), changed });
    process.stdout.write(changed ? `cancelled #${id}\n` : `#${id} was already cancelled\n`);
  });
}

/** A `work <name> <id> [--json]` subcommand: the id parsed as an integer, the app opened with
 * warnings-only logging (the output is the item, not progress), `run` given both. */
function itemCommand(
  work: Command,
  name: string,
  description: string,
  jsonHelp: string,
  run: (app: SluiceApp, id: number, opts: { json?: boolean }) => Promise<void>,
): void {
  work
    .command(name)
    .description(description)
    .argument('<id>', 'work item id', parseIntOption('id'))
    .option('--json', jsonHelp)
    .action(async (id: number, opts: { json?: boolean }, command: Command) => {
      await withApp(command, (app) => run(app, id, opts), { logLevel: 'warn' });
    });
}

export { isWorkState };
