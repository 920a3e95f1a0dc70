import type { CompletionReport } from '../store/store.js';

/** Completions per statement: enough to amortise the round trip, few enough that one
 * statement's locks and work stay small under a burst. */
export const MAX_COMPLETION_BATCH = 1_000;

interface PendingCompletion {
  report: CompletionReport;
  resolve: (durable: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for a worker's completions: every completion that lands in the same turn of
 * the event loop shares one store call; one batch is written at a time, and completions that
 * arrive meanwhile wait for it and go together in the next, so batches grow with the load
 * instead of the number of concurrent transactions.
 */
export class CompletionBatcher {
  private readonly pending: PendingCompletion[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;

  constructor(private readonly complete: (reports: readonly CompletionReport[]) => Promise<boolean[]>) {}

  /** Completions queued for the next batch (not counting the batch being written). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Queues a completion for the next batched write; resolves once it is durable (true) or
   * the store refused it because the claim was lost (false). */
  add(report: CompletionReport): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ report, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Writes everything queued so far; resolves when the queue is empty. */
  flush(): Promise<void> {
    this.scheduled = false;
    // `flushing` is cleared in a callback attached to the loop's promise, never inside the
    // loop: with nothing pending the loop returns synchronously, so a `finally` inside it ran
    // before `??=` stored its (already settled) promise, and that promise then stayed in
    // `flushing` for good: every later flush returned it and no completion was ever written
    // again (a flush of an empty queue, e.g. after a batch whose connection was already broken
    // failed without a round trip, wedged the worker with every slot "finishing").
    this.flushing ??= this.writePending().finally(() => {
      this.flushing = null;
      // Queued after the loop took its last batch: write them rather than wait for a flush.
      if (this.pending.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    for (;;) {
      const batch = this.pending.splice(0, MAX_COMPLETION_BATCH);
      if (batch.length === 0) return;
      try {
        const results = await this.complete(batch.map((b) => b.report));
        batch.forEach((b, i) => b.resolve(results[i] ?? false));
      } catch (err) {
        batch.forEach((b) => b.reject(err));
      }
    }
  }
}
