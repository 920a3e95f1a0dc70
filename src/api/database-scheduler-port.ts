import type { Scheduler } from '../engine/scheduler/scheduler.js';
import { ApiError } from './errors.js';
import type { SchedulerPort } from './scheduler-port.js';

/**
 * The scheduler port of a process that runs no scheduler itself (`sluice api` behind a load
 * balancer, beside `sluice scheduler` processes on the same database). Schedules, next fire
 * times, recent ticks, pause flags and the current leader all come from the config and the
 * database, and a manual trigger fires through the same exactly-once tick path. Only
 * start/stop are refused: they belong to the scheduler processes.
 */
export function databaseSchedulerPort(scheduler: Scheduler): SchedulerPort {
  const refuse = (verb: string) => {
    throw new ApiError(
      409,
      'scheduler_not_in_process',
      `This process runs no scheduler, so it cannot ${verb} one: ${verb} the \`sluice scheduler\` (or \`sluice start\`) process instead.`,
    );
  };
  return {
    status: async () => {
      const s = await scheduler.status();
      // "leader" answers "does a scheduler fire ticks?": true when any process holds the lease.
      return { ...s, running: false, leader: s.leader_id !== null };
    },
    start: async () => refuse('start'),
    stop: async () => refuse('stop'),
    listSchedules: () => scheduler.listSchedules(),
    trigger: (name) => scheduler.trigger(name, 'api'),
  };
}
