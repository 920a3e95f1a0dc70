import type { WorkItem } from '../../core/work-item.js';
import type { AlertStore } from '../../store/alert-store.js';
import { partitionDay } from '../../time/deadline.js';
import { compileDeadlines, type DeadlineRule } from './deadline-rules.js';
import { alertStoreFor } from '../../store/alert-store.js';
import type { Store } from '../../store/store.js';
import type { SluiceConfig } from '../../config/schema.js';
import type { PipelineRegistry } from '../registry.js';

/**
 * A partition's deadline as `work show`, the API and the grid show it. `met` and `missed`
 * are the stored decisions (made when the deadline passed). Before that it is `pending`;
 * `untracked` means the deadline passed with no decision stored: the partition's day is older
 * than the pipeline's tracking (a backfilled past week) or the sweeper has not run yet.
 */
export interface DeadlineView {
  deadline: string;
  due_at: string;
  state: 'pending' | 'met' | 'missed' | 'untracked';
  met_at: string | null;
}

export async function deadlineViews(
  alerts: AlertStore,
  rules: readonly DeadlineRule[],
  domain: string,
  pipeline: string,
  partitions: readonly { partitionKey: string; partition: WorkItem['partition'] }[],
  now: Date = new Date(),
): Promise<Map<string, DeadlineView>> {
  const out = new Map<string, DeadlineView>();
  const rule = rules.find((r) => r.domain === domain && r.pipeline === pipeline);
  if (!rule || partitions.length === 0) return out;
  const stored = new Map(
    (
      await alerts.deadlinesFor(
        domain,
        pipeline,
        partitions.map((p) => p.partitionKey),
      )
    ).map((r) => [r.partitionKey, r]),
  );
  for (const p of partitions) {
    const raw = p.partition[rule.dayKey];
    if (raw === undefined) continue;
    let day: string | undefined;
    try {
      day = partitionDay({ [rule.dayKey]: raw });
    } catch {
      continue; // not a date: no deadline to show
    }
    if (!day) continue;
    const row = stored.get(p.partitionKey);
    const due = row?.dueAt ?? rule.dueAt(day);
    out.set(p.partitionKey, {
      deadline: rule.text,
      due_at: due.toISOString(),
      state: row ? row.state : due.getTime() > now.getTime() ? 'pending' : 'untracked',
      met_at: row?.metAt?.toISOString() ?? null,
    });
  }
  return out;
}

/** One item's deadline view, or null when its pipeline declares none (or its partition has no day). */
export async function itemDeadlineView(
  alerts: AlertStore,
  rules: readonly DeadlineRule[],
  item: WorkItem,
  now: Date = new Date(),
): Promise<DeadlineView | null> {
  const views = await deadlineViews(alerts, rules, item.domain, item.pipeline, [item], now);
  return views.get(item.partitionKey) ?? null;
}

/** The grid's deadline field: which items missed (for a cell marker) and decided counts. */
export async function gridDeadline(
  app: { store: Store; config: SluiceConfig; registry: PipelineRegistry },
  domain: string,
  pipeline: string,
): Promise<{ deadline: string; missed_item_ids: number[]; counts: Record<string, number> } | null> {
  const rule = compileDeadlines(app.config, app.registry).find((r) => r.domain === domain && r.pipeline === pipeline);
  if (!rule) return null;
  const alerts = alertStoreFor(app.store);
  const counts = Object.fromEntries(
    (await alerts.countDeadlines()).filter((c) => c.domain === domain && c.pipeline === pipeline).map((c) => [c.state, c.count]),
  );
  return { deadline: rule.text, missed_item_ids: await alerts.deadlineItemIds(domain, pipeline, 'missed', 10_000), counts };
}
