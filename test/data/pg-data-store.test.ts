import { checkIdent, createDataStore } from '../../src/data/index.js';
import { createPgTestSchema, describeIfPg } from '../helpers/pg.js';
import { chunkedLandingConformance } from './conformance-chunked.js';
import { dataStoreConformance, type DataHarness } from './conformance.js';

describeIfPg('data layer on PostgreSQL', () => {
  const pgHarness = async (): Promise<DataHarness> => {
    const db = createPgTestSchema();
    const main = db.open();
    await main.migrate();
    return {
      backend: 'postgres',
      data: () => createDataStore(main),
      reopen: async () => createDataStore(db.open()),
      childLocation: () => ({ backend: 'postgres', url: db.connectionString, schema: db.schema }),
      async count(table, captureId) {
        const q = `SELECT count(*)::int AS n FROM "${db.schema}"."${checkIdent(table, 'table')}"${captureId === undefined ? '' : ` WHERE capture_seq = (SELECT seq FROM "${db.schema}".captures WHERE capture_id = $1)`}`;
        const { rows } = await db.query<{ n: number }>(q, captureId === undefined ? [] : [captureId]);
        return rows[0]!.n;
      },
      async exec(statement) {
        await db.query(statement((name) => `"${db.schema}"."${checkIdent(name, 'table')}"`));
      },
      close: () => db.drop(),
    };
  };
  dataStoreConformance('PostgreSQL (schema per file)', pgHarness);
  chunkedLandingConformance('PostgreSQL (schema per file)', pgHarness);
});
