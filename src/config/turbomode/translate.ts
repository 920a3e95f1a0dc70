import { scheduleToCron } from './cron.js';
import { fromZod, taskError, TurboModeConfigError } from './errors.js';
import { turboModeSchema, type TurboModeConfig, type TurboTask } from './schema.js';

/** The domain of the pipelines made from task commands: `turbomode.run_ingestion`. */
export const TURBOMODE_DOMAIN = 'turbomode';

/** One task as the TurboMode endpoints report and run it. */
export interface TurboTaskInfo {
  taskId: number;
  name: string;
  functionName: string;
  /** The last segment of `endpoint` (`run_ingestion`), or null without one. */
  endpoint: string | null;
  enabled: boolean;
  /** `domain.name` of the pipeline the task runs. */
  pipeline: string;
  /** The Sluice schedule that fires it: `task_<id>` (also the job id in /scheduler/status). */
  schedule: string;
  timezone: string;
  /** Task ids this one waits for, the same night. */
  dependsOn: number[];
}

export interface TurboModeInfo {
  version: string | null;
  timezone: string;
  maxConcurrentJobs: number | null;
  tasks: TurboTaskInfo[];
}

const PIPELINE_NAME = /^[a-z][a-z0-9_]*$/;
const RESERVED_ENDPOINTS = new Set(['status', 'start', 'stop', 'run_task']);
const DEFAULT_TIMEZONE = 'America/New_York';

/**
 * A TurboMode scheduler_config.json -> a Sluice config (the JSON form `configSchema` checks)
 * plus what the TurboMode endpoints need to know about each task.
 *
 * Each task becomes a schedule `task_<id>` (cron from its `schedule` fields in the task's or
 * the global time zone, job defaults applied, misfire_grace_time in seconds) that enqueues
 * the partition `{date: <night>}` (see time/night.ts), so a chain crossing midnight links
 * the same night's runs. What a task runs: its `command` (a pipeline `turbomode.<function_name>`)
 * or, without one, the entry of this file's `pipelines` named by `function_name`. Its
 * `depends_on` tasks become the pipeline's upstreams on the same partition.
 * `max_concurrent_jobs` is the worker's slot count (`workers.concurrency`).
 */
export function translateTurboMode(raw: unknown, file?: string): { settings: Record<string, unknown>; info: TurboModeInfo } {
  const parsed = turboModeSchema.safeParse(raw);
  if (!parsed.success) throw fromZod(parsed.error, raw, file);
  const tm = parsed.data;
  const g = tm.global_settings ?? {};
  const timezone = g.timezone ?? DEFAULT_TIMEZONE;
  if (!isTimezone(timezone)) throw new TurboModeConfigError('global_settings.timezone', timezone, TIMEZONE_RULE, file);
  const defaults = g.job_defaults ?? {};
  const userPipelines = (tm.pipelines ?? []).map((p) => ({ ...p }));
  const generated: Record<string, unknown>[] = [];
  const schedules: Record<string, unknown>[] = [];
  const tasks: TurboTaskInfo[] = [];

  checkUnique(tm, file);
  // First pass: which pipeline each task runs (dependencies refer to them).
  const runs = tm.scheduled_tasks.map((t, i) => resolvePipeline(t, i, userPipelines, file));
  tm.scheduled_tasks.forEach((t, i) => {
    const fail = (field: string, value: unknown, rule: string) => taskError(i, t, field, value, rule, file);
    const cron = scheduleToCron(t.schedule);
    if ('problem' in cron) throw fail(`schedule.${cron.problem.field}`, cron.problem.value, cron.problem.rule);
    if (t.max_retries !== undefined && t.max_retries > 0 && t.retry_on_failure !== true) {
      throw fail('max_retries', t.max_retries, 'be 0 or absent unless "retry_on_failure" is true (otherwise the retries would be ignored)');
    }
    if (t.retry_on_failure === true && t.max_retries === undefined) throw fail('max_retries', undefined, 'be given when "retry_on_failure" is true');
    const dependsOn = resolveDependencies(tm, i, file);
    const run = runs[i]!;
    const settings = {
      retry: { max_attempts: t.retry_on_failure ? t.max_retries! + 1 : 1 },
      ...(t.timeout_minutes === undefined ? {} : { timeout: Math.round(t.timeout_minutes * 60_000) }),
      ...(dependsOn.length ? { depends_on: dependsOn.map((id) => runs[tm.scheduled_tasks.findIndex((x) => x.task_id === id)]!.key) } : {}),
    };
    if (run.entry) {
      // The task's settings go onto the user's pipeline entry; saying one thing twice is an error.
      for (const key of ['retry', 'timeout'] as const) {
        const taskSays = key === 'retry' ? t.retry_on_failure !== undefined || t.max_retries !== undefined : t.timeout_minutes !== undefined;
        if (taskSays && run.entry[key] !== undefined) {
          throw fail(
            key === 'retry' ? 'retry_on_failure' : 'timeout_minutes',
            key === 'retry' ? t.retry_on_failure : t.timeout_minutes,
            `not be given when pipelines[${run.index}] sets "${key}" too: say it in one place`,
          );
        }
      }
      if (dependsOn.length && run.entry.command === undefined) {
        throw fail('depends_on', t.depends_on, `be given only for a task that runs a command (pipelines[${run.index}] has no "command")`);
      }
      if (t.timeout_minutes !== undefined) run.entry.timeout = settings.timeout;
      if (run.entry.retry === undefined) run.entry.retry = settings.retry;
      if (settings.depends_on) run.entry.depends_on = [...((run.entry.depends_on as unknown[] | undefined) ?? []), ...settings.depends_on];
    } else {
      generated.push({
        domain: TURBOMODE_DOMAIN,
        name: t.function_name,
        description: t.name,
        command: t.command,
        ...(t.cwd === undefined ? {} : { cwd: t.cwd }),
        ...(t.env === undefined ? {} : { env: t.env }),
        // The night's date: `{date}` in the command, SLUICE_PARTITION_DATE in its environment.
        partition: { date: 'date' },
        ...settings,
      });
    }
    const grace = t.misfire_grace_time !== undefined ? t.misfire_grace_time : defaults.misfire_grace_time;
    const taskTimezone = t.schedule.timezone ?? timezone;
    if (!isTimezone(taskTimezone)) throw fail('schedule.timezone', taskTimezone, TIMEZONE_RULE);
    schedules.push({
      name: `task_${t.task_id}`,
      pipeline: run.key,
      cron: cron.cron,
      timezone: taskTimezone,
      partitions: { date: 'night' },
      // APScheduler's misfire_grace_time is seconds; None (null) lets a run start however late.
      ...(grace === undefined ? {} : grace === null ? { catchup: true } : { misfire_grace: `${grace}s` }),
      ...pick('coalesce', t.coalesce ?? defaults.coalesce),
      ...pick('max_instances', t.max_instances ?? defaults.max_instances),
      enabled: t.enabled !== false,
    });
    tasks.push({
      taskId: t.task_id,
      name: t.name,
      functionName: t.function_name,
      endpoint: t.endpoint ? t.endpoint.slice('/scheduler/'.length) : null,
      enabled: t.enabled !== false,
      pipeline: run.key,
      schedule: `task_${t.task_id}`,
      timezone: taskTimezone,
      dependsOn,
    });
  });
  checkCycles(tm, tasks, file);

  const settings: Record<string, unknown> = {
    ...(tm.$schema === undefined ? {} : { $schema: tm.$schema }),
    ...(tm.database === undefined ? {} : { database: tm.database }),
    timezone,
    ...(g.max_concurrent_jobs === undefined ? {} : { workers: { concurrency: g.max_concurrent_jobs } }),
    // The user's entries first, so a schema error's pipelines[i] points into the file.
    pipelines: [...userPipelines, ...generated],
    schedules,
  };
  const version = tm.version === undefined ? null : String(tm.version);
  return { settings, info: { version, timezone, maxConcurrentJobs: g.max_concurrent_jobs ?? null, tasks } };
}

const TIMEZONE_RULE = 'be an IANA time zone such as America/New_York or UTC';

function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function pick<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function checkUnique(tm: TurboModeConfig, file?: string): void {
  const ids = new Map<number, number>();
  const endpoints = new Map<string, number>();
  const functions = new Map<string, number>();
  tm.scheduled_tasks.forEach((t, i) => {
    if (ids.has(t.task_id)) throw taskError(i, t, 'task_id', t.task_id, `be unique (scheduled_tasks[${ids.get(t.task_id)}] has it too)`, file);
    ids.set(t.task_id, i);
    if (functions.has(t.function_name))
      throw taskError(i, t, 'function_name', t.function_name, `be unique (scheduled_tasks[${functions.get(t.function_name)}] runs it too)`, file);
    functions.set(t.function_name, i);
    if (t.endpoint) {
      const seg = t.endpoint.slice('/scheduler/'.length);
      if (RESERVED_ENDPOINTS.has(seg))
        throw taskError(
          i,
          t,
          'endpoint',
          t.endpoint,
          `not be one of the scheduler's own routes (${[...RESERVED_ENDPOINTS].map((r) => `/scheduler/${r}`).join(', ')})`,
          file,
        );
      if (endpoints.has(seg)) throw taskError(i, t, 'endpoint', t.endpoint, `be unique (scheduled_tasks[${endpoints.get(seg)}] has it too)`, file);
      endpoints.set(seg, i);
    }
  });
}

/** The pipeline a task runs: its own command, or the `pipelines` entry its function_name names. */
function resolvePipeline(
  t: TurboTask,
  i: number,
  userPipelines: Record<string, unknown>[],
  file?: string,
): { key: string; entry?: Record<string, unknown>; index?: number } {
  const matches = userPipelines
    .map((p, index) => ({ p, index }))
    .filter(({ p }) => p.name === t.function_name || `${String(p.domain)}.${String(p.name)}` === t.function_name);
  if (t.command) {
    if (matches.length)
      throw taskError(
        i,
        t,
        'command',
        t.command,
        `not be given when pipelines[${matches[0]!.index}] is named "${t.function_name}" too: say what runs in one place`,
        file,
      );
    if (!PIPELINE_NAME.test(t.function_name))
      throw taskError(
        i,
        t,
        'function_name',
        t.function_name,
        'be a lower-case word of [a-z0-9_] such as run_ingestion (it names the pipeline turbomode.<function_name>)',
        file,
      );
    return { key: `${TURBOMODE_DOMAIN}.${t.function_name}` };
  }
  for (const key of ['cwd', 'env'] as const) if (t[key] !== undefined) throw taskError(i, t, key, t[key], 'be given only with a "command"', file);
  if (matches.length > 1)
    throw taskError(
      i,
      t,
      'function_name',
      t.function_name,
      `name one pipeline (pipelines[${matches[0]!.index}] and pipelines[${matches[1]!.index}] both match; write domain.name)`,
      file,
    );
  const match = matches[0];
  if (!match) {
    const known = userPipelines.map((p) => String(p.name));
    throw taskError(
      i,
      t,
      'function_name',
      t.function_name,
      `name a pipeline of this file's "pipelines" (known: ${known.length ? known.join(', ') : 'none'}), or the task must give a "command" to run`,
      file,
    );
  }
  return { key: `${String(match.p.domain)}.${String(match.p.name)}`, entry: match.p, index: match.index };
}

/** `depends_on` entries -> task ids: a number is a task_id, text a task's name or function_name. */
function resolveDependencies(tm: TurboModeConfig, i: number, file?: string): number[] {
  const t = tm.scheduled_tasks[i]!;
  const out: number[] = [];
  (t.depends_on ?? []).forEach((ref, j) => {
    const found = tm.scheduled_tasks.find((x) => (typeof ref === 'number' ? x.task_id === ref : x.name === ref || x.function_name === ref));
    const field = `depends_on[${j}]`;
    if (!found) {
      throw taskError(
        i,
        t,
        field,
        ref,
        `name another task by task_id or name (known: ${tm.scheduled_tasks.map((x) => `${x.task_id} ${JSON.stringify(x.name)}`).join(', ')})`,
        file,
      );
    }
    if (found === t) throw taskError(i, t, field, ref, 'name another task, not the task itself', file);
    if (found.enabled === false)
      throw taskError(
        i,
        t,
        field,
        ref,
        `name an enabled task (task ${found.task_id} is disabled, so this task would wait for it forever): enable it or drop the dependency`,
        file,
      );
    if (!out.includes(found.task_id)) out.push(found.task_id);
  });
  return out;
}

/** A dependency cycle would leave every task in it WAITING forever: refused, naming the loop. */
function checkCycles(tm: TurboModeConfig, tasks: TurboTaskInfo[], file?: string): void {
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  const done = new Set<number>();
  const visit = (id: number, path: number[]): void => {
    if (done.has(id)) return;
    const at = path.indexOf(id);
    if (at >= 0) {
      const loop = [...path.slice(at), id];
      const index = tm.scheduled_tasks.findIndex((x) => x.task_id === loop[0]);
      throw taskError(
        index,
        tm.scheduled_tasks[index],
        'depends_on',
        tm.scheduled_tasks[index]!.depends_on,
        `not form a cycle (${loop.map((n) => `task ${n}`).join(' -> ')})`,
        file,
      );
    }
    for (const dep of byId.get(id)!.dependsOn) visit(dep, [...path, id]);
    done.add(id);
  };
  for (const t of tasks) visit(t.taskId, []);
}

export { TurboModeConfigError };
