/**
 * EXPLAIN (ANALYZE, BUFFERS) of the PostgreSQL claim and complete statements at a given
 * batch size, on a queue that has already moved `warm` items through (so the plans see dead
 * index entries and realistic statistics), with `depth` far-future items waiting. Each
 * statement runs inside a transaction that is rolled back, so the queue is left as it was.
 */
import pg from 'pg';
import { PostgresStore, pgStatements } from '../src/store/postgres/pg-store.js';
import type { EnqueueSpec } from '../src/store/store.js';
import { PG_URL, scratchPgSchema } from './support.js';

export interface ExplainOptions {
  batch: number;
  ready: number;
  warm: number;
  depth: number;
  analyze: boolean;
}

const backoff = { baseDelayMs: 1000, factor: 3, maxDelayMs: 60_000, jitter: 0.5 };
const spec = (partition: Record<string, string>, desiredAt?: Date): EnqueueSpec => ({
  domain: 'ops',
  pipeline: 'noop',
  partition,
  maxAttempts: 3,
  backoff,
  desiredAt,
});

export async function explainQueue(opts: ExplainOptions): Promise<string> {
  const scratch = await scratchPgSchema('sluice_explain');
  const store = new PostgresStore({ connectionString: PG_URL, schema: scratch.schema });
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await store.migrate();
    const far = new Date(Date.now() + 10 * 365 * 86_400_000);
    for (let i = 0; i < opts.depth; i += 10_000) {
      await store.enqueue(Array.from({ length: Math.min(10_000, opts.depth - i) }, (_, j) => spec({ depth: String(i + j) }, far)));
    }
    await store.enqueue(Array.from({ length: opts.warm + opts.ready }, (_, i) => spec({ n: String(i) })));
    for (let done = 0; done < opts.warm;) {
      const items = await store.claim({ workerId: 'warm', limit: Math.min(opts.batch, opts.warm - done), leaseMs: 60_000 });
      await store.complete(items.map((i) => ({ itemId: i.id, attemptId: i.attemptId, workerId: 'warm', result: null, outputTail: null })));
      done += items.length;
    }
    const sql = pgStatements(scratch.schema);
    await client.connect();
    // Statistics as autovacuum keeps them on a queue in steady state (see docs/performance.md
    // for what stale statistics on a fresh queue do to these plans).
    if (opts.analyze) await client.query(`ANALYZE ${sql.items}, ${sql.attempts}, ${sql.events}`);
    const explain = async (title: string, text: string, values: unknown[], begin = 'BEGIN') => {
      await client.query(begin);
      try {
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
        return `-- ${title}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`;
      } finally {
        await client.query('ROLLBACK');
      }
    };
    const out: string[] = [];
    out.push(await explain(`claim of ${opts.batch} (claimFast)`, sql.claimFast, [null, 'w', 60_000, opts.batch, opts.batch, null, []]));
    const items = await store.claim({ workerId: 'w', limit: opts.batch, leaseMs: 60_000 });
    out.push(
      await explain(`complete of ${items.length}`, sql.complete, [
        items.map((i) => i.id),
        items.map((i) => i.attemptId),
        items.map(() => 'w'),
        items.map(() => null),
        items.map(() => null),
      ]),
    );
    return out.join('\n');
  } finally {
    await client.end().catch(() => undefined);
    await store.close();
    await scratch.dispose();
  }
}
