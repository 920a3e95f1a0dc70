/**
 * The worker's group commit of completions against a real store. A flush that found the
 * queue empty left a settled promise in `flushing`; every later flush returned it and no
 * completion was written again, so the worker sat with every slot "finishing" and claimed
 * nothing (found by terminating PostgreSQL backends during a drain:
 * test/engine/pg-connection-loss.test.ts; docs/reliability.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CompletionBatcher } from '../../src/engine/completion-batcher.js';
import type { CompletionReport, EnqueueSpec } from '../../src/store/store.js';
import { backendsUnderTest, openTestDatabase, type TestDatabase } from '../helpers/backends.js';

const backoff = { baseDelayMs: 1000, factor: 2, maxDelayMs: 10_000, jitter: 0 };
const spec = (n: number): EnqueueSpec => ({ domain: 'ops', pipeline: 'noop', partition: { n: String(n) }, maxAttempts: 3, backoff });

let db: TestDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

async function claimReports(store: TestDatabase['store'], n: number): Promise<CompletionReport[]> {
  await store.enqueue(Array.from({ length: n }, (_, i) => spec(i)));
  const claimed = await store.claim({ workerId: 'w1', limit: n, leaseMs: 60_000 });
  expect(claimed).toHaveLength(n);
  return claimed.map((c) => ({ itemId: c.id, attemptId: c.attemptId, workerId: 'w1', result: null, outputTail: null }));
}

describe.each(backendsUnderTest())('completion batcher on %s', (backend) => {
  it('writes completions added after a flush of an empty queue (what Worker.stop does)', async () => {
    db = await openTestDatabase(backend);
    const store = db.store;
    const [a, b] = await claimReports(store, 2);
    const batcher = new CompletionBatcher((reports) => store.complete(reports));
    await batcher.flush();
    // Before the fix these never settled (the test timed out here).
    expect(await batcher.add(a!)).toBe(true);
    expect(await Promise.all([batcher.add(b!)])).toEqual([true]);
    expect((await store.listAttempts(a!.itemId)).map((x) => x.status)).toEqual(['succeeded']);
  });

  it('keeps writing when a completion queued during a batch was written by that batch before its own flush ran', async () => {
    db = await openTestDatabase(backend);
    const store = db.store;
    const [first, queuedDuring, later] = await claimReports(store, 3);
    let calls = 0;
    let queued: Promise<boolean> | undefined;
    const batcher = new CompletionBatcher((reports) => {
      const written = store.complete(reports);
      // Queued while the first batch is being written: it schedules a flush of its own, but the
      // running loop takes it first. When the store answers without a round trip (SQLite; or
      // PostgreSQL failing at once on a connection it already knows is broken) the loop is done
      // before the scheduled flush runs, which then finds the queue empty.
      if (calls++ === 0) queued = batcher.add(queuedDuring!);
      return written;
    });
    expect(await batcher.add(first!)).toBe(true);
    expect(await queued).toBe(true);
    // The flush scheduled by `queuedDuring` has run by the time a new turn of the loop starts.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await batcher.add(later!)).toBe(true);
    const statuses = await Promise.all([first, queuedDuring, later].map(async (r) => (await store.listAttempts(r!.itemId))[0]?.status));
    expect(statuses).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});
