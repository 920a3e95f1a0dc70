import type { Anomaly, RunEntry } from '../core/run-result.js';
import { readHandlerResult } from '../core/handler-result.js';
import { RERUNNABLE_STATES } from '../core/states.js';
import type { WorkItem } from '../core/work-item.js';
import { toRunAnomaly } from '../data/anomaly-checks.js';
import type { Store } from '../store/store.js';
import type { Worker } from './worker.js';

/**
 * Runs one enqueued item here and now, for `sluice run` and the batch commands: a finished
 * item (COMPLETE, FAILED, CANCELLED) that already existed is put back first, a WAITING one
 * is reported as blocked (its upstream partitions are not COMPLETE), anything else is
 * claimed and run by `worker`. The handler's anomalies and warnings are appended to the
 * run's lists; the returned entry is `entry` filled in.
 */
export async function runInlineItem(
  store: Store,
  worker: Worker,
  item: WorkItem,
  opts: { created: boolean; rerunFinished: boolean; actor: string },
  entry: RunEntry,
  out: { anomalies: Anomaly[]; warnings: string[] },
): Promise<RunEntry> {
  if (!opts.created && item.state === 'COMPLETE' && !opts.rerunFinished) return { ...entry, reason: 'already complete (use --force to run again)' };
  if (!opts.created && RERUNNABLE_STATES.includes(item.state)) {
    await store.rerun(item.id, opts.actor);
    item = (await store.getItem(item.id)) ?? item;
  }
  if (item.state === 'WAITING') return { ...entry, blocked: true, reason: 'blocked: waiting for upstream partitions (missing inputs)' };
  const [outcome] = await worker.runItems([item.id]);
  if (!outcome) {
    out.warnings.push(`${item.partitionKey}: item ${item.id} is running in another worker; not run here`);
    return { ...entry, reason: 'running in another worker' };
  }
  const result = readHandlerResult(outcome.result);
  const ok = outcome.status === 'succeeded';
  const skipped = ok && result.skipped;
  for (const a of result.anomalies) out.anomalies.push(toRunAnomaly(a, entry.pipeline));
  for (const w of result.warnings) out.warnings.push(`${item.partitionKey}: ${w}`);
  return {
    ...entry,
    status: skipped ? 'skipped' : ok ? 'completed' : 'failed',
    duration_ms: outcome.durationMs,
    attempt: outcome.item.attemptNo,
    error: ok ? null : (outcome.error ?? outcome.status),
    reason: skipped ? (result.reason ?? 'handler reported nothing to do') : null,
    capture_id: result.landed?.capture_id ?? null,
    row_count: result.landed?.row_count ?? null,
    is_revision: result.landed?.is_revision === true,
    revision_summary: result.landed?.revision_summary ?? null,
  };
}
