import { afterEach, describe, expect, it } from 'vitest';
import { killStarted, workerIdOf } from '../helpers/process.js';
import { poll, TestEnv, type ItemRow } from '../helpers/sqlite.js';

let env: TestEnv | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
});

function runningItem(e: TestEnv, id: number): () => ItemRow | false {
  return () => {
    const item = e.item(id);
    return item.state === 'RUNNING' && item;
  };
}

describe('crash recovery', () => {
  it('SIGKILLed worker: the item is re-claimed after the lease, attempt 1 lost (dead worker), attempt 2 succeeded by another', async () => {
    env = new TestEnv({ workers: { concurrency: 2, lease: '1s' } });
    const id = await env.enqueue('ops.sleep', 'case=crash', ['--params', '{"ms":2500}']);

    const a = env.spawn(['worker']);
    const aId = await workerIdOf(a);
    const running = await poll(runningItem(env, id), 'worker A to run the item');
    expect(running.locked_by).toBe(aId);

    a.kill('SIGKILL');
    const aExit = await a.waitExit(5_000);
    expect(aExit.signal).toBe('SIGKILL');
    // Nothing ran A's shutdown path: the item is still RUNNING under A's (now stale) lease.
    const orphan = env.item(id);
    expect(orphan).toMatchObject({ state: 'RUNNING', locked_by: aId });

    const b = env.spawn(['worker', '--drain']);
    const bId = await workerIdOf(b);
    expect(bId).not.toBe(aId);
    const bExit = await b.waitExit(20_000);
    expect(bExit.code).toBe(0);

    const item = env.item(id);
    expect(item).toMatchObject({ state: 'COMPLETE', attempts: 2, locked_by: null });
    const attempts = env.attempts(id);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({ attempt_no: 1, status: 'lost', worker_id: aId });
    expect(attempts[0]!.error).toContain(`lease expired: worker ${aId} stopped heartbeating`);
    expect(attempts[1]).toMatchObject({ attempt_no: 2, status: 'succeeded', worker_id: bId });
    // Not re-claimed before A's lease ran out...
    expect(attempts[1]!.started_at).toBeGreaterThanOrEqual(orphan.lease_expires_at!);
    // ...and the lost attempt was closed before the new one started (no overlap in history).
    expect(attempts[0]!.finished_at!).toBeLessThanOrEqual(attempts[1]!.started_at);
    // A lost worker is not the item's fault: retried at once, no back-off.
    expect(attempts[1]!.started_at - attempts[0]!.finished_at!).toBeLessThan(2_000);
    expect(env.events(id).map((e) => e.event)).toEqual(['enqueue', 'claim', 'lease_expired', 'claim', 'complete']);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM with a short shutdown_grace: exits 0 promptly, the item goes back to PENDING, the attempt is interrupted and not counted', async () => {
    env = new TestEnv({ workers: { concurrency: 1, shutdown_grace: '300ms' } });
    const id = await env.enqueue('ops.sleep', 'case=long', ['--params', '{"ms":30000}']);
    const w = env.spawn(['worker']);
    const wId = await workerIdOf(w);
    await poll(runningItem(env, id), 'the worker to run the item');

    const termAt = Date.now();
    w.kill('SIGTERM');
    const exit = await w.waitExit(10_000);
    expect(exit.code).toBe(0);
    expect(Date.now() - termAt).toBeLessThan(5_000);
    expect(exit.stderr).toContain('SIGTERM: shutting down gracefully');

    expect(env.item(id)).toMatchObject({ state: 'PENDING', attempts: 0, locked_by: null, lease_expires_at: null });
    const attempts = env.attempts(id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt_no: 1, status: 'interrupted', worker_id: wId });
    expect(attempts[0]!.finished_at! - attempts[0]!.started_at).toBeLessThan(5_000);
    expect(env.events(id).map((e) => `${e.event}:${e.to_state}`)).toEqual(['enqueue:PENDING', 'claim:RUNNING', 'release:PENDING']);
  });

  it('SIGTERM while a short item runs: the item finishes within the grace and completes normally', async () => {
    env = new TestEnv({ workers: { concurrency: 1, shutdown_grace: '10s' } });
    const id = await env.enqueue('ops.sleep', 'case=short', ['--params', '{"ms":1200}']);
    const w = env.spawn(['worker']);
    await poll(runningItem(env, id), 'the worker to run the item');

    const termAt = Date.now();
    w.kill('SIGTERM');
    const exit = await w.waitExit(10_000);
    expect(exit.code).toBe(0);
    // It waited for the handler, not for the whole 10 s grace.
    expect(Date.now() - termAt).toBeLessThan(6_000);

    expect(env.item(id)).toMatchObject({ state: 'COMPLETE', attempts: 1 });
    const [attempt] = env.attempts(id);
    expect(attempt).toMatchObject({ attempt_no: 1, status: 'succeeded' });
    expect(attempt!.finished_at!).toBeGreaterThanOrEqual(termAt - 50);
    expect(JSON.parse(attempt!.result!)).toEqual({ slept_ms: 1200 });
  });

  it('SIGTERM during `worker --drain` stops it too (no endless drain); a second SIGTERM skips the grace', async () => {
    env = new TestEnv({ workers: { concurrency: 1, shutdown_grace: '30s' } });
    const id = await env.enqueue('ops.sleep', 'case=drain-term', ['--params', '{"ms":30000}']);
    const w = env.spawn(['worker', '--drain']);
    await poll(runningItem(env, id), 'the draining worker to run the item');
    w.kill('SIGTERM');
    await w.waitForStderr(/waiting for running items before shutdown/, 5_000);
    // Still within the 30 s grace: the item is running; a second signal means "stop now".
    expect(env.item(id).state).toBe('RUNNING');
    const secondAt = Date.now();
    w.kill('SIGTERM');
    const exit = await w.waitExit(8_000);
    expect(exit.code).toBe(0);
    expect(Date.now() - secondAt).toBeLessThan(4_000);
    expect(exit.stderr).toContain('SIGTERM: stopping now');
    expect(env.item(id)).toMatchObject({ state: 'PENDING', attempts: 0 });
    expect(env.attempts(id).map((t) => t.status)).toEqual(['interrupted']);
  });
});
