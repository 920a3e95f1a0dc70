import { WORK_STATES } from '../core/states.js';
import type { StateCount } from '../store/store.js';

/** Work-item counts per pipeline and in total, every state present (0 when none): one shape for `sluice status` and the API. */
export function summarizeCounts(counts: readonly StateCount[]) {
  const byPipeline = new Map<string, Record<string, number>>();
  const totals: Record<string, number> = Object.fromEntries(WORK_STATES.map((s) => [s, 0]));
  for (const c of counts) {
    const key = `${c.domain}.${c.pipeline}`;
    const row = byPipeline.get(key) ?? Object.fromEntries(WORK_STATES.map((s) => [s, 0]));
    row[c.state] = (row[c.state] ?? 0) + c.count;
    totals[c.state] = (totals[c.state] ?? 0) + c.count;
    byPipeline.set(key, row);
  }
  return { totals, pipelines: [...byPipeline].sort(([a], [b]) => a.localeCompare(b)).map(([pipeline, states]) => ({ pipeline, ...states })) };
}
