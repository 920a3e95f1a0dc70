import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './support.js';

/**
 * Start-to-exit time of the compiled CLI (`dist/cli/bin.js`, what `npx sluice` runs once
 * installed) for `sluice status --json` on a fresh SQLite file and `sluice --help`, against
 * `node -e ''` measured in the same run, interleaved so load on the machine hits all three
 * alike. The figure to read is the ratio of medians. Needs `npm run build` first.
 */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'dist', 'cli', 'bin.js');

function timeOnce(args: string[], cwd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function benchCli(opts: { runs: number }): Promise<Record<string, unknown>[]> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-cli-'));
  const db = `sqlite:${path.join(dir, 'bench.db')}`;
  const cases: [string, string[]][] = [
    ["node -e ''", ['-e', '']],
    ['sluice status --json', [BIN, '--db', db, 'status', '--json']],
    ['sluice --help', [BIN, '--help']],
  ];
  try {
    timeOnce(cases[1]![1], dir); // creates and migrates the database once, outside the figures
    const samples = cases.map(() => [] as number[]);
    for (let i = 0; i < opts.runs; i++) cases.forEach(([, args], c) => samples[c]!.push(timeOnce(args, dir)));
    const base = median(samples[0]!);
    return cases.map(([name], c) => ({ command: name, runs: opts.runs, median_ms: round(median(samples[c]!)), vs_node: round(median(samples[c]!) / base, 2) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
