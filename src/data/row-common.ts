import type { DataAnomaly } from './anomaly-checks.js';
import type { AnomalyFilter, CaptureFilter, CaptureRecord, ManifestFilter } from './data-store.js';
import { filters } from './data-store.js';

/**
 * What the two data stores read alike: the columns a captures or anomalies row keeps as it is
 * (each backend converts only its ids, instants, booleans and JSON), and the WHERE clauses of
 * the list queries. One list of columns, so a new column cannot reach one backend only.
 */
type CaptureText = Pick<
  CaptureRecord,
  'capture_id' | 'domain' | 'dataset' | 'partition_key' | 'stage' | 'content_hash' | 'row_count' | 'source' | 'status' | 'error'
>;

export const captureText = (r: CaptureText): CaptureText => ({
  capture_id: r.capture_id,
  domain: r.domain,
  dataset: r.dataset,
  partition_key: r.partition_key,
  stage: r.stage,
  content_hash: r.content_hash,
  row_count: r.row_count,
  source: r.source,
  status: r.status,
  error: r.error,
});

/** An anomalies row as a backend returns it: the id, detail and instant in its own types. */
export type AnomalyRowOf<Id, Detail, At> = Omit<DataAnomaly, 'id' | 'detail' | 'recorded_at'> & { id: Id; detail: Detail; recorded_at: At };

export const anomalyText = <R extends AnomalyRowOf<unknown, unknown, unknown>>(r: R): Omit<DataAnomaly, 'id' | 'detail' | 'recorded_at'> => ({
  domain: r.domain,
  dataset: r.dataset,
  partition_key: r.partition_key,
  stage: r.stage,
  capture_id: r.capture_id,
  check: r.check,
  severity: r.severity,
  message: r.message,
});

export const captureFilters = (filter: CaptureFilter) =>
  filters([
    ['domain', filter.domain],
    ['partition_key', filter.partitionKey],
    ['dataset', filter.dataset],
    ['stage', filter.stage],
    ['status', filter.status],
  ]);

export const manifestFilters = (filter: ManifestFilter) =>
  filters([
    ['domain', filter.domain],
    ['partition_key', filter.partitionKey],
    ['stage', filter.stage],
    ['dataset', filter.dataset],
  ]);

export const anomalyFilters = (filter: AnomalyFilter) =>
  filters([
    ['domain', filter.domain],
    ['partition_key', filter.partitionKey],
    ['stage', filter.stage],
    ['capture_id', filter.captureId],
    ['"check"', filter.check],
    ['severity', filter.severity],
  ]);
