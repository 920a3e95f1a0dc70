import { createHash } from 'node:crypto';
import type { Bar } from './parse.js';
import { sessionsBetween } from './partitions.js';

/** Four numbers in [0, 1) from a SHA-256 of the text: the same text always gives the same numbers. */
function unit(text: string): [number, number, number, number] {
  const h = createHash('sha256').update(text).digest();
  return [0, 4, 8, 12].map((i) => h.readUInt32BE(i) / 2 ** 32) as [number, number, number, number];
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The `mock` source: one bar per XNYS session from `from` to `to`, computed from the symbol
 * and the date alone, so any window, any machine and any rerun give the same bar for the
 * same (symbol, date). A symbol's level (20 to 520) comes from its name; each day moves it
 * along a slow sine (±8 %) plus up to ±1 % of day noise; high/low wrap open and close.
 */
export function mockSeries(symbol: string, from: string, to: string): Bar[] {
  const [levelU, phaseU] = unit(`mock:${symbol}`);
  const level = 20 + levelU * 500;
  return sessionsBetween(from, to).map((date) => {
    const [a, b, c, d] = unit(`mock:${symbol}:${date}`);
    const t = Date.parse(`${date}T00:00:00Z`) / 86_400_000;
    const close = round2(level * (1 + 0.08 * Math.sin(t / 9 + phaseU * 2 * Math.PI)) * (1 + (a - 0.5) * 0.02));
    const open = round2(close * (1 + (b - 0.5) * 0.01));
    return {
      date,
      open,
      high: round2(Math.max(open, close) * (1 + c * 0.005)),
      low: round2(Math.min(open, close) * (1 - d * 0.005)),
      close,
      volume: 1_000_000 + Math.floor(a * 9_000_000),
    };
  });
}
