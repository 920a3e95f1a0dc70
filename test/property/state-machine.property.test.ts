/**
 * The queue's state machine under random interleavings, on the real stores, against a model.
 *
 * Three workers and three items (max_attempts 2, so budgets run out) take random steps:
 * claim, complete, fail (with or without a retry), cancel, manual retry, and lease expiry
 * (the sweep run as if the lease had passed). Workers keep every attempt they were ever
 * handed, so stale reports (after an expiry, a cancel, or another worker's re-claim) are
 * tried too: they must change nothing. After every step each item's state, budget counter
 * and attempt history must match the model, and at most one attempt per item is running.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransitionError } from '../../src/core/errors.js';
import type { WorkState } from '../../src/core/states.js';
import type { Store } from '../../src/store/store.js';
import { openScratchDatabase, type ScratchDatabase } from '../crash/database.js';
import { backendsUnderTest } from '../helpers/backends.js';

const WORKERS = 3;
const ITEMS = 3;
const MAX_ATTEMPTS = 2;
const LEASE_MS = 60_000;

type Op =
  | { t: 'claim'; w: number }
  | { t: 'complete'; w: number; k: number }
  | { t: 'fail'; w: number; k: number; retry: boolean }
  | { t: 'cancel'; i: number }
  | { t: 'retry'; i: number }
  | { t: 'expire' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('claim' as const), w: fc.nat(WORKERS - 1) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('complete' as const), w: fc.nat(WORKERS - 1), k: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('fail' as const), w: fc.nat(WORKERS - 1), k: fc.nat(7), retry: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), i: fc.nat(ITEMS - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('retry' as const), i: fc.nat(ITEMS - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('expire' as const) }) },
);

interface ModelItem {
  id: number;
  state: WorkState;
  attempts: number;
  /** Attempt rows ever created. */
  claims: number;
  currentAttempt: number | null;
  owner: string | null;
}

const READY: WorkState[] = ['PENDING', 'RETRY_WAIT'];
let runNo = 0;

async function runScenario(store: Store, ops: Op[]): Promise<void> {
  // One pipeline per run on a shared store: claims are restricted to it, so runs are independent.
  const pipeline = `p${++runNo}_${Math.random().toString(36).slice(2, 6)}`;
  const key = `prop.${pipeline}`;
  const outcomes = await store.enqueue(
    Array.from({ length: ITEMS }, (_, i) => ({
      domain: 'prop',
      pipeline,
      partition: { i: String(i) },
      maxAttempts: MAX_ATTEMPTS,
      backoff: { baseDelayMs: 0, factor: 1, maxDelayMs: 0, jitter: 0 },
    })),
  );
  const model = outcomes.map<ModelItem>((o) => ({ id: o.item.id, state: 'PENDING', attempts: 0, claims: 0, currentAttempt: null, owner: null }));
  const byId = new Map(model.map((m) => [m.id, m]));
  const held: { itemId: number; attemptId: number }[][] = Array.from({ length: WORKERS }, () => []);
  const worker = (w: number) => `w${w}`;
  // A virtual clock for claims and sweeps: an expiry moves it past every lease (the sweep
  // makes the lost items due at its own "now", so claims must not run behind it).
  let clock = Date.now();
  const owns = (m: ModelItem | undefined, w: number, attemptId: number) =>
    !!m && m.state === 'RUNNING' && m.owner === worker(w) && m.currentAttempt === attemptId;

  for (const [step, o] of ops.entries()) {
    const where = `step ${step} ${JSON.stringify(o)}`;
    clock = Math.max(clock, Date.now() + 1); // never behind real time (retry sets desired_at = now)
    switch (o.t) {
      case 'claim': {
        const got = await store.claim({ workerId: worker(o.w), limit: 1, leaseMs: LEASE_MS, pipelines: [key], now: new Date(clock) });
        const ready = model.filter((m) => READY.includes(m.state));
        expect(got.length, where).toBe(ready.length > 0 ? 1 : 0);
        for (const c of got) {
          const m = byId.get(c.id)!;
          expect(READY, where).toContain(m.state);
          Object.assign(m, { state: 'RUNNING', attempts: m.attempts + 1, claims: m.claims + 1, currentAttempt: c.attemptId, owner: worker(o.w) });
          expect(c.attempts, where).toBe(m.attempts);
          held[o.w]!.push({ itemId: c.id, attemptId: c.attemptId });
        }
        break;
      }
      case 'complete':
      case 'fail': {
        const mine = held[o.w]!;
        if (mine.length === 0) continue;
        const h = mine.splice(o.k % mine.length, 1)[0]!;
        const m = byId.get(h.itemId)!;
        const ok = owns(m, o.w, h.attemptId);
        if (o.t === 'complete') {
          const [done] = await store.complete([{ itemId: h.itemId, attemptId: h.attemptId, workerId: worker(o.w) }]);
          expect(done, where).toBe(ok);
          if (ok) Object.assign(m, { state: 'COMPLETE', owner: null, currentAttempt: null });
        } else {
          const after = await store.fail({
            itemId: h.itemId,
            attemptId: h.attemptId,
            workerId: worker(o.w),
            error: 'boom',
            status: 'failed',
            retryAt: o.retry ? new Date(Date.now() - 1_000) : null,
          });
          expect(after !== null, where).toBe(ok);
          if (ok) Object.assign(m, { state: o.retry && m.attempts < MAX_ATTEMPTS ? 'RETRY_WAIT' : 'FAILED', owner: null, currentAttempt: null });
        }
        break;
      }
      case 'cancel': {
        const m = model[o.i]!;
        const legal: WorkState[] = ['WAITING', 'PENDING', 'RETRY_WAIT', 'RUNNING'];
        if (legal.includes(m.state)) {
          expect((await store.cancel(m.id)).changed, where).toBe(true);
          Object.assign(m, { state: 'CANCELLED', owner: null, currentAttempt: null });
        } else if (m.state === 'CANCELLED') {
          expect((await store.cancel(m.id)).changed, where).toBe(false);
        } else {
          await expect(store.cancel(m.id), where).rejects.toBeInstanceOf(TransitionError);
        }
        break;
      }
      case 'retry': {
        const m = model[o.i]!;
        if (m.state === 'FAILED' || m.state === 'CANCELLED') {
          expect(
            (await store.retry({ id: m.id })).map((i) => i.id),
            where,
          ).toEqual([m.id]);
          Object.assign(m, { state: 'PENDING', attempts: 0 });
        } else {
          await expect(store.retry({ id: m.id }), where).rejects.toBeInstanceOf(TransitionError);
        }
        break;
      }
      case 'expire': {
        // Only this run's items count: other runs on the shared store are finished or idle.
        const running = model.filter((m) => m.state === 'RUNNING');
        clock += 2 * LEASE_MS;
        const n = await store.reclaimExpired(new Date(clock));
        expect(n, where).toBeGreaterThanOrEqual(running.length);
        for (const m of running) Object.assign(m, { state: m.attempts < MAX_ATTEMPTS ? 'RETRY_WAIT' : 'FAILED', owner: null, currentAttempt: null });
        break;
      }
    }
    for (const m of model) {
      const item = (await store.getItem(m.id))!;
      expect({ state: item.state, attempts: item.attempts, lockedBy: item.lockedBy }, `${where}: item ${m.id}`).toEqual({
        state: m.state,
        attempts: m.attempts,
        lockedBy: m.owner,
      });
      const attempts = await store.listAttempts(m.id);
      expect(attempts.length, `${where}: attempt rows of ${m.id}`).toBe(m.claims);
      const running = attempts.filter((a) => a.status === 'running');
      expect(
        running.map((a) => a.id),
        `${where}: running attempts of ${m.id}`,
      ).toEqual(m.state === 'RUNNING' ? [m.currentAttempt] : []);
      expect(
        attempts.map((a) => a.attemptNo).sort((a, b) => a - b),
        where,
      ).toEqual(attempts.map((_, i) => i + 1));
    }
  }
}

describe.each(backendsUnderTest())('state machine vs model on %s', (backend) => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await openScratchDatabase(backend);
  });
  afterAll(async () => {
    await db?.dispose();
  });
  // PostgreSQL round trips cost more: fewer runs there.
  const runs = Number(process.env.SLUICE_PROPERTY_RUNS ?? 100) / (backend === 'postgres' ? 4 : 1);
  it(`random claim/complete/fail/cancel/retry/lease-expiry interleavings of ${WORKERS} workers (${runs} runs)`, { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), (ops) => runScenario(db.store, ops)),
      { numRuns: runs },
    );
  });
});
