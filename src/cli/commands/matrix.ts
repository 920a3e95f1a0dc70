import type { Command } from 'commander';
import { planMatrixBatch, type MatrixBatchRequest } from '../../domains/features/index.js';
import { addRunModeOptions, addSessionDateOptions, runModeOf, sessionDatesOf } from '../options.js';
import { runBatchCommand } from '../batch.js';

/** `sluice matrix`: the cross-source feature matrix for XNYS sessions, inline, after `sluice prices` and `sluice fred`. */
export function registerMatrix(program: Command): void {
  const cmd = program
    .command('matrix')
    .alias('features')
    .description(
      'Build the features.daily_matrix (prices × FRED) for XNYS sessions now, in this process, and export it; a date whose inputs have not landed is blocked (exit 1 if all are)',
    );
  addSessionDateOptions(cmd).option(
    '--export-dir <dir>',
    'where daily_matrix_<date>.parquet and .csv go (inside access.data_roots; default $SLUICE_FEATURES_EXPORT_DIR, else ./exports/features)',
  );
  addRunModeOptions(cmd, { force: 'land the matrix again even when unchanged', failFast: 'stop at the first failed date' });
  cmd.action(async (opts, command: Command) => {
    const request: MatrixBatchRequest = {
      ...sessionDatesOf(opts),
      exportDir: opts.exportDir,
      ...runModeOf(opts),
    };
    await runBatchCommand(command, opts.json === true, (host) => planMatrixBatch(host, request));
  });
}
