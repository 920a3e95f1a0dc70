import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { STARTER_FILES } from '../starter-project.js';

/** `sluice init [DIR]`: a starter project that runs as written (never overwrites a file). */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Write a starter project: sluice.config.ts with a TypeScript pipeline and a Python pipeline that lands rows after it')
    .argument('[dir]', 'folder to write into', '.')
    .action((dir: string) => {
      const root = path.resolve(dir);
      for (const name of Object.keys(STARTER_FILES)) {
        if (existsSync(path.join(root, name))) throw new ValidationError('dir', dir, `not already hold ${name} (sluice init never overwrites a file)`);
      }
      mkdirSync(root, { recursive: true });
      for (const [name, text] of Object.entries(STARTER_FILES)) {
        mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
        writeFileSync(path.join(root, name), text, { flag: 'wx' });
      }
      process.stdout.write(
        `wrote ${Object.keys(STARTER_FILES).join(', ')} in ${root}\nnext:\n  npx sluice enqueue app.prepare --partition date=2026-01-05\n  npx sluice worker --drain\n  npx sluice data app prices\n`,
      );
    });
}
