/**
 * What happens to ticks that are due, decided from the schedule's policy alone (pure).
 *
 *   misfire_grace  A tick may fire up to this late (default 1m). Later than that, it is a
 *                  misfire and recorded as `missed`.
 *   catchup        When Sluice was down, ticks up to this far in the past are still
 *                  recovered (fired) on start-up, however late; older ones are `missed`.
 *                  Default off. `true` means "any age".
 *   coalesce       Of the ticks that may still fire, only the latest fires; the earlier
 *                  ones are recorded as `coalesced` (default true, like APScheduler).
 *
 * Overlap (max_instances with skip | buffer_one | allow) is decided afterwards by the
 * scheduler, because it needs the state of earlier ticks' items.
 */
export interface MisfirePolicy {
  misfireGraceMs: number;
  catchupMs: number;
  coalesce: boolean;
}

export type DueOutcome = 'fire' | 'missed' | 'coalesced';

export interface PlannedTick {
  scheduledAt: Date;
  outcome: DueOutcome;
  detail: string | null;
}

export function planDueTicks(due: readonly Date[], now: Date, policy: MisfirePolicy): PlannedTick[] {
  const window = Math.max(policy.misfireGraceMs, policy.catchupMs);
  const eligible = due.filter((t) => now.getTime() - t.getTime() <= window);
  const latest = eligible.at(-1);
  return due.map((t) => {
    const lateMs = now.getTime() - t.getTime();
    if (lateMs > window) {
      return { scheduledAt: t, outcome: 'missed', detail: `${Math.round(lateMs / 1000)}s late: beyond misfire_grace${policy.catchupMs ? ' and catchup' : ''}` };
    }
    if (policy.coalesce && t !== latest) {
      return { scheduledAt: t, outcome: 'coalesced', detail: `coalesced into ${latest!.toISOString()}` };
    }
    return { scheduledAt: t, outcome: 'fire', detail: lateMs > policy.misfireGraceMs ? `caught up ${Math.round(lateMs / 1000)}s late` : null };
  });
}
