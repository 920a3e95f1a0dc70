import type { TurboSchedule } from './schema.js';

/**
 * APScheduler's CronTrigger fields -> one cron expression for croner.
 *
 * APScheduler's defaults: a field not given is `*` when it is more significant than the least
 * significant field given, and its minimum when less significant (`{hour: 22, minute: 45}`
 * fires at 22:45:00 every day; `{day_of_week: "sun"}` at midnight on Sundays). `day_of_week`
 * numbers count from Monday = 0 (cron: Sunday = 0), so they are rewritten as cron numbers.
 * Both `day` and `day_of_week` restricted means "both must match" to APScheduler but "either"
 * to cron, so that combination is refused rather than run on the wrong days.
 *
 * Each field takes what APScheduler documents and cron can say: a number, `*`, `*\/n`, `a`,
 * `a-b`, `a-b/n`, comma lists of those, names (mon..sun, jan..dec), and `last` for `day`.
 * APScheduler's `xth y` and `last x` are refused with the field named.
 */
export interface CronProblem {
  field: string;
  value: unknown;
  rule: string;
}

const ORDER = ['month', 'day', 'day_of_week', 'hour', 'minute', 'second'] as const;
type Field = (typeof ORDER)[number];

const RANGES: Record<Field, [number, number, string]> = {
  month: [1, 12, 'a month 1-12 or jan-dec'],
  day: [1, 31, 'a day of the month 1-31 or "last"'],
  day_of_week: [0, 6, 'a weekday 0-6 (0 = Monday, as in APScheduler) or mon-sun'],
  hour: [0, 23, 'an hour 0-23'],
  minute: [0, 59, 'a minute 0-59'],
  second: [0, 59, 'a second 0-59'],
};
const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const FORMS = '"*", "*/n", "a", "a-b", "a-b/n" or a comma list of them';

export function scheduleToCron(s: TurboSchedule): { cron: string } | { problem: CronProblem } {
  const given = ORDER.filter((f) => s[f] !== undefined);
  if (given.length === 0)
    return {
      problem: { field: 'hour', value: undefined, rule: 'be given: a cron schedule needs at least one of month, day, day_of_week, hour, minute, second' },
    };
  const least = Math.max(...given.map((f) => ORDER.indexOf(f)));
  const out: Partial<Record<Field, string>> = {};
  for (const [i, f] of ORDER.entries()) {
    const raw = s[f];
    if (raw === undefined) {
      // day_of_week defaults to "*" wherever it sits (APScheduler's own default for it).
      out[f] = i < least || f === 'day_of_week' ? '*' : String(RANGES[f][0]);
      continue;
    }
    const converted = convertField(f, raw);
    if (typeof converted !== 'string') return { problem: converted };
    out[f] = converted;
  }
  if (out.day !== '*' && out.day_of_week !== '*') {
    return {
      problem: {
        field: 'day_of_week',
        value: s.day_of_week,
        rule: 'not be combined with "day": APScheduler needs both to match, cron either, so Sluice does not guess; keep one of them',
      },
    };
  }
  const five = `${out.minute} ${out.hour} ${out.day} ${out.month} ${out.day_of_week}`;
  return { cron: out.second === '0' ? five : `${out.second} ${five}` };
}

function convertField(f: Field, raw: string | number): string | CronProblem {
  const [min, max, what] = RANGES[f];
  const bad = (rule = `be ${what}, or ${FORMS}`): CronProblem => ({ field: f, value: raw, rule });
  if (typeof raw === 'number') {
    if (raw < min || raw > max) return bad(`be ${what}`);
    return f === 'day_of_week' ? String(toCronWeekday(raw)) : String(raw);
  }
  const text = raw.trim().toLowerCase();
  if (f === 'day' && text === 'last') return 'L';
  const values = new Set<number>();
  const parts: string[] = [];
  for (const part of text.split(',')) {
    const m = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/.exec(part.trim());
    if (!m) return bad();
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) return bad();
    let lo = min;
    let hi = max;
    if (m[1] !== '*') {
      const [a, b] = m[1]!.split('-');
      const from = toNumber(f, a!);
      const to = b === undefined ? (m[2] === undefined ? from : max) : toNumber(f, b);
      if (from === null || to === null) return bad();
      if (from > to) return bad(`have ranges from low to high (${part.trim()} runs backwards)`);
      lo = from;
      hi = to;
    }
    if (f === 'day_of_week') for (let v = lo; v <= hi; v += step) values.add(toCronWeekday(v));
    else parts.push(m[1] === '*' ? (step === 1 ? '*' : `*/${step}`) : lo === hi ? String(lo) : step === 1 ? `${lo}-${hi}` : `${lo}-${hi}/${step}`);
  }
  if (f !== 'day_of_week') return parts.includes('*') ? '*' : parts.join(',');
  // Weekdays become an explicit cron list, so Monday-first ranges never wrap wrongly.
  return values.size === 7 ? '*' : [...values].sort((a, b) => a - b).join(',');
}

function toNumber(f: Field, token: string): number | null {
  const [min, max] = RANGES[f];
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    return n >= min && n <= max ? n : null;
  }
  const names = f === 'day_of_week' ? DAY_NAMES : f === 'month' ? MONTH_NAMES : null;
  const i = names?.indexOf(token) ?? -1;
  if (i < 0) return null;
  return f === 'month' ? i + 1 : i;
}

/** APScheduler weekday (0 = Monday … 6 = Sunday) -> cron weekday (0 = Sunday … 6 = Saturday). */
function toCronWeekday(v: number): number {
  return (v + 1) % 7;
}
