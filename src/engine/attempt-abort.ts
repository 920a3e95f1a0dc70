/**
 * The abort state of one attempt. Most handlers never read their signal and most attempts
 * are never aborted, so the AbortController (and the listener `untilAborted` needed on it)
 * is made only when the handler reads `ctx.signal`: a controller and a listener per item
 * were a visible share of a drain's CPU.
 */
export class AttemptAbort {
  private controller: AbortController | undefined;
  private hook: (() => void) | undefined;
  private abortedFlag = false;
  private abortReason: unknown;

  get aborted(): boolean {
    return this.abortedFlag;
  }

  get reason(): unknown {
    return this.abortReason;
  }

  /** The handler's signal; made on first read, already aborted if the attempt was. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedFlag) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** The first reason wins, as with AbortController. The hook runs before the signal's
   * listeners, as `untilAborted`'s listener did when it was registered before the handler's. */
  abort(reason: unknown): void {
    if (this.abortedFlag) return;
    this.abortedFlag = true;
    this.abortReason = reason;
    this.hook?.();
    this.controller?.abort(reason);
  }

  /** One hook (the attempt's `untilAborted`); runs at once if already aborted. */
  onAbort(hook: () => void): void {
    if (this.abortedFlag) hook();
    else this.hook = hook;
  }

  offAbort(): void {
    this.hook = undefined;
  }
}
