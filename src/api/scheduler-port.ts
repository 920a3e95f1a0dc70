/**
 * What the API and dashboard need from a scheduler. The scheduler engine implements it; the
 * server only talks to this port, so it works with any implementation (or none: the
 * scheduler routes then answer 503 and the dashboard says no scheduler is attached).
 *
 * Instants are ISO-8601 strings.
 */
export interface SchedulerPort {
  status(): Promise<{ running: boolean; leader: boolean; schedules: number; last_tick_at: string | null }>;
  start(): Promise<void>;
  stop(): Promise<void>;
  listSchedules(): Promise<
    Array<{
      name: string;
      pipeline: string;
      cron: string | null;
      at: string | null;
      calendar: string | null;
      timezone: string;
      enabled: boolean;
      /** Paused by an operator; absent from ports that cannot pause. */
      paused?: boolean;
      next_fire_times: string[];
      recent_ticks: Array<{ scheduled_at: string; fired_at: string | null; outcome: string; detail: string | null }>;
    }>
  >;
  trigger(name: string): Promise<{ enqueued: number; items: number[] }>;
}

export type ScheduleInfo = Awaited<ReturnType<SchedulerPort['listSchedules']>>[number];
export type SchedulerStatus = Awaited<ReturnType<SchedulerPort['status']>>;
