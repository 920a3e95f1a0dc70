import type { FireTickResult, TickToFire } from '../schedule-store.js';
import type { EnqueueOutcome, EnqueueSpec } from '../store.js';
import type { PgContext } from './context.js';
import { enqueueOn } from './enqueue.js';
import { DB_NOW, type PgNames } from './sql-names.js';

/** Firing schedule ticks: the exactly-once point of the scheduler (the tick row, unique on
 * schedule, kind and scheduled_at, and its enqueue commit together). */

/** The statements of this family; see `pgStatements`. */
export function fireTicksSql(n: PgNames) {
  const { ticks } = n;
  return {
    // $1 schedules | $2 kinds | $3 scheduled_at | $4 outcomes | $5 details | $6 scheduler ids.
    // Answers the ticks this statement inserted; the others were recorded before.
    insertTicks: `
      INSERT INTO ${ticks} (schedule, kind, scheduled_at, outcome, detail, scheduler_id)
      SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])
      ON CONFLICT DO NOTHING
      RETURNING schedule, kind, scheduled_at`,
    // $1 schedules | $2 kinds | $3 scheduled_at | $4 item ids (one jsonb array per tick).
    markTicksFired: `
      UPDATE ${ticks} t SET fired_at = ${DB_NOW}, item_ids = f.item_ids
      FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[]) AS f(schedule, kind, scheduled_at, item_ids)
      WHERE t.schedule = f.schedule AND t.kind = f.kind AND t.scheduled_at = f.scheduled_at`,
  };
}

const tickKey = (schedule: string, kind: string, at: Date) => `${schedule}\u0000${kind}\u0000${at.getTime()}`;

/**
 * Every tick in one transaction of three statements, whatever their number: insert the tick
 * rows, enqueue the work of the ones inserted and fired (one batch), store their item ids.
 * A scheduler with 10,000 once-a-minute schedules has ~170 ticks due each second; one
 * transaction per tick was what made them late. Rows are inserted in key order, so two
 * schedulers firing overlapping batches wait on each other instead of deadlocking.
 */
export async function fireTicks(ctx: PgContext, ticks: readonly TickToFire[]): Promise<FireTickResult[]> {
  if (ticks.length === 0) return [];
  const order = ticks
    .map((_, i) => i)
    .sort((a, b) => {
      const x = ticks[a]!.tick;
      const y = ticks[b]!.tick;
      return x.schedule < y.schedule
        ? -1
        : x.schedule > y.schedule
          ? 1
          : x.kind < y.kind
            ? -1
            : x.kind > y.kind
              ? 1
              : x.scheduledAt.getTime() - y.scheduledAt.getTime();
    });
  const results = await ctx.tx(async (client): Promise<FireTickResult[]> => {
    const col = <T>(f: (t: TickToFire['tick']) => T) => order.map((i) => f(ticks[i]!.tick));
    const inserted = await client.query<{ schedule: string; kind: string; scheduled_at: Date }>(ctx.stmt('insertTicks'), [
      col((t) => t.schedule),
      col((t) => t.kind),
      col((t) => t.scheduledAt),
      col((t) => t.outcome),
      col((t) => t.detail),
      col((t) => t.schedulerId),
    ]);
    const recorded = new Set(inserted.rows.map((r) => tickKey(r.schedule, r.kind, r.scheduled_at)));
    const out = ticks.map(({ tick }): FireTickResult => ({ recorded: recorded.has(tickKey(tick.schedule, tick.kind, tick.scheduledAt)), outcomes: [] }));
    // The work of the recorded, fired ticks in one enqueue, in the caller's order (a triple two
    // ticks share is created by the first, as if they had been fired one after the other).
    const firing = ticks.map((_, i) => i).filter((i) => out[i]!.recorded && ticks[i]!.tick.outcome === 'fired');
    const specs = firing.flatMap((i) => ticks[i]!.specs);
    const outcomes: EnqueueOutcome[] = specs.length > 0 ? await enqueueOn(ctx, client, specs) : [];
    let next = 0;
    for (const i of firing) {
      out[i]!.outcomes = outcomes.slice(next, (next += ticks[i]!.specs.length));
    }
    if (firing.length > 0) {
      const fired = firing.map((i) => ticks[i]!.tick);
      await client.query(ctx.stmt('markTicksFired'), [
        fired.map((t) => t.schedule),
        fired.map((t) => t.kind),
        fired.map((t) => t.scheduledAt),
        firing.map((i) => JSON.stringify(out[i]!.outcomes.map((o) => o.item.id))),
      ]);
    }
    return out;
  });
  if (results.some((r) => r.outcomes.some((o) => o.created))) ctx.emitWake();
  return results;
}

/** One tick: `fireTicks` of one. */
export async function fireTick(ctx: PgContext, tick: TickToFire['tick'], specs: readonly EnqueueSpec[]): Promise<FireTickResult> {
  return (await fireTicks(ctx, [{ tick, specs }]))[0]!;
}
