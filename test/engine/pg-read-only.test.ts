/**
 * PostgreSQL stops taking writes mid-run, the counterpart of the SQLite read-only case in
 * disk-full.test.ts. A role made for this test owns the test's schema; setting its
 * `default_transaction_read_only` and ending its sessions is what a failover onto a
 * read-only standby looks like to the worker: every new session refuses writes with
 * "cannot execute … in a read-only transaction" (SQLSTATE 25006). Nothing else on the
 * shared server is touched: other roles, schemas and databases keep working.
 *
 * What must hold, as on SQLite: the worker stays alive and keeps retrying (claims, outcome
 * writes, heartbeats, the lease sweep), its log says the database is read-only, no item is
 * FAILED or dropped, and once writes work again every item ends COMPLETE with exactly one
 * succeeded attempt, none running, and each landed capture has all its rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/pg-store.js';
import { startHarness, type Harness } from '../api/support/harness.js';
import { waitUntil } from '../helpers/backends.js';
import { describeIfPg, PG_URL } from '../helpers/pg.js';
import { bulk, expectAllLandedOnce } from '../helpers/write-outage.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean().catch(() => undefined);
});

/** A login role of our own, allowed to create its schema in the test database. */
async function scratchRole(admin: pg.Pool): Promise<{ role: string; url: string }> {
  const role = `sluice_ro_${randomBytes(5).toString('hex')}`;
  const url = new URL(PG_URL);
  const database = url.pathname.slice(1);
  await admin.query(`CREATE ROLE "${role}" LOGIN`);
  await admin.query(`GRANT CONNECT, CREATE ON DATABASE "${database}" TO "${role}"`);
  cleanups.push(async () => {
    await endSessions(admin, role);
    // Drops the schema it owns and its grants, then the role itself.
    await admin.query(`DROP OWNED BY "${role}" CASCADE`);
    await admin.query(`DROP ROLE "${role}"`);
  });
  url.username = role;
  url.password = '';
  return { role, url: url.toString() };
}

/** Sessions keep the defaults they started with: end them so new ones pick up the change. */
async function endSessions(admin: pg.Pool, role: string): Promise<void> {
  await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
}

describeIfPg('PostgreSQL stops taking writes mid-run', () => {
  it('read-only: the worker stays up and retries, says "read-only transaction", drops nothing; all items complete once writable', async () => {
    const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
    admin.on('error', () => undefined);
    cleanups.push(() => admin.end());
    const { role, url } = await scratchRole(admin);
    const store = new PostgresStore({ connectionString: url, schema: `sluice_test_${randomBytes(6).toString('hex')}`, poolSize: 4 });
    await store.migrate();
    cleanups.push(() => store.close());
    const h: Harness = await startHarness({
      pipelines: [bulk],
      store,
      worker: { leaseMs: 1_000, heartbeatMs: 200, pollMs: 50, concurrency: 3 },
      logLevel: 'info',
    });
    cleanups.push(() => h.close());
    const ids: number[] = [];
    for (let n = 0; n < 8; n++) {
      const res = await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline: 'test.bulk', partition: { n: String(n) } } });
      ids.push(res.body.item.id);
    }
    h.worker!.start();
    await waitUntil(async () => (await store.countItems({ state: 'RUNNING' })) > 0, 10_000, 'items running');

    await admin.query(`ALTER ROLE "${role}" SET default_transaction_read_only = on`);
    await endSessions(admin, role);
    // Longer than the lease: heartbeats, completions and the sweep all fail meanwhile.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(h.worker!.isRunning).toBe(true);
    const logs = h.logs.join('');
    expect(logs).toMatch(/cannot execute \w+ in a read-only transaction/);
    expect(logs).toMatch(/retrying|will retry|will be retried/);
    // Nothing was given up on while the database refused writes (the states read fine).
    for (const id of ids) expect((await store.getItem(id))!.state).not.toBe('FAILED');

    await admin.query(`ALTER ROLE "${role}" RESET default_transaction_read_only`);
    await endSessions(admin, role);
    await expectAllLandedOnce(store, ids);
    expect(h.worker!.isRunning).toBe(true);
  });
});
