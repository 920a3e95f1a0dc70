import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The unified scheduler's six tasks (seed 004) as its scheduler_config.json lists them, with
 * the Sluice additions: a command per task and the dependencies the guide states. */
export function sixTaskConfig(
  command: (taskId: number, fn: string) => string[],
  overrides: { global?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const task = (
    task_id: number,
    name: string,
    function_name: string,
    schedule: Record<string, unknown>,
    timeout_minutes: number,
    retry: number | false,
    depends_on?: number[],
  ) => ({
    task_id,
    name,
    function_name,
    endpoint: `/scheduler/${function_name}`,
    enabled: true,
    schedule: { type: 'cron', ...schedule },
    timeout_minutes,
    retry_on_failure: retry !== false,
    max_retries: retry === false ? 0 : retry,
    command: command(task_id, function_name),
    ...(depends_on ? { depends_on } : {}),
  });
  return {
    version: '1.0',
    global_settings: {
      timezone: 'America/New_York',
      max_concurrent_jobs: 1,
      job_defaults: { coalesce: true, max_instances: 1, misfire_grace_time: 300 },
      ...overrides.global,
    },
    scheduled_tasks: [
      task(1, 'Master Market Data Ingestion', 'run_ingestion', { hour: 22, minute: 45, day_of_week: 'mon-sun' }, 30, 3),
      task(2, 'TurboMode Training Orchestrator', 'run_orchestrator', { hour: 23, minute: 0, day_of_week: 'mon-sun' }, 120, false, [1]),
      task(3, 'Overnight Scanner', 'run_overnight_scanner', { hour: 23, minute: 30, day_of_week: 'mon-sun' }, 60, 2, [2]),
      task(4, 'Backtest Data Generator', 'run_backtest_generator', { hour: 0, minute: 0, day_of_week: 'mon-sun' }, 90, false, [1]),
      task(5, 'Drift Monitoring System', 'run_drift_monitor', { hour: 0, minute: 30, day_of_week: 'mon-sun' }, 45, 2, [2, 4]),
      task(6, 'Weekly Maintenance', 'run_weekly_maintenance', { hour: 2, minute: 0, day_of_week: 'sun' }, 30, false),
    ],
  };
}

export function writeConfig(config: unknown, dir = mkdtempSync(path.join(tmpdir(), 'sluice-turbomode-'))): string {
  const file = path.join(dir, 'scheduler_config.json');
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}
