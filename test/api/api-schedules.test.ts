import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killStarted, runSluice, startSluice } from '../helpers/process.js';

/** `sluice api` without a scheduler in the process (the deployment guide's load-balanced
 * front end): schedules, next ticks and recent ticks come from the database, and a pause
 * set here is the flag a scheduler elsewhere reads. */
describe('sluice api shows schedules from the database', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-api-sched-'));
  const config = path.join(dir, 'sluice.config.json');
  writeFileSync(config, JSON.stringify({ schedules: [{ name: 'nightly', pipeline: 'ops.noop', cron: '15 3 * * *', timezone: 'America/New_York' }] }));
  const args = ['--config', config, '--db', `sqlite:${path.join(dir, 'q.db')}`, '--log-level', 'warn'];
  afterEach(() => killStarted());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists schedules with next fire times and ticks (no 503); start/stop are refused with 409; pause works', async () => {
    // A tick recorded by "another process": the CLI trigger (same exactly-once tick path).
    const trig = await runSluice([...args, 'schedule', 'trigger', 'nightly', '--json']);
    expect(trig.code, trig.stderr).toBe(0);
    const api = startSluice([...args, 'api', '--port', '0']);
    const deadline = Date.now() + 30_000;
    let m: RegExpExecArray | null = null;
    while (!(m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(api.stdout))) {
      if (api.hasExited || Date.now() > deadline) throw new Error(`sluice api printed no URL; stderr: ${api.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = m[1]!;
    const res = await fetch(`${url}api/v1/schedules`);
    expect(res.status).toBe(200);
    const s = ((await res.json()) as { schedules: Record<string, any>[] }).schedules[0]!;
    expect(s).toMatchObject({ name: 'nightly', timezone: 'America/New_York', paused: false });
    expect(s.next_fire_times[0]).toMatch(/T03:15:00-0[45]:00$/);
    expect(s.recent_ticks[0]).toMatchObject({ outcome: 'fired', detail: 'manual trigger' });
    expect((await fetch(`${url}api/v1/scheduler/start`, { method: 'POST' })).status).toBe(409);
    const page = await (await fetch(`${url}schedules`)).text();
    expect(page).not.toContain('No scheduler is attached');
    expect(page).toContain('nightly');
    expect((await fetch(`${url}api/v1/schedules/nightly/pause`, { method: 'POST' })).status).toBe(200);
    const events = await runSluice([...args, 'schedule', 'events', 'nightly', '--json']);
    expect(JSON.parse(events.stdout).map((e: { event: string }) => e.event)).toEqual(['paused', 'triggered']);
  }, 60_000);
});
