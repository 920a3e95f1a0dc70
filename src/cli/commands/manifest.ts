import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { printJson, printTable, withApp } from '../context.js';

export function registerManifest(program: Command): void {
  program
    .command('manifest')
    .description('Latest capture per (domain, partition, stage): row count, content hash, when; the answer to "is this ready?"')
    .option('--domain <domain>', 'only this domain, e.g. finra.otc_transparency')
    .option('--partition <key>', 'only this partition key, e.g. "tier=OTC|week_ending=2025-12-19"')
    .option('--stage <stage>', 'only this stage, e.g. ingest')
    .option('--dataset <name>', 'only this dataset')
    .option('--captures', 'list every capture (restatements included) instead of the latest per stage; needs --domain')
    .option('--json', 'print JSON')
    .action(async (opts, command: Command) => {
      await withApp(
        command,
        async (app) => {
          if (opts.captures) {
            if (!opts.domain) throw new ValidationError('--domain', undefined, 'be given with --captures');
            const captures = await app.data.listCaptures({ domain: opts.domain, partitionKey: opts.partition, stage: opts.stage, dataset: opts.dataset });
            if (opts.json) return printJson(captures);
            return printTable(
              captures.map((c) => ({
                capture_id: c.capture_id,
                stage: c.stage,
                status: c.status,
                rows: c.row_count,
                revision: c.is_revision ? JSON.stringify(c.revision_summary) : '',
                captured_at: c.captured_at.toISOString(),
                error: c.error,
              })),
              ['capture_id', 'stage', 'status', 'rows', 'revision', 'captured_at', 'error'],
            );
          }
          const entries = await app.data.manifest({ domain: opts.domain, partitionKey: opts.partition, stage: opts.stage, dataset: opts.dataset });
          if (opts.json) return printJson(entries);
          printTable(
            entries.map((e) => ({
              domain: e.domain,
              partition: e.partition_key,
              stage: e.stage,
              dataset: e.dataset,
              rows: e.row_count,
              capture_id: e.capture_id,
              updated_at: e.updated_at.toISOString(),
            })),
            ['domain', 'partition', 'stage', 'dataset', 'rows', 'capture_id', 'updated_at'],
          );
        },
        { logLevel: 'warn' },
      );
    });
}
