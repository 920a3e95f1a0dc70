import { NotFoundError } from '../../../src/core/errors.js';
import type { SluiceApp } from '../../../src/app/create-app.js';
import type { SchedulerPort, ScheduleInfo } from '../../../src/api/scheduler-port.js';
import { enqueueWork } from '../../../src/engine/enqueue.js';
import { nextFireTimes } from '../../../src/time/cron.js';

export interface TestSchedule {
  name: string;
  pipeline: string;
  cron: string;
  timezone?: string;
  calendar?: string | null;
  enabled?: boolean;
  /** Partitions a tick at `at` enqueues. */
  partitions: (at: Date) => Record<string, string>[];
}

type Tick = ScheduleInfo['recent_ticks'][number];

/**
 * A small but real SchedulerPort for tests: schedules held in memory, next fire times from
 * the time layer's cron, and triggers that enqueue through the same validated path as the
 * API (`enqueueWork` on the app's store). It does not run timers: tests fire ticks.
 */
export class StoreScheduler implements SchedulerPort {
  running = false;
  private lastTickAt: string | null = null;
  private readonly ticks = new Map<string, Tick[]>();

  constructor(
    private readonly app: SluiceApp,
    private readonly schedules: TestSchedule[],
  ) {
    for (const s of schedules) this.ticks.set(s.name, []);
  }

  async status() {
    return { running: this.running, leader: this.running, schedules: this.schedules.length, last_tick_at: this.lastTickAt };
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  async listSchedules(): Promise<ScheduleInfo[]> {
    const from = new Date();
    return this.schedules.map((s) => ({
      name: s.name,
      pipeline: s.pipeline,
      cron: s.cron,
      at: null,
      calendar: s.calendar ?? null,
      timezone: s.timezone ?? 'UTC',
      enabled: s.enabled ?? true,
      next_fire_times: nextFireTimes(s.cron, { timezone: s.timezone ?? 'UTC', from, count: 3 }).map((d) => d.toISOString()),
      recent_ticks: [...(this.ticks.get(s.name) ?? [])].reverse().slice(0, 20),
    }));
  }

  async trigger(name: string): Promise<{ enqueued: number; items: number[] }> {
    return this.fire(name, new Date(), new Date());
  }

  /** Fires a tick as if it was due at `scheduledAt` and ran at `firedAt` (lateness tests). */
  async fire(name: string, scheduledAt: Date, firedAt: Date): Promise<{ enqueued: number; items: number[] }> {
    const schedule = this.schedules.find((s) => s.name === name);
    if (!schedule) throw new NotFoundError('schedule', name);
    const outcomes = await enqueueWork(
      this.app.store,
      this.app.registry,
      schedule.partitions(scheduledAt).map((partition) => ({ pipeline: schedule.pipeline, partition })),
    );
    const created = outcomes.filter((o) => o.created);
    this.record(name, {
      scheduled_at: scheduledAt.toISOString(),
      fired_at: firedAt.toISOString(),
      outcome: 'fired',
      detail: `enqueued ${created.length} of ${outcomes.length}`,
    });
    return { enqueued: created.length, items: outcomes.map((o) => o.item.id) };
  }

  record(name: string, tick: Tick): void {
    this.ticks.get(name)!.push(tick);
    if (tick.fired_at && (!this.lastTickAt || tick.fired_at > this.lastTickAt)) this.lastTickAt = tick.fired_at;
  }
}
