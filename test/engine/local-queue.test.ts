/**
 * The worker's local queue (items claimed ahead of free slots), on both backends: every item
 * runs once with one succeeded attempt; items held but not started when the worker stops go
 * back to PENDING with their attempt recorded as interrupted; a held item that is cancelled
 * never starts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { definePipeline } from '../../src/core/pipeline.js';
import { PipelineRegistry } from '../../src/engine/registry.js';
import { Worker } from '../../src/engine/worker.js';
import { createLogger } from '../../src/log/logger.js';
import type { EnqueueSpec } from '../../src/store/store.js';
import { backendsUnderTest, openTestDatabase, waitUntil, type TestDatabase } from '../helpers/backends.js';

const backoff = { baseDelayMs: 1000, factor: 2, maxDelayMs: 10_000, jitter: 0 };
const spec = (pipeline: string, n: number): EnqueueSpec => ({ domain: 'ops', pipeline, partition: { n: String(n) }, maxAttempts: 3, backoff });

let db: TestDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

describe.each(backendsUnderTest())('worker local queue on %s', (backend) => {
  it('runs every item exactly once with one succeeded attempt and one event trail each', async () => {
    db = await openTestDatabase(backend);
    const ran = new Map<string, number>();
    const quick = definePipeline({ domain: 'ops', name: 'quick', handler: (ctx) => void ran.set(ctx.partition.n!, (ran.get(ctx.partition.n!) ?? 0) + 1) });
    const registry = new PipelineRegistry().register(quick);
    await db.store.enqueue(Array.from({ length: 300 }, (_, i) => spec('quick', i)));
    const worker = new Worker({ store: db.store, registry, logger: createLogger('silent'), concurrency: 4, leaseMs: 30_000, pollMs: 50, localQueue: 64 });
    const { failed } = await worker.drain();
    expect(failed).toBe(0);
    expect(ran.size).toBe(300);
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
    const items = await db.store.listItems({ limit: 1000 });
    expect(items.filter((i) => i.state === 'COMPLETE')).toHaveLength(300);
    for (const item of items.slice(0, 20)) {
      const attempts = await db.store.listAttempts(item.id);
      expect(attempts.map((a) => a.status)).toEqual(['succeeded']);
      const events = await db.store.listEvents(item.id);
      expect(events.map((e) => e.event)).toEqual(['enqueue', 'claim', 'complete']);
    }
  });

  it('runs handlers at most about two completion batches ahead of the durable completions', async () => {
    db = await openTestDatabase(backend);
    const store = db.store;
    let started = 0;
    let durable = 0;
    let furthestAhead = 0;
    const quick = definePipeline({
      domain: 'ops',
      name: 'quick',
      handler: () => {
        started++;
        furthestAhead = Math.max(furthestAhead, started - durable);
      },
    });
    // The real store, counting what it has made durable (not a stand-in: every call goes through).
    const counting = Object.create(store) as typeof store;
    counting.complete = async (reports) => {
      const results = await store.complete(reports);
      durable += reports.length;
      return results;
    };
    await store.enqueue(Array.from({ length: 4000 }, (_, i) => spec('quick', i)));
    const worker = new Worker({
      store: counting,
      registry: new PipelineRegistry().register(quick),
      logger: createLogger('silent'),
      concurrency: 16,
      leaseMs: 30_000,
      pollMs: 50,
      localQueue: 500,
    });
    const { failed } = await worker.drain();
    expect(failed).toBe(0);
    expect(started).toBe(4000);
    expect(durable).toBe(4000);
    // One batch (1,000) being written, one waiting, plus the slots' own handlers; before the
    // bound, SQLite ran the whole queue (4,000) before the first completion was written.
    expect(furthestAhead).toBeLessThanOrEqual(2 * 1_000 + 16 + 1);
  });

  it('hands held items back on stop (PENDING, attempt interrupted) and never starts a held item that was cancelled', async () => {
    db = await openTestDatabase(backend);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const blocking = definePipeline({
      domain: 'ops',
      name: 'blocking',
      handler: async (ctx) => {
        started.push(ctx.partition.n!);
        await gate;
      },
    });
    const registry = new PipelineRegistry().register(blocking);
    await db.store.enqueue(Array.from({ length: 6 }, (_, i) => spec('blocking', i)));
    const worker = new Worker({ store: db.store, registry, logger: createLogger('silent'), concurrency: 1, leaseMs: 30_000, pollMs: 50, localQueue: 10 });
    worker.start();
    // One runs; the other five are held, RUNNING in the store.
    await waitUntil(async () => (await db!.store.countItems({ state: 'RUNNING' })) === 6 && started.length === 1, 20_000, 'one started and five held');
    const held = (await db.store.listItems({ state: 'RUNNING', limit: 10 })).filter((i) => i.partition.n !== started[0]);
    expect(held).toHaveLength(5);
    const cancelled = held[0]!;
    expect((await db.store.cancel(cancelled.id)).changed).toBe(true);
    const stopping = worker.stop(10_000);
    release();
    await stopping;
    expect(started).toHaveLength(1);
    expect(started).not.toContain(cancelled.partition.n);
    const after = await db.store.listItems({ limit: 10 });
    const byN = new Map(after.map((i) => [i.partition.n!, i]));
    expect(byN.get(started[0]!)!.state).toBe('COMPLETE');
    expect(byN.get(cancelled.partition.n!)!.state).toBe('CANCELLED');
    const handedBack = after.filter((i) => i.partition.n !== started[0] && i.partition.n !== cancelled.partition.n);
    expect(handedBack).toHaveLength(4);
    for (const item of handedBack) {
      expect(item.state).toBe('PENDING');
      expect(item.attempts).toBe(0);
      expect((await db.store.listAttempts(item.id)).map((a) => a.status)).toEqual(['interrupted']);
    }
  });
});
