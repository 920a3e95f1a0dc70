/**
 * `npm run soak -- [--minutes 30] [--rate 100] [--sample 10] [--backend sqlite|postgres] [--out FILE]`
 *
 * Steady load for a long time, watching for leaks: one process runs a worker (concurrency 8)
 * and an enqueuer adding `--rate` items a second (ops.noop and short ops.sleep), plus what
 * an operator's dashboard does (state counts, recent attempts) and the hourly chore (prune
 * finished items) once a minute. Every `--sample` seconds it records RSS, heap, event-loop
 * lag (p50/p99/max of the interval) and open handles, and at the end the first and last
 * thirds compared, so "flat" is a number. Writes the samples as JSON (default soak.json).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app/create-app.js';
import { parseConfigObject } from '../src/config/load-config.js';
import { enqueueWork } from '../src/engine/enqueue.js';
import { PG_URL } from '../test/crash/database.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '100' },
    sample: { type: 'string', default: '10' },
    backend: { type: 'string', default: 'sqlite' },
    out: { type: 'string', default: 'soak.json' },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const sampleS = Number(values.sample);
for (const [flag, v] of [
  ['--minutes', minutes],
  ['--rate', rate],
  ['--sample', sampleS],
] as const) {
  if (!(v > 0)) {
    console.error(`soak: ${flag} ${String(v)} is invalid: must be a positive number`);
    process.exit(64);
  }
}
if (values.backend !== 'sqlite' && values.backend !== 'postgres') {
  console.error(`soak: --backend ${values.backend} is invalid: must be sqlite or postgres`);
  process.exit(64);
}

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-soak-'));
const schema = `sluice_soak_${Date.now().toString(36)}`;
const database = values.backend === 'sqlite' ? `sqlite:${path.join(dir, 'soak.db')}` : `${PG_URL}?schema=${schema}`;
const app = await createApp({
  loaded: { config: parseConfigObject({ database, workers: { concurrency: 8, lease: '30s', poll_interval: '200ms' } }), file: null, baseDir: dir },
  logLevel: 'silent',
});
const worker = app.createWorker();
worker.start();

interface Sample {
  t_s: number;
  rss_mb: number;
  heap_mb: number;
  lag_p50_ms: number;
  lag_p99_ms: number;
  lag_max_ms: number;
  handles: number;
  enqueued: number;
  completed: number;
}
const samples: Sample[] = [];
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const started = Date.now();
let enqueued = 0;
let completed = 0;
let seq = 0;
worker.on('finish', (o: { status: string }) => {
  if (o.status === 'succeeded') completed++;
});

// The enqueuer: one batch every 100 ms keeps the rate steady without a burst per second.
const perTick = rate / 10;
let carry = 0;
const enqueueTimer = setInterval(() => {
  carry += perTick;
  const n = Math.floor(carry);
  carry -= n;
  if (n === 0) return;
  const reqs = Array.from({ length: n }, () => {
    const i = seq++;
    return i % 4 === 0 ? { pipeline: 'ops.sleep', partition: { n: String(i) }, params: { ms: 20 } } : { pipeline: 'ops.noop', partition: { n: String(i) } };
  });
  enqueueWork(app.store, app.registry, reqs).then(
    () => (enqueued += n),
    (err) => console.error('enqueue failed', err),
  );
}, 100);
const operatorTimer = setInterval(() => {
  void app.store.countByState();
  void app.store.listRecentAttempts({ limit: 50 });
}, 1_000);
const pruneTimer = setInterval(() => void app.store.pruneFinished(new Date(Date.now() - 60_000)), 60_000);

const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
const sampleTimer = setInterval(() => {
  const mem = process.memoryUsage();
  const s: Sample = {
    t_s: Math.round((Date.now() - started) / 1000),
    rss_mb: mb(mem.rss),
    heap_mb: mb(mem.heapUsed),
    lag_p50_ms: ms(lag.percentile(50)),
    lag_p99_ms: ms(lag.percentile(99)),
    lag_max_ms: ms(lag.max),
    handles: process.getActiveResourcesInfo().length,
    enqueued,
    completed,
  };
  lag.reset();
  samples.push(s);
  console.log(JSON.stringify(s));
}, sampleS * 1000);

await new Promise((r) => setTimeout(r, minutes * 60_000));
clearInterval(enqueueTimer);
clearInterval(operatorTimer);
clearInterval(pruneTimer);
clearInterval(sampleTimer);
await worker.stop(5_000);

const third = Math.max(1, Math.floor(samples.length / 3));
const avg = (xs: Sample[], k: keyof Sample) => xs.reduce((s, x) => s + (x[k] as number), 0) / xs.length;
const first = samples.slice(0, third);
const last = samples.slice(-third);
const summary = {
  minutes,
  rate_per_s: rate,
  backend: values.backend,
  samples: samples.length,
  completed,
  throughput_per_s: Math.round(completed / ((Date.now() - started) / 1000)),
  rss_mb_first_third: Math.round(avg(first, 'rss_mb') * 10) / 10,
  rss_mb_last_third: Math.round(avg(last, 'rss_mb') * 10) / 10,
  rss_ratio_last_to_first: Math.round((avg(last, 'rss_mb') / avg(first, 'rss_mb')) * 100) / 100,
  heap_ratio_last_to_first: Math.round((avg(last, 'heap_mb') / avg(first, 'heap_mb')) * 100) / 100,
  lag_p99_ms_first_third: Math.round(avg(first, 'lag_p99_ms') * 10) / 10,
  lag_p99_ms_last_third: Math.round(avg(last, 'lag_p99_ms') * 10) / 10,
  handles_first: samples[0]?.handles,
  handles_last: samples.at(-1)?.handles,
  handles_max: Math.max(...samples.map((s) => s.handles)),
};
console.log(JSON.stringify(summary));
writeFileSync(values.out!, JSON.stringify({ at: new Date().toISOString(), summary, samples }, null, 2) + '\n');
await app.close();
if (values.backend === 'postgres') {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
}
rmSync(dir, { recursive: true, force: true });
