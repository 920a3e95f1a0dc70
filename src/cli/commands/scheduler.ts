import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { compileSchedule } from '../../engine/scheduler/compile-schedule.js';
import { getCalendar } from '../../time/calendars.js';
import { parseDateRange } from '../../time/civil-date.js';
import { formatZonedIso } from '../../time/zoned.js';
import { loadConfig } from '../../config/load-config.js';
import { globalsOf, parseIntOption, printJson, printTable, withApp } from '../context.js';
import { reportAction } from '../options.js';
import { onShutdownSignals } from '../signals.js';

export function registerScheduler(program: Command): void {
  program
    .command('scheduler')
    .description('Run only the scheduler: fire schedule ticks into the queue (any number may run; one leads)')
    .action(async (_opts, command: Command) => {
      await withApp(command, async (app) => {
        const scheduler = app.createScheduler();
        await scheduler.start();
        app.logger.info({ scheduler_id: scheduler.schedulerId, schedules: app.schedules.length }, 'scheduler started');
        await new Promise<void>((resolve) =>
          onShutdownSignals(async () => {
            await scheduler.stop();
            resolve();
          }),
        );
      });
    });

  const schedule = program.command('schedule').description('Inspect schedules and their fire times');

  reportAction(
    schedule
      .command('list')
      .description('Configured schedules with their next fire times and recent ticks')
      .option('--ticks <n>', 'recent ticks to show per schedule', parseIntOption('--ticks'), 5),
    (app, opts) => app.createScheduler().listSchedules(opts.ticks),
    (views) =>
      printTable(
        views.map((v) => ({
          name: v.name,
          pipeline: v.pipeline,
          when: v.cron ?? (v.every ? `every ${v.every}` : `${v.calendar} ${v.at}`) + (v.window ? ` (${v.calendar} ${v.window})` : ''),
          timezone: v.timezone,
          enabled: v.enabled,
          next: v.next_fire_times[0] ?? '',
          last: v.recent_ticks[0] ? `${v.recent_ticks[0].scheduled_at} ${v.recent_ticks[0].outcome}` : '',
        })),
        ['name', 'pipeline', 'when', 'timezone', 'enabled', 'next', 'last'],
      ),
  );

  schedule
    .command('next')
    .description('Next fire times of a configured schedule, or of an ad-hoc --cron / --calendar --at')
    .argument('[name]', 'a configured schedule')
    .option('--cron <expr>', 'cron expression (5 or 6 fields)')
    .option('--timezone <tz>', 'IANA time zone for --cron (default: the config timezone)')
    .option('--calendar <name>', 'fire only on sessions of this calendar (XNYS)')
    .option('--at <when>', 'with --calendar: open, close, open-5m, close+15m …')
    .option('--every <duration>', 'interval trigger, e.g. 15m (anchored at each open with --window session)')
    .option('--start <iso>', 'with --every and no window: anchor instant (default: the UTC epoch)')
    .option('--jitter <duration>', 'with --every: deterministic delay in [0, jitter) per tick')
    .option('--window <kind>', 'with --calendar: "session" = only instants inside a session, open and close included')
    .option('--from <iso>', 'start after this instant (default: now)')
    .option('--count <n>', 'how many', parseIntOption('--count'), 5)
    .option('--json', 'print a JSON array of ISO-8601 instants with UTC offset')
    .action(async (name: string | undefined, opts, command: Command) => {
      const from = opts.from ? new Date(opts.from) : new Date();
      if (Number.isNaN(from.getTime())) throw new ValidationError('--from', opts.from, 'be an ISO-8601 instant or date');
      if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 10_000)
        throw new ValidationError('--count', opts.count, 'be an integer from 1 to 10000');
      await withApp(
        command,
        async (app) => {
          let compiled = app.schedules.find((s) => s.name === name);
          if (name && !compiled) {
            throw new ValidationError('name', name, `name a configured schedule (known: ${app.schedules.map((s) => s.name).join(', ') || 'none'})`);
          }
          if (!compiled) {
            if (!opts.cron && !opts.at && !opts.every)
              throw new ValidationError('--cron', undefined, 'be given (or a schedule NAME, --every, or --calendar with --at)');
            if (opts.window !== undefined && opts.window !== 'session') throw new ValidationError('--window', opts.window, 'be "session"');
            compiled = compileSchedule(
              {
                name: 'adhoc',
                pipeline: 'ops.noop',
                cron: opts.cron,
                at: opts.at,
                every: opts.every,
                start: opts.start,
                jitter: opts.jitter,
                window: opts.window,
                calendar: opts.calendar,
                timezone: opts.timezone,
              },
              'schedule',
              app.registry,
              app.config,
            );
          }
          // Market-time schedules are shown in the exchange's zone unless a timezone was asked for.
          const tz =
            compiled.calendar && (compiled.config.at || compiled.config.every) && !compiled.config.timezone ? compiled.calendar.timezone : compiled.timezone;
          const times = compiled.nextTimes(from, opts.count).map((t) => formatZonedIso(t, tz));
          if (opts.json) return printJson(times);
          process.stdout.write(`${times.join('\n')}\n`);
        },
        { logLevel: 'warn' },
      );
    });

  program
    .command('calendar')
    .description('Trading calendars')
    .command('sessions')
    .description('Trading sessions of a calendar in a date range, with real open and close (early closes included)')
    .argument('<calendar>', 'calendar name, e.g. XNYS')
    .requiredOption('--from <date>', 'first date, YYYY-MM-DD')
    .requiredOption('--to <date>', 'last date, YYYY-MM-DD (inclusive)')
    .option('--json', 'print a JSON array of {date, open, close}')
    .action(async (name: string, opts, command: Command) => {
      parseDateRange(opts.from, opts.to, { from: '--from', to: '--to' });
      // Ad-hoc closures and early closes declared in the config apply here too; no database needed.
      const { config } = await loadConfig(globalsOf(command).config);
      const cal = getCalendar(name, config.calendars[name] ?? config.calendars[name.toUpperCase()]);
      const sessions = cal.sessions(opts.from, opts.to).map((s) => ({
        date: s.date,
        open: formatZonedIso(s.open, cal.timezone),
        close: formatZonedIso(s.close, cal.timezone),
      }));
      if (opts.json) return printJson(sessions);
      printTable(sessions, ['date', 'open', 'close']);
    });
}
