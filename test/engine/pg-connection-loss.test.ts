/**
 * Connection loss without restarting the shared server: two real `sluice worker` processes
 * drain ops.sleep items while every backend of this test's schema (pool and LISTEN
 * connections, found by application_name) is terminated every 50-350 ms. Afterwards the
 * workers must finish on their own, both still alive, each item with exactly one succeeded
 * attempt and none left running. It found two defects (docs/reliability.md): the completion
 * batcher wedging (test/engine/completion-batcher.test.ts) and an unguarded 'error' event on
 * a freshly checked-out client that crashed the worker (src/store/postgres/transaction.ts).
 * SLUICE_TERMINATE_ITEMS / SLUICE_TERMINATE_MS make it longer.
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { openTestDatabase, waitUntil } from '../helpers/backends.js';
import { describeIfPg, PG_URL } from '../helpers/pg.js';
import { attemptOffenders, sleepItems, spawnWorkers, stopWorkers, type WorkerProcess } from '../helpers/worker-processes.js';

const ITEMS = Number(process.env.SLUICE_TERMINATE_ITEMS ?? 1500);
const CHAOS_MS = Number(process.env.SLUICE_TERMINATE_MS ?? 8_000);
let workers: WorkerProcess[] = [];
afterAll(() => {
  for (const { child } of workers) if (child.exitCode === null) child.kill('SIGKILL');
});

describeIfPg('backends terminated over and over during a drain', () => {
  it('every item completes once, no attempt left running, the workers stay up', async () => {
    const db = await openTestDatabase('postgres');
    const schema = new URL(db.url).searchParams.get('schema')!;
    const ours = [`sluice:${schema}`, `sluice-listener:${schema}`];
    const admin = new pg.Client({ connectionString: PG_URL });
    admin.on('error', () => undefined);
    await admin.connect();
    const check = await openStore(db.url);
    try {
      const config = db.writeConfig({ workers: { concurrency: 4, lease: '2s', poll_interval: '200ms' } });
      await db.store.enqueue(sleepItems(ITEMS, 10, 50, 50));
      workers = spawnWorkers(config, 2, 'warn');
      // Start-up (migrations) is not under test: a worker that cannot open its database exits.
      await waitUntil(async () => (await check.countItems({ state: 'COMPLETE' })) >= 20, 60_000, '20 items complete');
      let rounds = 0;
      let terminated = 0;
      let stop = false;
      const killer = (async () => {
        while (!stop) {
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 300));
          const { rows } = await admin.query<{ n: number }>(
            `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = ANY ($1::text[])`,
            [ours],
          );
          rounds++;
          terminated += rows[0]?.n ?? 0;
        }
      })();
      await new Promise((r) => setTimeout(r, CHAOS_MS));
      stop = true;
      await killer;
      // The checking store's own connections were terminated too; it reconnects per query.
      const complete = () => check.countItems({ state: 'COMPLETE' }).catch(() => -1);
      try {
        await waitUntil(async () => (await complete()) === ITEMS, 60_000, 'every item COMPLETE after the terminations stopped', 300);
      } catch (err) {
        const { rows } = await admin.query(`SELECT state, count(*)::int AS n FROM "${schema}".work_items GROUP BY state`);
        process.stderr.write(`stalled after ${rounds} rounds: ${JSON.stringify(rows)}\n`);
        for (const w of workers) process.stderr.write(`--- worker ${w.child.pid} stderr tail ---\n${w.stderr().slice(-3000)}\n`);
        throw err;
      }
      process.stderr.write(`pg-connection-loss: ${rounds} rounds, ${terminated} backends terminated\n`);
      expect(workers.map((w) => w.child.exitCode)).toEqual([null, null]);
      expect(await attemptOffenders(check, ITEMS)).toEqual([]);
      expect(await stopWorkers(workers)).toEqual([0, 0]);
    } finally {
      await check.close();
      await admin.end().catch(() => undefined);
      await db.dispose().catch(() => undefined);
    }
  }, 150_000);
});
