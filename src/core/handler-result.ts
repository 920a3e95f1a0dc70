import type { DataAnomaly } from './data-port.js';
import type { RevisionSummary } from './run-result.js';

/**
 * What a handler reports about what it landed; a data-layer `LandResult` fits as it is, so
 * `return { landed: await ctx.data.land(ds, input) }` is the whole contract.
 */
export interface LandedSummary {
  capture_id: string;
  row_count: number;
  is_revision?: boolean;
  revision_summary?: RevisionSummary | null;
  anomalies?: readonly DataAnomaly[];
}

/**
 * The typed part of a handler's result. Everything a handler returns is stored on the
 * attempt as JSON; these keys are the ones the engine reads: `landed` (the run result's
 * capture, row count and revision, and downstream recompute on a revision), `warnings`
 * (listed in the run result), `skipped` + `reason` (nothing to do).
 */
export interface HandlerReport {
  landed?: LandedSummary;
  warnings?: readonly string[];
  skipped?: boolean;
  reason?: string | null;
}

/** What the engine takes from a result, whichever shape the handler used. */
export interface ReadResult {
  landed: LandedSummary | null;
  warnings: string[];
  anomalies: DataAnomaly[];
  skipped: boolean;
  reason: string | null;
}

/**
 * Reads a handler's result. The typed shape (`landed: {...}`) comes first; the older flat
 * shape (a LandResult's fields at the top level: `capture_id`, `row_count`, `is_revision`,
 * `anomalies`) is still accepted, so pipelines written before `landed` keep working.
 */
export function readHandlerResult(result: Record<string, unknown> | null | undefined): ReadResult {
  const r = result ?? {};
  const source = landedSource(r);
  const landed: LandedSummary | null =
    typeof source.capture_id === 'string'
      ? {
          capture_id: source.capture_id,
          row_count: typeof source.row_count === 'number' ? source.row_count : 0,
          is_revision: source.is_revision === true,
          revision_summary: (source.revision_summary as RevisionSummary | null | undefined) ?? null,
        }
      : null;
  const anomalies = Array.isArray(source.anomalies) ? (source.anomalies as DataAnomaly[]) : Array.isArray(r.anomalies) ? (r.anomalies as DataAnomaly[]) : [];
  return {
    landed,
    warnings: Array.isArray(r.warnings) ? r.warnings.map(String) : [],
    anomalies,
    skipped: r.skipped === true,
    reason: r.reason === undefined || r.reason === null ? null : String(r.reason),
  };
}

/** Whether the result reports a landed revision (as `readHandlerResult(r).landed?.is_revision`),
 * without building the whole reading: the worker asks this of every successful attempt. */
export function landedRevision(result: Record<string, unknown> | null): boolean {
  if (!result) return false;
  const source = landedSource(result);
  return typeof source.capture_id === 'string' && source.is_revision === true;
}

/** The typed `landed` object when there is one, else the flat shape's top level. */
function landedSource(r: Record<string, unknown>): Record<string, unknown> {
  return isRecord(r.landed) ? r.landed : r;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
