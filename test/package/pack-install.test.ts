import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Sluice as a team gets it: `npm pack` of this repository, the tarball installed into a
 * fresh project outside it, a `sluice.config.ts` importing from 'sluice' with a TypeScript
 * pipeline and a Python command pipeline that depends on it and lands rows, all run through
 * the installed `npx sluice`.
 *
 * Install: `npm install TARBALL --ignore-scripts` fetches the dependencies (from npm's
 * cache when it has them); better-sqlite3's native addon is then copied from this
 * repository's own install instead of compiled again (minutes on a small machine). Nothing
 * of Sluice itself comes from the repository: the CLI and the 'sluice' import are the
 * tarball's compiled dist/.
 */
// npm pack/install take minutes here: run them without blocking the test worker's event
// loop (a blocked worker misses vitest's RPC deadline and the run reports an error).
const run = (cmd: string, args: string[], cwd: string) => promisify(execFile)(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 });

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let work: string;
let project: string;

/** Runs the installed `npx sluice` without blocking the worker (a spawnSync per call kept
 * it from answering vitest's RPC, and the run ended with an unhandled "Timeout calling
 * onTaskUpdate" error although every test passed). */
async function sluice(args: string[], env: Record<string, string> = {}) {
  const { SLUICE_DATABASE_URL: _ignored, ...inherited } = process.env;
  try {
    const r = await promisify(execFile)('npx', ['--no-install', 'sluice', ...args], {
      cwd: project,
      encoding: 'utf8',
      env: { ...inherited, ...env },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : null, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}
async function json(args: string[], env: Record<string, string> = {}) {
  const r = await sluice([...args, '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const CONFIG = `import { appendFileSync } from 'node:fs';
import { defineConfig, definePipeline, type HandlerContext } from 'sluice';

const prepare = definePipeline({
  domain: 'app',
  name: 'prepare',
  handler: async (ctx: HandlerContext) => {
    appendFileSync('order.log', \`prepare \${ctx.partition.date}\\n\`);
    return { prepared: ctx.partition.date };
  },
});

export default defineConfig({
  database: 'sqlite:./app.db',
  workers: { poll_interval: '100ms' },
  pipelines: [
    prepare,
    {
      domain: 'app',
      name: 'collect',
      command: ['python3', 'collect.py', '{date}'],
      partition: { date: 'date' },
      depends_on: [{ pipeline: 'app.prepare', auto: true }],
      output: {
        dataset: 'prices',
        format: 'ndjson',
        columns: { date: 'date', symbol: 'text', close: { type: 'real', required: true } },
        primary_key: ['date', 'symbol'],
        checks: { min_rows: 1 },
      },
    },
  ],
});
`;

const COLLECT = `import json, os, sys
day = sys.argv[1]
assert json.loads(os.environ["SLUICE_PARTITION"]) == {"date": day}
assert os.environ["SLUICE_PARTITION_DATE"] == day
scale = float(os.environ.get("SCALE", "1"))
with open("order.log", "a") as log:
    log.write("collect " + day + "\\n")
with open(os.environ["SLUICE_OUTPUT"], "w") as out:
    for symbol, close in [("AAPL", 190.5), ("MSFT", 410.25)]:
        out.write(json.dumps({"date": day, "symbol": symbol, "close": close * scale}) + "\\n")
`;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'sluice-pack-'));
  project = path.join(work, 'consumer');
  await run('npm', ['pack', '--pack-destination', work], REPO);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  await run('npm', ['install', path.join(work, tarball), '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], project);
  cpSync(path.join(REPO, 'node_modules/better-sqlite3/build'), path.join(project, 'node_modules/better-sqlite3/build'), { recursive: true });
  writeFileSync(path.join(project, 'sluice.config.ts'), CONFIG);
  writeFileSync(path.join(project, 'collect.py'), COLLECT);
}, 600_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package in a fresh project', () => {
  it('ships compiled JavaScript and types, no TypeScript sources', () => {
    const pkg = path.join(project, 'node_modules/sluice');
    expect(existsSync(path.join(pkg, 'dist/bundle/sluice.js'))).toBe(true);
    expect(existsSync(path.join(pkg, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(path.join(pkg, 'src'))).toBe(false);
  });

  it(
    'runs a TS pipeline, then the Python pipeline that waits for it, lands its rows, skips unchanged output and lands a change as a revision',
    { timeout: 300_000 },
    async () => {
      expect((await json(['enqueue', 'app.prepare', '--partition', 'date=2026-01-05']))[0].state).toBe('PENDING');
      const items = (await json(['work', 'list'])) as { pipeline: string; state: string }[];
      expect(items.find((i) => i.pipeline === 'collect')?.state).toBe('WAITING');

      const drain = await sluice(['worker', '--drain', '--log-level', 'warn']);
      expect(drain.code, drain.stderr).toBe(0);
      expect(readFileSync(path.join(project, 'order.log'), 'utf8')).toBe('prepare 2026-01-05\ncollect 2026-01-05\n');
      expect(((await json(['work', 'list'])) as { state: string }[]).map((i) => i.state)).toEqual(['COMPLETE', 'COMPLETE']);

      const rows = (await json(['data', 'app', 'prices'])) as { symbol: string; close: number; capture_id: string }[];
      expect(rows.map((r) => [r.symbol, r.close])).toEqual([
        ['AAPL', 190.5],
        ['MSFT', 410.25],
      ]);

      const again = await json(['run', 'app.collect', '--partition', 'date=2026-01-05', '--force']);
      expect(again.runs[0]).toMatchObject({ status: 'skipped', is_revision: false, capture_id: rows[0]!.capture_id });
      expect(again.runs[0].reason).toMatch(/unchanged/);

      const changed = await json(['run', 'app.collect', '--partition', 'date=2026-01-05', '--force'], { SCALE: '2' });
      expect(changed.runs[0]).toMatchObject({ status: 'completed', is_revision: true, row_count: 2 });
      expect(changed.runs[0].capture_id).not.toBe(rows[0]!.capture_id);
      const revised = (await json(['data', 'app', 'prices'])) as { symbol: string; close: number }[];
      expect(revised.map((r) => [r.symbol, r.close])).toEqual([
        ['AAPL', 381],
        ['MSFT', 820.5],
      ]);
    },
  );
});
