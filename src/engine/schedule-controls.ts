import { ValidationError } from '../core/errors.js';
import { operationsStoreFor } from '../store/operations-store.js';
import type { Store } from '../store/store.js';
import { ScheduleNotFound } from './scheduler/scheduler.js';
import type { CompiledSchedule } from './scheduler/compile-schedule.js';

/**
 * Operator pause/resume of a configured schedule. The flag lives in the database (migration
 * 6), so any process may set it and the leading scheduler honours it at tick time; each
 * change is an event in the schedule's log.
 */
export interface ScheduleControlJson {
  schedule: string;
  paused: boolean;
  updated_at: string;
  actor: string | null;
}

export async function setSchedulePaused(
  store: Store,
  schedules: readonly CompiledSchedule[],
  name: string,
  paused: boolean,
  actor: string | null,
  reason: string | null = null,
): Promise<ScheduleControlJson> {
  if (!schedules.some((s) => s.name === name)) throw new ScheduleNotFound(name, schedules.map((s) => s.name).join(', ') || 'none configured');
  const ops = operationsStoreFor(store);
  const current = (await ops.scheduleControls()).find((c) => c.schedule === name);
  if ((current?.paused ?? false) === paused)
    throw new ValidationError('name', name, paused ? 'name a schedule that is not already paused' : 'name a paused schedule');
  const c = await ops.setSchedulePaused(name, paused, actor, reason);
  return { schedule: c.schedule, paused: c.paused, updated_at: c.updatedAt.toISOString(), actor: c.actor };
}

export async function scheduleEvents(store: Store, schedules: readonly CompiledSchedule[], name: string, limit: number) {
  if (!schedules.some((s) => s.name === name)) throw new ScheduleNotFound(name, schedules.map((s) => s.name).join(', ') || 'none configured');
  const events = await operationsStoreFor(store).listScheduleEvents(name, limit);
  return events.map((e) => ({ id: e.id, at: e.at.toISOString(), event: e.event, actor: e.actor, detail: e.detail }));
}
