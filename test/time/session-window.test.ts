import { describe, expect, it } from 'vitest';
import { getCalendar } from '../../src/time/calendars.js';
import { fireTimesBetween, nextFireTimes } from '../../src/time/cron.js';
import { intervalTimesBetween, nextIntervalTimes } from '../../src/time/interval.js';
import { isInSession } from '../../src/time/session-window.js';
import { formatZonedIso } from '../../src/time/zoned.js';

const XNYS = getCalendar('XNYS');
const NY = 'America/New_York';
const local = (ds: Date[]) => ds.map((d) => formatZonedIso(d, NY));
const day = (from: string, to: string) => ({ from: new Date(from), to: new Date(to) });

describe('cron with window "session"', () => {
  it('the issue case: */15 9-15 on the 2026-11-27 early close fires 09:30..13:00 only', () => {
    const { from, to } = day('2026-11-27T00:00:00-05:00', '2026-11-27T23:59:00-05:00');
    const times = local(fireTimesBetween('*/15 9-15 * * *', { timezone: NY, calendar: XNYS, window: 'session', from, to }));
    expect(times[0]).toBe('2026-11-27T09:30:00-05:00');
    expect(times.at(-1)).toBe('2026-11-27T13:00:00-05:00');
    expect(times).toHaveLength(15); // 09:30 .. 13:00 every 15m, both ends included
    // Without the window the calendar only filters days: 09:00 and 13:15..15:45 also fire.
    const dayOnly = local(fireTimesBetween('*/15 9-15 * * *', { timezone: NY, calendar: XNYS, from, to }));
    expect(dayOnly[0]).toBe('2026-11-27T09:00:00-05:00');
    expect(dayOnly.at(-1)).toBe('2026-11-27T15:45:00-05:00');
  });

  it('Christmas Eve 2026 (13:00 close), Christmas (holiday) and the next regular session', () => {
    const { from, to } = day('2026-12-24T00:00:00-05:00', '2026-12-28T23:00:00-05:00');
    const times = local(fireTimesBetween('0 * * * *', { timezone: NY, calendar: XNYS, window: 'session', from, to }));
    expect(times).toEqual([
      '2026-12-24T10:00:00-05:00',
      '2026-12-24T11:00:00-05:00',
      '2026-12-24T12:00:00-05:00',
      '2026-12-24T13:00:00-05:00',
      // 12-25 is a holiday, 12-26/27 a weekend
      '2026-12-28T10:00:00-05:00',
      '2026-12-28T11:00:00-05:00',
      '2026-12-28T12:00:00-05:00',
      '2026-12-28T13:00:00-05:00',
      '2026-12-28T14:00:00-05:00',
      '2026-12-28T15:00:00-05:00',
      '2026-12-28T16:00:00-05:00',
    ]);
  });

  it('Thanksgiving 2026-11-26 is a holiday: nothing fires', () => {
    const { from, to } = day('2026-11-26T00:00:00-05:00', '2026-11-26T23:59:00-05:00');
    expect(fireTimesBetween('* * * * *', { timezone: NY, calendar: XNYS, window: 'session', from, to })).toEqual([]);
  });

  it('a UTC cron follows the real open across DST: 14:30Z before, 13:30Z on 2026-03-09', () => {
    const firstOf = (d: string) =>
      nextFireTimes('*/30 * * * *', { timezone: 'UTC', calendar: XNYS, window: 'session', from: new Date(`${d}T00:00:00Z`), count: 1 })[0]!.toISOString();
    expect(firstOf('2026-03-06')).toBe('2026-03-06T14:30:00.000Z');
    expect(firstOf('2026-03-09')).toBe('2026-03-09T13:30:00.000Z');
    // And back after the fall-back on 2026-11-01: Friday 13:30Z, Monday 14:30Z.
    expect(firstOf('2026-10-30')).toBe('2026-10-30T13:30:00.000Z');
    expect(firstOf('2026-11-02')).toBe('2026-11-02T14:30:00.000Z');
    const last = fireTimesBetween('*/30 * * * *', {
      timezone: 'UTC',
      calendar: XNYS,
      window: 'session',
      ...day('2026-11-02T00:00:00Z', '2026-11-02T23:59:00Z'),
    }).at(-1);
    expect(last?.toISOString()).toBe('2026-11-02T21:00:00.000Z'); // 16:00 EST
  });

  it('open and close are inside; a second outside is not', () => {
    const open = XNYS.sessionOpen('2026-12-24');
    const close = XNYS.sessionClose('2026-12-24');
    expect([isInSession(XNYS, open), isInSession(XNYS, close)]).toEqual([true, true]);
    expect([isInSession(XNYS, new Date(open.getTime() - 1000)), isInSession(XNYS, new Date(close.getTime() + 1000))]).toEqual([false, false]);
  });
});

describe('every (interval triggers)', () => {
  it('with window session: anchored at each open, up to and including the close', () => {
    const times = intervalTimesBetween(
      { everyMs: 15 * 60_000, window: 'session', calendar: XNYS },
      new Date('2026-11-25T00:00:00-05:00'),
      new Date('2026-11-30T10:00:00-05:00'),
      1000,
    );
    const byDay = new Map<string, string[]>();
    for (const t of local(times)) byDay.set(t.slice(0, 10), [...(byDay.get(t.slice(0, 10)) ?? []), t.slice(11, 16)]);
    expect([...byDay.keys()]).toEqual(['2026-11-25', '2026-11-27', '2026-11-30']); // 26th Thanksgiving, weekend
    expect(byDay.get('2026-11-25')).toHaveLength(27); // 09:30..16:00
    expect(byDay.get('2026-11-25')!.at(-1)).toBe('16:00');
    expect(byDay.get('2026-11-27')!.at(-1)).toBe('13:00'); // early close
    expect(byDay.get('2026-11-30')).toEqual(['09:30', '09:45', '10:00']);
  });

  it('with window session, an interval that does not divide the session stops before the close', () => {
    const times = local(nextIntervalTimes({ everyMs: 90 * 60_000, window: 'session', calendar: XNYS }, new Date('2026-12-24T00:00:00-05:00'), 6));
    expect(times).toEqual([
      '2026-12-24T09:30:00-05:00',
      '2026-12-24T11:00:00-05:00',
      '2026-12-24T12:30:00-05:00',
      '2026-12-28T09:30:00-05:00',
      '2026-12-28T11:00:00-05:00',
      '2026-12-28T12:30:00-05:00',
    ]);
  });

  it('with window session across DST: anchored at 09:30 local each day (15:30 EST = 20:30Z is the last hourly tick), then 13:30Z', () => {
    const times = nextIntervalTimes({ everyMs: 60 * 60_000, window: 'session', calendar: XNYS }, new Date('2026-03-06T20:00:00Z'), 3).map((d) =>
      d.toISOString(),
    );
    expect(times).toEqual(['2026-03-06T20:30:00.000Z', '2026-03-09T13:30:00.000Z', '2026-03-09T14:30:00.000Z']);
  });

  it('with window session across the fall-back: 13:30Z on Friday 2026-10-30 (EDT), 14:30Z on Monday 2026-11-02 (EST)', () => {
    const times = nextIntervalTimes({ everyMs: 60 * 60_000, window: 'session', calendar: XNYS }, new Date('2026-10-30T19:00:00Z'), 4).map((d) =>
      d.toISOString(),
    );
    // 15:30 EDT = 19:30Z is Friday's last hourly tick; Monday's first is 09:30 EST = 14:30Z.
    expect(times).toEqual(['2026-10-30T19:30:00.000Z', '2026-11-02T14:30:00.000Z', '2026-11-02T15:30:00.000Z', '2026-11-02T16:30:00.000Z']);
  });

  it('without a window: aligned to the UTC epoch by default, or to start', () => {
    const iso = (ds: Date[]) => ds.map((d) => d.toISOString());
    expect(iso(nextIntervalTimes({ everyMs: 15 * 60_000 }, new Date('2026-01-05T10:07:00Z'), 3))).toEqual([
      '2026-01-05T10:15:00.000Z',
      '2026-01-05T10:30:00.000Z',
      '2026-01-05T10:45:00.000Z',
    ]);
    // Elapsed time knows no DST: 1h fires 25 times on the New York fall-back day.
    expect(intervalTimesBetween({ everyMs: 3_600_000 }, new Date('2026-11-01T04:00:00Z'), new Date('2026-11-02T05:00:00Z'), 100)).toHaveLength(25);
    const start = new Date('2026-01-05T10:07:30Z');
    expect(iso(nextIntervalTimes({ everyMs: 10 * 60_000, start }, new Date('2026-01-01T00:00:00Z'), 2))).toEqual([
      '2026-01-05T10:07:30.000Z',
      '2026-01-05T10:17:30.000Z',
    ]);
    expect(iso(nextIntervalTimes({ everyMs: 10 * 60_000, start }, new Date('2026-01-05T10:17:30Z'), 1))).toEqual(['2026-01-05T10:27:30.000Z']);
  });

  it('jitter is deterministic per schedule and tick, within [0, jitter), and stays inside the window', () => {
    const spec = { everyMs: 15 * 60_000, jitterMs: 60_000, jitterSeed: 'collector', window: 'session' as const, calendar: XNYS };
    const a = nextIntervalTimes(spec, new Date('2026-12-24T00:00:00-05:00'), 20);
    const b = nextIntervalTimes({ ...spec }, new Date('2026-12-24T00:00:00-05:00'), 20);
    expect(a.map(String)).toEqual(b.map(String));
    const nominal = nextIntervalTimes({ ...spec, jitterMs: 0 }, new Date('2026-12-24T00:00:00-05:00'), 20);
    const offsets = a.map((t, i) => t.getTime() - nominal[i]!.getTime());
    expect(offsets.every((o) => o >= 0 && o < 60_000)).toBe(true);
    expect(new Set(offsets).size).toBeGreaterThan(1);
    expect(a.every((t) => isInSession(XNYS, t))).toBe(true);
  });

  it('rejects bad specs with the field and the rule', () => {
    expect(() => nextIntervalTimes({ everyMs: 500 }, new Date(), 1)).toThrow(/every.*at least 1s/);
    expect(() => nextIntervalTimes({ everyMs: 60_000, jitterMs: 60_000 }, new Date(), 1)).toThrow(/jitter.*shorter than "every"/);
    expect(() => nextIntervalTimes({ everyMs: 60_000, window: 'session' }, new Date(), 1)).toThrow(/calendar/);
  });
});
