import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/create-app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { nightDate } from '../../src/time/night.js';
import { runSluice } from '../helpers/process.js';
import { sixTaskConfig, writeConfig } from './support/turbomode.js';

const echo = (id: number) => ['sh', '-c', `echo task ${id}`];
const load = (config: unknown) => loadConfig(writeConfig(config));
/** The six-task file with one task changed (by index) or the whole thing changed. */
function variant(edit: (c: { scheduled_tasks: Record<string, unknown>[]; global_settings: Record<string, unknown> } & Record<string, unknown>) => void) {
  const c = sixTaskConfig(echo) as Parameters<typeof edit>[0];
  edit(c);
  return c;
}
const T2 = 'scheduled_tasks[1] (task 2 "TurboMode Training Orchestrator")';

describe('TurboMode scheduler_config.json loads as written', () => {
  it('turns the six tasks into command pipelines and schedules, job defaults and units applied', async () => {
    const { config, turbomode } = await load(sixTaskConfig(echo));
    expect(turbomode?.version).toBe('1.0');
    expect(config.timezone).toBe('America/New_York');
    expect(config.workers.concurrency).toBe(1); // max_concurrent_jobs
    expect(config.schedules.map((s) => [s.name, s.pipeline, s.cron])).toEqual([
      ['task_1', 'turbomode.run_ingestion', '45 22 * * *'],
      ['task_2', 'turbomode.run_orchestrator', '0 23 * * *'],
      ['task_3', 'turbomode.run_overnight_scanner', '30 23 * * *'],
      ['task_4', 'turbomode.run_backtest_generator', '0 0 * * *'],
      ['task_5', 'turbomode.run_drift_monitor', '30 0 * * *'],
      ['task_6', 'turbomode.run_weekly_maintenance', '0 2 * * 0'],
    ]);
    for (const s of config.schedules) {
      expect(s).toMatchObject({
        timezone: 'America/New_York',
        misfire_grace: '300s',
        coalesce: true,
        max_instances: 1,
        enabled: true,
        partitions: { date: 'night' },
      });
    }
    const p = Object.fromEntries(config.pipelines.map((x) => [x.name, x]));
    expect(p.run_ingestion).toMatchObject({
      domain: 'turbomode',
      command: ['sh', '-c', 'echo task 1'],
      retry: { max_attempts: 4 },
      timeout: 30 * 60_000,
      partition: { date: 'date' },
    });
    expect(p.run_orchestrator).toMatchObject({ retry: { max_attempts: 1 }, timeout: 120 * 60_000, depends_on: ['turbomode.run_ingestion'] });
    expect(p.run_drift_monitor!.depends_on).toEqual(['turbomode.run_orchestrator', 'turbomode.run_backtest_generator']);
    expect(turbomode?.tasks.map((t) => [t.taskId, t.endpoint, t.dependsOn])).toEqual([
      [1, 'run_ingestion', []],
      [2, 'run_orchestrator', [1]],
      [3, 'run_overnight_scanner', [2]],
      [4, 'run_backtest_generator', [1]],
      [5, 'run_drift_monitor', [2, 4]],
      [6, 'run_weekly_maintenance', []],
    ]);
  });

  it('compiles: misfire_grace_time is seconds, next runs are New York wall times, the night spans midnight', async () => {
    const app = await createApp({ configPath: writeConfig(sixTaskConfig(echo)), database: 'sqlite::memory:', logLevel: 'silent' });
    try {
      const s = Object.fromEntries(app.schedules.map((x) => [x.name, x]));
      expect(s.task_1!.misfire.misfireGraceMs).toBe(300_000);
      expect(s.task_1!.misfire.coalesce).toBe(true);
      expect(s.task_1!.maxInstances).toBe(1);
      expect(app.registry.require('turbomode.run_ingestion').retry.maxAttempts).toBe(4);
      expect(app.registry.require('turbomode.run_ingestion').timeoutMs).toBe(1_800_000);
      const from = new Date('2026-01-06T12:00:00Z');
      expect(s.task_1!.nextTimes(from, 1)[0]!.toISOString()).toBe('2026-01-07T03:45:00.000Z'); // 22:45 EST
      expect(s.task_5!.nextTimes(from, 1)[0]!.toISOString()).toBe('2026-01-07T05:30:00.000Z'); // 00:30 EST, Jan 7
      expect(s.task_6!.nextTimes(from, 1)[0]!.toISOString()).toBe('2026-01-11T07:00:00.000Z'); // Sunday 02:00
      // Ingestion at 22:45 on Jan 6 and drift at 00:30 on Jan 7 work on the same night.
      expect(s.task_1!.partitionsFor(new Date('2026-01-07T03:45:00Z')).partitions).toEqual([{ date: '2026-01-06' }]);
      expect(s.task_5!.partitionsFor(new Date('2026-01-07T05:30:00Z')).partitions).toEqual([{ date: '2026-01-06' }]);
      expect(s.task_6!.partitionsFor(new Date('2026-01-11T07:00:00Z')).partitions).toEqual([{ date: '2026-01-10' }]);
    } finally {
      await app.close();
    }
  });

  it('reads APScheduler cron fields: Monday-first weekday numbers, names, steps, lists, ranges, last, seconds', async () => {
    const cronOf = async (schedule: Record<string, unknown>) =>
      (await load(variant((c) => (c.scheduled_tasks[5]!.schedule = { type: 'cron', ...schedule })))).config.schedules[5]!.cron;
    expect(await cronOf({ day_of_week: 0, hour: 6 })).toBe('0 6 * * 1'); // 0 = Monday in APScheduler
    expect(await cronOf({ day_of_week: 6, hour: 6 })).toBe('0 6 * * 0');
    expect(await cronOf({ day_of_week: 'mon-fri', hour: 18, minute: 5 })).toBe('5 18 * * 1,2,3,4,5');
    expect(await cronOf({ day_of_week: 'sat,sun', hour: 9 })).toBe('0 9 * * 0,6');
    expect(await cronOf({ minute: '*/15' })).toBe('*/15 * * * *');
    expect(await cronOf({ hour: '9-16', minute: '0,30' })).toBe('0,30 9-16 * * *');
    expect(await cronOf({ day: 'last', hour: 1 })).toBe('0 1 L * *');
    expect(await cronOf({ month: 'jan', day: 2 })).toBe('0 0 2 1 *');
    // APScheduler: fields above the least significant one given are "*" (every minute of hour 3).
    expect(await cronOf({ hour: 3, second: 30 })).toBe('30 * 3 * * *');
    expect(await cronOf({ hour: 3, minute: 0, second: 30 })).toBe('30 0 3 * * *');
    expect(await cronOf({ day_of_week: 'sun' })).toBe('0 0 * * 0'); // smaller fields default to their minimum
  });

  it("runs a function_name that names a pipeline of the same file, with the task's retry and timeout", async () => {
    const { config } = await load(
      variant((c) => {
        c.pipelines = [{ domain: 'ml', name: 'run_weekly_maintenance', command: ['sh', '-c', 'echo vacuum'] }];
        delete c.scheduled_tasks[5]!.command;
      }),
    );
    expect(config.schedules[5]!.pipeline).toBe('ml.run_weekly_maintenance');
    expect(config.pipelines[0]).toMatchObject({ domain: 'ml', name: 'run_weekly_maintenance', retry: { max_attempts: 1 }, timeout: 30 * 60_000 });
  });

  it('misfire_grace_time null lets a late run start however late; per-task job options override the defaults; a task zone wins', async () => {
    const { config } = await load(
      variant((c) => {
        c.global_settings.job_defaults = { misfire_grace_time: null, coalesce: false };
        Object.assign(c.scheduled_tasks[0]!, { misfire_grace_time: 60, max_instances: 2 });
        (c.scheduled_tasks[1]!.schedule as Record<string, unknown>).timezone = 'Europe/London';
      }),
    );
    expect(config.schedules[0]).toMatchObject({ misfire_grace: '60s', max_instances: 2, coalesce: false });
    expect(config.schedules[2]).toMatchObject({ catchup: true, coalesce: false });
    expect(config.schedules[2]!.misfire_grace).toBeUndefined();
    expect(config.schedules[1]!.timezone).toBe('Europe/London');
  });

  it('a disabled task keeps its pipeline (run_task still works) but its schedule does not fire', async () => {
    const { config, turbomode } = await load(variant((c) => (c.scheduled_tasks[5]!.enabled = false)));
    expect(config.schedules[5]!.enabled).toBe(false);
    expect(turbomode?.tasks[5]!.enabled).toBe(false);
    expect(config.pipelines.some((p) => p.name === 'run_weekly_maintenance')).toBe(true);
  });

  it('nightDate: local noon to noon, named by the evening, across DST', () => {
    expect(nightDate(new Date('2026-03-08T06:30:00Z'), 'America/New_York')).toBe('2026-03-07'); // 01:30 EST on the spring-forward night
    expect(nightDate(new Date('2026-03-08T16:00:00Z'), 'America/New_York')).toBe('2026-03-08'); // noon EDT
    expect(nightDate(new Date('2026-11-01T05:30:00Z'), 'America/New_York')).toBe('2026-10-31'); // 01:30 EDT, fall back
  });
});

describe('TurboMode config errors name the task (or field) and the rule', () => {
  const cases: [string, (c: Parameters<Parameters<typeof variant>[0]>[0]) => void, RegExp][] = [
    [
      'an hour out of range',
      (c) => ((c.scheduled_tasks[1]!.schedule as Record<string, unknown>).hour = 25),
      /scheduled_tasks\[1\] \(task 2 "TurboMode Training Orchestrator"\)\.schedule\.hour: 25 is invalid: must be an hour 0-23/,
    ],
    [
      'an hour expression out of range',
      (c) => ((c.scheduled_tasks[1]!.schedule as Record<string, unknown>).hour = '20-25'),
      /\.schedule\.hour: "20-25" is invalid: must be an hour 0-23/,
    ],
    [
      'a backwards range',
      (c) => ((c.scheduled_tasks[1]!.schedule as Record<string, unknown>).day_of_week = 'sun-mon'),
      /\.schedule\.day_of_week: "sun-mon" is invalid: must have ranges from low to high/,
    ],
    [
      'APScheduler "xth y" day forms',
      (c) => ((c.scheduled_tasks[1]!.schedule as Record<string, unknown>).day = '2nd fri'),
      /\.schedule\.day: "2nd fri" is invalid/,
    ],
    [
      'day and day_of_week together',
      (c) => Object.assign(c.scheduled_tasks[1]!.schedule as object, { day: 1, day_of_week: 'mon-fri' }),
      /\.schedule\.day_of_week: "mon-fri" is invalid: must not be combined with "day"/,
    ],
    [
      'an interval trigger',
      (c) => ((c.scheduled_tasks[1]!.schedule as Record<string, unknown>).type = 'interval'),
      /\.schedule\.type: "interval" is invalid: must be "cron": interval and date triggers are not built/,
    ],
    [
      'a trigger field that is not built',
      (c) => ((c.scheduled_tasks[1]!.schedule as Record<string, unknown>).jitter = 30),
      /\.schedule\.jitter: 30 is invalid: must not be used: cron jitter is not built/,
    ],
    [
      'an unknown schedule field',
      (c) => ((c.scheduled_tasks[1]!.schedule as Record<string, unknown>).minutes = 5),
      /\.schedule\.minutes: 5 is invalid: must not be present: unknown schedule field/,
    ],
    [
      'an unknown task key',
      (c) => (c.scheduled_tasks[1]!.priority = 5),
      /scheduled_tasks\[1\] \(task 2 "TurboMode Training Orchestrator"\)\.priority: 5 is invalid: must not be present/,
    ],
    [
      'an unknown global setting',
      (c) => (c.global_settings.executors = { default: 'threadpool' }),
      /global_settings\.executors: .* is invalid: must not be present/,
    ],
    [
      'an unknown job default',
      (c) => (c.global_settings.job_defaults = { misfire_grace: 300 }),
      /global_settings\.job_defaults\.misfire_grace: 300 is invalid: must not be present/,
    ],
    ['an unknown top-level key', (c) => (c.workers = { concurrency: 2 }), /workers: .* is invalid: must not be present/],
    [
      'misfire_grace_time 0',
      (c) => (c.global_settings.job_defaults = { misfire_grace_time: 0 }),
      /global_settings\.job_defaults\.misfire_grace_time: 0 is invalid: must be at least 1 \(seconds\)/,
    ],
    ['a bad time zone', (c) => (c.global_settings.timezone = 'Eastern'), /global_settings\.timezone: "Eastern" is invalid: must be an IANA time zone/],
    [
      'an unknown function name (no command, no pipeline)',
      (c) => delete c.scheduled_tasks[1]!.command,
      new RegExp(
        `${esc(T2)}\\.function_name: "run_orchestrator" is invalid: must name a pipeline of this file's "pipelines" \\(known: none\\), or the task must give a "command"`,
      ),
    ],
    [
      'a command task whose function_name is not a pipeline name',
      (c) => (c.scheduled_tasks[1]!.function_name = 'runOrchestrator'),
      /\.function_name: "runOrchestrator" is invalid: must be a lower-case word/,
    ],
    [
      'a command beside a pipeline of the same name',
      (c) => (c.pipelines = [{ domain: 'ml', name: 'run_orchestrator', command: ['true'] }]),
      /\.command: .* is invalid: must not be given when pipelines\[0\] is named "run_orchestrator" too/,
    ],
    [
      'a dependency on an unknown task',
      (c) => (c.scheduled_tasks[1]!.depends_on = [9]),
      new RegExp(`${esc(T2)}\\.depends_on\\[0\\]: 9 is invalid: must name another task by task_id or name`),
    ],
    [
      'a dependency on itself',
      (c) => (c.scheduled_tasks[1]!.depends_on = ['TurboMode Training Orchestrator']),
      /\.depends_on\[0\]: "TurboMode Training Orchestrator" is invalid: must name another task, not the task itself/,
    ],
    [
      'a dependency on a disabled task',
      (c) => (c.scheduled_tasks[0]!.enabled = false),
      /\.depends_on\[0\]: 1 is invalid: must name an enabled task \(task 1 is disabled/,
    ],
    [
      'a dependency cycle',
      (c) => (c.scheduled_tasks[0]!.depends_on = ['run_overnight_scanner']),
      /scheduled_tasks\[0\] \(task 1 "Master Market Data Ingestion"\)\.depends_on: \["run_overnight_scanner"\] is invalid: must not form a cycle \(task 1 -> task 3 -> task 2 -> task 1\)/,
    ],
    [
      'a duplicate task_id',
      (c) => (c.scheduled_tasks[2]!.task_id = 2),
      /scheduled_tasks\[2\] \(task 2 "Overnight Scanner"\)\.task_id: 2 is invalid: must be unique/,
    ],
    [
      'a duplicate endpoint',
      (c) => (c.scheduled_tasks[2]!.endpoint = '/scheduler/run_orchestrator'),
      /\.endpoint: "\/scheduler\/run_orchestrator" is invalid: must be unique/,
    ],
    [
      'an endpoint that is a scheduler route',
      (c) => (c.scheduled_tasks[2]!.endpoint = '/scheduler/status'),
      /\.endpoint: "\/scheduler\/status" is invalid: must not be one of the scheduler's own routes/,
    ],
    [
      'an endpoint outside /scheduler/',
      (c) => (c.scheduled_tasks[2]!.endpoint = '/run_scanner'),
      /\.endpoint: "\/run_scanner" is invalid: must be \/scheduler\/NAME/,
    ],
    [
      'max_retries without retry_on_failure',
      (c) => (c.scheduled_tasks[1]!.max_retries = 2),
      new RegExp(`${esc(T2)}\\.max_retries: 2 is invalid: must be 0 or absent unless "retry_on_failure" is true`),
    ],
    [
      'retry_on_failure without max_retries',
      (c) => delete c.scheduled_tasks[0]!.max_retries,
      /\.max_retries: missing value is invalid: must be given when "retry_on_failure" is true/,
    ],
    ['timeout_minutes 0', (c) => (c.scheduled_tasks[1]!.timeout_minutes = 0), /\.timeout_minutes: 0 is invalid: must be more than 0 \(minutes\)/],
    [
      'cwd without a command',
      (c) => (
        (c.pipelines = [{ domain: 'ml', name: 'run_orchestrator', command: ['true'] }]),
        delete c.scheduled_tasks[1]!.command,
        (c.scheduled_tasks[1]!.cwd = '/tmp')
      ),
      /\.cwd: "\/tmp" is invalid: must be given only with a "command"/,
    ],
    [
      'a task setting what its pipeline entry sets too',
      (c) => ((c.pipelines = [{ domain: 'ml', name: 'run_orchestrator', command: ['true'], timeout: '1h' }]), delete c.scheduled_tasks[1]!.command),
      /\.timeout_minutes: 120 is invalid: must not be given when pipelines\[0\] sets "timeout" too/,
    ],
    ['no tasks', (c) => (c.scheduled_tasks = []), /scheduled_tasks: \[\] is invalid: must list at least one task/],
  ];
  for (const [what, edit, message] of cases) {
    it(`refuses ${what}`, async () => {
      await expect(load(variant(edit))).rejects.toThrow(message);
    });
  }

  it('`sluice start` on a broken file exits 64 with one line naming the task, before opening a database', async () => {
    const file = writeConfig(variant((c) => ((c.scheduled_tasks[1]!.schedule as Record<string, unknown>).hour = 24)));
    const res = await runSluice(['--config', file, 'start', '--port', '0'], { timeoutMs: 30_000 });
    expect(res.code).toBe(64);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^sluice: error: .*scheduler_config\.json: scheduled_tasks\[1\] \(task 2 "TurboMode Training Orchestrator"\)\.schedule\.hour: 24 is invalid: must be an hour 0-23$/,
    );
    expect(existsSync(path.join(path.dirname(file), 'sluice.db'))).toBe(false);
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
