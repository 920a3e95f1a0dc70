import { z } from 'zod';
import { PG_MIGRATIONS } from '../../store/postgres/migrations.js';
import { SQLITE_MIGRATIONS } from '../../store/sqlite/schema.js';
import type { Store } from '../../store/store.js';
import type { ServerContext, ZodServer } from '../context.js';
import type { SluiceMetrics } from '../../metrics/metrics.js';

/** What a store can tell about its schema. Not (yet) part of the Store interface: both
 * stores have `schemaVersion()`; a store with `schemaStatus()` answers both numbers itself. */
interface SchemaIntrospection {
  schemaStatus?: () => Promise<{ current: number; latest: number }>;
  schemaVersion?: () => Promise<number>;
}

export type MigrationCheck = { status: 'current' | 'behind' | 'ahead'; current: number; latest: number } | { status: 'unchecked'; reason: string };

export async function checkMigrations(store: Store): Promise<MigrationCheck> {
  const s = store as Store & SchemaIntrospection;
  if (typeof s.schemaStatus === 'function') return classify(await s.schemaStatus());
  if (typeof s.schemaVersion === 'function') {
    const migrations = store.backend === 'sqlite' ? SQLITE_MIGRATIONS : PG_MIGRATIONS;
    const latest = Math.max(0, ...migrations.map((m) => m.version));
    return classify({ current: await s.schemaVersion(), latest });
  }
  return { status: 'unchecked', reason: `the ${store.backend} store does not report its schema version` };
}

function classify({ current, latest }: { current: number; latest: number }): MigrationCheck {
  return { status: current === latest ? 'current' : current < latest ? 'behind' : 'ahead', current, latest };
}

export function registerHealthRoutes(server: ZodServer, { app, worker, scheduler }: ServerContext, metrics: SluiceMetrics): void {
  server.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers (no auth)',
        response: {
          200: z.object({
            status: z.literal('ok'),
            worker: z.object({ id: z.string(), running: z.number().int() }).nullable(),
            scheduler_attached: z.boolean(),
          }),
        },
      },
    },
    async () => ({
      status: 'ok' as const,
      worker: worker ? { id: worker.workerId, running: worker.runningCount } : null,
      scheduler_attached: scheduler !== undefined,
    }),
  );

  const readySchema = z.object({
    status: z.enum(['ready', 'unavailable']),
    database: z.string(),
    reachable: z.boolean(),
    migrations: z.record(z.string(), z.union([z.string(), z.number()])).nullable(),
    error: z.string().optional(),
  });

  server.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: the database answers AND its schema migrations are current (no auth)',
        description: '503 when the database cannot be reached or its schema is behind (or ahead of) this version of Sluice.',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_req, reply) => {
      const database = app.store.backend;
      try {
        await app.store.countItems({ limit: 1 });
      } catch (err) {
        return reply.code(503).send({
          status: 'unavailable',
          database,
          reachable: false,
          migrations: null,
          error: `database unreachable: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
      let migrations: MigrationCheck;
      try {
        migrations = await checkMigrations(app.store);
      } catch (err) {
        return reply.code(503).send({
          status: 'unavailable',
          database,
          reachable: true,
          migrations: null,
          error: `cannot read the schema version: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
      if (migrations.status === 'behind' || migrations.status === 'ahead') {
        const error =
          migrations.status === 'behind'
            ? `database schema is at migration ${migrations.current} but this version needs ${migrations.latest}: run any sluice command against it (it migrates on open)`
            : `database schema is at migration ${migrations.current}, newer than this version knows (${migrations.latest}): upgrade sluice`;
        return reply.code(503).send({ status: 'unavailable', database, reachable: true, migrations, error });
      }
      return { status: 'ready' as const, database, reachable: true, migrations };
    },
  );

  server.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics, text exposition format (no auth)' } }, async (_req, reply) => {
    const body = await metrics.render();
    return reply.type(metrics.contentType).send(body);
  });
}
