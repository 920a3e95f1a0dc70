import { setTimeout as delay } from 'node:timers/promises';
import { NotFoundError, SluiceError, ValidationError } from '../core/errors.js';
import { partitionKey } from '../core/partition.js';
import { TERMINAL_STATES } from '../core/states.js';
import { workItemToJson, type Attempt, type WorkItem } from '../core/work-item.js';
import { loadConfig } from '../config/load-config.js';
import type { TurboModeInfo, TurboTaskInfo } from '../config/turbomode/translate.js';
import { checkDependencyGraph } from '../engine/dependencies.js';
import { enqueueWork } from '../engine/enqueue.js';
import { PipelineRegistry } from '../engine/registry.js';
import { compileSchedules, type CompiledSchedule } from '../engine/scheduler/compile-schedule.js';
import type { Scheduler } from '../engine/scheduler/scheduler.js';
import { nightDate } from '../time/night.js';
import { formatZonedIso } from '../time/zoned.js';
import { applyPipelineConfig, type SluiceApp } from './create-app.js';

/** A TurboMode status answer: the seed's fields beside Sluice's own scheduler status. */
// A type, not an interface: the API's loose zod schemas need an index-compatible shape.
export type TurboModeStatus = {
  running: boolean;
  leader: boolean;
  schedules: number;
  last_tick_at: string | null;
  version: string | null;
  jobs: { id: string; task_id: number; name: string; next_run: string | null }[];
  last_runs: Record<string, string>;
  last_results: Record<string, Record<string, unknown>>;
  errors: Record<string, { timestamp: string; error: string; item_id: number }>;
};

export interface TaskRunOutcome {
  /** `done`: the item finished (COMPLETE, FAILED or CANCELLED); `blocked`: it waits on an
   * upstream that failed or never ran tonight; `enqueued`: not waited for; `gone`: the
   * caller went away. */
  outcome: 'done' | 'blocked' | 'enqueued' | 'gone';
  success: boolean;
  task_id: number;
  results: Record<string, unknown>;
  item: Record<string, unknown>;
  error?: string;
}

export class NoSchedulerInProcess extends SluiceError {
  constructor() {
    super('no scheduler runs in this process (started with --no-scheduler), so it cannot be started or stopped here', 'scheduler_unavailable');
  }
}

const POLL_MS = 200;

/**
 * The TurboMode unified scheduler's surface over Sluice's scheduler: `/scheduler/status`,
 * `start` (re-reading scheduler_config.json, as "edit the file, stop, start" expects), `stop`,
 * and running one task now for tonight's partition. It is also the process's SchedulerPort,
 * so `/api/v1/scheduler/*`, the dashboard and the metrics see the scheduler that runs now,
 * including one rebuilt by a reload.
 */
export class TurboModeController {
  private info: TurboModeInfo;
  private compiled: readonly CompiledSchedule[];

  constructor(
    private readonly app: SluiceApp,
    private scheduler: Scheduler | undefined,
  ) {
    if (!app.loaded.turbomode) throw new ValidationError('--config', app.loaded.file, 'be a TurboMode scheduler_config.json (with scheduled_tasks)');
    this.info = app.loaded.turbomode;
    this.compiled = scheduler?.schedules ?? app.schedules;
    this.fromFile = new Set(app.loaded.config.pipelines.filter((p) => p.command).map((p) => `${p.domain}.${p.name}`));
  }

  /** Command pipelines the config file defined (replaced, not merged, on reload). */
  private readonly fromFile: Set<string>;

  get hasScheduler(): boolean {
    return this.scheduler !== undefined;
  }

  /** The scheduler running now (tests drive its `evaluate` with a fake clock). */
  get current(): Scheduler | undefined {
    return this.scheduler;
  }

  get tasks(): readonly TurboTaskInfo[] {
    return this.info.tasks;
  }

  get version(): string | null {
    return this.info.version;
  }

  task(ref: number | string): TurboTaskInfo {
    const found = typeof ref === 'number' ? this.info.tasks.find((t) => t.taskId === ref) : this.info.tasks.find((t) => t.endpoint === ref);
    if (!found) throw new NotFoundError(typeof ref === 'number' ? 'task' : 'task endpoint', ref);
    return found;
  }

  /** Starts the scheduler as loaded at process start (no re-read). */
  async startLoaded(): Promise<void> {
    await this.requireScheduler().start();
  }

  /** POST /scheduler/start: re-reads the config file, then starts. A broken file is a
   * ValidationError and the scheduler stays as it was. `reloadNotes` then says what could
   * not change without a restart. */
  async start(): Promise<void> {
    this.requireScheduler();
    this.reloadNotes = await this.reload();
    await this.requireScheduler().start();
  }

  /** Notes from the last reload (settings that apply only after a restart). */
  reloadNotes: string[] = [];

  async stop(): Promise<void> {
    await this.requireScheduler().stop();
  }

  /** SchedulerPort: Sluice's own status with the TurboMode fields added. */
  async status(): Promise<TurboModeStatus> {
    const base = this.scheduler ? await this.scheduler.status() : { running: false, leader: false, schedules: this.compiled.length, last_tick_at: null };
    const now = new Date();
    const jobs = this.info.tasks
      .filter((t) => t.enabled)
      .map((t) => {
        const s = this.compiled.find((c) => c.name === t.schedule);
        const [next] = s ? s.nextTimes(now, 1) : [];
        return { id: t.schedule, task_id: t.taskId, name: t.name, next_run: next ? formatZonedIso(next, t.timezone) : null };
      });
    const last_runs: TurboModeStatus['last_runs'] = {};
    const last_results: TurboModeStatus['last_results'] = {};
    const errors: TurboModeStatus['errors'] = {};
    for (const t of this.info.tasks) {
      const pipeline = this.app.registry.require(t.pipeline);
      const attempts = await this.app.store.listRecentAttempts({ limit: 10, domain: pipeline.definition.domain, pipeline: pipeline.definition.name });
      const id = String(t.taskId);
      if (attempts[0]) last_runs[id] = formatZonedIso(attempts[0].startedAt, t.timezone);
      const finished = attempts.find((a) => a.status !== 'running' && a.status !== 'interrupted');
      if (!finished) continue;
      last_results[id] = {
        ...resultsOf(finished),
        status: finished.status === 'succeeded' ? 'success' : 'failed',
        item_id: finished.itemId,
        partition_key: finished.partitionKey,
      };
      if (finished.status !== 'succeeded')
        errors[id] = {
          timestamp: formatZonedIso(finished.finishedAt ?? finished.startedAt, t.timezone),
          error: finished.error ?? finished.status,
          item_id: finished.itemId,
        };
    }
    return {
      running: base.running,
      leader: base.leader,
      schedules: base.schedules,
      last_tick_at: base.last_tick_at,
      version: this.info.version,
      jobs,
      last_runs,
      last_results,
      errors,
    };
  }

  listSchedules(): ReturnType<Scheduler['listSchedules']> {
    return this.requireScheduler().listSchedules();
  }

  trigger(name: string): ReturnType<Scheduler['trigger']> {
    return this.requireScheduler().trigger(name, 'api');
  }

  /**
   * Runs one task now ("bypasses schedule") for tonight's partition: enqueues it, or re-runs
   * tonight's item if it already finished, or joins it if it is queued or running. With
   * `wait`, answers once the item has finished, or at once when it cannot start because an
   * upstream task failed or has not run tonight.
   */
  async runTask(ref: number | string, options: { wait: boolean; signal?: AbortSignal; now?: Date }): Promise<TaskRunOutcome> {
    const task = this.task(ref);
    const { store, registry } = this.app;
    const pipeline = registry.require(task.pipeline);
    const partition = { date: nightDate(options.now ?? new Date(), task.timezone) };
    const existing = await store.findItem(pipeline.definition.domain, pipeline.definition.name, partitionKey(partition));
    let item: WorkItem;
    if (!existing) item = (await enqueueWork(store, registry, [{ pipeline: task.pipeline, partition }]))[0]!.item;
    else if (TERMINAL_STATES.includes(existing.state)) item = (await store.rerun(existing.id, 'turbomode')).item;
    else item = existing;
    const answer = (outcome: TaskRunOutcome['outcome'], current: WorkItem, results: Record<string, unknown>, error?: string): TaskRunOutcome => ({
      outcome,
      success: outcome === 'enqueued' || current.state === 'COMPLETE',
      task_id: task.taskId,
      results,
      item: workItemToJson(current),
      ...(error === undefined ? {} : { error }),
    });
    if (!options.wait) return answer('enqueued', item, {});
    for (;;) {
      const current = (await store.getItem(item.id)) ?? item;
      if (TERMINAL_STATES.includes(current.state)) {
        const last = (await store.listAttempts(current.id)).at(-1);
        const results = last ? resultsOf(last) : {};
        return answer('done', current, results, current.state === 'COMPLETE' ? undefined : (current.lastError ?? current.state));
      }
      if (current.state === 'WAITING') {
        const deps = await store.listDependencies(current.id);
        const stuck = deps.filter((d) => d.state === null || d.state === 'FAILED' || d.state === 'CANCELLED');
        if (stuck.length) {
          const names = stuck.map((d) => {
            const up = this.info.tasks.find((t) => t.pipeline === `${d.domain}.${d.pipeline}`);
            return `${up ? `task ${up.taskId}` : `${d.domain}.${d.pipeline}`} ${d.state === null ? 'has not run' : `is ${d.state}`} for ${partition.date}`;
          });
          return answer('blocked', current, {}, `waiting: ${names.join('; ')}; run it first (the item stays WAITING and starts when it completes)`);
        }
      }
      if (options.signal?.aborted) return answer('gone', current, {});
      await delay(POLL_MS, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }

  private requireScheduler(): Scheduler {
    if (!this.scheduler) throw new NoSchedulerInProcess();
    return this.scheduler;
  }

  /**
   * Re-reads the file and swaps in its tasks: pipelines re-registered, schedules recompiled,
   * a new scheduler built on them. Everything is checked on a scratch registry first, so a
   * broken edit changes nothing. Returns notes on what could not change live.
   */
  private async reload(): Promise<string[]> {
    const file = this.app.loaded.file;
    if (!file) return [];
    const loaded = await loadConfig(file);
    if (!loaded.turbomode) throw new ValidationError('--config', file, 'still be a TurboMode scheduler_config.json (it no longer has scheduled_tasks)', file);
    // The scratch registry holds what code registered, not the old file's command pipelines,
    // so the new file's settings are checked as written (a removed timeout stays removed).
    const scratch = new PipelineRegistry();
    for (const p of this.app.registry.list()) {
      if (this.fromFile.has(p.key)) continue;
      scratch.register(p.definition, { retry: p.retry, timeoutMs: p.timeoutMs, concurrency: p.concurrency, priority: p.priority });
    }
    applyPipelineConfig(scratch, loaded);
    checkDependencyGraph(scratch);
    const compiled = compileSchedules(loaded.config, scratch, file);
    // Checked: now apply. The worker shares app.registry, so new commands run from now on.
    for (const p of loaded.config.pipelines) {
      const fresh = scratch.require(`${p.domain}.${p.name}`);
      this.app.registry.replace(fresh.definition, { retry: fresh.retry, timeoutMs: fresh.timeoutMs, concurrency: fresh.concurrency, priority: fresh.priority });
      if (p.command) this.fromFile.add(fresh.key);
    }
    const notes: string[] = [];
    if (loaded.config.workers.concurrency !== this.app.config.workers.concurrency) {
      notes.push(
        `max_concurrent_jobs ${loaded.turbomode.maxConcurrentJobs ?? loaded.config.workers.concurrency} applies when the process restarts (the worker keeps ${this.app.config.workers.concurrency} slots until then)`,
      );
    }
    const wasRunning = this.scheduler ? (await this.scheduler.status()).running : false;
    if (wasRunning) await this.scheduler!.stop();
    this.scheduler = this.app.createScheduler({ schedules: compiled });
    this.compiled = compiled;
    this.info = loaded.turbomode;
    return notes;
  }
}

/** What a task run reports: the JSON object its command printed last on stdout (TurboMode
 * tasks return a results dict), else the attempt's own result (`exit_code`). */
export function resultsOf(attempt: Pick<Attempt, 'outputTail' | 'result' | 'error'>): Record<string, unknown> {
  const lines = (attempt.outputTail ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.at(-1);
  if (last?.startsWith('{')) {
    try {
      const parsed = JSON.parse(last) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      /* not JSON: fall through */
    }
  }
  return { ...(attempt.result ?? {}), ...(attempt.error ? { error: attempt.error } : {}) };
}
