import { afterEach, describe, expect, it } from 'vitest';
import { backendsUnderTest } from '../helpers/backends.js';
import { killStarted } from '../helpers/process.js';
import { runCrashMatrix } from './harness.js';

afterEach(async () => {
  await killStarted();
});

// CI's reduced count: one round per crash point (two kills a round: one at the point, one
// at a random moment). `npm run crash -- --kills 50` is the full run (docs/reliability.md).
const KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 12);

describe.each(backendsUnderTest())('crash matrix on %s', (backend) => {
  it(`workers SIGKILLed at every point of an item's life (${KILLS} kills): nothing lost, no half capture, no overlap`, { timeout: 480_000 }, async () => {
    const f = await runCrashMatrix({ backend, kills: KILLS, batch: 6 });
    expect(f.violations).toEqual([]);
    expect(f.kills).toBeGreaterThanOrEqual(KILLS);
    // The armed workers really died at their points, not only from outside.
    const atPoints = Object.entries(f.killsByPoint).filter(([p, n]) => p !== 'random_timing' && n > 0);
    expect(atPoints.length).toBeGreaterThanOrEqual(4);
    expect(f.lostAttempts).toBeGreaterThan(0);
    expect(f).toMatchObject({
      itemsNotComplete: 0,
      completeWithoutCapture: 0,
      halfCaptures: 0,
      overlappingAttempts: 0,
      unrecordedAttempts: 0,
      promotionViolations: 0,
    });
  });
});
