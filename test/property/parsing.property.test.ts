/**
 * Property tests for the small languages users type: partition keys, durations, cron
 * expressions, market-relative `at` times and session windows. Valid input round-trips;
 * anything else is the layer's own error with a "must" rule, never a TypeError or a hang.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { ValidationError } from '../../src/core/errors.js';
import { normalizePartition, parsePartitionArg, parsePartitionKey, partitionKey } from '../../src/core/partition.js';
import { getCalendar } from '../../src/time/calendars.js';
import { nextFireTimes, validateCron } from '../../src/time/cron.js';
import { TimeInputError } from '../../src/time/errors.js';
import { nextIntervalTimes } from '../../src/time/interval.js';
import { formatMarketTime, nextMarketTimes, parseMarketTime } from '../../src/time/market-time.js';
import { isInSession } from '../../src/time/session-window.js';

const RUNS = Number(process.env.SLUICE_PROPERTY_RUNS ?? 300);
const XNYS = getCalendar('XNYS');

/** Only the layer's own error, and its message carries the "must" rule. */
function rejectsCleanly(fn: () => unknown, cls: abstract new (...a: never[]) => Error): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof cls)) throw new Error(`threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    expect(err.message).toMatch(/must /);
  }
}

const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/);
const value = fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' });
const partition = fc.dictionary(key, value, { maxKeys: 5 });

describe('partition keys', () => {
  it('canonical: the same partition in any key order gives one key, and the key parses back to it', () => {
    fc.assert(
      fc.property(partition, (p) => {
        const k = partitionKey(p);
        const reversed = Object.fromEntries(Object.entries(p).reverse());
        expect(partitionKey(reversed)).toBe(k);
        expect(parsePartitionKey(k)).toEqual(p);
      }),
      { numRuns: RUNS },
    );
  });

  it('injective: two different partitions never share a key (values with | = % included)', () => {
    const tricky = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.stringMatching(/^[ab|=%2C7D5]{1,6}$/), { maxKeys: 3 });
    fc.assert(
      fc.property(tricky, tricky, (p, q) => {
        const same = JSON.stringify(Object.entries(p).sort()) === JSON.stringify(Object.entries(q).sort());
        expect(partitionKey(p) === partitionKey(q)).toBe(same);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('numbers and their strings are one partition; bad shapes are a ValidationError', () => {
    fc.assert(
      fc.property(fc.dictionary(key, fc.integer({ min: -1e6, max: 1e6 }), { maxKeys: 4 }), (p) => {
        const asStrings = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, String(v)]));
        expect(partitionKey(normalizePartition(p))).toBe(partitionKey(normalizePartition(asStrings)));
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.anything(), (raw) => rejectsCleanly(() => normalizePartition(raw), ValidationError)),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => rejectsCleanly(() => parsePartitionArg(text), ValidationError)),
      { numRuns: RUNS },
    );
  });
});

describe('durations', () => {
  const UNITS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
  it('compound durations add up their parts', () => {
    const part = fc.tuple(fc.nat(999), fc.constantFrom(...(Object.keys(UNITS) as (keyof typeof UNITS)[])));
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map(([n, u]) => `${n}${u}`).join('');
        expect(parseDuration(text)).toBe(parts.reduce((s, [n, u]) => s + n * UNITS[u], 0));
      }),
      { numRuns: RUNS },
    );
  });
  it('anything else is a ValidationError naming the rule, never a silent default', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^[0-9 .mshd-]{0,8}$/)), (text) => {
        try {
          const ms = parseDuration(text);
          expect(Number.isFinite(ms) && ms >= 0).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          expect((err as Error).message).toContain('must be a duration');
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('cron', () => {
  const field = (max: number, min = 0) =>
    fc.oneof(
      fc.constant('*'),
      fc.integer({ min, max }).map(String),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.integer({ min: 1, max: Math.max(1, max) }).map((n) => `*/${n}`),
    );
  const expr = fc.tuple(field(59), field(23), field(28, 1), field(12, 1), field(6)).map((f) => f.join(' '));
  it('valid expressions: fire times strictly after `from`, increasing, also on the XNYS calendar', () => {
    fc.assert(
      fc.property(expr, fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }), (e, from) => {
        expect(validateCron(e)).toBe(e);
        for (const opts of [
          { from, timezone: 'America/New_York' },
          { from, calendar: XNYS },
        ]) {
          const times = nextFireTimes(e, { ...opts, count: 5 });
          let prev = from.getTime();
          for (const t of times) {
            expect(t.getTime()).toBeGreaterThan(prev);
            prev = t.getTime();
          }
        }
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
  it('random text is accepted or a TimeInputError with a must-rule', () => {
    const junk = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.array(fc.constantFrom('*', '/', '-', ',', ' ', '1', '5', '60', '99', 'L', '#', '?', 'MON', '@daily', 'x'), { maxLength: 12 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(junk, (text) => rejectsCleanly(() => validateCron(text), TimeInputError)),
      { numRuns: RUNS },
    );
  });
});

describe('`at` market times and session windows', () => {
  const at = fc
    .tuple(fc.constantFrom('open', 'close'), fc.integer({ min: -1440, max: 1440 }))
    .map(([anchor, offsetMinutes]) => ({ anchor, offsetMinutes }) as const);
  it('format and parse are inverse; each fire time is the offset from a real open or close', () => {
    fc.assert(
      fc.property(at, fc.date({ min: new Date('2024-01-01'), max: new Date('2027-06-01'), noInvalidDate: true }), (t, from) => {
        const text = formatMarketTime(t);
        expect(parseMarketTime(text)).toEqual(t);
        expect(formatMarketTime(parseMarketTime(text))).toBe(text);
        for (const time of nextMarketTimes(t, { calendar: XNYS, from, count: 3 })) {
          expect(time.getTime()).toBeGreaterThan(from.getTime());
          const anchorAt = new Date(time.getTime() - t.offsetMinutes * 60_000);
          // The anchor instant is a session's open or close.
          const edge = t.anchor === 'open' ? anchorAt : new Date(anchorAt.getTime() - 1);
          expect(isInSession(XNYS, edge)).toBe(true);
        }
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
  it('random `at` text is a TimeInputError with a must-rule', () => {
    const junk = fc.oneof(fc.string({ maxLength: 16 }), fc.stringMatching(/^(open|close|noon)?[+-]?\d{0,4}[hm]?\d{0,3}[hm]?$/));
    fc.assert(
      fc.property(junk, (text) => rejectsCleanly(() => parseMarketTime(text), TimeInputError)),
      { numRuns: RUNS },
    );
  });
  it('interval ticks with window "session" all fall inside XNYS sessions, in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 240 }),
        fc.date({ min: new Date('2025-01-01'), max: new Date('2027-01-01'), noInvalidDate: true }),
        (minutes, from) => {
          const ticks = nextIntervalTimes({ everyMs: minutes * 60_000, window: 'session', calendar: XNYS }, from, 10);
          let prev = from.getTime();
          for (const t of ticks) {
            expect(t.getTime()).toBeGreaterThan(prev);
            expect(isInSession(XNYS, t)).toBe(true);
            prev = t.getTime();
          }
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});
