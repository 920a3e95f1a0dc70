// Runs `sluice api` the way src/cli/main.ts will once it registers the command:
// `node bin/run-ts.js test/api/support/api-cli-entry.ts [--db URL] api [--port P]`.
import { Command } from 'commander';
import { registerApi } from '../../../src/cli/commands/api.js';
import { addGlobalOptions, reportError } from '../../../src/cli/context.js';

const program = addGlobalOptions(new Command('sluice'));
registerApi(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}
