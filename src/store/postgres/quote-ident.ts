// Its own module so the operation families that only quote names (operations-store.ts,
// alerts.ts, which every SQLite command loads too) do not load the migration files.

/** Validated, quoted SQL identifier. Only lower-case names, so quoting never changes meaning. */
export function quoteIdent(name: string, what = 'identifier'): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || name.length > 63) {
    throw new Error(`invalid PostgreSQL ${what} ${JSON.stringify(name)}: use lower-case letters, digits and _ (at most 63, not starting with a digit)`);
  }
  return `"${name}"`;
}
