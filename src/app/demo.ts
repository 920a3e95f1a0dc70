import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SluiceApp } from './create-app.js';
import { enqueueWork } from '../engine/enqueue.js';

/**
 * What `npm start` shows a newcomer on the bundled demo config, within a minute:
 * FINRA weeks flowing ingest -> normalize -> analytics through their dependencies, daily
 * prices and FRED buckets feeding a feature matrix that waits for all of them, a
 * source that fails twice and then succeeds (retries with back-off), one that keeps failing
 * (FAILED, with a retry button), and a vendor restatement of one week that lands as a new
 * capture and recomputes the analytics downstream.
 *
 * The demo works on a copy of the bundled fixtures under `.sluice-demo/`, because the
 * restatement overwrites files the way a vendor would.
 */
const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const WEEKS = ['2025-12-05', '2025-12-12', '2025-12-19'];
const TIERS = ['NMS_TIER_1', 'NMS_TIER_2', 'OTC'];
const RESTATED_WEEK = '2025-12-19';
/** Sessions and symbols the bundled price and FRED fixtures cover. */
const SESSIONS = ['2025-12-15', '2025-12-16', '2025-12-17', '2025-12-18', '2025-12-19', '2025-12-22', '2025-12-23'];
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];
const BUCKETS = ['fx', 'rates_curve', 'financial_conditions'];

export interface DemoHandle {
  stop(): void;
}

export async function seedDemo(app: SluiceApp, baseDir: string): Promise<DemoHandle> {
  const demoDir = path.join(baseDir, '.sluice-demo');
  const finraDir = path.join(demoDir, 'finra');
  mkdirSync(finraDir, { recursive: true });
  for (const file of readdirSync(path.join(FIXTURES, 'finra'))) {
    const from = path.join(FIXTURES, 'finra', file);
    if (file.endsWith('.csv') && !existsSync(path.join(finraDir, file))) copyFileSync(from, path.join(finraDir, file));
  }
  // Prices and FRED files are copied too: items may only name directories inside the data
  // roots (by default the config's directory), and the bundled fixtures may live elsewhere.
  const pricesDir = copyFixtures('prices', demoDir);
  const fredDir = copyFixtures('fred', demoDir);
  const source = { source: 'file', data_dir: finraDir };
  await enqueueWork(
    app.store,
    app.registry,
    WEEKS.flatMap((week_ending) => TIERS.map((tier) => ({ pipeline: 'finra.otc_transparency.ingest_week', partition: { week_ending, tier }, params: source }))),
  );
  // The daily feature matrix first: it waits (WAITING) until prices for every symbol and all
  // three FRED buckets of its session are in, then runs on its own.
  await enqueueWork(
    app.store,
    app.registry,
    SESSIONS.map((date) => ({ pipeline: 'features.daily_matrix', partition: { date }, params: { export_dir: path.join(demoDir, 'exports') } })),
  );
  await enqueueWork(app.store, app.registry, [
    ...SESSIONS.flatMap((date) =>
      SYMBOLS.map((symbol) => ({ pipeline: 'prices.daily_ohlcv', partition: { date, symbol }, params: { source: 'file', data_dir: pricesDir } })),
    ),
    ...SESSIONS.flatMap((date) =>
      BUCKETS.map((bucket) => ({ pipeline: 'fred.ingest_bucket', partition: { date, bucket }, params: { source: 'file', data_dir: fredDir } })),
    ),
  ]);
  await enqueueWork(app.store, app.registry, [
    { pipeline: 'ops.fail', partition: { demo: 'flaky_source' }, params: { times: 2, message: 'demo: vendor API timed out' }, baseDelay: '3s', maxAttempts: 4 },
    { pipeline: 'ops.fail', partition: { demo: 'broken_source' }, params: { message: 'demo: vendor file is missing' }, baseDelay: '2s', maxAttempts: 2 },
  ]);
  app.logger.info({ dir: demoDir }, 'demo: enqueued FINRA weeks, prices, FRED buckets, the feature matrix, a flaky source and a broken one');

  // Once the last week is in, the vendor restates it.
  const marker = path.join(demoDir, 'restated');
  let timer: NodeJS.Timeout | undefined;
  if (!existsSync(marker)) {
    const restate = async () => {
      const items = await Promise.all(
        TIERS.map((tier) => app.store.findItem('finra.otc_transparency', 'ingest_week', `tier=${tier}|week_ending=${RESTATED_WEEK}`)),
      );
      if (!items.every((i) => i?.state === 'COMPLETE')) return false;
      for (const file of readdirSync(path.join(FIXTURES, 'finra', 'restated')))
        copyFileSync(path.join(FIXTURES, 'finra', 'restated', file), path.join(finraDir, file));
      writeFileSync(marker, new Date().toISOString());
      for (const item of items) await app.store.rerun(item!.id, 'demo: vendor restated the file');
      app.logger.info({ week_ending: RESTATED_WEEK }, 'demo: vendor restated a week; re-ingesting');
      return true;
    };
    timer = setInterval(() => {
      restate()
        .then((done) => done && clearInterval(timer))
        .catch((err) => app.logger.warn({ err }, 'demo: restatement step failed'));
    }, 2_000);
    timer.unref();
  }
  return { stop: () => clearInterval(timer) };
}

/** Copies the bundled `fixtures/NAME/` files (not subdirectories) into `demoDir/NAME/`, keeping files already there. */
function copyFixtures(name: string, demoDir: string): string {
  const to = path.join(demoDir, name);
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(path.join(FIXTURES, name), { withFileTypes: true })) {
    if (entry.isFile() && !existsSync(path.join(to, entry.name))) copyFileSync(path.join(FIXTURES, name, entry.name), path.join(to, entry.name));
  }
  return to;
}
