import { NotFoundError, ValidationError } from '../core/errors.js';
import type { CaptureRecord, DataStore } from '../data/data-store.js';
import { SYSTEM_COLUMNS, type DataRow, type Dataset } from '../data/dataset.js';
import { findDataset } from '../domains/published-datasets.js';

/**
 * What a restatement changed: the rows of two captures of one (domain, partition, stage),
 * matched on the dataset's primary key. Computed from the rows themselves (as-of reads of
 * both captures), so it holds for any pair, not only a capture and the one before it.
 * Counts are exact; the rows shown are a sample of at most `sample` per kind.
 */
export interface CaptureDiff {
  domain: string;
  dataset: string;
  partition_key: string;
  stage: string;
  primary_key: string[];
  capture: CaptureSide;
  against: CaptureSide | null;
  counts: { added: number; removed: number; changed: number; unchanged: number };
  sample_size: number;
  added: DataRow[];
  removed: DataRow[];
  changed: Array<{ key: Record<string, unknown>; columns: string[]; before: DataRow; after: DataRow }>;
}

interface CaptureSide {
  capture_id: string;
  captured_at: string;
  row_count: number | null;
  content_hash: string;
  is_revision: boolean;
}

const side = (c: CaptureRecord): CaptureSide => ({
  capture_id: c.capture_id,
  captured_at: c.captured_at.toISOString(),
  row_count: c.row_count,
  content_hash: c.content_hash,
  is_revision: c.is_revision,
});

/** `finra.otc_transparency:NMS_TIER_1:2025-12-19:20251222` -> `finra.otc_transparency`. */
export function domainOfCapture(captureId: string, field: string): string {
  const at = captureId.indexOf(':');
  if (at <= 0) throw new ValidationError(field, captureId, 'be a capture id of the form {domain}:{partition values}:{YYYYMMDD}');
  return captureId.slice(0, at);
}

async function findCapture(data: DataStore, captureId: string, field: string): Promise<CaptureRecord> {
  const found = (await data.listCaptures({ domain: domainOfCapture(captureId, field) })).find((c) => c.capture_id === captureId);
  if (!found) throw new NotFoundError('capture', captureId);
  return found;
}

/** The landed capture of the same scope captured just before `c`, or null (its first). */
async function previousCapture(data: DataStore, c: CaptureRecord): Promise<CaptureRecord | null> {
  const scope = await data.listCaptures({ domain: c.domain, partitionKey: c.partition_key, stage: c.stage, status: 'landed' });
  const at = scope.findIndex((x) => x.capture_id === c.capture_id);
  return at > 0 ? scope[at - 1]! : null;
}

export async function diffCaptures(data: DataStore, captureId: string, againstId: string | undefined, sample: number): Promise<CaptureDiff> {
  const capture = await findCapture(data, captureId, 'capture_id');
  if (capture.status !== 'landed') throw new ValidationError('capture_id', captureId, 'name a landed capture (this one failed and has no rows)');
  const against = againstId ? await findCapture(data, againstId, 'against') : await previousCapture(data, capture);
  if (against && (against.domain !== capture.domain || against.dataset !== capture.dataset)) {
    throw new ValidationError('against', against.capture_id, `name a capture of the same dataset (${capture.domain}.${capture.dataset})`);
  }
  if (against && against.status !== 'landed')
    throw new ValidationError('against', against.capture_id, 'name a landed capture (this one failed and has no rows)');
  const ds = findDataset(capture.domain, capture.dataset, { domain: 'capture_id', dataset: 'capture_id' });
  const [after, before] = await Promise.all([
    data.asOf(ds, { capture_id: capture.capture_id }),
    against ? data.asOf(ds, { capture_id: against.capture_id }) : Promise.resolve([]),
  ]);
  return {
    ...compareRows(ds, before, after, sample),
    domain: capture.domain,
    dataset: capture.dataset,
    partition_key: capture.partition_key,
    stage: capture.stage,
    capture: side(capture),
    against: against ? side(against) : null,
  };
}

/** Rows matched on the primary key; a row is changed when any non-system column differs. */
export function compareRows(ds: Dataset, before: readonly DataRow[], after: readonly DataRow[], sample: number) {
  const keyOf = (r: DataRow) => JSON.stringify(ds.primaryKey.map((k) => r[k] ?? null));
  const columns = ds.columns.map((c) => c.name).filter((n) => !(SYSTEM_COLUMNS as readonly string[]).includes(n));
  const old = new Map(before.map((r) => [keyOf(r), r]));
  const out = {
    primary_key: [...ds.primaryKey],
    counts: { added: 0, removed: 0, changed: 0, unchanged: 0 },
    sample_size: sample,
    added: [] as DataRow[],
    removed: [] as DataRow[],
    changed: [] as CaptureDiff['changed'],
  };
  const strip = (r: DataRow): DataRow => Object.fromEntries(columns.map((c) => [c, r[c] ?? null]));
  for (const row of after) {
    const k = keyOf(row);
    const prior = old.get(k);
    if (!prior) {
      out.counts.added++;
      if (out.added.length < sample) out.added.push(strip(row));
      continue;
    }
    old.delete(k);
    const differing = columns.filter((c) => (prior[c] ?? null) !== (row[c] ?? null));
    if (differing.length === 0) {
      out.counts.unchanged++;
      continue;
    }
    out.counts.changed++;
    if (out.changed.length < sample)
      out.changed.push({ key: Object.fromEntries(ds.primaryKey.map((p) => [p, row[p] ?? null])), columns: differing, before: strip(prior), after: strip(row) });
  }
  for (const row of old.values()) {
    out.counts.removed++;
    if (out.removed.length < sample) out.removed.push(strip(row));
  }
  return out;
}
