/**
 * One attempt numbering everywhere (issue #17): the item's history numbers attempts #1, #2, …
 * for its whole life; the retry budget restarts on a manual retry or a re-run. The two counts
 * have two names (`attempts` of `max_attempts` = budget, `attempts_total` = history) and
 * every place that shows an attempt's number shows the history number: the API, the item
 * page, the handler's `attemptNo` and a command's SLUICE_ATTEMPT.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../../src/core/pipeline.js';
import { startHarness, type Harness } from '../api/support/harness.js';
import { waitUntil } from '../helpers/backends.js';

const numbers = definePipeline({
  domain: 'test',
  name: 'numbers',
  params: z.object({}),
  retry: { maxAttempts: 2, baseDelayMs: 0, factor: 1, maxDelayMs: 0, jitter: 0 },
  handler: (ctx) => {
    // The first two attempts fail and use up the budget; a manual retry then succeeds.
    if (ctx.attemptNo <= 2) throw new Error(`attempt ${ctx.attemptNo} fails on purpose`);
    return { attempt_no: ctx.attemptNo, budget_attempt: ctx.attempt };
  },
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function settle(h: Harness, id: number, state: string): Promise<void> {
  await waitUntil(async () => (await h.app.store.getItem(id))?.state === state, 15_000, `item ${id} to be ${state}`, 25);
}

describe('attempt numbering', () => {
  it('after two failures, a manual retry and a restatement re-run: history #1-#4, budget 1 of 2, and every surface agrees', async () => {
    h = await startHarness({
      pipelines: [numbers],
      worker: {},
      config: {
        pipelines: [
          {
            domain: 'test',
            name: 'cmd',
            command: ['sh', '-c', 'echo "attempt=$SLUICE_ATTEMPT budget=$SLUICE_BUDGET_ATTEMPT"; test "$SLUICE_ATTEMPT" -ge 3'],
            retry: { max_attempts: 2, base_delay: '0s' },
          },
        ],
      },
    });
    h.worker!.start();
    for (const pipeline of ['test.numbers', 'test.cmd']) {
      const res = await h.call('POST', '/api/v1/work/enqueue', { body: { pipeline, partition: { n: '1' } } });
      expect(res.status, res.text).toBe(201);
      const id: number = res.body.item.id;
      await settle(h, id, 'FAILED');
      expect((await h.call('POST', '/api/v1/work/retry', { body: { id } })).status).toBe(200);
      await settle(h, id, 'COMPLETE');
      // A restatement upstream puts the finished item back (rerun): a fresh budget again.
      expect((await h.app.store.rerun(id, 'test')).changed).toBe(true);
      await settle(h, id, 'COMPLETE');

      const detail = (await h.call('GET', `/api/v1/work/${id}`)).body;
      expect(detail.item).toMatchObject({ attempts: 1, max_attempts: 2, attempts_total: 4 });
      expect(detail.attempts.map((a: { attempt_no: number; status: string }) => `#${a.attempt_no} ${a.status}`).sort()).toEqual([
        '#1 failed',
        '#2 failed',
        '#3 succeeded',
        '#4 succeeded',
      ]);
      for (const a of detail.attempts as { attempt_no: number; result: Record<string, unknown> | null; output_tail: string | null }[]) {
        // The number the attempt itself was told is the number it is listed under.
        if (pipeline === 'test.numbers' && a.result) expect(a.result).toEqual({ attempt_no: a.attempt_no, budget_attempt: 1 });
        if (pipeline === 'test.cmd') expect(a.output_tail).toContain(`attempt=${a.attempt_no} budget=${a.attempt_no === 2 ? 2 : 1}`);
      }
      const list = (await h.call('GET', `/api/v1/work/pending?state=ALL&pipeline=${pipeline}`)).body;
      expect(list.items[0]).toMatchObject({ attempts: 1, attempts_total: 4 });

      const page = await fetch(`${h.base}/items/${id}`).then((r) => r.text());
      expect(page).toMatch(/retry budget<\/dt>\s*<dd>1 of 2 used/);
      expect(page).toMatch(/attempts in all<\/dt>\s*<dd>4/);
      expect(page).not.toMatch(/>attempts<\/dt>/);
    }
  });
});
