import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { TurboModeController } from '../../src/app/turbomode.js';
import type { Worker } from '../../src/engine/worker.js';
import { nightDate } from '../../src/time/night.js';
import { killStarted, startSluice } from '../helpers/process.js';
import { createPgTestSchema, describeIfPg } from '../helpers/pg.js';
import { sixTaskConfig, writeConfig } from './support/turbomode.js';
import { installTaskScript, readMarkers, taskCommand, type Marker } from './support/turbomode-process.js';

/**
 * The TurboMode guide's night (seed 004), run for real: the six-task scheduler_config.json
 * with a python3 command per task, a real worker running them as child processes on a SQLite
 * file, the TurboMode endpoints over a real socket, and the scheduler's clock driven to the
 * night's fire times (Scheduler.evaluate with a fake "now").
 */
interface Rig {
  dir: string;
  file: string;
  app: SluiceApp;
  worker: Worker;
  turbomode: TurboModeController;
  server: FastifyInstance;
  call(method: string, url: string, token?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});
afterAll(killStarted);

async function rig(config: Record<string, unknown>, options: { apiToken?: string; database?: string } = {}): Promise<Rig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-turbomode-night-'));
  installTaskScript(dir);
  const file = writeConfig(config, dir);
  const app = await createApp({ configPath: file, logLevel: 'silent', database: options.database });
  const worker = app.createWorker({ pollMs: 50, shutdownGraceMs: 0 });
  const turbomode = new TurboModeController(app, app.createScheduler());
  const server = await buildServer({ app, worker, scheduler: turbomode, turbomode, apiToken: options.apiToken ?? '' });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  worker.start();
  await turbomode.startLoaded();
  const r: Rig = {
    dir,
    file,
    app,
    worker,
    turbomode,
    server,
    call: async (method, url, token) => {
      const res = await fetch(base + url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    close: async () => {
      await turbomode.stop().catch(() => undefined);
      await worker.stop(0);
      await server.close();
      await app.close();
    },
  };
  rigs.push(r);
  return r;
}

/** Drives the scheduler through one night: each task's fire time plus a second, in order. */
async function fireNight(r: Rig, taskIds = [1, 2, 3, 4, 5]): Promise<string> {
  const schedules = r.turbomode.current!.schedules;
  const first = schedules.find((s) => s.name === 'task_1')!.nextTimes(new Date(), 1)[0]!;
  const night = nightDate(first, 'America/New_York');
  const times = taskIds.map((id) => schedules.find((s) => s.name === `task_${id}`)!.nextTimes(new Date(first.getTime() - 1), 1)[0]!);
  for (const t of times.sort((a, b) => a.getTime() - b.getTime())) await r.turbomode.current!.evaluate(new Date(t.getTime() + 1_000));
  return night;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const byTask = (markers: Marker[], night: string) => Object.fromEntries(markers.filter((m) => m.date === night).map((m) => [m.task, m]));

describe("the TurboMode guide's night", () => {
  it('fires the six-task file: 2 after 1, 3 after 2, 4 after 1, 5 after 2 and 4, one job at a time; status and run_task/1 answer as the guide shows', async () => {
    const r = await rig(sixTaskConfig(taskCommand));
    // Queue the last tasks of the night first (ahead of the schedule), so only the declared
    // dependencies, not the order of enqueueing, can keep them behind ingestion and training.
    const first = r.turbomode.current!.schedules.find((s) => s.name === 'task_1')!.nextTimes(new Date(), 1)[0]!;
    for (const id of [5, 3]) expect((await r.turbomode.runTask(id, { wait: false, now: first })).item.state).toBe('WAITING');
    const night = await fireNight(r);
    const markers = await waitFor('five tasks of the night', () => {
      const m = byTask(readMarkers(r.dir), night);
      return Object.keys(m).length === 5 ? m : undefined;
    });
    // Dependencies, by the commands' own clocks.
    expect(markers[2]!.start).toBeGreaterThanOrEqual(markers[1]!.end);
    expect(markers[3]!.start).toBeGreaterThanOrEqual(markers[2]!.end);
    expect(markers[4]!.start).toBeGreaterThanOrEqual(markers[1]!.end);
    expect(markers[5]!.start).toBeGreaterThanOrEqual(markers[2]!.end);
    expect(markers[5]!.start).toBeGreaterThanOrEqual(markers[4]!.end);
    // max_concurrent_jobs: 1 -> no two runs overlap.
    const runs = Object.values(markers).sort((a, b) => a.start - b.start);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end);
    // Weekly maintenance did not run on a weekday night's chain.
    expect(markers[6]).toBeUndefined();

    await waitFor('task 5 recorded', async () => ((await r.call('GET', '/scheduler/status')).body.last_results['5'] ? true : undefined));
    const status = await r.call('GET', '/scheduler/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ running: true, version: '1.0', errors: {} });
    expect(status.body.jobs.map((j: { id: string; name: string }) => [j.id, j.name])).toEqual([
      ['task_1', 'Master Market Data Ingestion'],
      ['task_2', 'TurboMode Training Orchestrator'],
      ['task_3', 'Overnight Scanner'],
      ['task_4', 'Backtest Data Generator'],
      ['task_5', 'Drift Monitoring System'],
      ['task_6', 'Weekly Maintenance'],
    ]);
    for (const j of status.body.jobs) expect(j.next_run).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[45]:00$/);
    expect(status.body.jobs[0].next_run).toMatch(/T22:45:00-0[45]:00$/);
    expect(status.body.jobs[5].next_run).toMatch(/T02:00:00-0[45]:00$/);
    expect(Object.keys(status.body.last_runs).sort()).toEqual(['1', '2', '3', '4', '5']);
    for (const v of Object.values(status.body.last_runs)) expect(v).toMatch(/-0[45]:00$/);
    expect(status.body.last_results['1']).toMatchObject({ status: 'success', symbols_processed: 83, night });

    // The same fields on Sluice's own route, beside its own.
    const own = await r.call('GET', '/api/v1/scheduler/status');
    expect(own.body).toMatchObject({ running: true, leader: expect.any(Boolean), schedules: 6, version: '1.0' });
    expect(own.body.jobs).toHaveLength(6);

    // run_task/1 bypasses the schedule: it runs task 1 again and answers when it is done.
    const before = readMarkers(r.dir).filter((m) => m.task === 1).length;
    const run = await r.call('POST', '/scheduler/run_task/1');
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ success: true, task_id: 1, results: { status: 'success', symbols_processed: 83 } });
    expect(run.body.item).toMatchObject({ domain: 'turbomode', pipeline: 'run_ingestion', state: 'COMPLETE' });
    expect(readMarkers(r.dir).filter((m) => m.task === 1)).toHaveLength(before + 1);
  }, 60_000);

  it('with max_concurrent_jobs 3 the tasks that wait only for ingestion run side by side, still after it', async () => {
    const r = await rig(sixTaskConfig(taskCommand, { global: { max_concurrent_jobs: 3 } }));
    const night = await fireNight(r);
    const m = await waitFor('five tasks', () => {
      const x = byTask(readMarkers(r.dir), night);
      return Object.keys(x).length === 5 ? x : undefined;
    });
    expect(m[2]!.start).toBeGreaterThanOrEqual(m[1]!.end);
    expect(m[4]!.start).toBeGreaterThanOrEqual(m[1]!.end);
    // 2 and 4 both become ready when 1 completes: with three slots they overlap.
    expect(Math.max(m[2]!.start, m[4]!.start)).toBeLessThan(Math.min(m[2]!.end, m[4]!.end));
    expect(m[5]!.start).toBeGreaterThanOrEqual(Math.max(m[2]!.end, m[4]!.end));
  }, 60_000);

  it('per-task endpoints, wait=false, a blocked task, a failed task in errors, and the /api/v1 twins', async () => {
    const r = await rig(sixTaskConfig(taskCommand));
    const tonight = nightDate(new Date(), 'America/New_York');
    // Task 2 waits for task 1, which has not run tonight: 409, and the item stays WAITING.
    const blocked = await r.call('POST', '/scheduler/run_orchestrator');
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({ success: false, task_id: 2, item: { state: 'WAITING', partition: { date: tonight } } });
    expect(blocked.body.error).toMatch(/task 1 has not run for/);

    // wait=false answers at once with the enqueued item; the waiting task 2 then runs too.
    const quick = await r.call('POST', '/api/v1/scheduler/run_ingestion?wait=false');
    expect(quick.status).toBe(202);
    expect(quick.body).toMatchObject({ success: true, task_id: 1, item: { pipeline: 'run_ingestion', partition: { date: tonight } } });
    expect(['PENDING', 'RUNNING']).toContain(quick.body.item.state);
    await waitFor('task 2 after task 1', () => (byTask(readMarkers(r.dir), tonight)[2] ? true : undefined));

    // A failing task: 500 with success false, and its error in /scheduler/status.
    writeFileSync(path.join(r.dir, 'fail_6'), '');
    const failed = await r.call('POST', '/api/v1/scheduler/run_task/6');
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ success: false, task_id: 6, item: { state: 'FAILED' } });
    expect(failed.body.error).toMatch(/exited with code 3/);
    const status = await r.call('GET', '/scheduler/status');
    expect(status.body.errors['6']).toMatchObject({ error: expect.stringMatching(/exited with code 3/), timestamp: expect.stringMatching(/-0[45]:00$/) });
    expect(status.body.last_results['6']).toMatchObject({ status: 'failed' });
    expect(status.body.errors['1']).toBeUndefined();

    expect((await r.call('POST', '/scheduler/run_task/9')).status).toBe(404);
    const unknown = await r.call('POST', '/scheduler/run_nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.rule).toMatch(/\/scheduler\/run_ingestion/);
  }, 60_000);

  it('stop, edit scheduler_config.json, start: the new schedule and command apply; a broken edit is refused', async () => {
    const config = sixTaskConfig(taskCommand) as { scheduled_tasks: Record<string, any>[] };
    const r = await rig(config);
    expect((await r.call('POST', '/scheduler/stop')).body).toEqual({ success: true, message: 'Unified scheduler stopped' });
    expect((await r.call('GET', '/scheduler/status')).body.running).toBe(false);

    config.scheduled_tasks[0]!.schedule.hour = 21;
    config.scheduled_tasks[0]!.env = { TAG: 'v2' };
    config.scheduled_tasks[5]!.enabled = false;
    delete config.scheduled_tasks[0]!.timeout_minutes;
    config.scheduled_tasks.push({
      task_id: 7,
      name: 'Nightly Report',
      function_name: 'run_report',
      endpoint: '/scheduler/run_report',
      schedule: { type: 'cron', hour: 1 },
      command: taskCommand(7),
      depends_on: [5],
    });
    expect(r.app.registry.require('turbomode.run_ingestion').timeoutMs).toBe(30 * 60_000);
    writeConfig(config, r.dir);
    expect((await r.call('POST', '/scheduler/start')).body).toEqual({ success: true, message: 'Unified scheduler started' });
    const status = (await r.call('GET', '/scheduler/status')).body;
    expect(status.running).toBe(true);
    expect(status.jobs.map((j: { id: string }) => j.id)).toEqual(['task_1', 'task_2', 'task_3', 'task_4', 'task_5', 'task_7']);
    expect(status.jobs[0].next_run).toMatch(/T21:45:00-0[45]:00$/);
    expect(r.app.registry.require('turbomode.run_ingestion').timeoutMs).toBeUndefined();
    // The new task's endpoint answers (it waits for task 5, which has not run tonight).
    const added = await r.call('POST', '/scheduler/run_report');
    expect(added.status).toBe(409);
    expect(added.body).toMatchObject({ success: false, task_id: 7 });
    const run = await r.call('POST', '/scheduler/run_task/1');
    expect(run.body.success).toBe(true);
    expect(readMarkers(r.dir).at(-1)).toMatchObject({ task: 1, tag: 'v2' });

    // A broken edit: 400 naming the task; the scheduler keeps running as it was.
    config.scheduled_tasks[1]!.schedule.hour = 24;
    writeConfig(config, r.dir);
    await r.call('POST', '/scheduler/stop');
    const bad = await r.call('POST', '/scheduler/start');
    expect(bad.status).toBe(400);
    expect(bad.body.success).toBe(false);
    expect(bad.body.message).toMatch(/scheduled_tasks\[1\] \(task 2 "TurboMode Training Orchestrator"\)\.schedule\.hour: 24 is invalid/);
    const own = await r.call('POST', '/api/v1/scheduler/start');
    expect(own.status).toBe(400);
    expect(own.body.error.field).toBe('scheduled_tasks[1] (task 2 "TurboMode Training Orchestrator").schedule.hour');
    expect((await r.call('GET', '/scheduler/status')).body.running).toBe(false);
  }, 60_000);

  it('the API token guards /scheduler/* and /api/v1/scheduler/* alike', async () => {
    const r = await rig(sixTaskConfig(taskCommand), { apiToken: 'night-secret' });
    for (const [method, url] of [
      ['GET', '/scheduler/status'],
      ['POST', '/scheduler/stop'],
      ['POST', '/scheduler/run_task/1'],
      ['POST', '/scheduler/run_ingestion'],
      ['POST', '/api/v1/scheduler/run_task/1'],
      ['GET', '/api/v1/scheduler/status'],
    ] as const) {
      expect((await r.call(method, url)).status, `${method} ${url}`).toBe(401);
      expect((await r.call(method, url, 'wrong')).status, `${method} ${url}`).toBe(401);
    }
    expect(readMarkers(r.dir)).toHaveLength(0);
    expect((await r.call('GET', '/scheduler/status', 'night-secret')).status).toBe(200);
    expect((await r.call('POST', '/scheduler/run_task/1', 'night-secret')).body.success).toBe(true);
  }, 60_000);
});

describe('a process without a scheduler (sluice start --no-scheduler)', () => {
  it('answers status with running false and refuses start with 503; tasks still run on its worker', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-turbomode-nosched-'));
    installTaskScript(dir);
    const app = await createApp({ configPath: writeConfig(sixTaskConfig(taskCommand), dir), logLevel: 'silent' });
    const worker = app.createWorker({ pollMs: 50, shutdownGraceMs: 0 });
    const turbomode = new TurboModeController(app, undefined);
    const server = await buildServer({ app, worker, turbomode, apiToken: '' });
    worker.start();
    try {
      const status = await server.inject({ method: 'GET', url: '/scheduler/status' });
      expect(status.json()).toMatchObject({ running: false, version: '1.0' });
      expect(status.json().jobs).toHaveLength(6);
      const start = await server.inject({ method: 'POST', url: '/scheduler/start' });
      expect(start.statusCode).toBe(503);
      expect(start.json()).toMatchObject({ success: false, message: expect.stringMatching(/No scheduler is attached/) });
      expect((await server.inject({ method: 'GET', url: '/api/v1/scheduler/status' })).statusCode).toBe(503);
      const run = await server.inject({ method: 'POST', url: '/scheduler/run_weekly_maintenance' });
      expect(run.json()).toMatchObject({ success: true, task_id: 6 });
    } finally {
      await worker.stop(0);
      await server.close();
      await app.close();
    }
  }, 60_000);
});

describeIfPg('the night on PostgreSQL', () => {
  it('runs the chain in order with three slots, and run_task answers', async () => {
    const schema = createPgTestSchema();
    try {
      const r = await rig(sixTaskConfig(taskCommand, { global: { max_concurrent_jobs: 3 } }), {
        database: `${schema.connectionString}?schema=${schema.schema}`,
      });
      expect(r.app.store.backend).toBe('postgres');
      const night = await fireNight(r);
      const m = await waitFor('five tasks', () => {
        const x = byTask(readMarkers(r.dir), night);
        return Object.keys(x).length === 5 ? x : undefined;
      });
      expect(m[2]!.start).toBeGreaterThanOrEqual(m[1]!.end);
      expect(m[3]!.start).toBeGreaterThanOrEqual(m[2]!.end);
      expect(m[4]!.start).toBeGreaterThanOrEqual(m[1]!.end);
      expect(m[5]!.start).toBeGreaterThanOrEqual(Math.max(m[2]!.end, m[4]!.end));
      const run = await r.call('POST', '/scheduler/run_task/1');
      expect(run.body).toMatchObject({ success: true, task_id: 1, results: { symbols_processed: 83 } });
      await r.close();
      rigs.splice(rigs.indexOf(r), 1);
    } finally {
      await schema.drop();
    }
  }, 60_000);
});

describe('`sluice --config scheduler_config.json start`', () => {
  it('serves the TurboMode endpoints from a real process and runs a task', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-turbomode-start-'));
    installTaskScript(dir);
    const file = writeConfig(sixTaskConfig(taskCommand), dir);
    const proc = startSluice(['--config', file, 'start', '--port', '0'], { cwd: dir, env: { SLUICE_LOG_LEVEL: 'warn' } });
    const base = await waitFor('the URL', () => /Sluice is running: (http:\/\/[^ ]+?)\/ /.exec(proc.stdout)?.[1], 30_000);
    const status = (await (await fetch(`${base}/scheduler/status`)).json()) as { jobs: unknown[] };
    expect(status).toMatchObject({ running: true, version: '1.0' });
    expect(status.jobs).toHaveLength(6);
    const run = await (await fetch(`${base}/scheduler/run_ingestion`, { method: 'POST' })).json();
    expect(run).toMatchObject({ success: true, task_id: 1, results: { symbols_processed: 83 } });
    expect(readFileSync(path.join(dir, 'markers.ndjson'), 'utf8')).toContain('"task": 1');
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  }, 60_000);
});
