import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './support.js';

/**
 * Start-to-exit time of the installed CLI (package.json's bin, `dist/bundle/sluice.js`, what
 * `npx sluice` runs) for `sluice status --json` and `sluice --help`, against `node -e ''` measured in
 * the same run, interleaved so load on the machine hits all three alike. status runs in a
 * project folder holding the demo config (eight schedules, every built-in pipeline, so the
 * whole config is validated as on a real start) and its SQLite file, created once before
 * the samples. The figure to read is the ratio of medians (`vs_node`). `cpu_vs_node`, the
 * same ratio of CPU time (all threads, read by a one-line preload in every run, the baseline
 * too), moves less when other processes take the cores. Needs `npm run build` first.
 */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** What `npx sluice` runs once installed: package.json's bin (the bundled CLI). */
const BIN = path.join(REPO, (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { bin: { sluice: string } }).bin.sluice);

const PROBE = `process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').writeFileSync(process.env.SLUICE_BENCH_CPU, String((u.user + u.system) / 1000)); });\n`;

/** One run: wall ms from spawn to exit, and the CPU ms the process reported at exit. */
function timeOnce(args: string[], cwd: string): { wall: number; cpu: number } {
  const cpuFile = path.join(cwd, 'cpu.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-r', path.join(cwd, 'probe.cjs'), ...args], {
    cwd,
    stdio: 'ignore',
    env: { ...process.env, SLUICE_BENCH_CPU: cpuFile },
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}`);
  return { wall, cpu: Number(readFileSync(cpuFile, 'utf8')) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function benchCli(opts: { runs: number }): Promise<Record<string, unknown>[]> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-cli-'));
  copyFileSync(path.join(REPO, 'config', 'demo.config.json'), path.join(dir, 'sluice.config.json'));
  writeFileSync(path.join(dir, 'probe.cjs'), PROBE);
  const cases: [string, string[]][] = [
    ["node -e ''", ['-e', '']],
    ['sluice status --json', [BIN, 'status', '--json']],
    ['sluice --help', [BIN, '--help']],
  ];
  try {
    timeOnce(cases[1]![1], dir); // creates and migrates the database once, outside the figures
    const wall = cases.map(() => [] as number[]);
    const cpu = cases.map(() => [] as number[]);
    for (let i = 0; i < opts.runs; i++) {
      cases.forEach(([, args], c) => {
        const t = timeOnce(args, dir);
        wall[c]!.push(t.wall);
        cpu[c]!.push(t.cpu);
      });
    }
    const base = median(wall[0]!);
    const baseCpu = median(cpu[0]!);
    return cases.map(([name], c) => ({
      command: name,
      runs: opts.runs,
      median_ms: round(median(wall[c]!)),
      vs_node: round(median(wall[c]!) / base, 2),
      cpu_ms: round(median(cpu[c]!)),
      cpu_vs_node: round(median(cpu[c]!) / baseCpu, 2),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
