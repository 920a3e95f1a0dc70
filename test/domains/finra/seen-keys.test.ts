import { describe, expect, it } from 'vitest';
import { SeenKeys } from '../../../src/domains/finra/seen-keys.js';

describe('SeenKeys (duplicate (symbol, MPID) detection of the streaming FINRA parser)', () => {
  it('returns the first line of a pair seen before, across many table growths, and nothing for new pairs', () => {
    const seen = new SeenKeys();
    const mpid = (m: number) => (46_656 + m).toString(36).toUpperCase();
    for (let s = 0; s < 300; s++) for (let m = 0; m < 200; m++) expect(seen.firstOrAdd(`S${s}`, mpid(m), s * 1000 + m)).toBeUndefined();
    expect(seen.firstOrAdd('S17', mpid(42), 1)).toBe(17_042);
    expect(seen.firstOrAdd('S299', mpid(199), 2)).toBe(299_199);
    expect(seen.firstOrAdd('S300', mpid(0), 3)).toBeUndefined();
    expect(seen.firstOrAdd('S300', mpid(0), 4)).toBe(3);
    // Same MPID under another symbol, same symbol with another MPID: distinct pairs.
    expect(seen.firstOrAdd('S17', mpid(200), 5)).toBeUndefined();
    expect(seen.firstOrAdd('ZZZZ', mpid(42), 6)).toBeUndefined();
  });
});
