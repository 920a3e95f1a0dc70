/**
 * The crash matrix: real `sluice worker` processes SIGKILLed at each named point of an
 * item's life (SLUICE_CRASH_AT, src/core/crash-points.ts) and at random moments, over and
 * over, then a clean drain and a check of every invariant against the database.
 *
 * Used by `test/crash/crash-matrix.test.ts` (a few kills, both backends, in CI) and by
 * `npm run crash -- --kills 50` (scripts/crash-matrix.ts), which writes the figures.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRASH_POINTS, type CrashPoint } from '../../src/core/crash-points.js';
import { createDataStore } from '../../src/data/index.js';
import { enqueueWork } from '../../src/engine/enqueue.js';
import { PipelineRegistry } from '../../src/engine/registry.js';
import type { Attempt, WorkItem } from '../../src/core/work-item.js';
import { openScratchDatabase, type ScratchDatabase } from './database.js';
import { startSluice, type SluiceProcess } from '../helpers/process.js';
import { down, DOWN_SUM, ROWS, up, UP_ROWS, valueOf } from './pipelines.js';

const MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pipelines.ts');

export interface CrashMatrixOptions {
  backend: 'sqlite' | 'postgres';
  /** Kills to deliver before the final drain. */
  kills: number;
  /** Upstream items per batch (each brings one downstream); more batches come as they finish. */
  batch?: number;
  log?: (line: string) => void;
}

export interface CrashMatrixFigures {
  backend: 'sqlite' | 'postgres';
  kills: number;
  killsByPoint: Record<CrashPoint | 'random_timing', number>;
  items: number;
  attempts: number;
  lostAttempts: number;
  itemsNotComplete: number;
  completeWithoutCapture: number;
  halfCaptures: number;
  overlappingAttempts: number;
  unrecordedAttempts: number;
  promotionViolations: number;
  durationMs: number;
  violations: string[];
}

const registry = new PipelineRegistry().register(up).register(down);

export async function runCrashMatrix(opts: CrashMatrixOptions): Promise<CrashMatrixFigures> {
  const log = opts.log ?? (() => undefined);
  const batch = opts.batch ?? 8;
  const started = Date.now();
  const db = await openScratchDatabase(opts.backend);
  try {
    const config = db.writeConfig({
      modules: [MODULE],
      // Short leases so a killed worker's items come back within a second.
      workers: { concurrency: 3, lease: '1s', poll_interval: '50ms', shutdown_grace: '1s' },
    });
    let nextN = 1;
    const enqueueBatch = async () => {
      const reqs = Array.from({ length: batch }, () => ({ pipeline: 'crash.up', partition: { n: String(nextN++) } }));
      await enqueueWork(db.store, registry, reqs);
    };
    await enqueueBatch();

    const killsByPoint = Object.fromEntries([...CRASH_POINTS, 'random_timing'].map((p) => [p, 0])) as CrashMatrixFigures['killsByPoint'];
    let kills = 0;
    let round = 0;
    while (kills < opts.kills) {
      // Work for the armed worker to meet its point on: fresh items whenever few are left.
      if ((await db.store.countOutstanding()) < batch) await enqueueBatch();
      // Each round: one worker armed at a crash point (rotating; every third round with
      // probability 0.5, so it dies later in its life) starts first and has the queue to
      // itself; once it is up a second, unarmed worker joins (so re-claims race a live
      // worker) and is SIGKILLed from outside at a random moment.
      const point = CRASH_POINTS[round % CRASH_POINTS.length]!;
      const probability = round % 3 === 2 ? 0.5 : 1;
      round++;
      const armed = spawnWorker(config, `${point}:${probability}`);
      await armed.waitForStderr(/worker started/, 30_000).catch(() => undefined);
      const loose = spawnWorker(config, undefined);
      await loose.waitForStderr(/worker started/, 30_000).catch(() => undefined);
      const killAt = Date.now() + Math.random() * 1_500;
      const deadline = Date.now() + 6_000;
      let looseKilled = false;
      while (Date.now() < deadline && !(armed.hasExited && looseKilled)) {
        if (!looseKilled && Date.now() >= killAt) {
          loose.kill('SIGKILL');
          looseKilled = true;
        }
        await sleep(20);
      }
      if (!looseKilled) loose.kill('SIGKILL');
      const looseExit = await loose.waitExit(10_000);
      if (looseExit.signal === 'SIGKILL') {
        kills++;
        killsByPoint.random_timing++;
      }
      // An armed worker that never reached its point (nothing to promote this round) is
      // killed too: one more random-timing kill.
      armed.kill('SIGKILL');
      const armedExit = await armed.waitExit(10_000);
      const hit = /sluice-crash-point (\w+)/.exec(armedExit.stderr);
      if (armedExit.signal === 'SIGKILL') {
        kills++;
        if (hit) killsByPoint[hit[1] as CrashPoint]++;
        else killsByPoint.random_timing++;
      } else {
        throw new Error(`worker exited ${armedExit.code} instead of dying (round ${round})\n${armedExit.stderr.slice(-2000)}`);
      }
      log(`${opts.backend} round ${round}: kills ${kills} (${hit ? `point ${hit[1]}` : 'armed worker killed from outside'})`);
    }

    // Recovery: clean workers drain everything (leases of the dead expire meanwhile).
    const drains = [spawnWorker(config, undefined, ['--drain']), spawnWorker(config, undefined, ['--drain'])];
    const exits = await Promise.all(drains.map((d) => d.waitExit(120_000)));
    for (const e of exits) if (e.code !== 0) throw new Error(`drain worker exited ${e.code ?? e.signal}\n${e.stderr.slice(-3000)}`);

    const figures = await checkInvariants(db);
    return { ...figures, backend: opts.backend, kills, killsByPoint, durationMs: Date.now() - started };
  } finally {
    await db.dispose();
  }
}

function spawnWorker(config: string, crashAt: string | undefined, extra: string[] = []): SluiceProcess {
  // info: the harness waits for "worker started"; attempt lines are cheap at this size.
  return startSluice(['--config', config, 'worker', ...extra], { env: { SLUICE_CRASH_AT: crashAt, SLUICE_LOG_LEVEL: 'info' } });
}

type Invariants = Omit<CrashMatrixFigures, 'backend' | 'kills' | 'killsByPoint' | 'durationMs'>;

/** Every invariant of the issue, counted; `violations` names each offending item. */
export async function checkInvariants(db: ScratchDatabase): Promise<Invariants> {
  const { store } = db;
  const data = createDataStore(store);
  const violations: string[] = [];
  const items = await store.listItems({ limit: 1_000_000, order: 'oldest' });
  let attemptsTotal = 0;
  let lost = 0;
  let notComplete = 0;
  let withoutCapture = 0;
  let half = 0;
  let overlapping = 0;
  let unrecorded = 0;
  let promotion = 0;
  const byKey = new Map<string, WorkItem>(items.map((i) => [`${i.pipeline}|${i.partitionKey}`, i]));
  const completedAt = new Map<number, number>();
  const attemptsOf = new Map<number, Attempt[]>();

  for (const item of items) {
    const label = `${item.domain}.${item.pipeline} [${item.partitionKey}] #${item.id}`;
    const attempts = await store.listAttempts(item.id);
    attemptsOf.set(item.id, attempts);
    attemptsTotal += attempts.length;
    lost += attempts.filter((a) => a.status === 'lost').length;
    if (item.state !== 'COMPLETE') {
      notComplete++;
      violations.push(`${label}: ended ${item.state} (${item.lastError ?? 'no error'})`);
    }
    // Every attempt recorded: one closed row per claim, numbered 1..n, matching the counter.
    const numbers = attempts.map((a) => a.attemptNo).sort((a, b) => a - b);
    const open = attempts.filter((a) => a.status === 'running' || a.finishedAt === null);
    if (
      open.length ||
      numbers.some((n, i) => n !== i + 1) ||
      item.attempts !== attempts.length ||
      attempts.filter((a) => a.status === 'succeeded').length !== 1
    ) {
      unrecorded++;
      violations.push(`${label}: attempts ${attempts.map((a) => `#${a.attemptNo} ${a.status}`).join(', ')}; counter ${item.attempts}`);
    }
    // No two attempts at once: each closed before the next began.
    const sorted = [...attempts].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      if (prev.finishedAt === null || prev.finishedAt.getTime() > sorted[i]!.startedAt.getTime()) {
        overlapping++;
        violations.push(
          `${label}: attempt #${prev.attemptNo} (${prev.startedAt.toISOString()}..${prev.finishedAt?.toISOString()}) overlaps #${sorted[i]!.attemptNo} from ${sorted[i]!.startedAt.toISOString()}`,
        );
      }
    }
    const events = await store.listEvents(item.id);
    const done = events.find((e) => e.event === 'complete');
    if (done) completedAt.set(item.id, done.at.getTime());

    // Captures: a COMPLETE item has its capture; every landed capture is whole.
    const ds = item.pipeline === 'up' ? UP_ROWS : DOWN_SUM;
    const n = Number(item.partition.n);
    const captures = await data.listCaptures({ domain: 'crash', partitionKey: item.partitionKey, dataset: ds.name, status: 'landed' });
    if (item.state === 'COMPLETE' && captures.length !== 1) {
      withoutCapture++;
      violations.push(`${label}: COMPLETE with ${captures.length} landed captures`);
    }
    for (const c of captures) {
      const rows = await data.asOf(ds, { capture_id: c.capture_id }, { partition_key: item.partitionKey });
      const want = ds === UP_ROWS ? ROWS : 1;
      const valuesOk = ds === UP_ROWS ? rows.every((r) => r.v === valueOf(n, Number(r.i))) : rows.every((r) => r.rows_seen === ROWS);
      if (rows.length !== want || c.row_count !== want || !valuesOk) {
        half++;
        violations.push(`${label}: capture ${c.capture_id} has ${rows.length} rows (recorded ${c.row_count}, want ${want})`);
      }
    }
  }

  // Promotion: each downstream became PENDING exactly once, in the transaction that completed
  // its upstream (same instant), and was never claimed before that.
  for (const item of items.filter((i) => i.pipeline === 'down')) {
    const label = `crash.down [${item.partitionKey}] #${item.id}`;
    const upItem = byKey.get(`up|${item.partitionKey}`);
    const events = await store.listEvents(item.id);
    const promotions = events.filter((e) => e.event === 'upstream_ready');
    const upDone = upItem ? completedAt.get(upItem.id) : undefined;
    const firstClaim = (attemptsOf.get(item.id) ?? []).map((a) => a.startedAt.getTime()).sort((a, b) => a - b)[0];
    const at = promotions[0]?.at.getTime();
    const ok =
      upDone !== undefined &&
      promotions.length === 1 &&
      events[0]?.toState === 'WAITING' &&
      at !== undefined &&
      Math.abs(at - upDone) <= 1_000 &&
      at >= upDone - 5 &&
      (firstClaim === undefined || firstClaim >= upDone);
    if (!ok) {
      promotion++;
      violations.push(
        `${label}: promoted ${promotions.length}x at ${at}, upstream completed at ${upDone}, first claim ${firstClaim}; events ${events.map((e) => e.event).join(',')}`,
      );
    }
  }

  return {
    items: items.length,
    attempts: attemptsTotal,
    lostAttempts: lost,
    itemsNotComplete: notComplete,
    completeWithoutCapture: withoutCapture,
    halfCaptures: half,
    overlappingAttempts: overlapping,
    unrecordedAttempts: unrecorded,
    promotionViolations: promotion,
    violations,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
