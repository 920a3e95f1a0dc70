import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { fireTimesBetween, nextFireTimes, validateCron } from '../../src/time/cron.js';
import { getCalendar } from '../../src/time/calendars.js';
import { zonedDate } from '../../src/time/zoned.js';

const NY = 'America/New_York';
const iso = (ds: Date[]) => ds.map((d) => d.toISOString());
const onLocalDay = (ds: Date[], day: string) => ds.filter((d) => zonedDate(d, NY) === day);

describe('DST policy (project contract, New York 2026)', () => {
  it('spring forward: "30 2 * * *" fires exactly once on 2026-03-08, at the first instant after the gap', () => {
    const fires = nextFireTimes('30 2 * * *', { timezone: NY, from: new Date('2026-03-06T12:00:00Z'), count: 4 });
    expect(iso(onLocalDay(fires, '2026-03-08'))).toEqual(['2026-03-08T07:00:00.000Z']);
    // Neighbouring days keep 02:30 local: EST before, EDT after.
    expect(iso(fires)).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
  });

  it('fall back: "30 1 * * *" fires exactly once on 2026-11-01, at the first 01:30 (EDT)', () => {
    const fires = nextFireTimes('30 1 * * *', { timezone: NY, from: new Date('2026-10-30T12:00:00Z'), count: 4 });
    expect(iso(onLocalDay(fires, '2026-11-01'))).toEqual(['2026-11-01T05:30:00.000Z']);
    expect(iso(fires)).toEqual(['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z', '2026-11-03T06:30:00.000Z']);
  });

  it('starting inside the repeated hour does not fire the second 01:30 again', () => {
    // 06:00Z is 01:00 EST, after 01:30 EDT already happened.
    const fires = nextFireTimes('30 1 * * *', { timezone: NY, from: new Date('2026-11-01T06:00:00Z'), count: 1 });
    expect(iso(fires)).toEqual(['2026-11-02T06:30:00.000Z']);
  });

  it('a weekday 10:00 job stays at 10:00 local across the March change (15:00Z before, 14:00Z after)', () => {
    const fires = nextFireTimes('0 10 * * 1-5', { timezone: NY, from: new Date('2026-03-04T00:00:00Z'), count: 6 });
    expect(iso(fires)).toEqual([
      '2026-03-04T15:00:00.000Z',
      '2026-03-05T15:00:00.000Z',
      '2026-03-06T15:00:00.000Z',
      '2026-03-09T14:00:00.000Z',
      '2026-03-10T14:00:00.000Z',
      '2026-03-11T14:00:00.000Z',
    ]);
  });

  it('a weekday 10:00 job stays at 10:00 local across the November change (14:00Z before, 15:00Z after)', () => {
    const fires = nextFireTimes('0 10 * * 1-5', { timezone: NY, from: new Date('2026-10-28T00:00:00Z'), count: 6 });
    expect(iso(fires)).toEqual([
      '2026-10-28T14:00:00.000Z',
      '2026-10-29T14:00:00.000Z',
      '2026-10-30T14:00:00.000Z',
      '2026-11-02T15:00:00.000Z',
      '2026-11-03T15:00:00.000Z',
      '2026-11-04T15:00:00.000Z',
    ]);
  });

  it('applies the policy to lists and ranges too (where croner alone does not)', () => {
    const spring = fireTimesBetween('30 2,14 * * *', {
      timezone: NY,
      from: new Date('2026-03-08T00:00:00Z'),
      to: new Date('2026-03-09T00:00:00Z'),
    });
    expect(iso(spring)).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-08T18:30:00.000Z']);

    const fall = fireTimesBetween('30 1-2 * * *', {
      timezone: NY,
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-11-02T00:00:00Z'),
    });
    expect(iso(fall)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-01T07:30:00.000Z']);
  });

  it('collapses several gap times onto one fire and keeps interval jobs strictly increasing', () => {
    const fires = fireTimesBetween('*/30 * * * *', {
      timezone: NY,
      from: new Date('2026-03-08T06:00:00Z'), // 01:00 EST
      to: new Date('2026-03-08T08:00:00Z'), // 04:00 EDT
    });
    // 01:30 EST, then 02:00/02:30 (gap) and 03:00 all land on 07:00Z once, then 03:30, 04:00.
    expect(iso(fires)).toEqual(['2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z', '2026-03-08T08:00:00.000Z']);
  });

  it('returns times strictly after `from`', () => {
    const from = new Date('2026-03-09T14:00:00Z'); // exactly 10:00 EDT, a fire time
    expect(nextFireTimes('0 10 * * 1-5', { timezone: NY, from, count: 1 })[0]?.toISOString()).toBe('2026-03-10T14:00:00.000Z');
  });
});

describe('croner baseline (what the wrapper builds on)', () => {
  const croner = (expr: string, from: string, n: number) => iso(new Cron(expr, { timezone: NY, paused: true }).nextRuns(n, new Date(from)));

  it('croner already follows the policy for single-value (fixed-time) jobs', () => {
    expect(croner('30 2 * * *', '2026-03-07T12:00:00Z', 2)).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']);
    expect(croner('30 1 * * *', '2026-10-31T12:00:00Z', 2)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('croner treats lists/ranges as interval jobs: skips the gap, doubles the overlap (we correct this)', () => {
    // No 02:30 fire at all on 2026-03-08.
    expect(croner('30 2,14 * * *', '2026-03-08T00:00:00Z', 2)).toEqual(['2026-03-08T18:30:00.000Z', '2026-03-09T06:30:00.000Z']);
    // 01:30 fires twice (EDT and EST).
    expect(croner('30 1-2 * * *', '2026-11-01T00:00:00Z', 3)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z', '2026-11-01T07:30:00.000Z']);
  });

  it('the wrapper equals croner for fixed-time jobs over a year, in zones with and without DST', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    for (const timezone of [NY, 'Europe/London', 'Australia/Sydney', 'Asia/Kolkata']) {
      for (const expr of ['30 2 * * *', '0 1 * * *', '15 10 * * 1-5', '0 0 1 * *']) {
        const ours = iso(nextFireTimes(expr, { timezone, from, count: 400 }));
        const theirs = iso(new Cron(expr, { timezone, paused: true }).nextRuns(400, from));
        expect(ours, `${expr} in ${timezone}`).toEqual(theirs);
      }
    }
  });
});

describe('trading-calendar cron', () => {
  const xnys = getCalendar('XNYS');

  it('fires Mon-Wed and Fri of Thanksgiving week 2026, not on Thanksgiving Thu Nov 26', () => {
    const fires = fireTimesBetween('0 18 * * 1-5', {
      timezone: NY,
      calendar: xnys,
      from: new Date('2026-11-23T00:00:00Z'),
      to: new Date('2026-11-28T12:00:00Z'),
    });
    expect(fires.map((d) => zonedDate(d, NY))).toEqual(['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-27']);
    // Without the calendar the Thursday is there.
    const plain = fireTimesBetween('0 18 * * 1-5', {
      timezone: NY,
      from: new Date('2026-11-23T00:00:00Z'),
      to: new Date('2026-11-28T12:00:00Z'),
    });
    expect(plain.map((d) => zonedDate(d, NY))).toContain('2026-11-26');
  });

  it('judges the session day in the calendar zone, not the schedule zone', () => {
    // 08:00 Tokyo on Fri 2026-11-27 is 18:00 New York on Thu 2026-11-26 (Thanksgiving): no fire.
    // 08:00 Tokyo on Sat 2026-11-28 is Fri 2026-11-27 in New York, a session: fires.
    const fires = fireTimesBetween('0 8 * * *', {
      timezone: 'Asia/Tokyo',
      calendar: xnys,
      from: new Date('2026-11-25T00:00:00Z'),
      to: new Date('2026-11-30T00:00:00Z'),
    });
    expect(iso(fires)).toEqual(['2026-11-25T23:00:00.000Z', '2026-11-27T23:00:00.000Z']);
  });

  it('skips whole non-session days cheaply and gives up after the horizon when nothing can match', () => {
    // Every minute on Sundays never lands on an XNYS session.
    expect(nextFireTimes('* * * * 0', { calendar: xnys, from: new Date('2026-01-01T00:00:00Z'), count: 1 })).toEqual([]);
    // Every minute on sessions: first fire is just after midnight of the next session.
    const first = nextFireTimes('* * * * *', { calendar: xnys, from: new Date('2026-11-26T05:00:00Z'), count: 1 });
    expect(iso(first)).toEqual(['2026-11-27T05:00:00.000Z']);
  });
});

describe('validateCron', () => {
  it('accepts standard expressions and nicknames', () => {
    expect(validateCron('30 10 * * 1')).toBe('30 10 * * 1');
    expect(validateCron('@daily')).toBe('@daily');
    expect(validateCron('0 0 29 2 *')).toBe('0 0 29 2 *');
  });
});
