import { afterEach, describe, expect, it } from 'vitest';
import { killStarted, logLines as logLinesOf, workerIdOf } from '../helpers/process.js';
import { poll, TestEnv, type AttemptRow, type EventRow } from '../helpers/sqlite.js';

let env: TestEnv | undefined;
afterEach(async () => {
  await killStarted();
  env?.cleanup();
  env = undefined;
});

describe('worker --drain exit codes', () => {
  it('exits 0 at once on an empty queue, 0 when everything completed, 1 when something ended FAILED', async () => {
    env = new TestEnv({ workers: { concurrency: 2 } });
    const empty = await env.cli(['worker', '--drain'], { timeoutMs: 15_000 });
    expect(empty.signal).toBeNull();
    expect(empty.code).toBe(0);
    expect(empty.durationMs).toBeLessThan(10_000);
    expect(env.counts()).toEqual({ items: 0, attempts: 0, events: 0 });

    await env.cliOk(['enqueue', 'ops.noop', '--partition', 'n=1', '--partition', 'n=2', '--partition', 'n=3']);
    const ok = await env.cli(['worker', '--drain']);
    expect(ok.code).toBe(0);
    expect(env.items().map((i) => i.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE']);

    const failing = await env.enqueue('ops.fail', 'n=4', ['--max-attempts', '1']);
    const bad = await env.cli(['worker', '--drain']);
    expect(bad.code).toBe(1);
    expect(env.item(failing)).toMatchObject({ state: 'FAILED', attempts: 1 });
    expect(logLinesOf(bad.stderr)).toContainEqual(expect.objectContaining({ msg: 'drained', failed: 1 }));
  });
});

/**
 * Peak number of RUNNING items, replayed from the event log. Event ids are the commit order
 * of the single SQLite writer, so this is exact where millisecond timestamps are not (a
 * 0 ms noop and the next claim share a timestamp). `key` groups the count (per worker,
 * per pipeline); `null` leaves an event out.
 */
function peakRunning(events: readonly EventRow[], key: (claim: EventRow) => string | null): Map<string, number> {
  const holder = new Map<number, string>();
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  for (const e of events) {
    if (e.from_state === 'RUNNING') {
      const k = holder.get(e.item_id);
      holder.delete(e.item_id);
      if (k !== undefined) now.set(k, now.get(k)! - 1);
    }
    if (e.to_state === 'RUNNING') {
      const k = key(e);
      if (k === null) continue;
      holder.set(e.item_id, k);
      now.set(k, (now.get(k) ?? 0) + 1);
      peak.set(k, Math.max(peak.get(k) ?? 0, now.get(k)!));
    }
  }
  return peak;
}

describe('two worker processes on one SQLite file', () => {
  it('300+ items: each COMPLETE with exactly one succeeded attempt, never run twice at once, both processes share the work, a per-pipeline cap holds across them', async () => {
    // A short command pipeline capped at 2 running at once across all workers.
    env = new TestEnv({
      workers: { concurrency: 4, lease: '5s' },
      pipelines: [{ domain: 'test', name: 'capped', command: ['sleep', '0.05'], concurrency: 2 }],
    });
    const n = 300;
    const capped = 12;
    // Both workers are up (and idle-polling) before any work exists, so neither can finish
    // everything before the other has started, however slow process start-up is.
    const w1 = env.spawn(['worker']);
    const w2 = env.spawn(['worker']);
    const [id1, id2] = await Promise.all([workerIdOf(w1), workerIdOf(w2)]);
    const partitions = (count: number) => Array.from({ length: count }, (_, i) => ['--partition', `n=${i}`]).flat();
    await Promise.all([
      env.cliOk(['enqueue', 'ops.sleep', ...partitions(n), '--params', '{"ms":10}']),
      env.cliOk(['enqueue', 'test.capped', ...partitions(capped)]),
    ]);
    await poll(
      () => env!.read((db) => db.prepare(`SELECT count(*) FROM work_items WHERE state = 'COMPLETE'`).pluck().get() === n + capped),
      'every item to complete',
      40_000,
      100,
    );
    w1.kill('SIGTERM');
    w2.kill('SIGTERM');
    const [e1, e2] = await Promise.all([w1.waitExit(10_000), w2.waitExit(10_000)]);
    expect(e1.code).toBe(0);
    expect(e2.code).toBe(0);

    const items = env.items();
    expect(items).toHaveLength(n + capped);
    expect(items.filter((i) => i.state !== 'COMPLETE')).toEqual([]);

    const attempts = env.attempts();
    const byItem = new Map<number, AttemptRow[]>();
    for (const t of attempts) byItem.set(t.item_id, [...(byItem.get(t.item_id) ?? []), t]);
    expect(byItem.size).toBe(n + capped);
    for (const [itemId, list] of byItem) {
      expect(
        list.filter((t) => t.status === 'succeeded'),
        `item ${itemId}`,
      ).toHaveLength(1);
      // Never two attempts of one item open at the same time.
      for (let k = 0; k < list.length; k++) {
        expect(list[k]!.finished_at, `item ${itemId} attempt ${k + 1} finished`).not.toBeNull();
        if (k > 0) expect(list[k]!.started_at, `item ${itemId}`).toBeGreaterThanOrEqual(list[k - 1]!.finished_at!);
      }
    }

    // Both processes did some of the work.
    const mine = (id: string) => attempts.filter((t) => t.worker_id === id);
    expect(new Set(attempts.map((t) => t.worker_id))).toEqual(new Set([id1, id2]));
    expect(mine(id1).length).toBeGreaterThan(0);
    expect(mine(id2).length).toBeGreaterThan(0);
    expect(mine(id1).length + mine(id2).length).toBe(attempts.length);

    // Replaying the event log: neither process ever ran more than its 4 slots, and the
    // test.capped cap of 2 held across both of them together.
    const events = env.read((db) => db.prepare('SELECT * FROM work_events ORDER BY id').all() as EventRow[]);
    const pipelineOf = new Map(items.map((i) => [i.id, i.pipeline]));
    const perWorker = peakRunning(events, (e) => e.actor);
    expect(perWorker.get(id1)).toBeLessThanOrEqual(4);
    expect(perWorker.get(id2)).toBeLessThanOrEqual(4);
    const perPipeline = peakRunning(events, (e) => pipelineOf.get(e.item_id)!);
    expect(perPipeline.get('capped')).toBeLessThanOrEqual(2);
    expect(perPipeline.get('sleep')).toBeGreaterThan(2); // uncapped, so the cap above is not vacuous
    expect(attempts.filter((t) => pipelineOf.get(t.item_id) === 'capped')).toHaveLength(capped);
  });
});
