/**
 * The operation families of this backend as one module: its namespace object is the table
 * `bindOperations` (../operations.ts) takes the store methods from, so a family added here is
 * checked against `Operations<Context>` where the store class binds it.
 */
export * from './enqueue.js';
export * from './claim.js';
export * from './leases.js';
export * from './complete.js';
export * from './fail.js';
export * from './commands.js';
export * from './queries.js';
export * from './grid.js';
export * from './dependencies.js';
export * from './maintenance.js';
export * from './schedules.js';
export * from './fire-ticks.js';
