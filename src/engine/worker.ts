import { EventEmitter } from 'node:events';
import { isPermanentError, TimeoutError } from '../core/errors.js';
import { landedRevision } from '../core/handler-result.js';
import type { HandlerContext } from '../core/pipeline.js';
import type { Logger } from '../core/logger.js';
import { backoffDelayMs } from '../core/retry-policy.js';
import { crashPoint } from '../core/crash-points.js';
import { createDataStore } from '../data/index.js';
import type { DataStore } from '../data/data-store.js';
import type { ClaimedItem } from '../store/store.js';
import { LostClaimAbort, ShutdownAbort } from './abort-reasons.js';
import { AttemptAbort } from './attempt-abort.js';
import { describeError, paramsForRun, sleep, untilAborted } from './attempt-helpers.js';
import { CompletionBatcher, MAX_COMPLETION_BATCH } from './completion-batcher.js';
import { OutputTail } from './output-tail.js';
import { rerunStaleDownstream } from './dependencies.js';
import { redactSecrets } from './secrets.js';
import { newWorkerId } from './worker-id.js';
import type { AttemptOutcome, WorkerOptions } from './worker-options.js';

export type { AttemptOutcome, WorkerOptions } from './worker-options.js';
export { describeError } from './attempt-helpers.js';

interface ActiveRun {
  item: ClaimedItem;
  controller: AttemptAbort;
  output: OutputTail;
  settled: Promise<void>;
  /** The handler has returned; the outcome is being written. */
  finishing?: boolean;
}

/**
 * A pool of handler slots fed from the store. One loop claims as many ready items as there
 * are free slots (one transaction for the batch), starts their handlers, and sleeps until
 * something can change that: a local enqueue or NOTIFY, a slot freeing up, the next
 * back-off falling due, or the poll interval.
 *
 * Completions are written in batches (every completion that lands in the same turn of the
 * event loop shares one transaction), which is what lets a single worker keep up with
 * thousands of short items per second.
 *
 * Events: `start` (item), `finish` (AttemptOutcome), `error` is never emitted: store
 * failures are logged and retried with back-off so a database restart does not kill workers.
 */
export class Worker extends EventEmitter {
  readonly workerId: string;
  /** Items whose handler is running or whose completion is being written. */
  private readonly active = new Map<number, ActiveRun>();
  /** Handlers running now (a slot is free again as soon as its handler returns). */
  private busySlots = 0;
  /** Claimed ahead of free slots, in claim order (see `localQueue`). */
  private readonly queued = new Map<number, ClaimedItem>();
  private readonly completions: CompletionBatcher;
  private stopping = false;
  private loopDone: Promise<void> | null = null;
  private wakeResolver: (() => void) | null = null;
  private wakeRequested = false;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void)[] = [];
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly shutdownGraceMs: number;
  private readonly abortGraceMs: number;
  private readonly claimBatch: number;
  private readonly localQueue: number;
  private dataStore: DataStore | undefined;

  constructor(private readonly options: WorkerOptions) {
    super();
    this.workerId = options.workerId ?? newWorkerId();
    this.completions = new CompletionBatcher((reports) => options.store.complete(reports));
    this.heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.min(5_000, Math.floor(options.leaseMs / 3)));
    this.pollMs = options.pollMs ?? 1_000;
    this.shutdownGraceMs = options.shutdownGraceMs ?? 30_000;
    this.abortGraceMs = options.abortGraceMs ?? 5_000;
    this.claimBatch = options.claimBatch ?? 100;
    this.localQueue = options.localQueue ?? 0;
    if (!Number.isInteger(this.localQueue) || this.localQueue < 0) {
      throw new Error(`worker localQueue must be a non-negative integer, got ${JSON.stringify(options.localQueue)}`);
    }
  }

  /** Created on first use: most queue-only workloads never touch the data layer. */
  private get data(): DataStore {
    this.dataStore ??= this.options.data ?? createDataStore(this.options.store);
    return this.dataStore;
  }

  get runningCount(): number {
    return this.active.size;
  }

  get isRunning(): boolean {
    return this.loopDone !== null && !this.stopping;
  }

  start(): void {
    if (this.loopDone) return;
    const { store } = this.options;
    this.unsubscribe.push(store.onWake(() => this.wake()));
    this.unsubscribe.push(
      store.onCancel((id) => {
        // A held item that was cancelled is simply not started (the cancel closed its attempt).
        if (this.queued.delete(id)) return;
        this.active.get(id)?.controller.abort(new LostClaimAbort('cancelled'));
      }),
    );
    this.timers.push(setInterval(() => void this.heartbeat(), this.heartbeatMs));
    // Every worker sweeps expired leases; the sweep is idempotent, so many sweepers are fine
    // and a crashed worker's items come back as long as any worker is alive.
    const sweepMs = Math.max(250, Math.min(30_000, Math.floor(this.options.leaseMs / 2)));
    this.timers.push(setInterval(() => void this.sweep(), sweepMs));
    for (const t of this.timers) t.unref();
    this.loopDone = this.sweep().then(() => this.loop());
  }

  /** Stop claiming; let running handlers finish for up to the grace period; then abort them
   * and hand their items back to the queue with the interrupted attempt recorded. */
  async stop(graceMs = this.shutdownGraceMs): Promise<void> {
    if (!this.loopDone) return;
    this.stopping = true;
    this.wake();
    await this.loopDone;
    await this.handBackQueued();
    if (this.active.size > 0) {
      this.options.logger.info({ running: this.active.size, grace_ms: graceMs }, 'waiting for running items before shutdown');
      // The grace timer must not outlive the race: a pending 30 s timer kept the process
      // alive after its handlers had finished, so `sluice worker` lingered for the whole
      // shutdown_grace after SIGTERM even when the running item completed at once.
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([this.allSettled(), new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)))]);
      clearTimeout(graceTimer);
    }
    for (const run of this.active.values()) run.controller.abort(new ShutdownAbort());
    await this.allSettled();
    await this.completions.flush();
    for (const t of this.timers) clearInterval(t);
    for (const off of this.unsubscribe) off();
    this.timers = [];
    this.unsubscribe = [];
  }

  /** Runs until nothing this worker can run is outstanding, then stops. Returns how many
   * items ended FAILED while it ran (drain's exit code is 1 when that is non-zero). */
  async drain(): Promise<{ failed: number }> {
    const since = new Date(Date.now() - 1);
    this.start();
    const keys = this.options.registry.keys();
    for (;;) {
      await sleep(Math.min(this.pollMs, 250));
      // A stop() from elsewhere (SIGTERM/SIGINT in `sluice worker --drain`) ends the drain.
      // Without this check the loop spun forever: the shutdown hands running items back to
      // PENDING, so the outstanding count never reached zero and the process never exited.
      if (this.stopping) break;
      if (this.active.size > 0) continue;
      try {
        if ((await this.options.store.countOutstanding(keys)) === 0) break;
      } catch (err) {
        this.options.logger.warn({ err }, 'drain: could not count outstanding items; retrying');
      }
    }
    await this.stop();
    return { failed: await this.options.store.countFailedSince(since) };
  }

  /**
   * Runs specific items now, in this process, with the same timeout, heartbeat, output and
   * retry bookkeeping as the pool (used by `sluice run`). Items another worker holds, or
   * that are not ready, come back as `null`.
   */
  async runItems(itemIds: readonly number[]): Promise<(AttemptOutcome | null)[]> {
    const { store, logger } = this.options;
    const timer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    const offCancel = store.onCancel((id) => this.active.get(id)?.controller.abort(new LostClaimAbort('cancelled')));
    try {
      const outcomes: (AttemptOutcome | null)[] = [];
      for (const id of itemIds) {
        const item = await store.claimItem(id, this.workerId, this.options.leaseMs);
        if (!item) {
          logger.warn({ item_id: id }, 'item is not ready to run (running elsewhere or not in a claimable state)');
          outcomes.push(null);
          continue;
        }
        const finished = new Promise<AttemptOutcome>((resolve) => {
          const onFinish = (o: AttemptOutcome) => {
            if (o.item.id !== id) return;
            this.off('finish', onFinish);
            resolve(o);
          };
          this.on('finish', onFinish);
        });
        this.execute(item);
        outcomes.push(await finished);
      }
      return outcomes;
    } finally {
      clearInterval(timer);
      offCancel();
    }
  }

  private allSettled(): Promise<unknown> {
    return Promise.all([...this.active.values()].map((r) => r.settled));
  }

  private wake(): void {
    this.wakeRequested = true;
    const resolve = this.wakeResolver;
    this.wakeResolver = null;
    resolve?.();
  }

  private async sleepUntilWoken(ms: number): Promise<void> {
    if (this.wakeRequested) {
      this.wakeRequested = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeResolver = null;
        resolve();
      }, ms);
      this.wakeResolver = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeRequested = false;
  }

  private async loop(): Promise<void> {
    const { store, registry } = this.options;
    const pipelines = registry.keys();
    const limits = registry.concurrencyLimits();
    let failures = 0;
    while (!this.stopping) {
      this.startQueued();
      const free = this.options.concurrency - this.busySlots;
      // Refill the local queue once it has drained to half; without one, claim for free slots.
      const room = free + this.localQueue - this.queued.size;
      const refill = this.localQueue === 0 ? free > 0 : this.queued.size <= this.localQueue / 2 && room > 0;
      if (!refill) {
        await this.sleepUntilWoken(this.pollMs);
        continue;
      }
      const want = this.localQueue === 0 ? Math.min(free, this.claimBatch) : room;
      let items: ClaimedItem[];
      try {
        items = await store.claim({ workerId: this.workerId, limit: want, leaseMs: this.options.leaseMs, pipelines, concurrencyLimits: limits });
        failures = 0;
      } catch (err) {
        // The database went away (restart, network): back off and keep the process alive.
        failures++;
        const delay = Math.min(10_000, 100 * 2 ** Math.min(failures, 7));
        this.options.logger.warn({ err, retry_in_ms: delay }, 'claim failed; retrying');
        await this.sleepUntilWoken(delay);
        continue;
      }
      if (items.length) crashPoint('after_claim');
      for (const item of items) this.queued.set(item.id, item);
      if (this.stopping) break;
      this.startQueued();
      if (items.length === want) continue;
      // Nothing more is ready: sleep until woken, or until the next back-off falls due.
      let wait = this.pollMs;
      try {
        const next = await store.nextDesiredAt(pipelines);
        if (next) wait = Math.max(0, Math.min(wait, next.getTime() - Date.now()));
      } catch {
        /* fall back to the poll interval */
      }
      if (wait > 0 || items.length === 0) await this.sleepUntilWoken(Math.max(wait, 5));
    }
  }

  /** Starts held items while slots are free. */
  private startQueued(): void {
    if (this.stopping) return;
    for (const [id, item] of this.queued) {
      if (this.busySlots >= this.options.concurrency) return;
      this.queued.delete(id);
      this.execute(item);
    }
  }

  /** On stop: items claimed ahead but never started go back to the queue, each attempt
   * recorded as interrupted, so another worker takes them at once instead of after the lease. */
  private async handBackQueued(): Promise<void> {
    const held = [...this.queued.values()];
    this.queued.clear();
    for (const item of held) {
      try {
        await this.options.store.release({
          itemId: item.id,
          attemptId: item.attemptId,
          workerId: this.workerId,
          outputTail: null,
          reason: 'not started: the worker stopped before a slot was free',
        });
      } catch (err) {
        this.options.logger.warn({ err, item_id: item.id }, 'could not hand back a held item; its lease will expire and it will be retried');
      }
    }
  }

  private execute(item: ClaimedItem): void {
    const { registry, logger } = this.options;
    const registered = registry.get(item.domain, item.pipeline)!;
    const controller = new AttemptAbort();
    const output = new OutputTail();
    const run = { item, controller, output } as ActiveRun;
    // A run of this item can still be here when the store handed the item out again: the
    // old attempt's outcome could not be recorded (database down), its lease expired and
    // this worker re-claimed it. The old run's claim is gone; stop it, and make sure its
    // clean-up (below) cannot remove the new run, which would stop the new run's heartbeat.
    this.active.get(item.id)?.controller.abort(new LostClaimAbort('lease_lost'));
    this.active.set(item.id, run);
    this.busySlots++;
    let slotFreed = false;
    // With a local queue the slot is free once the handler has returned, its completion
    // written in the next batch meanwhile (the item stays in `active` until that is durable).
    // Without one, a slot frees only when the outcome is durable, so `concurrency: 1` means
    // attempts never overlap in the store either.
    const freeSlot = () => {
      if (slotFreed) return;
      slotFreed = true;
      this.busySlots--;
      this.startQueued();
      this.wake();
    };
    // The item's child logger is made on first use: most handlers never log, and a pino child
    // per item (bindings serialised, redaction set up) was a visible share of a drain's CPU.
    const bindings = { item_id: item.id, pipeline: registered.key, partition: item.partitionKey, attempt: item.attemptNo };
    let child: Logger | undefined;
    const itemLog = (): Logger => (child ??= logger.child(bindings));
    const startedAt = Date.now();
    this.emit('start', item);

    run.settled = (async () => {
      const timer = registered.timeoutMs ? setTimeout(() => controller.abort(new TimeoutError(registered.timeoutMs!)), registered.timeoutMs) : undefined;
      let outcome: AttemptOutcome;
      try {
        const ctx: HandlerContext = {
          domain: item.domain,
          pipeline: item.pipeline,
          partition: item.partition,
          partitionKey: item.partitionKey,
          params: paramsForRun(registry, registered, item.params),
          get signal() {
            return controller.signal;
          },
          get log() {
            return itemLog();
          },
          attempt: item.attempts,
          attemptNo: item.attemptNo,
          itemId: item.id,
          output: (text) => output.write(text),
          data: this.data,
          queue: this.options.store,
          run: this.options.runOptions,
        };
        const value = await untilAborted(
          Promise.resolve().then(() => registered.definition.handler(ctx)),
          controller,
          this.abortGraceMs,
        );
        const result = value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
        run.finishing = true;
        // With a local queue the slot frees as soon as the handler returns, but only while
        // less than a batch of completions waits behind the one being written. Otherwise handlers can
        // outrun durability without bound: on SQLite the store's calls settle as microtasks,
        // so starting the next held item never yields to the event loop and the batcher's
        // flush (setImmediate) waited until the whole queue had been run — 20,000 finished
        // attempts held in memory at once, most of a drain's time spent in GC.
        if (this.localQueue > 0 && this.completions.waiting < MAX_COMPLETION_BATCH) freeSlot();
        const ok = await this.completions.add({
          itemId: item.id,
          attemptId: item.attemptId,
          workerId: this.workerId,
          result,
          outputTail: redactSecrets(output.toString()),
        });
        outcome = { item, status: ok ? 'succeeded' : 'lost', durationMs: Date.now() - startedAt, result };
        // The same line as through the child, without making one just for it.
        const msg = ok ? 'attempt succeeded' : 'attempt finished after its claim was lost';
        if (child) child.info({ duration_ms: outcome.durationMs }, msg);
        else logger.info({ ...bindings, duration_ms: outcome.durationMs }, msg);
        if (ok && landedRevision(result)) {
          // Best effort after the completion is durable: a failure here must not turn a
          // successful attempt into a failed one.
          try {
            const rerun = await rerunStaleDownstream(this.options.store, registry, item);
            if (rerun.length) itemLog().info({ rerun_items: rerun }, 'restatement: finished downstream partitions put back to recompute');
          } catch (err) {
            itemLog().warn({ err }, 'restatement: could not re-queue downstream partitions');
          }
        }
      } catch (raw) {
        outcome = await this.handleFailure(run, raw, startedAt, itemLog());
      } finally {
        clearTimeout(timer);
      }
      if (this.active.get(item.id) === run) this.active.delete(item.id);
      freeSlot();
      this.emit('finish', outcome);
      this.wake();
    })();
  }

  private async handleFailure(run: ActiveRun, raw: unknown, startedAt: number, log: Logger): Promise<AttemptOutcome> {
    const { item, controller, output } = run;
    const { store } = this.options;
    const reason = controller.aborted ? controller.reason : undefined;
    const durationMs = Date.now() - startedAt;
    const base = { itemId: item.id, attemptId: item.attemptId, workerId: this.workerId, outputTail: redactSecrets(output.toString()) };
    try {
      if (reason instanceof ShutdownAbort) {
        await store.release({ ...base, reason: reason.message });
        log.warn('attempt interrupted by shutdown; item handed back');
        return { item, status: 'interrupted', error: reason.message, durationMs };
      }
      if (reason instanceof LostClaimAbort) {
        log.warn({ why: reason.why }, reason.message);
        return { item, status: reason.why === 'cancelled' ? 'cancelled' : 'lost', error: reason.message, durationMs };
      }
      const error = reason instanceof TimeoutError ? reason : raw;
      const message = redactSecrets(describeError(error));
      const permanent = isPermanentError(error);
      const retryAt = permanent ? null : new Date(Date.now() + backoffDelayMs(item.backoff, item.attempts));
      const status = error instanceof TimeoutError ? 'timed_out' : 'failed';
      const after = await store.fail({ ...base, error: message, status, retryAt });
      log.warn({ err: message, state: after?.state, retry_at: after?.state === 'RETRY_WAIT' ? after.desiredAt.toISOString() : undefined }, 'attempt failed');
      return { item, status: after ? status : 'lost', error: message, durationMs };
    } catch (storeErr) {
      // The database is unreachable: the lease will expire and another worker (or this
      // one) re-claims the item, so at-least-once still holds.
      log.error({ err: storeErr }, 'could not record attempt outcome; the lease will expire and the item will be retried');
      return { item, status: 'lost', error: describeError(raw), durationMs };
    }
  }

  private async heartbeat(): Promise<void> {
    // Items whose outcome is being written are left out: their completion statement holds
    // their row locks, and a heartbeat touching them only queued up behind it (or deadlocked).
    const ids = [...this.queued.keys()];
    for (const [id, run] of this.active) if (!run.finishing) ids.push(id);
    if (ids.length === 0) return;
    try {
      const owned = new Set(await this.options.store.heartbeat(this.workerId, ids, this.options.leaseMs));
      for (const id of ids) {
        if (!owned.has(id) && this.queued.delete(id)) continue; // lost before it started: nothing to abort
        const run = this.active.get(id);
        if (run && !owned.has(id) && !run.controller.aborted) {
          const current = await this.options.store.getItem(id);
          run.controller.abort(new LostClaimAbort(current?.state === 'CANCELLED' ? 'cancelled' : 'lease_lost'));
        }
      }
    } catch (err) {
      this.options.logger.warn({ err }, 'heartbeat failed; will retry');
    }
  }

  private async sweep(): Promise<void> {
    try {
      const n = await this.options.store.reclaimExpired();
      if (n > 0) this.options.logger.warn({ reclaimed: n }, 'reclaimed items whose worker stopped heartbeating');
    } catch (err) {
      this.options.logger.warn({ err }, 'lease sweep failed; will retry');
    }
  }
}
