/** One schema migration: applied once, in version order, inside the migration transaction. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
