import { ValidationError } from '../core/errors.js';
import { parsePartitionKey, partitionKey } from '../core/partition.js';
import type { Anomaly } from '../core/run-result.js';
import { isValidDate, type Dataset } from './dataset.js';

/**
 * Data-quality checks run while a capture lands. Each finding is recorded in `anomalies`
 * against the partition and the capture (in the landing transaction) and returned by `land`,
 * so a run result can list it. A finding never fails the capture.
 *
 * - `row_count_drop`: the capture has fewer rows than the previous partition of the same
 *   stage by more than `threshold` (a fraction: 0.5 = fires when more than half is gone).
 *   The previous partition is `previous` if given, else the manifest entry of the same
 *   (domain, stage) whose partition has the same keys and values except one date key
 *   (`YYYY-MM-DD`), with the greatest date before this one (last week for a weekly tier).
 * - `min_rows`: fewer than `min` rows landed.
 * - `late`: the capture's `captured_at` is after `expected_by`.
 * - `required_nulls`: always on: nulls in columns marked `required` that are not part of the
 *   primary key (key nulls are a validation failure). One finding per column; `max_fraction`
 *   tolerates a share of nulls (default 0: any null fires).
 * - `rejected_rows`: always on when `land` is given rejects (rows a parser refused).
 */

export type { AnomalySeverity, AnomalyCheckSpec, AnomalyDraft, DataAnomaly } from '../core/data-port.js';
import type { AnomalySeverity, AnomalyCheckSpec, AnomalyDraft, DataAnomaly } from '../core/data-port.js';

const SEVERITIES: readonly AnomalySeverity[] = ['info', 'warning', 'error'];

export type NormalizedCheck =
  | { check: 'row_count_drop'; threshold: number; severity: AnomalySeverity; previous: string | null }
  | { check: 'late'; expected_by: Date; severity: AnomalySeverity }
  | { check: 'required_nulls'; max_fraction: number; severity: AnomalySeverity }
  | { check: 'rejected_rows'; severity: AnomalySeverity }
  | { check: 'min_rows'; min: number; severity: AnomalySeverity };

/** Validates check specs; throws ValidationError naming `checks[i].field`. */
export function normalizeChecks(specs: readonly AnomalyCheckSpec[] | undefined): NormalizedCheck[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) throw new ValidationError('checks', specs, 'be an array of anomaly checks');
  return specs.map((spec, i) => {
    const field = `checks[${i}]`;
    if (!spec || typeof spec !== 'object') throw new ValidationError(field, spec, 'be an anomaly check object');
    const severity = spec.severity ?? 'warning';
    if (!SEVERITIES.includes(severity)) throw new ValidationError(`${field}.severity`, severity, `be one of ${SEVERITIES.join(', ')}`);
    switch (spec.check) {
      case 'row_count_drop': {
        if (typeof spec.threshold !== 'number' || !(spec.threshold > 0 && spec.threshold <= 1)) {
          throw new ValidationError(
            `${field}.threshold`,
            spec.threshold,
            'be a fraction greater than 0 and at most 1 (0.5 = fire when more than half the rows are gone)',
          );
        }
        let previous: string | null = null;
        if (spec.previous !== undefined) {
          previous = typeof spec.previous === 'string' ? spec.previous : partitionKey(spec.previous);
        }
        return { check: 'row_count_drop', threshold: spec.threshold, severity, previous };
      }
      case 'late': {
        const at = spec.expected_by instanceof Date ? spec.expected_by : typeof spec.expected_by === 'string' ? new Date(spec.expected_by) : new Date(NaN);
        if (Number.isNaN(at.getTime())) throw new ValidationError(`${field}.expected_by`, spec.expected_by, 'be a Date or an ISO-8601 instant');
        return { check: 'late', expected_by: at, severity };
      }
      case 'required_nulls': {
        const max = spec.max_fraction ?? 0;
        if (typeof max !== 'number' || !(max >= 0 && max < 1))
          throw new ValidationError(`${field}.max_fraction`, max, 'be a fraction from 0 (inclusive) to 1 (exclusive)');
        return { check: 'required_nulls', max_fraction: max, severity };
      }
      case 'rejected_rows':
        return { check: 'rejected_rows', severity };
      case 'min_rows':
        if (!Number.isInteger(spec.min) || spec.min < 1) throw new ValidationError(`${field}.min`, spec.min, 'be a whole number of rows, at least 1');
        return { check: 'min_rows', min: spec.min, severity };
      default:
        throw new ValidationError(
          `${field}.check`,
          (spec as { check?: unknown }).check,
          'be one of row_count_drop, late, required_nulls, rejected_rows, min_rows',
        );
    }
  });
}

/**
 * The partition before `current` among `candidates`: same keys, same values except one date
 * key, the greatest earlier date. With several date keys, the first (sorted) that yields a
 * match wins. Null when there is none.
 */
export function previousPartitionKey(current: string, candidates: readonly string[]): string | null {
  const cur = parsePartitionKey(current);
  const keys = Object.keys(cur).sort();
  const dateKeys = keys.filter((k) => isValidDate(cur[k]!));
  for (const dk of dateKeys) {
    let best: { key: string; date: string } | null = null;
    for (const cand of candidates) {
      if (cand === current) continue;
      const p = parsePartitionKey(cand);
      const pk = Object.keys(p).sort();
      if (pk.length !== keys.length || pk.some((k, i) => k !== keys[i])) continue;
      if (keys.some((k) => k !== dk && p[k] !== cur[k])) continue;
      const d = p[dk]!;
      if (!isValidDate(d) || d >= cur[dk]!) continue;
      if (!best || d > best.date) best = { key: cand, date: d };
    }
    if (best) return best.key;
  }
  return null;
}

export interface CheckContext {
  readonly dataset: Dataset;
  readonly partitionKey: string;
  readonly rowCount: number;
  readonly capturedAt: Date;
  /** Nulls per required non-key column. */
  readonly requiredNulls: ReadonlyMap<string, number>;
  /** The previous partition's manifest figures, when a row_count_drop check asked for them. */
  readonly previous: { partition_key: string; row_count: number } | null;
  readonly rejects: readonly { line: number | null; reason: string }[];
}

function pct(x: number): string {
  return `${(Math.round(x * 1000) / 10).toFixed(1)}%`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
}

/** Evaluates the checks against one capture. Pure: the store supplies `previous`. */
export function evaluateChecks(ctx: CheckContext, checks: readonly NormalizedCheck[]): AnomalyDraft[] {
  const out: AnomalyDraft[] = [];
  const nullsCheck = checks.find((c): c is Extract<NormalizedCheck, { check: 'required_nulls' }> => c.check === 'required_nulls') ?? {
    check: 'required_nulls',
    max_fraction: 0,
    severity: 'warning',
  };
  const rejectsCheck = checks.find((c): c is Extract<NormalizedCheck, { check: 'rejected_rows' }> => c.check === 'rejected_rows') ?? {
    check: 'rejected_rows',
    severity: 'warning',
  };

  for (const check of checks) {
    if (check.check === 'row_count_drop') {
      const prev = ctx.previous;
      if (!prev || prev.row_count <= 0) continue;
      const drop = (prev.row_count - ctx.rowCount) / prev.row_count;
      if (drop > check.threshold) {
        out.push({
          check: 'row_count_drop',
          severity: check.severity,
          message: `row count ${ctx.rowCount} is ${pct(drop)} below ${prev.row_count} in the previous partition ${prev.partition_key} (threshold ${pct(check.threshold)})`,
          detail: { row_count: ctx.rowCount, previous_row_count: prev.row_count, previous_partition_key: prev.partition_key, drop, threshold: check.threshold },
        });
      }
    } else if (check.check === 'min_rows') {
      if (ctx.rowCount < check.min) {
        out.push({
          check: 'min_rows',
          severity: check.severity,
          message: `row count ${ctx.rowCount} is below the minimum of ${check.min}`,
          detail: { row_count: ctx.rowCount, min: check.min },
        });
      }
    } else if (check.check === 'late') {
      const lateBy = ctx.capturedAt.getTime() - check.expected_by.getTime();
      if (lateBy > 0) {
        out.push({
          check: 'late',
          severity: check.severity,
          message: `captured at ${ctx.capturedAt.toISOString()}, ${duration(lateBy)} after expected ${check.expected_by.toISOString()}`,
          detail: { captured_at: ctx.capturedAt.toISOString(), expected_by: check.expected_by.toISOString(), late_ms: lateBy },
        });
      }
    }
  }

  for (const col of ctx.dataset.columns) {
    const n = ctx.requiredNulls.get(col.name) ?? 0;
    if (n === 0 || ctx.rowCount === 0) continue;
    const fraction = n / ctx.rowCount;
    if (fraction <= nullsCheck.max_fraction) continue;
    out.push({
      check: 'required_nulls',
      severity: nullsCheck.severity,
      message: `required column ${col.name} is null in ${n} of ${ctx.rowCount} rows`,
      detail: { column: col.name, nulls: n, rows: ctx.rowCount, fraction },
    });
  }

  if (ctx.rejects.length > 0) {
    out.push({
      check: 'rejected_rows',
      severity: rejectsCheck.severity,
      message: `${ctx.rejects.length} source row(s) rejected (first: ${ctx.rejects[0]!.line !== null ? `line ${ctx.rejects[0]!.line}: ` : ''}${ctx.rejects[0]!.reason})`,
      detail: { count: ctx.rejects.length, first: ctx.rejects.slice(0, 5) },
    });
  }
  return out;
}

/** The run-result form (`RunResult.anomalies[]`). */
export function toRunAnomaly(a: Pick<DataAnomaly, 'partition_key' | 'check' | 'severity' | 'message'>, pipeline: string): Anomaly {
  return { pipeline, partition_key: a.partition_key, check: a.check, severity: a.severity, message: a.message };
}
