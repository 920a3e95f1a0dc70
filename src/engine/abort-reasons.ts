/**
 * Why a handler's signal was aborted. The worker reads `signal.reason` to decide what to
 * write: a timeout is a failed attempt (retried), a shutdown hands the item back, and a
 * lost claim (cancelled, or the lease went to another worker) writes nothing more because
 * the store has already moved the item on.
 */
export class ShutdownAbort extends Error {
  constructor() {
    super('worker shutting down: attempt interrupted and item handed back');
    this.name = 'ShutdownAbort';
  }
}

export class LostClaimAbort extends Error {
  constructor(readonly why: 'cancelled' | 'lease_lost') {
    super(why === 'cancelled' ? 'work item cancelled' : 'lease lost: another worker owns this item now');
    this.name = 'LostClaimAbort';
  }
}
