import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { killStarted } from '../helpers/process.js';
import { TestEnv, type AttemptRow } from '../helpers/sqlite.js';

/**
 * Claim order, retry back-off, exhaustion and manual retry, end to end: items go in through
 * `sluice enqueue`, a real `sluice worker --drain` process runs them, and the assertions
 * read the attempt history the worker wrote to the SQLite file.
 */
let env: TestEnv | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
});

const iso = (ms: number) => new Date(ms).toISOString();

describe('claim order through a real worker (concurrency 1)', () => {
  it('runs higher priority first, then earlier desired_at; a not-yet-due item waits for its --at', async () => {
    env = new TestEnv({ workers: { concurrency: 1 } });
    const now = Date.now();
    const sleep = ['--params', '{"ms":60}'];
    // Enqueued concurrently, so ids say nothing about the order: only priority and desired_at do.
    const [a, b, c, d, late] = await Promise.all([
      env.enqueue('ops.sleep', 'n=a', [...sleep, '--at', iso(now - 3 * 3_600_000)]),
      env.enqueue('ops.sleep', 'n=b', [...sleep, '--at', iso(now - 2 * 3_600_000)]),
      env.enqueue('ops.sleep', 'n=c', [...sleep, '--priority', '5', '--at', iso(now - 3_600_000)]),
      env.enqueue('ops.sleep', 'n=d', [...sleep, '--priority', '-1', '--at', iso(now - 4 * 3_600_000)]),
      // Highest priority, but not due for a few seconds: it must not jump the queue early.
      env.enqueue('ops.sleep', 'n=late', [...sleep, '--priority', '10', '--at', iso(now + 4_000)]),
    ]);
    const drained = await env.cliOk(['worker', '--drain']);
    expect(drained.code).toBe(0);

    const attempts = env.attempts().sort((x, y) => x.started_at - y.started_at || x.id - y.id);
    expect(attempts).toHaveLength(5);
    expect(attempts.every((t) => t.status === 'succeeded')).toBe(true);
    // Concurrency 1: each attempt starts after the previous one finished.
    for (let i = 1; i < attempts.length; i++) expect(attempts[i]!.started_at).toBeGreaterThanOrEqual(attempts[i - 1]!.finished_at!);

    const items = new Map(env.items().map((i) => [i.id, i]));
    const lateItem = items.get(late)!;
    expect(attempts.find((t) => t.item_id === late)!.started_at).toBeGreaterThanOrEqual(lateItem.desired_at);

    // Replay the claim rule at each actual claim instant: among the items still waiting and
    // already due, the highest priority, then the earliest desired_at, goes next.
    const waiting = new Set(items.keys());
    const expected: number[] = [];
    for (const t of attempts) {
      const due = [...waiting].map((id) => items.get(id)!).filter((i) => i.desired_at <= t.started_at);
      due.sort((x, y) => y.priority - x.priority || x.desired_at - y.desired_at || x.id - y.id);
      expect(due.length, `something was due at ${iso(t.started_at)}`).toBeGreaterThan(0);
      expected.push(due[0]!.id);
      waiting.delete(t.item_id);
    }
    expect(attempts.map((t) => t.item_id)).toEqual(expected);
    // On any sane machine the worker starts long before `late` is due, so the full order is:
    // priority 5, then the priority-0 items oldest first, then -1, and `late` (priority 10) last.
    if (attempts[3]!.started_at < lateItem.desired_at) expect(expected).toEqual([c, a, b, d, late]);
  });
});

describe('retries with back-off', () => {
  it('ops.fail times:2 fails attempts 1 and 2, succeeds on 3, and waits at least half the back-off between them', async () => {
    env = new TestEnv();
    const id = await env.enqueue('ops.fail', 'case=backoff', ['--params', '{"times":2}', '--base-delay', '100ms']);
    expect(env.item(id)).toMatchObject({ max_attempts: 3 });
    await env.cliOk(['worker', '--drain']);

    const item = env.item(id);
    expect(item).toMatchObject({ state: 'COMPLETE', attempts: 3, last_error: null });
    const attempts = env.attempts(id);
    expect(attempts.map((t) => [t.attempt_no, t.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    expect(attempts[0]!.error).toMatch(/deliberate failure \(attempt 1 of 2/);
    expect(attempts[1]!.error).toMatch(/deliberate failure \(attempt 2 of 2/);

    // Delay after attempt n = 100ms * 3^(n-1), half of it jittered: >= 50ms, then >= 150ms.
    // (2 ms of slack: the retry time is taken a moment before the failure is stamped, and
    // both are whole milliseconds.)
    const gap = (x: AttemptRow, y: AttemptRow) => y.started_at - x.finished_at!;
    expect(gap(attempts[0]!, attempts[1]!)).toBeGreaterThanOrEqual(50 - 2);
    expect(gap(attempts[1]!, attempts[2]!)).toBeGreaterThanOrEqual(150 - 2);
    // And --base-delay really replaced the 5 s default (which would be >= 2.5 s).
    expect(gap(attempts[0]!, attempts[1]!)).toBeLessThan(2_500);

    const events = env.events(id).map((e) => `${e.event}:${e.to_state}`);
    expect(events).toEqual([
      'enqueue:PENDING',
      'claim:RUNNING',
      'fail_retry:RETRY_WAIT',
      'claim:RUNNING',
      'fail_retry:RETRY_WAIT',
      'claim:RUNNING',
      'complete:COMPLETE',
    ]);
  });

  it('exhausted attempts end FAILED with last_error; `work retry` gives a fresh budget and attempt_no keeps counting', async () => {
    env = new TestEnv({
      pipelines: [
        {
          domain: 'test',
          name: 'needs_marker',
          // Fails until a file named `ready` exists in its working directory.
          command: ['sh', '-c', 'test -f ready || { echo "not ready yet" >&2; exit 3; }; echo ready'],
          retry: { max_attempts: 2, base_delay: '50ms' },
        },
      ],
    });
    const [always, marker] = await Promise.all([
      env.enqueue('ops.fail', 'case=always', ['--max-attempts', '2', '--base-delay', '50ms']),
      env.enqueue('test.needs_marker', 'case=marker'),
    ]);

    // Manual retry is only for FAILED/CANCELLED items: refused while PENDING, nothing changes.
    const before = env.counts();
    const refused = await env.cli(['work', 'retry', String(always)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`sluice: error: work item ${always} is PENDING; "retry" is not allowed from that state`);
    expect(env.counts()).toEqual(before);

    const first = await env.cli(['worker', '--drain']);
    expect(first.code).toBe(1);
    for (const id of [always, marker]) expect(env.item(id)).toMatchObject({ state: 'FAILED', attempts: 2, max_attempts: 2 });
    expect(env.item(always).last_error).toMatch(/ops\.fail: deliberate failure \(attempt 2 fails every attempt\)/);
    expect(env.item(marker).last_error).toBe('sh exited with code 3');
    expect(env.attempts(marker).map((t) => t.output_tail)).toEqual(['not ready yet\n', 'not ready yet\n']);
    // The same through `work list --json` (the contract scripts use).
    const listed = JSON.parse((await env.cliOk(['work', 'list', '--state', 'FAILED', '--json'])).stdout) as Record<string, unknown>[];
    expect(listed.map((i) => i.id).sort()).toEqual([always, marker].sort());
    for (const row of listed) {
      for (const key of ['id', 'domain', 'pipeline', 'partition_key', 'state', 'attempts', 'priority', 'desired_at', 'last_error'])
        expect(row).toHaveProperty(key);
    }
    expect(listed.find((i) => i.id === marker)).toMatchObject({ state: 'FAILED', attempts: 2, last_error: 'sh exited with code 3' });

    // Manual retry: back to PENDING with a fresh budget (attempts 0), last error cleared.
    const [retried] = await Promise.all([env.cliOk(['work', 'retry', String(always)]), env.cliOk(['work', 'retry', String(marker)])]);
    expect(retried.stdout).toMatch(new RegExp(`retried 1 item\\(s\\): #${always}`));
    expect(env.item(always)).toMatchObject({ state: 'PENDING', attempts: 0, max_attempts: 2, last_error: null, finished_at: null });
    expect(env.item(marker)).toMatchObject({ state: 'PENDING', attempts: 0 });
    writeFileSync(`${env.dir}/ready`, '');

    const second = await env.cli(['worker', '--drain']);
    expect(second.code).toBe(1); // ops.fail failed again, with its fresh budget of 2

    expect(env.item(always)).toMatchObject({ state: 'FAILED', attempts: 2 });
    expect(env.attempts(always).map((t) => [t.attempt_no, t.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
      [4, 'failed'],
    ]);
    expect(env.item(marker)).toMatchObject({ state: 'COMPLETE', attempts: 1, last_error: null });
    expect(env.attempts(marker).map((t) => [t.attempt_no, t.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    expect(env.events(marker).map((e) => e.event)).toContain('retry');
  });
});
