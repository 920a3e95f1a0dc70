/**
 * `npm run bench -- <workload> [options] [--json]` — see shared/bench-protocol.md.
 * Figures are noisy on small machines: compare ratios measured in the same run.
 */
import { Command, Option } from 'commander';
import { benchBackfill } from './backfill.js';
import { benchCli } from './cli.js';
import { benchIngest } from './ingest.js';
import { benchGraphileWorker, benchPgBoss } from './peers.js';
import { LATEST_SYSTEMS, benchLatestPeer, latestHarness, type LatestSystem } from './peers-latest.js';
import { benchQueue } from './queue.js';
import { benchScheduler } from './scheduler.js';
import { explainQueue } from './explain.js';
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
  .option('--local-queue <n>', 'items the worker claims ahead of free slots (0 = only for free slots)', int, 500)
  .option('--json', 'one JSON object on stdout')
  .action(async (opts) => report(await benchQueue(opts), opts.json === true));

program
  .command('peers')
  .description('the same throughput and latency workloads on the peers, with sluice-postgres (and sluice-sqlite) as the in-run baseline')
  .option('--jobs <n>', 'items for the throughput run', int, 20_000)
  .option('--concurrency <n>', 'worker slots', int, 16)
  .option('--samples <n>', 'latency samples (pg-boss 10 polls, so each of its samples takes ~0.5 s)', int, 200)
  .option('--local-queue <n>', "Sluice's local queue (items claimed ahead of free slots)", int, 500)
  .option('--latest <dir>', 'also run the newest peers at their best settings from this installed harness (bench/peers-latest after `npm ci` there)')
  .option('--latest-systems <list>', `comma-separated subset of ${LATEST_SYSTEMS.join(',')}`, LATEST_SYSTEMS.join(','))
  .option('--no-devdeps', 'skip the in-process peers from devDependencies (graphile-worker 0.16 defaults, pg-boss 10)')
  .option('--json', 'one JSON array on stdout')
  .action(async (opts) => {
    const base = { jobs: opts.jobs, concurrency: opts.concurrency, samples: opts.samples };
    const latest = opts.latest
      ? String(opts.latestSystems)
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
          .map((x) => {
            if (!(LATEST_SYSTEMS as readonly string[]).includes(x))
              throw new Error(`--latest-systems: ${JSON.stringify(x)} must be one of ${LATEST_SYSTEMS.join(', ')}`);
            return x as LatestSystem;
          })
      : [];
    if (opts.latest) latestHarness(opts.latest); // fail before running anything
    const rows: Record<string, unknown>[] = [];
    rows.push(await benchQueue({ ...base, backend: 'postgres', depth: 0, localQueue: opts.localQueue }));
    rows.push(await benchQueue({ ...base, backend: 'sqlite', depth: 0, localQueue: opts.localQueue }));
    if (opts.devdeps !== false) {
      rows.push(await benchGraphileWorker(base));
      rows.push(await benchPgBoss({ ...base, samples: Math.min(base.samples, 40) }));
    }
    for (const system of latest) rows.push(await benchLatestPeer(opts.latest, system, base));
    const sluice = rows[0]!;
    // The best PostgreSQL-backed peer of this run is the bar (bench-protocol.md).
    const pgPeers = rows.filter((r) => !String(r.system).startsWith('sluice') && !String(r.system).startsWith('bullmq'));
    const best = pgPeers.reduce<Record<string, unknown> | null>((a, r) => (a && Number(a.processed_per_s) >= Number(r.processed_per_s) ? a : r), null);
    report(
      rows.map((r) => ({
        ...r,
        processed_vs_sluice_pg: round(Number(r.processed_per_s) / Number(sluice.processed_per_s), 2),
        enqueue_vs_sluice_pg: round(Number(r.enqueue_per_s) / Number(sluice.enqueue_per_s), 2),
        ...(best ? { processed_vs_best_pg_peer: round(Number(r.processed_per_s) / Number(best.processed_per_s), 2) } : {}),
      })),
      opts.json === true,
    );
  });

program
  .command('smoke')
  .description('every benchmark at a tiny size, for CI: checks they run and print the protocol fields (no timing is asserted)')
  .option('--json', 'one JSON array on stdout')
  .action(async (opts) => {
    const rows: Record<string, unknown>[] = [];
    for (const backend of ['sqlite', 'postgres'] as const) {
      rows.push(await benchQueue({ backend, jobs: 300, concurrency: 4, samples: 5, depth: 1_000, localQueue: 50 }));
      rows.push(await benchIngest({ backend, rows: 2_000 }));
      rows.push(await benchBackfill({ backend, partitions: 2_000 }));
      rows.push(await benchScheduler({ backend, schedules: 120, seconds: 2 }));
    }
    // Three samples of each command: a few seconds, and it checks the compiled CLI starts.
    rows.push(...(await benchCli({ runs: 3 })));
    const required: Record<string, string[]> = {
      queue: ['enqueue_per_s', 'processed_per_s', 'latency_ms_p50', 'latency_ms_p99', 'depth_ratio'],
    };
    for (const r of rows) {
      const fields = String(r.system).startsWith('sluice-') && 'latency_ms_p50' in r ? required.queue! : [];
      for (const f of fields) {
        if (!Number.isFinite(Number(r[f]))) throw new Error(`bench smoke: ${String(r.system)} printed ${f}=${JSON.stringify(r[f])}; must be a finite number`);
      }
    }
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
  .option('--in-flight <n>', "chunks written at once (default: runBackfill's, capped by the store)", int)
  .option('--json', 'one JSON object on stdout')
  .action(async (opts) => report(await benchBackfill(opts), opts.json === true));

program
  .command('scheduler')
  .description('S cron schedules on one scheduler, S/60 ticks due every second: lateness of each tick (target p99 <= 1 s at 10,000)')
  .addOption(new Option('--backend <backend>').choices(['sqlite', 'postgres']).default('sqlite'))
  .option('--schedules <n>', 'schedules, each once a minute at its own second', int, 10_000)
  .option('--seconds <n>', 'how long the scheduler runs', int, 65)
  .option('--json', 'one JSON object on stdout')
  .action(async (opts) => report(await benchScheduler(opts), opts.json === true));

program
  .command('explain')
  .description('EXPLAIN (ANALYZE, BUFFERS) of the PostgreSQL claim and complete statements at one batch size')
  .option('--batch <n>', 'items per claim / complete', int, 500)
  .option('--ready <n>', 'ready items left in the queue', int, 20_000)
  .option('--warm <n>', 'items claimed and completed first', int, 10_000)
  .option('--depth <n>', 'far-future PENDING items', int, 0)
  .option('--no-analyze', 'skip ANALYZE before explaining (statistics as on a fresh queue)')
  .action(async (opts) => {
    process.stdout.write(await explainQueue(opts));
  });

program
  .command('cli')
  .description("start-to-exit of the compiled CLI (sluice status --json, sluice --help) as a ratio to node -e '' in the same run")
  .option('--runs <n>', 'samples per command', int, 15)
  .option('--json', 'one JSON array on stdout')
  .action(async (opts) => report(await benchCli({ runs: opts.runs }), opts.json === true));

await program.parseAsync(process.argv);
