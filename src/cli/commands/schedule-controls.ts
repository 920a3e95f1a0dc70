import type { Command } from 'commander';
import { scheduleEvents, setSchedulePaused } from '../../engine/schedule-controls.js';
import { parseIntOption, printJson, printTable, withApp } from '../context.js';

/** `sluice schedule pause|resume|trigger|events NAME`, added to the `schedule` command. */
export function registerScheduleControls(program: Command): void {
  const schedule = program.commands.find((c) => c.name() === 'schedule');
  if (!schedule) throw new Error('registerScheduleControls: the schedule command must be registered first');

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    schedule
      .command(action)
      .description(paused ? 'Pause a schedule: due ticks are recorded as skipped_paused until resumed' : 'Resume a paused schedule')
      .argument('<name>', 'a configured schedule')
      .option('--reason <text>', 'why (kept in the schedule events)')
      .option('--json', 'print JSON')
      .action(async (name: string, opts, command: Command) => {
        await withApp(
          command,
          async (app) => {
            const c = await setSchedulePaused(app.store, app.schedules, name, paused, 'cli', opts.reason ?? null);
            if (opts.json) return printJson(c);
            process.stdout.write(`schedule ${name} ${paused ? 'paused' : 'resumed'}\n`);
          },
          { logLevel: 'warn' },
        );
      });
  }

  schedule
    .command('trigger')
    .description('Fire a schedule now (a manual tick, whatever its policy), recorded as an event')
    .argument('<name>', 'a configured schedule')
    .option('--json', 'print JSON')
    .action(async (name: string, opts, command: Command) => {
      await withApp(
        command,
        async (app) => {
          const r = await app.createScheduler().trigger(name, 'cli');
          if (opts.json) return printJson(r);
          process.stdout.write(`triggered ${name}: ${r.enqueued} item(s) enqueued\n`);
        },
        { logLevel: 'warn' },
      );
    });

  schedule
    .command('events')
    .description('Operator events of a schedule (paused, resumed, triggered), newest first')
    .argument('<name>', 'a configured schedule')
    .option('--limit <n>', 'how many', parseIntOption('--limit'), 20)
    .option('--json', 'print JSON')
    .action(async (name: string, opts, command: Command) => {
      await withApp(
        command,
        async (app) => {
          const events = await scheduleEvents(app.store, app.schedules, name, opts.limit);
          if (opts.json) return printJson(events);
          printTable(events, ['at', 'event', 'actor', 'detail']);
        },
        { logLevel: 'warn' },
      );
    });
}
