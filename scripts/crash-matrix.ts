/**
 * `npm run crash -- [--kills 50] [--backend sqlite|postgres|both] [--out FILE]`
 *
 * The full crash matrix (test/crash/harness.ts): workers SIGKILLed at every named point of
 * an item's life and at random moments until `--kills` per backend, then a clean drain and
 * every invariant checked. Prints one line per round and writes the figures as JSON (default
 * crash-matrix.json). Exit 1 if any invariant was violated.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCrashMatrix, type CrashMatrixFigures } from '../test/crash/harness.js';
import { pgReachable } from '../test/crash/database.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '50' },
    backend: { type: 'string', default: 'both' },
    batch: { type: 'string', default: '10' },
    out: { type: 'string', default: 'crash-matrix.json' },
  },
});
const kills = Number(values.kills);
if (!Number.isInteger(kills) || kills < 1) {
  console.error(`crash: --kills ${values.kills} is invalid: must be a positive integer`);
  process.exit(64);
}
const backends = values.backend === 'both' ? ['sqlite', 'postgres'] : [values.backend];
if (!backends.every((b) => b === 'sqlite' || b === 'postgres')) {
  console.error(`crash: --backend ${values.backend} is invalid: must be sqlite, postgres or both`);
  process.exit(64);
}
const results: CrashMatrixFigures[] = [];
for (const backend of backends as ('sqlite' | 'postgres')[]) {
  if (backend === 'postgres' && !(await pgReachable())) {
    console.error('crash: PostgreSQL is unreachable; skipping that backend');
    continue;
  }
  const f = await runCrashMatrix({ backend, kills, batch: Number(values.batch), log: (l) => console.log(l) });
  results.push(f);
  const { violations, ...figures } = f;
  console.log(JSON.stringify(figures));
  for (const v of violations) console.log(`VIOLATION ${v}`);
}
writeFileSync(values.out!, JSON.stringify({ at: new Date().toISOString(), results }, null, 2) + '\n');
console.log(`figures written to ${values.out}`);
process.exit(results.some((r) => r.violations.length > 0) ? 1 : 0);
