import { operationsStoreFor } from '../../store/operations-store.js';
import { lastCronTicks } from '../../store/last-ticks.js';
import { NotFoundError } from '../../core/errors.js';
import { newWorkerId } from '../worker-id.js';
import type { Logger } from '../../core/logger.js';
import { OUTSTANDING_STATES, READY_STATES, type WorkState } from '../../core/states.js';
import type { FireTickResult, TickToFire } from '../../store/schedule-store.js';
import type { Store } from '../../store/store.js';
import { autoDownstreamSpecs, buildEnqueueSpec } from '../enqueue.js';
import type { PipelineRegistry } from '../registry.js';
import type { CompiledSchedule } from './compile-schedule.js';
import { planDueTicks, type PlannedTick } from './misfire-policy.js';
import { formatZonedIso } from '../../time/zoned.js';

export interface SchedulerOptions {
  store: Store;
  registry: PipelineRegistry;
  schedules: readonly CompiledSchedule[];
  logger: Logger;
  schedulerId?: string;
  /** Leadership lease: a dead leader is replaced within this long. */
  leaseMs?: number;
  /** Upper bound on sleeping between evaluations (leadership renewal, config'd ticks). */
  maxSleepMs?: number;
  /** At most this many overdue ticks are examined per schedule per evaluation. */
  maxDueTicks?: number;
}

export interface ScheduleView {
  name: string;
  pipeline: string;
  cron: string | null;
  at: string | null;
  every: string | null;
  window: string | null;
  calendar: string | null;
  timezone: string;
  enabled: boolean;
  /** Paused by an operator (`sluice schedule pause`, API, dashboard): due ticks are recorded as skipped_paused. */
  paused: boolean;
  next_fire_times: string[];
  recent_ticks: { scheduled_at: string; fired_at: string | null; outcome: string; detail: string | null; kind: string; item_ids: number[] }[];
}

const LEASE_NAME = 'scheduler';

/** Ticks per `fireTicks` transaction: all that fall due in one second at 10,000 schedules,
 * yet a bounded transaction after a long outage. */
const BATCH_MAX = 500;

/** A decided tick, waiting in a batch to be recorded, and what to log once it is. */
interface PlannedRecord {
  entry: TickToFire;
  note: string;
}

/** One pass's ticks not yet recorded, the schedules that fire among them, the cursor moves
 * that wait for them, and the schedules of this pass with a tick that failed to record
 * (their cursors stay, so the pass after retries them). */
interface TickBatch {
  ticks: PlannedRecord[];
  firing: Set<string>;
  done: { schedule: string; newest: Date; nextAt: number }[];
  failed: Set<string>;
}

/**
 * Fires schedule ticks into the queue.
 *
 * Exactly once: every tick is written with `fireTick`, unique on (schedule, scheduled_at)
 * and in the same transaction as its enqueue. Any number of schedulers may run; a
 * leadership lease makes one of them do the work (the others stand by and take over
 * within `leaseMs` of the leader dying), and the unique tick row makes it safe even in the
 * moment two of them both believe they lead.
 *
 * Restarts: the catch-up cursor is the newest recorded tick of each schedule, so ticks
 * that fell due while nothing was running are examined on start-up and fired, coalesced
 * or recorded as missed according to the schedule's misfire policy.
 */
export class Scheduler {
  readonly schedulerId: string;
  private running = false;
  private leader = false;
  private loop: Promise<void> | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeResolve: (() => void) | null = null;
  private lastEvaluationAt: Date | null = null;
  private readonly startedAt = new Date();
  private readonly leaseMs: number;
  private readonly maxSleepMs: number;
  /**
   * Per schedule, the newest cron tick this leader has handled (the catch-up cursor) and the
   * first instant after it that can fire. Read from the store in one query on becoming
   * leader, then kept in memory, so an evaluation touches only the schedules that are due:
   * with 10,000 schedules, one query per schedule per evaluation made every tick late.
   * Another scheduler firing meanwhile only leaves a cursor behind, and the unique tick row
   * turns those re-examined ticks into no-ops.
   */
  private cursors: Map<string, Date> | null = null;
  private readonly nextAt = new Map<string, number>();
  /** Paused schedules, read once per evaluation pass that has something due. */
  private paused: Set<string> | null = null;

  constructor(private readonly options: SchedulerOptions) {
    this.schedulerId = options.schedulerId ?? `scheduler:${newWorkerId()}`;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.maxSleepMs = options.maxSleepMs ?? Math.max(200, Math.floor(this.leaseMs / 3));
  }

  get schedules(): readonly CompiledSchedule[] {
    return this.options.schedules;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    if (this.leader) await this.options.store.releaseLease(LEASE_NAME, this.schedulerId).catch(() => undefined);
    this.leader = false;
  }

  async status(): Promise<{
    running: boolean;
    leader: boolean;
    schedules: number;
    last_tick_at: string | null;
    scheduler_id: string;
    leader_id: string | null;
  }> {
    const holder = await this.options.store.leaseHolder(LEASE_NAME);
    let last: Date | null = null;
    for (const s of this.options.schedules) {
      const t = await this.options.store.lastTickAt(s.name);
      if (t && (!last || t > last)) last = t;
    }
    return {
      running: this.running,
      leader: this.leader,
      schedules: this.options.schedules.length,
      last_tick_at: last?.toISOString() ?? null,
      scheduler_id: this.schedulerId,
      leader_id: holder?.holder ?? null,
    };
  }

  private wake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const resolve = this.wakeResolve;
    this.wakeResolve = null;
    resolve?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeResolve = resolve;
      this.wakeTimer = setTimeout(() => {
        this.wakeResolve = null;
        resolve();
      }, ms);
    });
  }

  private async run(): Promise<void> {
    const { store, logger } = this.options;
    while (this.running) {
      try {
        const wasLeader = this.leader;
        this.leader = await store.acquireLease(LEASE_NAME, this.schedulerId, this.leaseMs);
        if (this.leader && !wasLeader) this.cursors = null;
        if (this.leader !== wasLeader)
          logger.info({ scheduler_id: this.schedulerId }, this.leader ? 'scheduler leadership acquired' : 'scheduler leadership lost');
        if (this.leader) await this.evaluate(new Date());
      } catch (err) {
        this.leader = false;
        logger.warn({ err }, 'scheduler evaluation failed; will retry');
      }
      if (!this.running) break;
      await this.sleep(this.sleepMs());
    }
  }

  /** Until the next fire time of any schedule, but never longer than maxSleepMs so the
   * leadership lease is renewed (and a standby notices a dead leader) in time. */
  private sleepMs(): number {
    if (!this.leader) return this.maxSleepMs;
    const now = Date.now();
    let next = now + this.maxSleepMs;
    for (const s of this.options.schedules) {
      if (!s.enabled) continue;
      let t = this.nextAt.get(s.name);
      if (t === undefined) t = s.nextTimes(new Date(now), 1)[0]?.getTime() ?? Infinity;
      if (t < next) next = t;
    }
    return Math.max(5, next - now + 5);
  }

  /** One pass over every enabled schedule at `now`. Public so tests can drive time. */
  async evaluate(now: Date): Promise<void> {
    this.cursors ??= await lastCronTicks(this.options.store);
    this.paused = null;
    const batch: TickBatch = { ticks: [], firing: new Set(), done: [], failed: new Set() };
    for (const schedule of this.options.schedules) {
      if (!schedule.enabled) continue;
      if ((this.nextAt.get(schedule.name) ?? -Infinity) > now.getTime()) continue;
      try {
        await this.evaluateSchedule(schedule, now, batch);
      } catch (err) {
        this.options.logger.error({ err, schedule: schedule.name }, 'schedule evaluation failed');
      }
      if (batch.ticks.length >= BATCH_MAX) await this.flush(batch);
    }
    await this.flush(batch);
    this.lastEvaluationAt = now;
  }

  private async evaluateSchedule(schedule: CompiledSchedule, now: Date, batch: TickBatch): Promise<void> {
    const last = this.cursors?.get(schedule.name) ?? null;
    // First run ever: start when this scheduler started. A new schedule does not replay
    // its history (that is what `sluice backfill` is for); catch-up applies to ticks that
    // fell due after the schedule's last recorded tick.
    const cursor = last ?? new Date(Math.min(this.startedAt.getTime(), now.getTime()) - 1);
    const limit = this.options.maxDueTicks ?? 1_000;
    // The common cases without a search of (cursor, now]: nothing due yet, or exactly one
    // tick (its successor is in the future). nextTimes(x, 1) is shared by the schedules with
    // the same trigger (see compile-schedule.ts), so 10,000 schedules cost a few searches.
    const first = schedule.nextTimes(cursor, 1)[0];
    if (!first || first.getTime() > now.getTime()) {
      this.nextAt.set(schedule.name, first?.getTime() ?? Infinity);
      return;
    }
    const second = schedule.nextTimes(first, 1)[0];
    const only = !second || second.getTime() > now.getTime();
    const due = only ? [first] : schedule.timesBetween(cursor, now, limit);
    const planned = planDueTicks(due, now, schedule.misfire);
    // Keep the record readable after a long outage: every fired and coalesced tick, and
    // the newest missed ones, with a note on how many older ones were dropped.
    const missed = planned.filter((p) => p.outcome === 'missed');
    const keepMissed = new Set(missed.slice(-100));
    if (missed.length > keepMissed.size) {
      const oldestKept = missed[missed.length - keepMissed.size]!;
      oldestKept.detail = `${oldestKept.detail}; ${missed.length - keepMissed.size} earlier ticks also missed`;
    }
    for (const tick of planned) {
      if (tick.outcome === 'missed' && !keepMissed.has(tick)) continue;
      const record = await this.planTick(schedule, tick, 'cron', batch);
      batch.ticks.push(record);
      if (record.entry.tick.outcome === 'fired') batch.firing.add(schedule.name);
    }
    // The cursor moves only once every due tick is recorded (when the batch commits): a
    // failure leaves it where it was, and the recorded ticks become no-ops next pass.
    const newest = due[due.length - 1]!;
    // Up to `limit` ticks per pass: if that many were due, more may be; look again next pass.
    const nextAt = due.length >= limit ? now.getTime() : only ? (second?.getTime() ?? Infinity) : (schedule.nextTimes(newest, 1)[0]?.getTime() ?? Infinity);
    batch.done.push({ schedule: schedule.name, newest, nextAt });
  }

  /**
   * Records the batch's ticks in one transaction (`fireTicks`), then moves the cursors of the
   * schedules it completes. If the batch fails, each tick is fired on its own, so one bad
   * tick only holds back its own schedule, as when every tick had its own transaction.
   */
  private async flush(batch: TickBatch): Promise<void> {
    const { ticks, done } = batch;
    batch.ticks = [];
    batch.firing = new Set();
    batch.done = [];
    if (ticks.length === 0 && done.length === 0) return;
    const { store, logger } = this.options;
    const { failed } = batch;
    let results: (FireTickResult | null)[];
    try {
      results = await store.fireTicks(ticks.map((t) => t.entry));
    } catch (err) {
      logger.warn({ err, ticks: ticks.length }, 'schedule tick batch failed; firing its ticks one by one');
      results = [];
      for (const t of ticks) {
        try {
          results.push(await store.fireTick(t.entry.tick, t.entry.specs));
        } catch (e) {
          failed.add(t.entry.tick.schedule);
          results.push(null);
          logger.error({ err: e, schedule: t.entry.tick.schedule }, 'schedule evaluation failed');
        }
      }
    }
    ticks.forEach((t, i) => {
      const result = results[i];
      if (result) this.logTick(t, result);
    });
    for (const d of done) {
      if (failed.has(d.schedule)) continue;
      this.cursors?.set(d.schedule, d.newest);
      this.nextAt.set(d.schedule, d.nextAt);
    }
  }

  private logTick({ entry, note }: PlannedRecord, result: FireTickResult): void {
    const { tick } = entry;
    const fields = { schedule: tick.schedule, scheduled_at: tick.scheduledAt.toISOString() };
    if (tick.outcome === 'fired') {
      if (result.recorded)
        this.options.logger.info({ ...fields, items: result.outcomes.length, created: result.outcomes.filter((o) => o.created).length }, 'schedule tick fired');
    } else {
      this.options.logger.info({ ...fields, outcome: tick.outcome, ...(tick.outcome === 'skipped_overlap' ? { reason: tick.detail } : {}) }, note);
    }
  }

  /**
   * Decides one due tick: not fired (missed, coalesced), paused, skipped for overlap, or
   * fired with its work. Nothing is written here; the caller records it.
   */
  private async planTick(schedule: CompiledSchedule, tick: PlannedTick, kind: 'cron' | 'manual', batch: TickBatch | null): Promise<PlannedRecord> {
    const { registry } = this.options;
    const base = { schedule: schedule.name, scheduledAt: tick.scheduledAt, kind, schedulerId: this.schedulerId };
    if (tick.outcome !== 'fire')
      return { entry: { tick: { ...base, outcome: tick.outcome, detail: tick.detail }, specs: [] }, note: 'schedule tick not fired' };
    if (kind === 'cron' && (await this.isPaused(schedule.name))) {
      return {
        entry: { tick: { ...base, outcome: 'skipped_paused', detail: 'schedule paused by an operator' }, specs: [] },
        note: 'schedule tick skipped: paused',
      };
    }
    if (kind === 'cron') {
      // The overlap check reads this schedule's earlier ticks from the store: record the
      // ones still in the batch first, or a second catch-up tick would not see the first.
      if (batch?.firing.has(schedule.name)) await this.flush(batch);
      const overlap = await this.overlapBlocks(schedule);
      if (overlap) return { entry: { tick: { ...base, outcome: 'skipped_overlap', detail: overlap }, specs: [] }, note: 'schedule tick skipped' };
    }
    const { partitions, warnings } = schedule.partitionsFor(tick.scheduledAt);
    const built = partitions.map((partition) =>
      buildEnqueueSpec(registry, { pipeline: schedule.pipeline.key, partition, params: schedule.config.params, priority: schedule.priority }),
    );
    // The tick's own items first, then the downstream items their `auto` dependencies ask
    // for (WAITING on them), all in the tick's transaction.
    const specs = [...built.map((b) => b.spec), ...autoDownstreamSpecs(registry, built)];
    const detail = [tick.detail, ...warnings].filter(Boolean).join('; ') || null;
    return { entry: { tick: { ...base, outcome: 'fired', detail }, specs }, note: 'schedule tick fired' };
  }

  /** max_instances and the overlap policy: an "instance" is an earlier fired tick of this
   * schedule whose items are not all finished. Returns the reason to skip, or null. */
  private async overlapBlocks(schedule: CompiledSchedule): Promise<string | null> {
    if (schedule.overlap === 'allow') return null;
    const { store } = this.options;
    const recent = (await store.listTicks(schedule.name, schedule.maxInstances + 10)).filter((t) => t.outcome === 'fired');
    let active = 0;
    let waiting = 0;
    for (const tick of recent) {
      const states = await Promise.all(tick.itemIds.map((id) => this.liveState(id)));
      if (states.some((s) => s && OUTSTANDING_STATES.includes(s))) active++;
      if (states.some((s) => s && (READY_STATES.includes(s) || s === 'WAITING'))) waiting++;
    }
    if (active < schedule.maxInstances) return null;
    if (schedule.overlap === 'buffer_one' && waiting === 0) return null;
    return `max_instances ${schedule.maxInstances} reached: ${active} earlier tick(s) still running or queued (overlap: ${schedule.overlap})`;
  }

  /** An item's state for overlap purposes: a WAITING item whose upstream FAILED or was
   * CANCELLED will not run without a person, so it does not hold an instance open (or the
   * schedule would stop firing after one failed ingest). */
  private async liveState(id: number): Promise<WorkState | undefined> {
    const item = await this.options.store.getItem(id);
    if (item?.state !== 'WAITING') return item?.state;
    const deps = await this.options.store.listDependencies(id);
    return deps.some((d) => d.state === 'FAILED' || d.state === 'CANCELLED') ? undefined : 'WAITING';
  }

  /** The operator's pause flag, read at tick time so a pause from any process applies. */
  private async isPaused(name: string): Promise<boolean> {
    this.paused ??= new Set((await operationsStoreFor(this.options.store).scheduleControls()).filter((c) => c.paused).map((c) => c.schedule));
    return this.paused.has(name);
  }

  /** Manual trigger (CLI, API, dashboard): fires the schedule now, whatever its policy. */
  async trigger(name: string, actor: string | null = null): Promise<{ enqueued: number; items: number[] }> {
    const schedule = this.require(name);
    const planned = await this.planTick(schedule, { scheduledAt: new Date(), outcome: 'fire', detail: 'manual trigger' }, 'manual', null);
    const result = await this.options.store.fireTick(planned.entry.tick, planned.entry.specs);
    this.logTick(planned, result);
    const tick = result.recorded ? { itemIds: result.outcomes.map((o) => o.item.id) } : null;
    await operationsStoreFor(this.options.store).recordScheduleEvent(name, 'triggered', actor, `enqueued ${tick?.itemIds.length ?? 0} item(s)`);
    return { enqueued: tick?.itemIds.length ?? 0, items: tick?.itemIds ?? [] };
  }

  private require(name: string): CompiledSchedule {
    const found = this.options.schedules.find((s) => s.name === name);
    if (!found) {
      const known = this.options.schedules.map((s) => s.name).join(', ') || 'none configured';
      throw new ScheduleNotFound(name, known);
    }
    return found;
  }

  async listSchedules(ticks = 10): Promise<ScheduleView[]> {
    const now = new Date();
    const paused = new Set((await operationsStoreFor(this.options.store).scheduleControls()).filter((c) => c.paused).map((c) => c.schedule));
    return Promise.all(
      this.options.schedules.map(async (s) => ({
        name: s.name,
        pipeline: s.pipeline.key,
        cron: s.config.cron ?? null,
        at: s.config.at ?? null,
        every: s.config.every === undefined ? null : String(s.config.every),
        window: s.config.window ?? null,
        calendar: s.calendar ? (s.config.calendar ?? null) : null,
        timezone: s.timezone,
        enabled: s.enabled,
        paused: paused.has(s.name),
        next_fire_times: s.enabled ? s.nextTimes(now, 3).map((t) => formatZonedIso(t, s.timezone)) : [],
        recent_ticks: (await this.options.store.listTicks(s.name, ticks)).map((t) => ({
          scheduled_at: t.scheduledAt.toISOString(),
          fired_at: t.firedAt?.toISOString() ?? null,
          outcome: t.outcome,
          detail: t.detail,
          kind: t.kind,
          item_ids: t.itemIds,
        })),
      })),
    );
  }

  get lastEvaluation(): Date | null {
    return this.lastEvaluationAt;
  }
}

export class ScheduleNotFound extends NotFoundError {
  constructor(name: string, known: string) {
    super('schedule', name);
    this.message = `schedule ${JSON.stringify(name)} not found (known: ${known})`;
  }
}
