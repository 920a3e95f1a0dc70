import { afterEach, describe, expect, it } from 'vitest';
import { killStarted, logLines } from '../helpers/process.js';
import { poll, TestEnv } from '../helpers/sqlite.js';

let env: TestEnv | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
});

describe('cancel', () => {
  it('a cancelled pending item never runs; a running item cancelled from another process is aborted and frees its slot', async () => {
    env = new TestEnv({ workers: { concurrency: 1, lease: '1s' } });
    const [longId, nextId, pendingId] = await Promise.all([
      env.enqueue('ops.sleep', 'case=long', ['--params', '{"ms":30000}', '--priority', '10']),
      env.enqueue('ops.noop', 'case=next', ['--priority', '0']),
      env.enqueue('ops.noop', 'case=pending', ['--priority', '5']),
    ]);

    // Cancel before any worker exists.
    const cancelPending = await env.cliOk(['work', 'cancel', String(pendingId)]);
    expect(cancelPending.stdout.trim()).toBe(`cancelled #${pendingId}`);
    expect(env.item(pendingId).state).toBe('CANCELLED');
    const again = await env.cliOk(['work', 'cancel', String(pendingId)]);
    expect(again.stdout.trim()).toBe(`#${pendingId} was already cancelled`);

    const worker = env.spawn(['worker']);
    const running = await poll(() => {
      const item = env!.item(longId);
      return item.state === 'RUNNING' && item;
    }, 'the long sleep to be RUNNING');
    expect(running.locked_by).toBeTruthy();
    // Concurrency 1: the next item waits behind the 30 s sleep.
    expect(env.item(nextId).state).toBe('PENDING');

    const cancelIssuedAt = Date.now();
    const cancel = await env.cliOk(['work', 'cancel', String(longId), '--json']);
    const cancelledAt = Date.now();
    expect(JSON.parse(cancel.stdout)).toMatchObject({ id: longId, state: 'CANCELLED', changed: true });

    // The worker notices within a heartbeat, aborts the handler and its slot takes the next item.
    await poll(() => env!.item(nextId).state === 'COMPLETE', 'the next item to complete after the cancel', 10_000);
    const freedAfterMs = Date.now() - cancelledAt;
    expect(freedAfterMs).toBeLessThan(5_000);
    const nextAttempt = env.attempts(nextId)[0]!;
    // The slot freed seconds after the cancel, not when the 30 s sleep would have ended.
    expect(nextAttempt.started_at).toBeGreaterThanOrEqual(cancelIssuedAt);
    // Bounded from the cancel's commit (the CLI has exited), not from its launch: the CLI's own
    // start-up time under load is not the worker's reaction time.
    expect(nextAttempt.started_at - cancelledAt).toBeLessThan(5_000);

    // The handler saw the abort: the worker logged it for this item.
    await worker.waitForStderr(new RegExp(`"item_id":${longId}[^\\n]*"why":"cancelled"`), 5_000);

    const long = env.item(longId);
    expect(long).toMatchObject({ state: 'CANCELLED', locked_by: null });
    const [attempt, ...more] = env.attempts(longId);
    expect(more).toHaveLength(0);
    expect(attempt).toMatchObject({ attempt_no: 1, status: 'cancelled', worker_id: running.locked_by });
    expect(attempt!.finished_at! - attempt!.started_at).toBeLessThan(15_000);

    worker.kill('SIGTERM');
    const exit = await worker.waitExit(10_000);
    expect(exit.code).toBe(0);

    // The pending item never ran anywhere.
    expect(env.attempts(pendingId)).toEqual([]);
    expect(env.events(pendingId).map((e) => `${e.event}:${e.from_state}->${e.to_state}`)).toEqual(['enqueue:null->PENDING', 'cancel:PENDING->CANCELLED']);
    // ...and the worker never claimed it.
    expect(logLines(exit.stderr).some((l) => l.item_id === pendingId)).toBe(false);

    // A finished item cannot be cancelled: one clear error, nothing changes.
    const before = env.counts();
    const refused = await env.cli(['work', 'cancel', String(nextId)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`sluice: error: work item ${nextId} is COMPLETE; "cancel" is not allowed from that state`);
    expect(env.counts()).toEqual(before);
  });
});

describe('timeout', () => {
  it('a pipeline timeout aborts ops.sleep: attempts timed_out, retried, then FAILED with a timeout error', async () => {
    env = new TestEnv({
      pipelines: [{ domain: 'ops', name: 'sleep', timeout: '300ms', retry: { max_attempts: 2, base_delay: '50ms' } }],
    });
    const id = await env.enqueue('ops.sleep', 'case=timeout', ['--params', '{"ms":5000}']);
    expect(env.item(id).max_attempts).toBe(2);

    const drain = await env.cli(['worker', '--drain']);
    expect(drain.code).toBe(1);
    // Two 5 s sleeps would take 10 s (plus start-up); two 300 ms timeouts take well under that.
    expect(drain.durationMs).toBeLessThan(9_000);

    const item = env.item(id);
    expect(item.state).toBe('FAILED');
    expect(item.last_error).toBe('timed out after 300 ms');
    const attempts = env.attempts(id);
    expect(attempts.map((t) => [t.attempt_no, t.status])).toEqual([
      [1, 'timed_out'],
      [2, 'timed_out'],
    ]);
    for (const t of attempts) {
      const ms = t.finished_at! - t.started_at;
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(2_500);
      expect(t.error).toBe('timed out after 300 ms');
    }
    expect(env.events(id).map((e) => e.event)).toEqual(['enqueue', 'claim', 'fail_retry', 'claim', 'fail_final']);
  });
});
