import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import type { Dataset, DataRow } from '../../data/dataset.js';
import type { AsOfRef, Where } from '../../data/data-store.js';
import { FINRA_DATASETS, FINRA_DOMAIN } from '../../domains/finra/index.js';
import { findDataset } from '../../domains/published-datasets.js';
import { parseAsOf } from '../../data/as-of-ref.js';
import { collect, printJson, printTable, withApp } from '../context.js';

/** `key=value` pairs from repeated --where flags. */
export function parseWhere(pairs: readonly string[]): Where | undefined {
  if (pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ValidationError('--where', pair, 'be key=value, e.g. --where symbol=AAPL (repeat for several)');
    const key = pair.slice(0, eq).trim();
    if (key in out) throw new ValidationError('--where', pair, `name each key once (${key} appears twice)`);
    out[key] = pair.slice(eq + 1).trim();
  }
  return out;
}

export async function readDataset(
  app: { data: { latest(ds: Dataset, o?: { where?: Where }): Promise<DataRow[]>; asOf(ds: Dataset, ref: AsOfRef, where?: Where): Promise<DataRow[]> } },
  ds: Dataset,
  where: Where | undefined,
  asOf: AsOfRef | undefined,
): Promise<DataRow[]> {
  return asOf ? app.data.asOf(ds, asOf, where) : app.data.latest(ds, { where });
}

export function registerData(program: Command): void {
  program
    .command('data')
    .description('Print the rows of a published dataset (latest captures, or as of an instant or capture)')
    .argument('<domain>', `e.g. ${FINRA_DOMAIN}`)
    .argument('<dataset>', `e.g. hhi (${FINRA_DOMAIN}: ${Object.keys(FINRA_DATASETS).join(', ')})`)
    .option('--where <key=value>', 'filter on a column (or partition_key); repeat for several', collect, [])
    .option('--as-of <iso|capture_id>', 'rows as of an ISO-8601 instant, or of one capture')
    .option('--json', 'print the rows as a JSON array')
    .action(async (domain: string, name: string, opts, command: Command) => {
      const where = parseWhere(opts.where as string[]);
      const asOf = parseAsOf(opts.asOf as string | undefined);
      let ds: Dataset | undefined;
      const rows = await withApp(
        command,
        async (app) => {
          // Datasets a config's command pipelines declare come first, then the built-ins'.
          ds = app.datasets.find((d) => d.domain === domain && d.name === name) ?? findDataset(domain, name);
          return readDataset(app, ds, where, asOf);
        },
        { logLevel: 'warn' },
      );
      if (!ds) return;
      if (opts.json) printJson(rows);
      else printTable(rows as Record<string, unknown>[], [...ds.columns.map((c) => c.name), 'capture_id']);
    });
}
