/**
 * PostgreSQL-only behaviour that the shared conformance suite cannot express: the LISTEN
 * connection's lifecycle and recovery, identifier validation, and the claim path's cost with
 * a deep backlog of far-future items.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PostgresStore, pgStatements } from '../../src/store/postgres/pg-store.js';
import { createPgTestSchema, describeIfPg, PG_URL, type PgTestSchema } from '../helpers/pg.js';

describe('PostgresStore identifiers', () => {
  it.each(['Sluice', 'sluice-test', 'x"; DROP SCHEMA public; --', '1abc', '', 'a'.repeat(64)])('rejects schema name %j', (schema) => {
    expect(() => new PostgresStore({ connectionString: PG_URL, schema })).toThrow(/invalid PostgreSQL schema name/);
  });

  it('accepts lower-case identifiers', async () => {
    const store = new PostgresStore({ connectionString: PG_URL, schema: 'sluice_ok_1' });
    expect(store.schema).toBe('sluice_ok_1');
    await store.close();
  });
});

describeIfPg('PostgresStore (PostgreSQL only)', () => {
  let db: PgTestSchema;
  let store: PostgresStore;

  beforeEach(async () => {
    db = createPgTestSchema();
    store = db.open();
    await store.migrate();
  });

  afterEach(async () => {
    await db.drop();
  });

  const connections = async (applicationName: string) =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rows[0]!.n;

  it('opens its LISTEN connection on the first subscription and closes everything on close()', async () => {
    const listenerName = `sluice-listener:${db.schema}`;
    await store.getItem(1);
    expect(await connections(listenerName)).toBe(0);
    expect(await connections(`sluice:${db.schema}`)).toBeGreaterThan(0);
    const off = store.onWake(() => undefined);
    store.onCancel(() => undefined);
    await store.listenerReady();
    expect(await connections(listenerName)).toBe(1);
    off();
    await store.close();
    await vi.waitFor(async () => {
      expect(await connections(listenerName)).toBe(0);
      expect(await connections(`sluice:${db.schema}`)).toBe(0);
    });
    await store.close(); // idempotent
  });

  it('reconnects its listener after the connection drops, wakes, and hears NOTIFY again', async () => {
    const other = db.open();
    let wakes = 0;
    store.onWake(() => wakes++);
    await store.listenerReady();
    const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`sluice-listener:${db.schema}`]);
    expect(rows).toHaveLength(1);
    // What a PostgreSQL restart or a network cut looks like from the client.
    await db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    // Work may have arrived while it was down: the reconnect itself is a wake.
    await vi.waitFor(() => expect(wakes).toBeGreaterThan(0), { timeout: 5_000, interval: 10 });
    await vi.waitFor(async () => {
      const now = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`sluice-listener:${db.schema}`]);
      expect(now.rows.map((r) => r.pid)).not.toContain(rows[0]!.pid);
      expect(now.rows).toHaveLength(1);
    });
    const before = wakes;
    await other.enqueue([
      { domain: 'd', pipeline: 'p', partition: { n: '1' }, maxAttempts: 1, backoff: { baseDelayMs: 1, factor: 1, maxDelayMs: 1, jitter: 0 } },
    ]);
    await vi.waitFor(() => expect(wakes).toBeGreaterThan(before), { timeout: 2_000, interval: 5 });
  });

  it('claims and finds the next due time without visiting far-future items', async () => {
    const far = 200_000;
    await db.query(
      `INSERT INTO "${db.schema}".work_items (domain, pipeline, partition_key, partition, state, priority, desired_at,
                                             max_attempts, backoff, created_at, updated_at)
       SELECT 'bulk', 'later', 'n=' || g, jsonb_build_object('n', g::text), 'PENDING', (g % 3) - 1,
              now() + interval '30 days' + g * interval '1 second', 3, '{}', now(), now()
       FROM generate_series(1, $1::int) AS g`,
      [far],
    );
    const backoff = { baseDelayMs: 1, factor: 1, maxDelayMs: 1, jitter: 0 };
    await store.enqueue(
      Array.from({ length: 5 }, (_, i) => ({
        domain: 'd',
        pipeline: 'p',
        partition: { n: String(i) },
        maxAttempts: 1,
        backoff,
        desiredAt: new Date(Date.now() - 1_000),
      })),
    );

    const sql = pgStatements(db.schema);
    const client = await store.pool.connect();
    const pagesTouched = async (text: string, params: unknown[]) => {
      await client.query('BEGIN');
      try {
        const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, params);
        const plan = (rows[0] as { 'QUERY PLAN': { Plan: Record<string, number> }[] })['QUERY PLAN'][0]!.Plan;
        return plan['Shared Hit Blocks']! + plan['Shared Read Blocks']!;
      } finally {
        await client.query('ROLLBACK');
      }
    };
    try {
      // A full walk of the ready index alone would read well over a thousand pages.
      expect(await pagesTouched(sql.claimFast, [null, 'w', 1_000, 10, 10, null, []])).toBeLessThan(400);
      expect(await pagesTouched(sql.claimFast, [null, 'w', 1_000, 10, 10, ['d.p'], ['bulk.later']])).toBeLessThan(400);
      expect(await pagesTouched(sql.claimCapped, [null, 'w', 1_000, 10, 20, null, ['d.p'], [3]])).toBeLessThan(400);
      expect(await pagesTouched(sql.nextDesiredAt, [null])).toBeLessThan(100);
    } finally {
      client.release();
    }
    const claimed = await store.claim({ workerId: 'w', limit: 10, leaseMs: 1_000 });
    expect(claimed.map((c) => c.domain)).toEqual(['d', 'd', 'd', 'd', 'd']);
    expect(await store.claim({ workerId: 'w', limit: 10, leaseMs: 1_000 })).toEqual([]);
    expect((await store.nextDesiredAt())!.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });
});
