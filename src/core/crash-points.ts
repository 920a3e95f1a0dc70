import { writeSync } from 'node:fs';

/**
 * Test-only fault injection for the crash matrix (`test/crash/`, `npm run crash`).
 *
 * `SLUICE_CRASH_AT=<point>[:<probability>][,<point>[:<probability>]…]` makes this process
 * SIGKILL itself when it reaches a named point (probability default 1). It is read once, at
 * import; when unset `crashPoint` is a single branch on a null, so the calls left in the
 * engine, the stores and the data layer cost nothing in production.
 *
 * SIGKILL (not `process.exit`) because the point is to prove what survives a process that
 * gets no chance to clean up: no `finally`, no ROLLBACK, no release of its leases.
 */
export const CRASH_POINTS = [
  /** The claim transaction committed; the handler has not started. */
  'after_claim',
  /** Inside a handler (handlers that want to be killable call it). */
  'in_handler',
  /** Landing: rows written (staging or direct), the MERGE and capture record not yet. */
  'after_staging',
  /** Landing: capture and manifest rows written, COMMIT not yet sent. */
  'in_capture_tx',
  /** Completion transaction: item COMPLETE and attempt closed, not committed. */
  'in_complete',
  /** Completion transaction: a WAITING downstream promoted, not committed. */
  'in_promotion',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const armed: ReadonlyMap<string, number> | null = parse(process.env.SLUICE_CRASH_AT);

function parse(spec: string | undefined): Map<string, number> | null {
  if (!spec) return null;
  const out = new Map<string, number>();
  for (const part of spec.split(',')) {
    const [name, p] = part.trim().split(':');
    if (!(CRASH_POINTS as readonly string[]).includes(name!)) {
      throw new Error(`SLUICE_CRASH_AT: ${JSON.stringify(name)} is invalid: must be one of ${CRASH_POINTS.join(', ')}`);
    }
    const probability = p === undefined ? 1 : Number(p);
    if (!(probability > 0 && probability <= 1)) {
      throw new Error(`SLUICE_CRASH_AT: ${JSON.stringify(p)} is invalid: must be a probability in (0, 1]`);
    }
    out.set(name!, probability);
  }
  return out;
}

/** SIGKILLs this process if `SLUICE_CRASH_AT` names `point` (and the dice say so). */
export function crashPoint(point: CrashPoint): void {
  if (armed === null) return;
  const p = armed.get(point);
  if (p === undefined || Math.random() >= p) return;
  // Synchronous, so the line is out before the signal: the harness counts kills per point.
  try {
    writeSync(2, `sluice-crash-point ${point} pid=${process.pid}\n`);
  } catch {
    /* stderr closed: die anyway */
  }
  process.kill(process.pid, 'SIGKILL');
}
