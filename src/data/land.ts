import { crashPoint } from '../core/crash-points.js';
import { ValidationError } from '../core/errors.js';
import type { RevisionSummary } from '../core/run-result.js';
import { evaluateChecks, normalizeChecks, previousPartitionKey, type DataAnomaly } from './anomaly-checks.js';
import {
  captureIdBase,
  isRowStream,
  normalizeLandInput,
  normalizeRejects,
  planCapture,
  priorCapture,
  skipped,
  sqlLength,
  type CaptureRecord,
  type LandInput,
  type LandResult,
  type NormalizedLand,
  type RejectInput,
  type RowChunk,
  type ValueChunk,
  type ScopeCapture,
} from './data-store.js';
import { RowValidationError, rowObjectsToValues, validateValues, type DataValue, type Dataset } from './dataset.js';
import { checkRejectShare } from './reject-threshold.js';
import type { DatasetSql } from './sql.js';

/**
 * The one landing algorithm (see data-store.ts for its rules), written once over a small
 * per-backend driver: transaction, lock, query, bulk row writes. It is a generator that
 * yields every driver call; `drive` resumes it synchronously when the call returned a value
 * and awaits only real promises. So on SQLite, whose driver is synchronous, a landing runs
 * from BEGIN to COMMIT without yielding to other code on the shared connection, while the
 * PostgreSQL driver awaits each round trip.
 */

export type Step<T> = T | Promise<T>;
type Steps<T> = Generator<unknown, T, unknown>;

/** `const x = yield* step(driver.call())`: typed result of one driver call. */
function* step<T>(value: Step<T>): Steps<T> {
  return (yield value) as T;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';

export async function drive<T>(gen: Steps<T>): Promise<T> {
  let r = gen.next();
  for (;;) {
    if (r.done) return r.value;
    let value: unknown;
    try {
      value = isThenable(r.value) ? await r.value : r.value;
    } catch (err) {
      r = gen.throw(err);
      continue;
    }
    r = gen.next(value);
  }
}

/** Where one chunk of validated rows goes. */
export interface RowTarget {
  /** The capture's number (`captures.seq`), which every dataset row carries. */
  captureSeq: number;
  /** Straight into the dataset table (a new capture) or into staging (replacing a capture's rows). */
  direct: boolean;
}

/** A capture row decoded by the driver, with the sequence that orders same-instant captures. */
export type CaptureWithSeq = CaptureRecord & { seq: number };

export interface LandDriver {
  /** Quoted (schema-qualified) name of a shared table. */
  t(name: string): string;
  begin(): Step<void>;
  commit(): Step<void>;
  rollback(): Step<void>;
  /** Serializes landings of one (domain, partition) until the transaction ends. */
  lock(domain: string, partitionKey: string): Step<void>;
  /** Statement with `?` markers; returns the number of rows changed. */
  run(sql: string, params: unknown[]): Step<number>;
  all<R>(sql: string, params: unknown[]): Step<R[]>;
  /** `SELECT * FROM captures …` decoded. */
  captures(where: string, params: unknown[]): Step<CaptureWithSeq[]>;
  /**
   * Bulk write of validated rows (in `ds.columns` order); `first` is the landing's index of
   * `rows[0]`. The rows may still be on their way when it returns (PostgreSQL keeps one COPY
   * open for the whole landing, so the server stores rows while the next chunk is parsed); a
   * key already written throws here or from `endRows`.
   */
  writeRows(ds: Dataset, sql: DatasetSql, target: RowTarget, rows: DataValue[][], first: number): Step<void>;
  /** Waits until every written row is in the table (`rollback` ends an open write without it). */
  endRows(): Step<void>;
  /** Maps a primary-key violation of `writeRows`/`endRows` to its row (index in the landing), or null if it is not one. */
  duplicateRow(err: unknown): number | null;
  /**
   * How many of the last chunks written (the current one included) are held to name a
   * duplicate key's row and line: more than one where the database reports it late
   * (PostgreSQL's open COPY), one where `writeRows` reports it in the chunk that has it. A
   * held chunk outlives young-generation collections, so holding them costs memory.
   */
  readonly heldChunks: number;
  /** The key values a primary-key violation names, when its row is no longer held. */
  duplicateKey(err: unknown): unknown;
  insertRejects(captureId: string, rejects: readonly RejectInput[]): Step<void>;
  /** Encodings of instants, booleans and JSON for bind parameters. */
  time(d: Date): unknown;
  bool(b: boolean): unknown;
  /** The number of a new captures row, taken before its rows are written (they carry it). */
  nextSeq(): Step<number>;
  /** What an INSERT of captures with an explicit `seq` needs after its column list (PostgreSQL's identity). */
  readonly overriding: string;
}

const toScope = (c: CaptureWithSeq): ScopeCapture => ({
  capture_id: c.capture_id,
  dataset: c.dataset,
  stage: c.stage,
  status: c.status,
  content_hash: c.content_hash,
  captured_at: c.captured_at,
  seq: c.seq,
  row_count: c.row_count,
});

function* latestLanded(d: LandDriver, domain: string, partitionKey: string, stage: string): Steps<CaptureRecord | null> {
  const rows = yield* step(
    d.captures(`domain = ? AND partition_key = ? AND stage = ? AND status = 'landed' ORDER BY captured_at DESC, seq DESC LIMIT 1`, [
      domain,
      partitionKey,
      stage,
    ]),
  );
  return rows[0] ?? null;
}

function* relatedCaptures(d: LandDriver, ds: Dataset, n: NormalizedLand): Steps<{ related: ScopeCapture[]; familyIds: string[] }> {
  const related = (yield* step(
    d.captures(`domain = ? AND partition_key = ? AND (stage = ? OR dataset = ?)`, [ds.domain, n.partitionKey, n.stage, ds.name]),
  )).map(toScope);
  const base = captureIdBase(ds.domain, n.partitionKey, n.capturedAt);
  const family = yield* step(
    d.all<{ capture_id: string }>(`SELECT capture_id FROM ${d.t('captures')} WHERE substr(capture_id, 1, ?) = ?`, [sqlLength(base), base]),
  );
  return { related, familyIds: family.map((r) => r.capture_id) };
}

/** What the row pass saw. */
interface RowPass {
  rowCount: number;
  requiredNulls: Map<string, number>;
}

function* writeAll(d: LandDriver, ds: Dataset, sql: DatasetSql, input: LandInput, n: NormalizedLand, target: RowTarget, pass: RowPass): Steps<void> {
  const source = n.source ?? undefined;
  const checkKeys = !(isRowStream(input.rows) && input.rows.uniqueKeys === true);
  const held: { first: number; lines: readonly (number | null)[] | null; rows: DataValue[][] }[] = [];
  const writeChunk = function* (chunk: RowChunk): Steps<void> {
    // Value arrays are the landing's own form; row objects are read into it once.
    const rows = Array.isArray(chunk)
      ? rowObjectsToValues(ds, chunk, source, pass.rowCount)
      : { values: (chunk as ValueChunk).values, lines: (chunk as ValueChunk).lines ?? null };
    const v = validateValues(ds, rows, source, pass.rowCount, checkKeys);
    for (const [k, c] of v.requiredNulls) pass.requiredNulls.set(k, (pass.requiredNulls.get(k) ?? 0) + c);
    held.push({ first: pass.rowCount, lines: rows.lines, rows: v.rows });
    if (held.length > d.heldChunks) held.shift();
    yield* step(d.writeRows(ds, sql, target, v.rows, pass.rowCount));
    pass.rowCount += v.rows.length;
  };
  try {
    yield* eachChunk(input, writeChunk);
    yield* step(d.endRows());
  } catch (err) {
    const at = d.duplicateRow(err);
    if (at === null) throw err;
    const c = held.find((h) => at >= h.first && at < h.first + h.rows.length);
    const line = c?.lines?.[at - c.first] ?? null;
    const key = c
      ? Object.fromEntries(ds.primaryKey.map((k) => [k, c.rows[at - c.first]![ds.columns.findIndex((col) => col.name === k)]]))
      : d.duplicateKey(err);
    throw new RowValidationError(
      at + 1,
      line,
      ds.primaryKey.join(','),
      key,
      'be unique within one capture (an earlier chunk of rows has the same primary key)',
      source,
    );
  }
}

const isValueChunk = (c: unknown): c is ValueChunk => typeof c === 'object' && c !== null && Array.isArray((c as { values?: unknown }).values);

function* eachChunk(input: LandInput, write: (chunk: RowChunk) => Steps<void>): Steps<void> {
  const rows = input.rows;
  if (!isRowStream(rows)) {
    yield* write(rows);
    return;
  }
  const chunks = rows.chunks as Partial<Iterable<RowChunk> & AsyncIterable<RowChunk>>;
  const it = chunks[Symbol.asyncIterator]?.() ?? chunks[Symbol.iterator]?.();
  if (!it) throw new ValidationError('rows.chunks', typeof rows.chunks, 'be an iterable of row arrays');
  for (;;) {
    const r = yield* step<IteratorResult<RowChunk>>(it.next());
    if (r.done) break;
    if (!Array.isArray(r.value) && !isValueChunk(r.value))
      throw new ValidationError('rows.chunks[]', typeof r.value, 'be an array of row objects or {values, lines} of value arrays in column order');
    yield* write(r.value);
  }
}

function* landSteps(d: LandDriver, ds: Dataset, sql: DatasetSql, input: LandInput, n: NormalizedLand): Steps<LandResult> {
  const checks = normalizeChecks(input.checks);
  if (!n.force) {
    const latest = yield* latestLanded(d, ds.domain, n.partitionKey, n.stage);
    if (latest && latest.content_hash === n.contentHash) return skipped(ds, n, latest);
  }
  const pass: RowPass = { rowCount: 0, requiredNulls: new Map() };
  yield* step(d.begin());
  let plan: ReturnType<typeof planCapture>;
  let result: LandResult;
  try {
    yield* step(d.lock(ds.domain, n.partitionKey));
    // Re-read under the lock: another process may have landed meanwhile.
    const { related, familyIds } = yield* relatedCaptures(d, ds, n);
    plan = planCapture({ ds, partitionKey: n.partitionKey, stage: n.stage, hash: n.contentHash, capturedAt: n.capturedAt, related, familyIds });
    if (!n.force && plan.latestLanded && plan.latestLanded.content_hash === n.contentHash) {
      const latest = (yield* latestLanded(d, ds.domain, n.partitionKey, n.stage))!;
      yield* step(d.rollback());
      return skipped(ds, n, latest);
    }
    // A new capture's rows go straight into the dataset table (its MERGE would insert every
    // staged row), written once instead of three times; rows replacing an existing capture's
    // go through staging and one MERGE, so only rows that differ are touched. The DELETE only
    // guards the invariant that a new capture has no rows.
    const seq = plan.reuse ? plan.reuse.seq : yield* step(d.nextSeq());
    const target: RowTarget = { captureSeq: seq, direct: plan.reuse === null };
    yield* step(d.run(target.direct ? sql.deleteCapture : sql.deleteStaging, [seq]));
    yield* writeAll(d, ds, sql, input, n, target, pass);
    if (isRowStream(input.rows) && input.rows.rejects) {
      n.rejects.push(...normalizeRejects(input.rows.rejects(), n.rejects.length));
      checkRejectShare(pass.rowCount, n.rejects, input.maxRejectShare, n.source);
    }
    crashPoint('after_staging');
    if (input.onStaged) yield* step(input.onStaged());
    result = yield* mergeAndRecord(d, ds, sql, n, checks, target, pass, plan);
    crashPoint('in_capture_tx');
    yield* step(d.commit());
  } catch (err) {
    yield* step(d.rollback());
    if (err instanceof RowValidationError) yield* recordFailure(d, ds, n, Math.max(pass.rowCount, Array.isArray(input.rows) ? input.rows.length : 0), err);
    throw err;
  }
  return result;
}

function* mergeAndRecord(
  d: LandDriver,
  ds: Dataset,
  sql: DatasetSql,
  n: NormalizedLand,
  checks: ReturnType<typeof normalizeChecks>,
  target: RowTarget,
  pass: RowPass,
  plan: ReturnType<typeof planCapture>,
): Steps<LandResult> {
  const { captureSeq, direct } = target;
  const captureId = plan.captureId;
  const prior = priorCapture(plan.scope, captureId);
  let summary: RevisionSummary | null = null;
  if (prior && prior.content_hash !== n.contentHash) {
    const r = (yield* step(d.all<RevisionSummary>(direct ? sql.revisionWritten : sql.revision, sql.revisionParams(captureSeq, prior.seq))))[0]!;
    summary = { rows_added: Number(r.rows_added), rows_removed: Number(r.rows_removed), rows_changed: Number(r.rows_changed) };
  }
  let written = pass.rowCount;
  if (!direct) {
    written = (yield* step(d.run(sql.upsert, [captureSeq]))) + (yield* step(d.run(sql.deleteMissing, [captureSeq])));
    yield* step(d.run(sql.deleteStaging, [captureSeq]));
  }

  const now = new Date();
  const rowCount = pass.rowCount;
  const isRevision = summary !== null;
  const summaryJson = summary && JSON.stringify(summary);
  const captures = d.t('captures');
  if (plan.reuse) {
    yield* step(
      d.run(
        `UPDATE ${captures} SET status = 'landed', row_count = ?, landed_at = ?, source = ?, is_revision = ?, revision_summary = ?, error = NULL WHERE capture_id = ?`,
        [rowCount, d.time(now), n.source, d.bool(isRevision), summaryJson, captureId],
      ),
    );
  } else {
    yield* step(
      insertCapture(d, ds, n, {
        captureId,
        seq: captureSeq,
        rowCount,
        status: 'landed',
        landedAt: now,
        isRevision,
        revisionSummary: summaryJson,
        error: null,
      }),
    );
  }
  const capturedAt = plan.reuse ? plan.reuse.captured_at : n.capturedAt;

  let previous: { partition_key: string; row_count: number } | null = null;
  const drop = checks.find((c) => c.check === 'row_count_drop');
  if (drop && drop.check === 'row_count_drop') {
    const others = yield* step(
      d.all<{ partition_key: string; row_count: number }>(
        `SELECT partition_key, row_count FROM ${d.t('manifest')} WHERE domain = ? AND stage = ? AND partition_key <> ?`,
        [ds.domain, n.stage, n.partitionKey],
      ),
    );
    const key =
      drop.previous ??
      previousPartitionKey(
        n.partitionKey,
        others.map((o) => o.partition_key),
      );
    const found = others.find((o) => o.partition_key === key);
    previous = found ? { partition_key: found.partition_key, row_count: Number(found.row_count) } : null;
  }
  const drafts = evaluateChecks(
    { dataset: ds, partitionKey: n.partitionKey, rowCount, capturedAt, requiredNulls: pass.requiredNulls, previous, rejects: n.rejects },
    checks,
  );

  yield* step(
    d.run(
      `INSERT INTO ${d.t('manifest')} (domain, partition_key, stage, dataset, capture_id, row_count, content_hash, captured_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (domain, partition_key, stage) DO UPDATE SET dataset = excluded.dataset, capture_id = excluded.capture_id,
         row_count = excluded.row_count, content_hash = excluded.content_hash, captured_at = excluded.captured_at, updated_at = excluded.updated_at`,
      [ds.domain, n.partitionKey, n.stage, ds.name, captureId, rowCount, n.contentHash, d.time(capturedAt), d.time(now)],
    ),
  );

  yield* step(d.run(`DELETE FROM ${d.t('anomalies')} WHERE capture_id = ?`, [captureId]));
  yield* step(d.run(`DELETE FROM ${d.t('rejects')} WHERE capture_id = ?`, [captureId]));
  const anomalies: DataAnomaly[] = [];
  for (const a of drafts) {
    const rows = yield* step(
      d.all<{ id: number | string }>(
        `INSERT INTO ${d.t('anomalies')} (domain, dataset, partition_key, stage, capture_id, "check", severity, message, detail, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [ds.domain, ds.name, n.partitionKey, n.stage, captureId, a.check, a.severity, a.message, JSON.stringify(a.detail), d.time(now)],
      ),
    );
    anomalies.push({
      ...a,
      id: Number(rows[0]!.id),
      domain: ds.domain,
      dataset: ds.name,
      partition_key: n.partitionKey,
      stage: n.stage,
      capture_id: captureId,
      recorded_at: now,
    });
  }
  if (n.rejects.length) yield* step(d.insertRejects(captureId, n.rejects));
  return {
    status: 'landed',
    skipped: false,
    domain: ds.domain,
    dataset: ds.name,
    partition_key: n.partitionKey,
    stage: n.stage,
    capture_id: captureId,
    row_count: rowCount,
    is_revision: isRevision,
    revision_summary: summary,
    content_hash: n.contentHash,
    reason: null,
    rows_written: written,
    anomalies,
  };
}

/** What a new captures row says beyond the landing itself (`NormalizedLand`). */
interface NewCapture {
  captureId: string;
  seq: number;
  rowCount: number;
  /** `failed` rows exist so a rejected landing's rejects have a capture to name. */
  status: 'landed' | 'failed';
  landedAt: Date | null;
  isRevision: boolean;
  revisionSummary: string | null;
  error: string | null;
}

/** Inserts a new captures row, for a landing or for a failed attempt at one. */
function insertCapture(d: LandDriver, ds: Dataset, n: NormalizedLand, c: NewCapture): Step<number> {
  return d.run(
    `INSERT INTO ${d.t('captures')} (capture_id, seq, domain, dataset, partition_key, stage, content_hash, row_count, captured_at, landed_at, source, status, is_revision, revision_summary, error)
     ${d.overriding}VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      c.captureId,
      c.seq,
      ds.domain,
      ds.name,
      n.partitionKey,
      n.stage,
      n.contentHash,
      c.rowCount,
      d.time(n.capturedAt),
      c.landedAt && d.time(c.landedAt),
      n.source,
      c.status,
      d.bool(c.isRevision),
      c.revisionSummary,
      c.error,
    ],
  );
}

/** A capture whose rows broke a rule: recorded as `failed`, nothing else written. */
function* recordFailure(d: LandDriver, ds: Dataset, n: NormalizedLand, rowCount: number, err: RowValidationError): Steps<void> {
  yield* step(d.begin());
  try {
    yield* step(d.lock(ds.domain, n.partitionKey));
    const { related, familyIds } = yield* relatedCaptures(d, ds, n);
    const plan = planCapture({
      ds,
      partitionKey: n.partitionKey,
      stage: n.stage,
      hash: n.contentHash,
      capturedAt: n.capturedAt,
      related,
      familyIds,
      forFailure: true,
    });
    if (plan.reuse) {
      yield* step(
        d.run(`UPDATE ${d.t('captures')} SET row_count = ?, source = ?, error = ? WHERE capture_id = ?`, [rowCount, n.source, err.message, plan.captureId]),
      );
    } else {
      const seq = yield* step(d.nextSeq());
      yield* step(
        insertCapture(d, ds, n, {
          captureId: plan.captureId,
          seq,
          rowCount,
          status: 'failed',
          landedAt: null,
          isRevision: false,
          revisionSummary: null,
          error: err.message,
        }),
      );
    }
    yield* step(d.commit());
    err.captureId = plan.captureId;
  } catch (recordErr) {
    yield* step(d.rollback());
    // The row error is what the caller must see; a scope error here (e.g. wrong stage) is
    // reported by the next successful attempt's planning anyway.
    if (!(recordErr instanceof ValidationError)) throw recordErr;
  }
}

/** Lands `input` into `ds` through `driver` (see data-store.ts for the rules). */
export function landWith(driver: LandDriver, ds: Dataset, sql: DatasetSql, input: LandInput): Promise<LandResult> {
  return drive(
    (function* () {
      const n = normalizeLandInput(input);
      return yield* landSteps(driver, ds, sql, input, n);
    })(),
  );
}
