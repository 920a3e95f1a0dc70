import { createHash } from 'node:crypto';
import { checkRejectShare } from './reject-threshold.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { partitionKey as keyOf, type Partition } from '../core/partition.js';
import type { Dataset } from './dataset.js';

/**
 * The data layer: captures, manifest, versioned dataset tables, anomalies. One interface,
 * two implementations (SQLite, PostgreSQL) with the same behaviour:
 *
 * land(ds, input):
 *   1. content hash = SHA-256 of the source bytes; equal to the latest landed capture's hash
 *      for (domain, partition, stage)? -> `skipped` ("unchanged"), nothing written (unless
 *      `force`).
 *   2. rows validated (key present, key unique, types) before anything is written; a bad
 *      row throws RowValidationError and the capture is recorded as `failed` (no rows, no
 *      manifest change).
 *   3. ONE transaction: the rows of a new capture go straight into the dataset table tagged
 *      with its capture_id (nothing of it exists yet, so there is nothing to merge with);
 *      a forced re-landing of an existing capture goes through the staging table and one
 *      MERGE on (primary key, capture_id) so only rows that really differ are touched ->
 *      revision summary against the prior capture -> captures row -> manifest row ->
 *      anomalies, rejects. A crash anywhere before COMMIT leaves nothing visible.
 *
 * capture_id = `domain:{partition values in key order}:YYYYMMDD` (captured date, UTC), e.g.
 * `finra.otc_transparency:NMS_TIER_1:2025-12-19:20251222`, the operational guide's form. Landing the same bytes
 * again the same day (force, or after a failure) reuses the id and replaces that capture's
 * rows; different bytes the same day get `#2`, `#3`, … The id family is shared by every
 * stage of a domain's partition, so two stages landing the same day also get distinct ids.
 *
 * Within one (domain, partition, stage) there is one dataset, and a dataset's captures of
 * one partition use one stage; the manifest entry of (domain, partition, stage) therefore
 * names exactly the rows `latest` returns.
 */

// The interface and its types are the data port, in core (handlers name them); this module
// keeps the helpers both implementations share.
export type * from '../core/data-port.js';
import type {
  RejectInput,
  LandInput,
  RowStream,
  LandResult,
  CaptureRecord,
  AsOfRef,
  CompletionRequest,
  CompletionCell,
  CompletionReport,
} from '../core/data-port.js';
// ---------------------------------------------------------------------------------------
// Shared pure helpers used by both implementations.

export function isRowStream(rows: LandInput['rows']): rows is RowStream {
  return !Array.isArray(rows) && typeof rows === 'object' && rows !== null && 'chunks' in rows;
}

export function sha256Hex(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface NormalizedLand {
  partitionKey: string;
  stage: string;
  contentHash: string;
  capturedAt: Date;
  source: string | null;
  force: boolean;
  rejects: RejectInput[];
}

/** Checks the non-row inputs of `land` (partition, stage, hash, time, rejects). */
export function normalizeLandInput(input: LandInput): NormalizedLand {
  if (!input || typeof input !== 'object') throw new ValidationError('land', input, 'be an object');
  let key: string | undefined;
  if (input.partition !== undefined) key = keyOf(input.partition);
  if (input.partitionKey !== undefined) {
    if (typeof input.partitionKey !== 'string' || input.partitionKey === '')
      throw new ValidationError('partitionKey', input.partitionKey, 'be a non-empty partition key');
    if (key !== undefined && key !== input.partitionKey) {
      throw new ValidationError('partitionKey', input.partitionKey, `match the partition given with it (${key})`);
    }
    key = input.partitionKey;
  }
  if (key === undefined) throw new ValidationError('partition', undefined, 'be given (partition or partitionKey)');
  if (typeof input.stage !== 'string' || input.stage.trim() === '') throw new ValidationError('stage', input.stage, 'be a non-empty string');
  let hash: string;
  if (input.sourceBytes !== undefined) {
    if (typeof input.sourceBytes !== 'string' && !(input.sourceBytes instanceof Uint8Array)) {
      throw new ValidationError('sourceBytes', typeof input.sourceBytes, 'be a string or bytes');
    }
    hash = sha256Hex(input.sourceBytes);
    if (input.contentHash !== undefined && input.contentHash !== hash) {
      throw new ValidationError('contentHash', input.contentHash, 'equal the SHA-256 of sourceBytes when both are given');
    }
  } else if (typeof input.contentHash === 'string' && input.contentHash !== '') {
    hash = input.contentHash;
  } else {
    throw new ValidationError('sourceBytes', undefined, 'be given (or contentHash)');
  }
  const capturedAt = input.capturedAt ?? new Date();
  if (!(capturedAt instanceof Date) || Number.isNaN(capturedAt.getTime())) throw new ValidationError('capturedAt', input.capturedAt, 'be a valid Date');
  if (input.source !== undefined && typeof input.source !== 'string') throw new ValidationError('source', input.source, 'be a string');
  const rejects = normalizeRejects(input.rejects ?? []);
  if (isRowStream(input.rows)) {
    // Checked with the final counts once the stream is exhausted (land.ts); the share itself now.
    checkRejectShare(1, [], input.maxRejectShare, null);
  } else {
    if (!Array.isArray(input.rows)) throw new ValidationError('rows', input.rows, 'be an array of row objects or a RowStream {chunks}');
    checkRejectShare(input.rows.length, rejects, input.maxRejectShare, input.source ?? null);
  }
  return {
    partitionKey: key,
    stage: input.stage,
    contentHash: hash,
    // Stored to the millisecond on both backends.
    capturedAt: new Date(Math.trunc(capturedAt.getTime())),
    source: input.source ?? null,
    force: input.force === true,
    rejects,
  };
}

export function normalizeRejects(list: readonly RejectInput[], from = 0): RejectInput[] {
  return list.map((r, i) => {
    if (!r || typeof r.reason !== 'string' || (r.line !== null && !Number.isInteger(r.line))) {
      throw new ValidationError(`rejects[${from + i}]`, r, 'be {line: integer | null, reason: string, raw?: string}');
    }
    return { line: r.line, reason: r.reason, raw: r.raw ?? null };
  });
}

/** `domain:partition_key:YYYY-MM-DD` for the UTC date of `capturedAt`. */
export function captureIdBase(domain: string, partitionKey: string, capturedAt: Date): string {
  // The operational guide's form `{domain}:{tier}:{week_ending}:{YYYYMMDD}`: the partition's
  // values in key order (tier < week_ending), then the captured date without dashes.
  const values =
    partitionKey === '-' ? [] : partitionKey.split('|').map((pair) => (pair.includes('=') ? decodeURIComponent(pair.slice(pair.indexOf('=') + 1)) : pair));
  return [domain, ...values, capturedAt.toISOString().slice(0, 10).replace(/-/g, '')].join(':');
}

/** 1 for the base id, N for `base#N`, null when `id` is not of this family. */
export function familyIndex(base: string, id: string): number | null {
  if (id === base) return 1;
  if (!id.startsWith(`${base}#`)) return null;
  const rest = id.slice(base.length + 1);
  return /^[1-9]\d*$/.test(rest) ? Number(rest) : null;
}

/** Code-point length, which is what `substr` counts on both databases. */
export function sqlLength(text: string): number {
  return [...text].length;
}

export interface ScopeCapture {
  capture_id: string;
  dataset: string;
  stage: string;
  status: 'landed' | 'failed';
  content_hash: string;
  captured_at: Date;
  seq: number;
  row_count: number | null;
}

export const byCaptureOrder = (a: ScopeCapture, b: ScopeCapture) => a.captured_at.getTime() - b.captured_at.getTime() || a.seq - b.seq;

/**
 * Checks the scope rules and picks the capture id.
 * - A (domain, partition, stage) holds one dataset; a dataset's partition lives at one stage.
 * - Same bytes the same day as the newest capture of that content in the scope, with no
 *   later landed capture: reuse its id (forced re-run, or success after a failure).
 * - Otherwise the next free id of the day's family (`base`, `base#2`, …).
 */
export function planCapture(args: {
  ds: Dataset;
  partitionKey: string;
  stage: string;
  hash: string;
  capturedAt: Date;
  /** Captures of (domain, partition) at this stage or of this dataset. */
  related: readonly ScopeCapture[];
  /** Every id of today's family, any stage. */
  familyIds: readonly string[];
  /** Recording a failed attempt: never take over a landed capture's id. */
  forFailure?: boolean;
}): { captureId: string; reuse: ScopeCapture | null; scope: ScopeCapture[]; latestLanded: ScopeCapture | null } {
  const { ds, stage, hash } = args;
  const clash = args.related.find((c) => (c.stage === stage && c.dataset !== ds.name) || (c.dataset === ds.name && c.stage !== stage));
  if (clash) {
    if (clash.stage === stage) {
      throw new ValidationError(
        'stage',
        stage,
        `hold one dataset per partition: ${ds.domain} ${args.partitionKey} stage ${stage} already holds dataset ${clash.dataset}`,
      );
    }
    throw new ValidationError(
      'stage',
      stage,
      `stay the same for a dataset's partition: ${ds.domain}.${ds.name} ${args.partitionKey} is landed at stage ${clash.stage}`,
    );
  }
  const scope = args.related.filter((c) => c.stage === stage).sort(byCaptureOrder);
  const landed = scope.filter((c) => c.status === 'landed');
  const latestLanded = landed[landed.length - 1] ?? null;
  const base = captureIdBase(ds.domain, args.partitionKey, args.capturedAt);
  const same = scope.filter((c) => c.content_hash === hash && familyIndex(base, c.capture_id) !== null);
  const cand = same[same.length - 1];
  let reuse: ScopeCapture | null = null;
  if (cand) {
    if (cand.status === 'landed') {
      if (!args.forFailure && cand.capture_id === latestLanded?.capture_id) reuse = cand;
    } else if (!latestLanded || byCaptureOrder(cand, latestLanded) > 0) {
      reuse = cand;
    }
  }
  if (!reuse && latestLanded && args.capturedAt.getTime() < latestLanded.captured_at.getTime()) {
    throw new ValidationError(
      'capturedAt',
      args.capturedAt.toISOString(),
      `be no earlier than the latest capture of ${ds.domain} ${args.partitionKey} stage ${stage} (${latestLanded.capture_id} at ${latestLanded.captured_at.toISOString()})`,
    );
  }
  if (reuse) return { captureId: reuse.capture_id, reuse, scope, latestLanded };
  let max = 0;
  for (const id of args.familyIds) max = Math.max(max, familyIndex(base, id) ?? 0);
  return { captureId: max === 0 ? base : `${base}#${max + 1}`, reuse: null, scope, latestLanded };
}

/** The capture a new landing is compared with: the latest landed one other than itself. */
export function priorCapture(scope: readonly ScopeCapture[], captureId: string): ScopeCapture | null {
  const landed = scope.filter((c) => c.status === 'landed' && c.capture_id !== captureId);
  return landed[landed.length - 1] ?? null;
}

export function partitionKeysOf(list: readonly (string | Partition)[] | undefined): string[] {
  return (list ?? []).map((p) => (typeof p === 'string' ? p : keyOf(p)));
}

/** Expands a completion request into the (domain, stage, partition) cells to look up. */
export function completionCells(request: CompletionRequest): { domain: string; stage: string; partition_key: string }[] {
  if (!request || !Array.isArray(request.stages) || request.stages.length === 0) {
    throw new ValidationError('stages', request?.stages, 'list at least one {domain, stage}');
  }
  const cells: { domain: string; stage: string; partition_key: string }[] = [];
  const seen = new Set<string>();
  request.stages.forEach((s, i) => {
    const domain = s.domain ?? request.domain;
    if (typeof domain !== 'string' || domain === '') throw new ValidationError(`stages[${i}].domain`, domain, 'be given (or a default domain)');
    if (typeof s.stage !== 'string' || s.stage === '') throw new ValidationError(`stages[${i}].stage`, s.stage, 'be a non-empty string');
    const keys = partitionKeysOf(s.partitionKeys ?? request.partitionKeys);
    if (keys.length === 0) throw new ValidationError(`stages[${i}].partitionKeys`, undefined, 'list at least one partition (here or in partitionKeys)');
    for (const partition_key of keys) {
      const id = JSON.stringify([domain, s.stage, partition_key]);
      if (seen.has(id)) continue;
      seen.add(id);
      cells.push({ domain, stage: s.stage, partition_key });
    }
  });
  return cells;
}

export function completionReport(cells: CompletionCell[]): CompletionReport {
  const inCells = cells.filter((c) => c.status === 'in');
  const missing = cells.filter((c) => c.status === 'missing');
  return { complete: missing.length === 0, cells, in: inCells, missing };
}

/** ` AND col = ?` for each defined filter value; column names are constants of this file. */
export function filters(pairs: [string, string | undefined][]): { text: string; params: string[] } {
  const used = pairs.filter((p): p is [string, string] => p[1] !== undefined);
  return { text: used.map(([c]) => ` AND ${c} = ?`).join(''), params: used.map(([, v]) => v) };
}

export function mismatch(ds: Dataset, table: string, existing: string): ValidationError {
  return new ValidationError(
    'dataset',
    `${ds.domain}.${ds.name}`,
    `match the definition table ${table} was created with (${existing}); changing a dataset's columns or key needs a migration`,
  );
}

export function skipped(ds: Dataset, n: NormalizedLand, latest: CaptureRecord): LandResult {
  return {
    status: 'skipped',
    skipped: true,
    domain: ds.domain,
    dataset: ds.name,
    partition_key: n.partitionKey,
    stage: n.stage,
    capture_id: latest.capture_id,
    row_count: latest.row_count ?? 0,
    is_revision: false,
    revision_summary: null,
    content_hash: n.contentHash,
    reason: `unchanged: same content hash as capture ${latest.capture_id}`,
    rows_written: 0,
    anomalies: [],
  };
}

export function checkCaptureRef(ds: Dataset, captureId: string, c: CaptureRecord | null): void {
  if (!c) throw new NotFoundError('capture', captureId);
  if (c.domain !== ds.domain || c.dataset !== ds.name) {
    throw new ValidationError('capture_id', captureId, `be a capture of ${ds.domain}.${ds.name} (it is one of ${c.domain}.${c.dataset})`);
  }
  if (c.status !== 'landed') throw new ValidationError('capture_id', captureId, `be a landed capture (it failed: ${c.error ?? 'unknown error'})`);
}

export function checkAt(ref: AsOfRef): Date {
  const at = ref && 'at' in ref ? ref.at : undefined;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new ValidationError('at', at, 'be a valid Date (or give capture_id)');
  return at;
}
