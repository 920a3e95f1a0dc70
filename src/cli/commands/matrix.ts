import type { Command } from 'commander';
import { Option } from 'commander';
import { planMatrixBatch, type MatrixBatchRequest } from '../../domains/features/index.js';
import { runBatchCommand } from '../batch.js';

/** `sluice matrix`: the cross-source feature matrix for XNYS sessions, inline, after `sluice prices` and `sluice fred`. */
export function registerMatrix(program: Command): void {
  program
    .command('matrix')
    .alias('features')
    .description('Build the features.daily_matrix (prices × FRED) for XNYS sessions now, in this process, and export it; a date whose inputs have not landed is blocked (exit 1 if all are)')
    .option('--date <date>', 'one XNYS session (YYYY-MM-DD); default: the latest session that has closed')
    .option('--from <date>', 'first date of a range (with --to); every XNYS session in it')
    .option('--to <date>', 'last date of the range, inclusive')
    .option('--export-dir <dir>', 'where daily_matrix_<date>.parquet and .csv go (inside access.data_roots; default $SLUICE_FEATURES_EXPORT_DIR, else ./exports/features)')
    .addOption(new Option('--mode <mode>', 'run, or dry-run to only show what would run').choices(['run', 'dry-run']).default('run'))
    .option('--force', 'land the matrix again even when unchanged')
    .option('--fail-fast', 'stop at the first failed date')
    .option('--json', 'print the run result JSON')
    .action(async (opts, command: Command) => {
      const request: MatrixBatchRequest = {
        date: opts.date,
        from: opts.from,
        to: opts.to,
        exportDir: opts.exportDir,
        dryRun: opts.mode === 'dry-run',
        force: opts.force === true,
        failFast: opts.failFast === true,
      };
      await runBatchCommand(command, opts.json === true, (host) => planMatrixBatch(host, request));
    });
}
