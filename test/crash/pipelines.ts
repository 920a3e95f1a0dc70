/**
 * The crash matrix's two pipelines, loaded by real `sluice worker` processes through the
 * config's `modules`. `crash.up` lands a capture of ROWS rows per partition (the landing
 * passes the `after_staging` and `in_capture_tx` crash points); `crash.down` depends on the
 * same partition of `crash.up` (auto-enqueued, WAITING until it completes), reads the
 * upstream's latest rows and fails for good if they are not exactly ROWS: a half-visible
 * capture downstream would show up as a FAILED item, not pass silently.
 */
import { z } from 'zod';
import { crashPoint } from '../../src/core/crash-points.js';
import { PermanentError } from '../../src/core/errors.js';
import { definePipeline } from '../../src/core/pipeline.js';
import type { Dataset } from '../../src/data/dataset.js';

export const ROWS = 40;
export const UP_ROWS: Dataset = {
  domain: 'crash',
  name: 'up_rows',
  columns: [
    { name: 'i', type: 'integer' },
    { name: 'v', type: 'integer' },
  ],
  primaryKey: ['i'],
};
export const DOWN_SUM: Dataset = {
  domain: 'crash',
  name: 'down_sum',
  columns: [
    { name: 'rows_seen', type: 'integer' },
    { name: 'total', type: 'integer' },
  ],
  primaryKey: ['rows_seen'],
};

/** The value every row of partition n carries, so readers can check what they see. */
export const valueOf = (n: number, i: number): number => n * 1000 + i;

const partition = z.object({ n: z.string().regex(/^\d+$/) });
const retry = { maxAttempts: 1000, baseDelayMs: 10, factor: 1, maxDelayMs: 10, jitter: 0 };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const up = definePipeline({
  domain: 'crash',
  name: 'up',
  partition,
  params: z.object({}),
  retry,
  handler: async ({ partition: p, data }) => {
    const n = Number(p.n);
    // Randomised timing: kills from outside land anywhere in the handler's life.
    await pause(Math.random() * 250);
    crashPoint('in_handler');
    const rows = Array.from({ length: ROWS }, (_, i) => ({ i, v: valueOf(n, i) }));
    const landed = await data.land(UP_ROWS, { partition: p, stage: 'up', sourceBytes: `up ${n} x${ROWS}`, rows });
    return { capture_id: landed.capture_id, row_count: landed.row_count };
  },
});

export const down = definePipeline({
  domain: 'crash',
  name: 'down',
  partition,
  params: z.object({}),
  retry,
  dependsOn: [{ pipeline: 'crash.up', auto: true }],
  handler: async ({ partition: p, data }) => {
    const n = Number(p.n);
    const rows = await data.latest(UP_ROWS, { where: { partition_key: `n=${p.n}` } });
    const total = rows.reduce((s, r) => s + Number(r.v), 0);
    const want = Array.from({ length: ROWS }, (_, i) => valueOf(n, i)).reduce((a, b) => a + b, 0);
    if (rows.length !== ROWS || total !== want)
      throw new PermanentError(`upstream n=${n} visible with ${rows.length} rows, total ${total} (want ${ROWS}, ${want})`);
    crashPoint('in_handler');
    const landed = await data.land(DOWN_SUM, { partition: p, stage: 'down', sourceBytes: `down ${n} ${total}`, rows: [{ rows_seen: rows.length, total }] });
    return { capture_id: landed.capture_id };
  },
});

export default [up, down];
