import type { Database as DB } from 'better-sqlite3';
import { enqueueStatements } from './enqueue.js';
import { dependenciesStatements } from './dependencies.js';
import { claimStatements } from './claim.js';
import { leasesStatements } from './leases.js';
import { completeStatements } from './complete.js';
import { failStatements } from './fail.js';
import { commandsStatements } from './commands.js';
import { queriesStatements } from './queries.js';
import { fireTicksStatements } from './fire-ticks.js';
import { gridStatements } from './grid.js';

/**
 * Every prepared statement of the store, from the families (one module per operation
 * family, each with its statements next to the code that runs them). Prepared once, on
 * first use, after the migrations have created the tables.
 */
export function sqliteStatements(db: DB) {
  return {
    ...enqueueStatements(db),
    ...dependenciesStatements(db),
    ...claimStatements(db),
    ...leasesStatements(db),
    ...completeStatements(db),
    ...failStatements(db),
    ...commandsStatements(db),
    ...queriesStatements(db),
    ...fireTicksStatements(db),
    ...gridStatements(db),
  };
}

export type SqliteStatements = ReturnType<typeof sqliteStatements>;
