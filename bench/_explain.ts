import pg from 'pg';
import { PostgresStore, pgStatements } from '../src/store/postgres/pg-store.js';
import { PG_URL, scratchPgSchema } from './support.js';
const scratch = await scratchPgSchema('i13t');
const store = new PostgresStore({ connectionString: PG_URL, schema: scratch.schema });
await store.migrate();
const backoff = { baseDelayMs: 1000, factor: 3, maxDelayMs: 60000, jitter: 0.5 };
await store.enqueue(Array.from({ length: 20000 }, (_, i) => ({ domain: 'ops', pipeline: 'noop', partition: { n: String(i) }, maxAttempts: 3, backoff })));
const N = Number(process.argv[2] ?? 500);
for (let k = 0; k < 20; k++) {
  const it = await store.claim({ workerId: 'w', limit: 500, leaseMs: 60000, pipelines: ['ops.noop'], concurrencyLimits: {} });
  await store.complete(it.map((i: any) => ({ itemId: i.id, attemptId: i.attemptId, workerId: 'w', result: null, outputTail: null })));
}
await store.enqueue(Array.from({ length: 10000 }, (_, i) => ({ domain: 'ops', pipeline: 'noop', partition: { m: String(i) }, maxAttempts: 3, backoff })));
const sql = pgStatements(scratch.schema);
const c = new pg.Client({ connectionString: PG_URL });
await c.connect();
await c.query('BEGIN');
const claimArgs = [null, 'w', 60000, N, N, ['ops.noop'], []];
const ex1 = await c.query('EXPLAIN (ANALYZE, BUFFERS) ' + sql.claimFast, claimArgs);
console.log(ex1.rows.map((r) => r['QUERY PLAN']).join('\n'));
await c.query('ROLLBACK');
const items = await store.claim({ workerId: 'w', limit: N, leaseMs: 60000, pipelines: ['ops.noop'], concurrencyLimits: {} });
await c.query('BEGIN');
const ex2 = await c.query('EXPLAIN (ANALYZE, BUFFERS) ' + sql.complete, [
  items.map((i) => i.id),
  items.map((i) => i.attemptId),
  items.map(() => 'w'),
  items.map(() => null),
  items.map(() => null),
]);
console.log(ex2.rows.map((r) => r['QUERY PLAN']).join('\n'));
await c.query('ROLLBACK');
const ex3 = await c.query('EXPLAIN (ANALYZE, BUFFERS) ' + sql.lockDependents, [
  items.map(() => 'ops'),
  items.map(() => 'noop'),
  items.map((i) => i.partitionKey),
]);
console.log(ex3.rows.map((r) => r['QUERY PLAN']).join('\n'));
await c.end();
await store.close();
await scratch.dispose();
