/**
 * `npm run bench -- <workload> [options] [--json]` — see shared/bench-protocol.md.
 * Figures are noisy on small machines: compare ratios measured in the same run.
 */
import { Command, Option } from 'commander';
import { benchBackfill } from './backfill.js';
import { benchCli } from './cli.js';
import { benchIngest } from './ingest.js';
import { benchGraphileWorker, benchPgBoss } from './peers.js';
import { benchQueue } from './queue.js';
import { round } from './support.js';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
};

function report(result: unknown, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else console.table(Array.isArray(result) ? result : [result]);
}

const program = new Command('bench').description('Sluice benchmarks');

program
  .command('queue')
  .description('throughput, latency and (optionally) depth of the work queue')
  .addOption(new Option('--backend <backend>').choices(['sqlite', 'postgres']).default('sqlite'))
  .option('--jobs <n>', 'items for the throughput run', int, 20_000)
  .option('--concurrency <n>', 'worker slots', int, 16)
  .option('--samples <n>', 'latency samples', int, 200)
  .option('--depth <n>', 'far-future PENDING items for the depth run (0 = skip)', int, 0)
  .option('--json', 'one JSON object on stdout')
  .action(async (opts) => report(await benchQueue(opts), opts.json === true));

program
  .command('peers')
  .description('the same throughput and latency workloads on graphile-worker and pg-boss, with sluice-postgres as the in-run baseline')
  .option('--jobs <n>', 'items for the throughput run', int, 20_000)
  .option('--concurrency <n>', 'worker slots', int, 16)
  .option('--samples <n>', 'latency samples (pg-boss polls, so each sample takes ~0.5 s)', int, 200)
  .option('--json', 'one JSON array on stdout')
  .action(async (opts) => {
    const base = { jobs: opts.jobs, concurrency: opts.concurrency, samples: opts.samples };
    const sluice = await benchQueue({ ...base, backend: 'postgres', depth: 0 });
    const graphile = await benchGraphileWorker(base);
    const boss = await benchPgBoss({ ...base, samples: Math.min(base.samples, 40) });
    const rows = [sluice, graphile, boss].map((r) => ({
      ...r,
      processed_vs_sluice: round(Number(r.processed_per_s) / Number(sluice.processed_per_s), 2),
      enqueue_vs_sluice: round(Number(r.enqueue_per_s) / Number(sluice.enqueue_per_s), 2),
    }));
    report(rows, opts.json === true);
  });

program
  .command('ingest')
  .description('a generated FINRA file parsed, staged and MERGEd by land(), against a bare bulk load of the same rows')
  .addOption(new Option('--backend <backend>').choices(['sqlite', 'postgres']).default('sqlite'))
  .option('--rows <n>', 'rows in the file', int, 1_000_000)
  .option('--json', 'one JSON object on stdout')
  .action(async (opts) => report(await benchIngest(opts), opts.json === true));

program
  .command('backfill')
  .description('a P-partition backfill through runBackfill, the partition grid endpoint at that size, and the database size')
  .addOption(new Option('--backend <backend>').choices(['sqlite', 'postgres']).default('sqlite'))
  .option('--partitions <n>', 'partitions (ops.noop, n=1..P)', int, 1_000_000)
  .option('--json', 'one JSON object on stdout')
  .action(async (opts) => report(await benchBackfill(opts), opts.json === true));

program
  .command('cli')
  .description("start-to-exit of the compiled CLI (sluice status --json, sluice --help) as a ratio to node -e '' in the same run")
  .option('--runs <n>', 'samples per command', int, 15)
  .option('--json', 'one JSON array on stdout')
  .action(async (opts) => report(await benchCli({ runs: opts.runs }), opts.json === true));

await program.parseAsync(process.argv);
