import { nextPeriod, periodContaining, periodDays, prorationRatio, terminatedPeriod, type ScheduleInput } from '../../billing';

const ny = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  subscriptionAt: '2026-01-10T15:00:00.000Z',
  interval: 'monthly',
  billingTime: 'calendar',
  timezone: 'America/New_York',
  ...over,
});

describe('calendar periods', () => {
  it('first period is clipped at the subscription instant; fullPeriod is the whole local month', () => {
    const r = periodContaining(ny(), '2026-01-20T00:00:00.000Z');
    expect(r.period).toEqual({ start: '2026-01-10T15:00:00.000Z', end: '2026-02-01T05:00:00.000Z' });
    expect(r.fullPeriod).toEqual({ start: '2026-01-01T05:00:00.000Z', end: '2026-02-01T05:00:00.000Z' });
  });

  it.each([
    // America/New_York: DST starts 2026-03-08 (UTC-5 -> UTC-4), ends 2026-11-01 (UTC-4 -> UTC-5)
    ['2026-03-10T12:00:00.000Z', '2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z'],
    ['2026-11-15T12:00:00.000Z', '2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z'],
    ['2026-02-28T12:00:00.000Z', '2026-02-01T05:00:00.000Z', '2026-03-01T05:00:00.000Z'],
    // 2026-03-01T04:59:59Z is still Feb 28 local time
    ['2026-03-01T04:59:59.000Z', '2026-02-01T05:00:00.000Z', '2026-03-01T05:00:00.000Z'],
    ['2026-03-01T05:00:00.000Z', '2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z'],
  ])('monthly New York period containing %s is [%s, %s)', (at, start, end) => {
    const r = periodContaining(ny(), at);
    expect(r.period).toEqual({ start, end });
    expect(r.fullPeriod).toEqual({ start, end });
  });

  it('March in New York (DST change) still counts 31 days, November 30', () => {
    expect(periodDays({ start: '2026-03-01T05:00:00.000Z', end: '2026-04-01T04:00:00.000Z' }, 'America/New_York')).toBe(31);
    expect(periodDays({ start: '2026-11-01T04:00:00.000Z', end: '2026-12-01T05:00:00.000Z' }, 'America/New_York')).toBe(30);
  });

  it('Europe/Paris: the October DST change keeps local midnights', () => {
    const s = ny({ timezone: 'Europe/Paris', subscriptionAt: '2026-01-01T00:00:00.000Z' });
    expect(periodContaining(s, '2026-10-25T12:00:00.000Z').period).toEqual({ start: '2026-09-30T22:00:00.000Z', end: '2026-10-31T23:00:00.000Z' });
  });

  it('nextPeriod walks a year of contiguous periods', () => {
    let p = periodContaining(ny(), '2026-01-10T15:00:00.000Z');
    for (let i = 0; i < 12; i++) {
      const n = nextPeriod(ny(), p.period);
      expect(n.period.start).toBe(p.period.end);
      expect(n.period).toEqual(n.fullPeriod);
      p = n;
    }
    expect(p.period.start).toBe('2027-01-01T05:00:00.000Z');
  });

  it.each([
    ['weekly', '2026-03-05T12:00:00.000Z', '2026-03-02T05:00:00.000Z', '2026-03-09T04:00:00.000Z'],
    ['quarterly', '2026-05-05T12:00:00.000Z', '2026-04-01T04:00:00.000Z', '2026-07-01T04:00:00.000Z'],
    ['semiannual', '2026-08-05T12:00:00.000Z', '2026-07-01T04:00:00.000Z', '2027-01-01T05:00:00.000Z'],
    ['yearly', '2026-08-05T12:00:00.000Z', '2026-01-01T05:00:00.000Z', '2027-01-01T05:00:00.000Z'],
  ] as const)('%s full period containing %s', (interval, at, start, end) => {
    const s = ny({ interval, subscriptionAt: '2025-06-01T00:00:00.000Z' });
    expect(periodContaining(s, at).fullPeriod).toEqual({ start, end });
  });

  it('rejects instants before the subscription and unknown timezones', () => {
    expect(() => periodContaining(ny(), '2026-01-01T00:00:00.000Z')).toThrow(expect.objectContaining({ code: 'before_subscription' }));
    expect(() => periodContaining(ny({ timezone: 'Mars/Olympus' }), '2026-02-01T00:00:00.000Z')).toThrow(expect.objectContaining({ code: 'invalid_timezone' }));
  });
});

describe('anniversary periods', () => {
  const s = ny({ billingTime: 'anniversary', subscriptionAt: '2026-01-31T15:00:00.000Z' }); // 10:00 local
  it.each([
    ['2026-02-10T00:00:00.000Z', '2026-01-31T15:00:00.000Z', '2026-02-28T15:00:00.000Z'],
    ['2026-03-10T00:00:00.000Z', '2026-02-28T15:00:00.000Z', '2026-03-31T14:00:00.000Z'], // DST: 10:00 local is 14:00Z
    ['2026-04-15T00:00:00.000Z', '2026-03-31T14:00:00.000Z', '2026-04-30T14:00:00.000Z'],
    ['2026-11-15T00:00:00.000Z', '2026-10-31T14:00:00.000Z', '2026-11-30T15:00:00.000Z'],
    ['2028-02-29T20:00:00.000Z', '2028-02-29T15:00:00.000Z', '2028-03-31T14:00:00.000Z'], // leap year
  ])('Jan 31 anniversary: period containing %s is [%s, %s)', (at, start, end) => {
    const r = periodContaining(s, at);
    expect(r.period).toEqual({ start, end });
    expect(r.fullPeriod).toEqual(r.period);
  });
  it('the period containing the subscription instant starts at it', () => {
    expect(periodContaining(s, s.subscriptionAt).period.start).toBe(s.subscriptionAt);
  });
  it('nextPeriod comes back to the 31st after February', () => {
    const feb = periodContaining(s, '2026-02-10T00:00:00.000Z');
    const mar = nextPeriod(s, feb.period);
    expect(mar.period).toEqual({ start: '2026-02-28T15:00:00.000Z', end: '2026-03-31T14:00:00.000Z' });
    expect(nextPeriod(s, mar.period).period.end).toBe('2026-04-30T14:00:00.000Z');
  });
  it('weekly anniversary', () => {
    const w = ny({ billingTime: 'anniversary', interval: 'weekly', subscriptionAt: '2026-03-04T17:00:00.000Z' });
    expect(periodContaining(w, '2026-03-10T00:00:00.000Z').period).toEqual({ start: '2026-03-04T17:00:00.000Z', end: '2026-03-11T16:00:00.000Z' });
  });
});

describe('proration ratio (days in the customer timezone)', () => {
  it('Lago calendar example: subscribed on the 15th of a 31-day month -> 17/31', () => {
    const r = periodContaining(ny({ subscriptionAt: '2026-03-15T14:30:00.000Z' }), '2026-03-20T00:00:00.000Z');
    expect(periodDays(r.period, 'America/New_York')).toBe(17);
    expect(prorationRatio(r.period, r.fullPeriod, 'America/New_York')).toBe('0.5483870967741935483870967741935483870968');
  });
  it('a full period is exactly "1"', () => {
    const r = periodContaining(ny(), '2026-03-20T00:00:00.000Z');
    expect(prorationRatio(r.period, r.fullPeriod, 'America/New_York')).toBe('1');
  });
  it('termination mid-day counts the termination day: Apr 1..3 = 3/30', () => {
    const r = periodContaining(ny(), '2026-04-02T00:00:00.000Z');
    const t = terminatedPeriod(r, '2026-04-03T18:00:00.000Z');
    expect(periodDays(t.period, 'America/New_York')).toBe(3);
    expect(prorationRatio(t.period, t.fullPeriod, 'America/New_York')).toBe('0.1');
  });
  it('the same UTC instant falls on different local days by timezone', () => {
    // 2026-03-15T02:00Z is Mar 14 in New York, Mar 15 in Paris
    const p = { start: '2026-03-15T02:00:00.000Z', end: '2026-04-01T00:00:00.000Z' };
    expect(periodDays(p, 'Europe/Paris')).toBe(17);
    expect(periodDays({ start: p.start, end: '2026-04-01T04:00:00.000Z' }, 'America/New_York')).toBe(18);
  });
});
