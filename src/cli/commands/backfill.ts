import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { parsePartitionArg } from '../../core/partition.js';
import { BACKFILL_DEFAULT_PRIORITY, planBackfill, type ReprocessMode } from '../../engine/backfill.js';
import { backfillStatus, cancelBackfill, createBackfill, listBackfills, type BackfillStatusJson } from '../../engine/backfills.js';
import type { Store } from '../../store/store.js';
import { collect, parseIntOption, parseJsonOption, printJson, printTable, withApp } from '../context.js';
import { reportAction } from '../options.js';

export function registerBackfill(program: Command): void {
  const backfill = program
    .command('backfill')
    .description(
      `Create a tracked backfill of a pipeline over a range of partitions (priority ${BACKFILL_DEFAULT_PRIORITY} by default, below scheduled work); see also backfill status|list|cancel`,
    )
    .argument('<pipeline>', 'domain.name')
    .option('--from <date>', 'first date (YYYY-MM-DD); weekly pipelines use the Fridays in range, daily ones the sessions')
    .option('--to <date>', 'last date (inclusive)')
    .option('--partition-range <key=A..B>', 'explicit range over one partition key (dates or integers)')
    .option(
      '-p, --partition <k=v,...>',
      'fixed keys added to every partition (narrows an enum dimension, which otherwise fans out over all its values); repeat for a cross product',
      collect,
      [],
    )
    .option('--calendar <name>', 'calendar for date partitions (XNYS, or none for every day)', 'XNYS')
    .option('--params <json>', 'handler params as JSON', parseJsonOption('--params'))
    .option('--priority <n>', 'priority (higher runs first)', parseIntOption('--priority'))
    .addOption(
      new Option('--reprocess <mode>', 'existing partitions: missing (leave them), failed (retry failed), all (re-run finished)')
        .choices(['missing', 'failed', 'all'])
        .default('missing'),
    )
    .option('--no-downstream', 'stop at the named pipeline (default: bring in its auto downstream, as enqueue does)')
    .option('--follow', 'after enqueueing, follow execution with a progress bar until the backfill is done')
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
        downstream: opts.downstream !== false,
      };
      await withApp(
        command,
        async (app) => {
          if (opts.dryRun) {
            const plan = planBackfill(app.registry, request);
            const sample: unknown[] = [];
            for (const p of plan.partitions()) {
              if (sample.length >= (opts.json ? 10_000 : 50)) break;
              sample.push(p);
            }
            if (opts.json) return printJson({ dry_run: true, pipeline: plan.pipeline.key, total: plan.total, partitions: sample });
            process.stdout.write(`dry run: would enqueue ${plan.total} partition(s) of ${plan.pipeline.key}\n`);
            for (const p of sample) process.stdout.write(`  ${JSON.stringify(p)}\n`);
            if (plan.total > sample.length) process.stdout.write(`  … ${plan.total - sample.length} more\n`);
            return;
          }
          // A progress bar only on an interactive terminal; scripts and --json get clean output.
          const bar =
            process.stderr.isTTY && !opts.json
              ? new cliProgress.SingleBar({ stream: process.stderr, format: 'enqueue  [{bar}] {value}/{total} partitions' }, cliProgress.Presets.shades_classic)
              : null;
          let started = false;
          const { backfill: created, enqueued } = await createBackfill(app.store, app.registry, request, ({ done, total }) => {
            if (!bar) return;
            if (!started) {
              bar.start(total, 0);
              started = true;
            }
            bar.update(done);
          });
          const result = await enqueued;
          bar?.stop();
          if (opts.follow) await follow(app.store, created.id, Boolean(opts.json));
          const status = await backfillStatus(app.store, created.id);
          if (opts.json) {
            return printJson({
              id: created.id,
              total: result.total,
              created: result.created,
              existing: result.existing,
              requeued: result.requeued,
              downstream: result.downstream,
              items: result.items.map((i) => ({ id: i.id, partition_key: i.partitionKey, state: i.state })),
              status,
            });
          }
          process.stdout.write(
            `backfill #${created.id} ${status.pipeline}: ${result.total} partitions, ${result.created} enqueued, ${result.existing} already present, ${result.requeued} requeued, ${result.downstream} downstream items\n`,
          );
          if (!opts.follow) process.stdout.write(`follow it with: sluice backfill status ${created.id} --follow\n`);
          else process.stdout.write(`${statusLine(status)}\n`);
        },
        { logLevel: 'warn' },
      );
    });

  backfill
    .command('status')
    .description('Progress of a backfill: items by state (its pipeline and the downstream), rate, ETA')
    .argument('<id>', 'backfill id', parseIntOption('id'))
    .option('--follow', 'follow with a progress bar until the backfill is done or cancelled')
    .option('--json', 'print JSON')
    .action(async (id: number, opts, command: Command) => {
      await withApp(
        command,
        async (app) => {
          if (opts.follow) await follow(app.store, id, Boolean(opts.json));
          const status = await backfillStatus(app.store, id);
          if (opts.json) return printJson(status);
          process.stdout.write(`${statusLine(status)}\n`);
          printTable(
            (['requested', 'downstream'] as const).map((part) => ({ items: part, ...status.progress[part] })),
            ['items', 'WAITING', 'PENDING', 'RUNNING', 'RETRY_WAIT', 'COMPLETE', 'FAILED', 'CANCELLED'],
          );
        },
        { logLevel: 'warn' },
      );
    });

  reportAction(
    backfill.command('list').description('Backfills, newest first, with their progress').option('--limit <n>', 'how many', parseIntOption('--limit'), 20),
    (app, opts) => listBackfills(app.store, opts.limit, 0),
    (list) => {
      for (const b of list.backfills) process.stdout.write(`${statusLine(b)}\n`);
      if (list.backfills.length === 0) process.stdout.write('no backfills\n');
    },
  );

  reportAction(
    backfill
      .command('cancel')
      .description('Cancel a backfill: stop its enqueue and cancel its items still waiting or running')
      .argument('<id>', 'backfill id', parseIntOption('id')),
    (app, _opts, [id]) => cancelBackfill(app.store, id as number, 'cli'),
    (r) => process.stdout.write(`backfill #${r.backfill.id} cancelled: ${r.cancelled} item(s) cancelled\n`),
  );
}

export function statusLine(s: BackfillStatusJson): string {
  const p = s.progress;
  const eta = p.eta_seconds === null ? 'ETA unknown' : p.outstanding === 0 ? 'finished' : `ETA ${formatSeconds(p.eta_seconds)}`;
  const rate = p.rate_per_minute === null ? '' : ` · ${p.rate_per_minute}/min`;
  return `backfill #${s.id} ${s.pipeline} ${s.state}: ${p.finished}/${p.total} items finished (${p.percent}%) · ${p.complete} complete · ${p.failed} failed · ${p.outstanding} outstanding${rate} · ${eta}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** Polls the backfill until nothing it linked is outstanding (or it is cancelled), drawing a
 * bar over every linked item, the downstream included, on an interactive terminal. */
async function follow(store: Store, id: number, quiet: boolean): Promise<void> {
  const bar =
    process.stderr.isTTY && !quiet
      ? new cliProgress.SingleBar(
          { stream: process.stderr, format: 'run      [{bar}] {value}/{total} items · {complete} complete · {failed} failed · {rate}/min · ETA {eta_text}' },
          cliProgress.Presets.shades_classic,
        )
      : null;
  let started = false;
  for (;;) {
    const s = await backfillStatus(store, id);
    const payload = {
      complete: s.progress.complete,
      failed: s.progress.failed,
      rate: s.progress.rate_per_minute ?? '—',
      eta_text: s.progress.eta_seconds === null ? '—' : formatSeconds(s.progress.eta_seconds),
    };
    if (bar) {
      if (!started) {
        bar.start(s.progress.total, s.progress.finished, payload);
        started = true;
      }
      bar.setTotal(s.progress.total);
      bar.update(s.progress.finished, payload);
    }
    if (s.state === 'done' || s.state === 'cancelled' || s.state === 'failed') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  bar?.stop();
}
