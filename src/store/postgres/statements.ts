import { pgNames } from './sql-names.js';
import { enqueueSql } from './enqueue.js';
import { dependenciesSql } from './dependencies.js';
import { claimSql } from './claim.js';
import { leasesSql } from './leases.js';
import { completeSql } from './complete.js';
import { failSql } from './fail.js';
import { commandsSql } from './commands.js';
import { queriesSql } from './queries.js';
import { gridSql } from './grid.js';
import { maintenanceSql } from './maintenance.js';
import { schedulesSql } from './schedules.js';
import { fireTicksSql } from './fire-ticks.js';

/**
 * All SQL, built once per schema from the families (one module per operation family, each
 * with its statements next to the code that runs them). Exported so tests (and anyone
 * tuning the database) can EXPLAIN the exact statements the store runs.
 */
export function pgStatements(schema: string) {
  const n = pgNames(schema);
  return {
    items: n.items,
    attempts: n.attempts,
    events: n.events,
    ...enqueueSql(n),
    ...dependenciesSql(n),
    ...claimSql(n),
    ...leasesSql(n),
    ...completeSql(n),
    ...failSql(n),
    ...commandsSql(n),
    ...queriesSql(n),
    ...gridSql(n),
    ...maintenanceSql(n),
    ...schedulesSql(n),
    ...fireTicksSql(n),
  };
}

export type PgStatements = ReturnType<typeof pgStatements>;
/** A statement the store runs by name (the rest are table names or run unprepared). */
export type StatementName = Exclude<keyof PgStatements, 'items' | 'attempts' | 'events' | 'maintain' | 'refreshStatistics'>;
