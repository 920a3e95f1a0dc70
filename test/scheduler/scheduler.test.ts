import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type SluiceApp } from '../../src/app/create-app.js';
import { parseConfigObject } from '../../src/config/load-config.js';
import type { SluiceConfigInput } from '../../src/config/schema.js';
import { z } from 'zod';
import { PermanentError, ValidationError } from '../../src/core/errors.js';
import { definePipeline, type PipelineDefinition } from '../../src/core/pipeline.js';

const dirs: string[] = [];
const apps: SluiceApp[] = [];

async function appWith(
  schedules: SluiceConfigInput['schedules'],
  extra: Partial<SluiceConfigInput> = {},
  pipelines: PipelineDefinition[] = [],
): Promise<SluiceApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-sched-'));
  dirs.push(dir);
  const config = parseConfigObject({ database: `sqlite:${path.join(dir, 'q.db')}`, log_level: 'silent', schedules, ...extra });
  const app = await createApp({ loaded: { config, file: null, baseDir: dir }, logLevel: 'silent', pipelines });
  apps.push(app);
  return app;
}

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const at = (iso: string) => new Date(iso);
const ticksOf = async (app: SluiceApp, name: string) =>
  (await app.store.listTicks(name, 1000)).reverse().map((t) => ({ at: t.scheduledAt.toISOString(), outcome: t.outcome, items: t.itemIds.length }));

describe('scheduler: ticks, misfires, catch-up, coalesce', () => {
  it('fires a tick once, with its partitions, and records it', async () => {
    const app = await appWith([
      { name: 'hourly', pipeline: 'ops.noop', cron: '0 * * * *', timezone: 'UTC', partitions: { date: 'tick', symbols: ['AAPL', 'MSFT'] } },
    ]);
    const s = app.createScheduler();
    await s.evaluate(at('2026-01-05T10:00:00.000Z'));
    await s.evaluate(at('2026-01-05T10:00:00.500Z')); // same tick again: nothing new
    expect(await ticksOf(app, 'hourly')).toEqual([{ at: '2026-01-05T10:00:00.000Z', outcome: 'fired', items: 2 }]);
    const items = await app.store.listItems({ order: 'oldest' });
    expect(items.map((i) => i.partitionKey)).toEqual(['date=2026-01-05|symbol=AAPL', 'date=2026-01-05|symbol=MSFT']);
  });

  it('down for 3 hours with coalesce and catch-up: fires the latest tick once, the others coalesced', async () => {
    const app = await appWith([{ name: 'h', pipeline: 'ops.noop', cron: '0 * * * *', timezone: 'UTC', coalesce: true, catchup: '6h', overlap: 'allow' }]);
    const s = app.createScheduler();
    await s.evaluate(at('2026-01-05T10:00:00Z'));
    // "Restart" three hours and a bit later with a new scheduler instance.
    await app.createScheduler().evaluate(at('2026-01-05T13:20:00Z'));
    expect(await ticksOf(app, 'h')).toEqual([
      { at: '2026-01-05T10:00:00.000Z', outcome: 'fired', items: 1 },
      { at: '2026-01-05T11:00:00.000Z', outcome: 'coalesced', items: 0 },
      { at: '2026-01-05T12:00:00.000Z', outcome: 'coalesced', items: 0 },
      { at: '2026-01-05T13:00:00.000Z', outcome: 'fired', items: 1 },
    ]);
    expect(await app.store.countItems()).toBe(2);
  });

  it('down for 3 hours without coalesce: catch-up fires every tick inside the window, older ones are missed', async () => {
    const app = await appWith([{ name: 'h', pipeline: 'ops.noop', cron: '0 * * * *', timezone: 'UTC', coalesce: false, catchup: '90m', overlap: 'allow' }]);
    await app.createScheduler().evaluate(at('2026-01-05T10:00:00Z'));
    await app.createScheduler().evaluate(at('2026-01-05T13:20:00Z'));
    const ticks = await ticksOf(app, 'h');
    expect(ticks.map((t) => t.outcome)).toEqual(['fired', 'missed', 'fired', 'fired']);
    expect(ticks[1]!.at).toBe('2026-01-05T11:00:00.000Z');
    const missed = (await app.store.listTicks('h', 10)).find((t) => t.outcome === 'missed');
    expect(missed?.detail).toMatch(/late: beyond misfire_grace and catchup/);
  });

  it('without catch-up, ticks missed while down are recorded as missed, not fired', async () => {
    const app = await appWith([{ name: 'h', pipeline: 'ops.noop', cron: '0 * * * *', timezone: 'UTC', misfire_grace: '5m', overlap: 'allow' }]);
    await app.createScheduler().evaluate(at('2026-01-05T10:00:00Z'));
    await app.createScheduler().evaluate(at('2026-01-05T13:20:00Z'));
    expect((await ticksOf(app, 'h')).map((t) => t.outcome)).toEqual(['fired', 'missed', 'missed', 'missed']);
    // A tick a little late but within misfire_grace still fires.
    await app.createScheduler().evaluate(at('2026-01-05T14:04:00Z'));
    expect((await ticksOf(app, 'h')).at(-1)).toEqual({ at: '2026-01-05T14:00:00.000Z', outcome: 'fired', items: 1 });
  });

  it('max_instances with overlap skip: a tick is skipped while the previous one is unfinished', async () => {
    const app = await appWith([{ name: 'm', pipeline: 'ops.noop', cron: '* * * * *', timezone: 'UTC', max_instances: 1, overlap: 'skip' }]);
    const s = app.createScheduler();
    await s.evaluate(at('2026-01-05T10:00:00Z'));
    await s.evaluate(at('2026-01-05T10:01:00Z')); // first item still PENDING
    expect((await ticksOf(app, 'm')).map((t) => t.outcome)).toEqual(['fired', 'skipped_overlap']);
    // Finish the first item: the next tick fires.
    await app.createWorker({ concurrency: 1, pollMs: 20 }).drain();
    await s.evaluate(at('2026-01-05T10:02:00Z'));
    expect((await ticksOf(app, 'm')).map((t) => t.outcome)).toEqual(['fired', 'skipped_overlap', 'fired']);
  });

  it('catch-up ticks of one pass see each other: the second is skipped while the first tick is unfinished', async () => {
    // One pass records its due ticks in one batch; the overlap check must still see the
    // catch-up tick fired just before it in the same pass.
    const app = await appWith([
      { name: 'h', pipeline: 'ops.noop', cron: '0 * * * *', timezone: 'UTC', coalesce: false, catchup: '3h', max_instances: 1, overlap: 'skip' },
      { name: 'other', pipeline: 'ops.noop', cron: '0 * * * *', timezone: 'UTC', coalesce: false, catchup: '3h', overlap: 'allow' },
    ]);
    await app.createScheduler().evaluate(at('2026-01-05T10:00:00Z'));
    await app.createWorker({ concurrency: 1, pollMs: 20 }).drain();
    await app.createScheduler().evaluate(at('2026-01-05T12:30:00Z'));
    expect((await ticksOf(app, 'h')).map((t) => [t.at.slice(11, 16), t.outcome])).toEqual([
      ['10:00', 'fired'],
      ['11:00', 'fired'],
      ['12:00', 'skipped_overlap'],
    ]);
    expect((await ticksOf(app, 'other')).map((t) => t.outcome)).toEqual(['fired', 'fired', 'fired']);
  });

  it('overlap allow fires regardless; buffer_one keeps one queued behind a running tick', async () => {
    const app = await appWith([
      { name: 'a', pipeline: 'ops.noop', cron: '* * * * *', timezone: 'UTC', overlap: 'allow' },
      { name: 'b', pipeline: 'ops.sleep', cron: '* * * * *', timezone: 'UTC', overlap: 'buffer_one', params: { ms: 0 } },
    ]);
    const s = app.createScheduler();
    for (const m of ['00', '01', '02']) await s.evaluate(at(`2026-01-05T10:${m}:00Z`));
    expect((await ticksOf(app, 'a')).map((t) => t.outcome)).toEqual(['fired', 'fired', 'fired']);
    // b: tick 1 fired and still queued -> tick 2 cannot buffer behind a queued tick.
    expect((await ticksOf(app, 'b')).map((t) => t.outcome)).toEqual(['fired', 'skipped_overlap', 'skipped_overlap']);
    // Once the first is RUNNING (claimed, not finished), one more may queue behind it.
    const [claimed] = await app.store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000, pipelines: ['ops.sleep'] });
    expect(claimed).toBeDefined();
    await s.evaluate(at('2026-01-05T10:03:00Z'));
    await s.evaluate(at('2026-01-05T10:04:00Z'));
    expect((await ticksOf(app, 'b')).slice(-2).map((t) => t.outcome)).toEqual(['fired', 'skipped_overlap']);
  });

  it('fires a trading-day cron only on XNYS sessions across Thanksgiving week', async () => {
    const app = await appWith([
      {
        name: 'eod',
        pipeline: 'ops.noop',
        cron: '0 17 * * 1-5',
        timezone: 'America/New_York',
        calendar: 'XNYS',
        catchup: true,
        coalesce: false,
        overlap: 'allow',
        partitions: { date: 'session' },
      },
    ]);
    const s = app.createScheduler();
    await s.evaluate(at('2025-11-21T22:00:00Z')); // Fri 17:00 ET
    await s.evaluate(at('2025-11-29T12:00:00Z'));
    const fired = (await ticksOf(app, 'eod')).filter((t) => t.outcome === 'fired').map((t) => t.at.slice(0, 10));
    expect(fired).toEqual(['2025-11-21', '2025-11-24', '2025-11-25', '2025-11-26', '2025-11-28']);
    const items = await app.store.listItems({ order: 'oldest' });
    expect(items.map((i) => i.partition.date)).toEqual(['2025-11-21', '2025-11-24', '2025-11-25', '2025-11-26', '2025-11-28']);
  });

  it('market-time schedule: close+15m follows the early close and partitions by session date', async () => {
    const app = await appWith([
      {
        name: 'px',
        pipeline: 'ops.noop',
        calendar: 'XNYS',
        at: 'close+15m',
        catchup: true,
        coalesce: false,
        overlap: 'allow',
        partitions: { symbols: ['AAPL'] },
      },
    ]);
    const s = app.createScheduler();
    await s.evaluate(at('2025-11-26T21:15:00Z')); // Wed 16:15 ET
    await s.evaluate(at('2025-11-29T00:00:00Z'));
    const ticks = await ticksOf(app, 'px');
    // Thursday is a holiday; Friday closes at 13:00, so its tick is 13:15 ET.
    expect(ticks.map((t) => t.at)).toEqual(['2025-11-26T21:15:00.000Z', '2025-11-28T18:15:00.000Z']);
    expect((await app.store.listItems({ order: 'oldest' })).map((i) => i.partitionKey)).toEqual(['date=2025-11-26|symbol=AAPL', 'date=2025-11-28|symbol=AAPL']);
  });

  it('lookback_weeks x tiers enqueues every week and tier; an oversized lookback is clamped with a warning', async () => {
    const app = await appWith([
      {
        name: 'finra',
        pipeline: 'ops.noop',
        cron: '30 10 * * 1',
        timezone: 'America/New_York',
        partitions: { lookback_weeks: 2, tier: ['NMS_TIER_1', 'OTC'] },
      },
      { name: 'big', pipeline: 'ops.noop', cron: '30 11 * * 1', timezone: 'America/New_York', partitions: { lookback_weeks: 20 } },
    ]);
    const s = app.createScheduler();
    await s.evaluate(at('2026-01-05T15:30:00Z')); // Monday 10:30 ET
    const keys = (await app.store.listItems({ order: 'oldest' })).map((i) => i.partitionKey);
    expect(keys).toEqual([
      'tier=NMS_TIER_1|week_ending=2025-12-26',
      'tier=OTC|week_ending=2025-12-26',
      'tier=NMS_TIER_1|week_ending=2026-01-02',
      'tier=OTC|week_ending=2026-01-02',
    ]);
    await s.evaluate(at('2026-01-05T16:30:00Z'));
    const [tick] = await app.store.listTicks('big', 1);
    expect(tick!.itemIds).toHaveLength(12);
    expect(tick!.detail).toMatch(/20 weeks is over the maximum of 12; clamped to 12/);
  });

  it('manual trigger fires now without moving the cron cursor', async () => {
    const app = await appWith([{ name: 'h', pipeline: 'ops.noop', cron: '0 * * * *', timezone: 'UTC' }]);
    const s = app.createScheduler();
    const { enqueued } = await s.trigger('h');
    expect(enqueued).toBe(1);
    expect(await app.store.lastTickAt('h')).toBeNull();
    await expect(s.trigger('nope')).rejects.toThrow(/schedule "nope" not found \(known: h\)/);
  });

  it('a tick on an upstream brings its auto downstream (WAITING), and a failed upstream does not stall the schedule', async () => {
    const ingest = definePipeline({
      domain: 'test.sched',
      name: 'ingest',
      partition: z.object({ tick: z.string() }),
      params: z.object({}),
      retry: { maxAttempts: 1 },
      handler: () => {
        throw new PermanentError('vendor file missing');
      },
    });
    const compute = definePipeline({
      domain: 'test.sched',
      name: 'compute',
      partition: z.object({ tick: z.string() }),
      params: z.object({}),
      dependsOn: [{ pipeline: 'test.sched.ingest', auto: true }],
      handler: () => undefined,
    });
    const app = await appWith([{ name: 'chain', pipeline: 'test.sched.ingest', cron: '0 * * * *', timezone: 'UTC', max_instances: 1, overlap: 'skip' }], {}, [
      ingest,
      compute,
    ]);
    const s = app.createScheduler();
    await s.evaluate(at('2026-01-05T10:00:00Z'));
    const [tick] = await app.store.listTicks('chain', 1);
    expect(tick!.itemIds).toHaveLength(2);
    const down = (await app.store.findItem('test.sched', 'compute', 'tick=2026-01-05T10:00:00.000Z'))!;
    expect(down.state).toBe('WAITING');
    // The ingest fails for good; its compute can never run. The next tick must still fire.
    expect((await app.createWorker({ concurrency: 1, pollMs: 20 }).drain()).failed).toBe(1);
    await s.evaluate(at('2026-01-05T11:00:00Z'));
    expect((await ticksOf(app, 'chain')).map((t) => t.outcome)).toEqual(['fired', 'fired']);
  });

  it('a disabled schedule never fires', async () => {
    const app = await appWith([{ name: 'off', pipeline: 'ops.noop', cron: '* * * * *', timezone: 'UTC', enabled: false }]);
    await app.createScheduler().evaluate(at('2026-01-05T10:00:00Z'));
    expect(await ticksOf(app, 'off')).toEqual([]);
  });
});

describe('scheduler config: bad input names the schedule and the field', () => {
  const cases: [string, SluiceConfigInput['schedules'], RegExp][] = [
    ['invalid cron', [{ name: 'x', pipeline: 'ops.noop', cron: '61 * * * *' }], /schedules\[0\] \(x\)\.cron: "61 \* \* \* \*" is invalid: .*minute/],
    [
      'unknown time zone',
      [{ name: 'x', pipeline: 'ops.noop', cron: '0 * * * *', timezone: 'Mars/Olympus' }],
      /schedules\[0\]\.timezone: "Mars\/Olympus" is invalid: must be an IANA time zone/,
    ],
    [
      'unknown calendar',
      [{ name: 'x', pipeline: 'ops.noop', cron: '0 * * * *', calendar: 'XMARS' }],
      /schedules\[0\] \(x\)\.calendar: "XMARS" is invalid: .*XNYS/,
    ],
    [
      'unparsable at',
      [{ name: 'x', pipeline: 'ops.noop', calendar: 'XNYS', at: 'lunch+5m' }],
      /schedules\[0\] \(x\)\.at: "lunch\+5m" is invalid: must be open or close/,
    ],
    [
      'at without calendar',
      [{ name: 'x', pipeline: 'ops.noop', at: 'close+15m' }],
      /schedules\[0\] \(x\)\.calendar: missing value is invalid: must be given when "at" is used/,
    ],
    [
      'unknown pipeline',
      [{ name: 'x', pipeline: 'ops.nope', cron: '0 * * * *' }],
      /schedules\[0\] \(x\)\.pipeline: "ops\.nope" is invalid: must name a registered pipeline/,
    ],
    [
      'duplicate names',
      [
        { name: 'x', pipeline: 'ops.noop', cron: '0 * * * *' },
        { name: 'x', pipeline: 'ops.noop', cron: '5 * * * *' },
      ],
      /schedules\[1\]\.name: "x" is invalid: must be unique/,
    ],
  ];
  for (const [label, schedules, message] of cases) {
    it(label, async () => {
      const error = await appWith(schedules).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(message);
    });
  }
});
