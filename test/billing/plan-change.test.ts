import { buildInvoice } from '../../billing/invoice';
import {
  firstBilledPeriod,
  periodAfterChange,
  planChangeKind,
  trialEndsAt,
  upgradedFeePeriod,
  yearlyAmountCents,
} from '../../billing/plan-change';
import { periodContaining } from '../../billing/period';
import type { Interval } from '../../billing/types';
import { plan } from './helpers';

const p = (amountCents: number, interval: Interval) => ({ amountCents, interval });

describe('planChangeKind (Lago: yearly subscription fees compared, equal is an upgrade)', () => {
  it.each([
    ['$20/month → $40/month', 'upgrade', p(2000, 'monthly'), p(4000, 'monthly')],
    ['$20/month → $15/month', 'downgrade', p(2000, 'monthly'), p(1500, 'monthly')],
    ['$20/month → $300/year', 'upgrade', p(2000, 'monthly'), p(30000, 'yearly')],
    ['$20/month → $180/year', 'downgrade', p(2000, 'monthly'), p(18000, 'yearly')],
    ['$20/month → $240/year (equal)', 'upgrade', p(2000, 'monthly'), p(24000, 'yearly')],
    ['$10/week → $40/month ($520 vs $480 a year)', 'downgrade', p(1000, 'weekly'), p(4000, 'monthly')],
    ['$100/quarter → $200/semiannual (equal)', 'upgrade', p(10000, 'quarterly'), p(20000, 'semiannual')],
  ])('%s is a %s', (_name, kind, from, to) => {
    expect(planChangeKind(from, to)).toBe(kind);
  });

  it('yearly amounts are exact integers per interval', () => {
    expect(yearlyAmountCents(p(1000, 'weekly'))).toBe(52_000);
    expect(yearlyAmountCents(p(2000, 'monthly'))).toBe(24_000);
    expect(() => yearlyAmountCents(p(Number.MAX_SAFE_INTEGER, 'monthly'))).toThrow(/safe integer/);
  });
});

describe("upgrade proration (Lago's example: 100 EUR/month from Jan 1, 200 EUR/month from Jan 15)", () => {
  const tz = 'UTC';
  const schedule = { subscriptionAt: '2026-01-01T00:00:00.000Z', interval: 'monthly' as const, billingTime: 'calendar' as const, timezone: tz };
  const january = periodContaining(schedule, '2026-01-10T00:00:00.000Z');
  const changeAt = '2026-01-15T10:30:00.000Z';
  const planA = plan([], { code: 'a', amountCents: 10000, amountCurrency: 'EUR' });
  const planB = plan([], { code: 'b', amountCents: 20000, amountCurrency: 'EUR' });

  it('the old plan is billed 14/31 (the change day belongs to the new plan): 45.16', () => {
    const period = { start: january.period.start, end: changeAt };
    const feePeriod = upgradedFeePeriod(period, changeAt, tz);
    expect(feePeriod).toEqual({ start: '2026-01-01T00:00:00.000Z', end: '2026-01-15T00:00:00.000Z' });
    const draft = buildInvoice({
      plan: planA, kind: 'subscription', currency: 'EUR', timezone: tz, period, fullPeriod: january.fullPeriod,
      chargeSubscriptionFee: true, subscriptionFeePeriod: { period: feePeriod, fullPeriod: january.fullPeriod }, usage: [],
    });
    const fee = draft.fees.find((f) => f.kind === 'subscription')!;
    expect(fee.prorationRatio!.startsWith('0.45161290322')).toBe(true); // 14/31
    expect(fee.amountCents).toBe(4516);
  });

  it('the new plan is billed 17/31 from the change instant to the period end: 109.68', () => {
    const next = periodAfterChange(schedule, changeAt);
    expect(next.period).toEqual({ start: changeAt, end: '2026-02-01T00:00:00.000Z' });
    expect(next.fullPeriod).toEqual(january.fullPeriod);
    const draft = buildInvoice({
      plan: planB, kind: 'subscription', currency: 'EUR', timezone: tz, period: next.period, fullPeriod: next.fullPeriod,
      chargeSubscriptionFee: true, usage: [],
    });
    expect(draft.fees.find((f) => f.kind === 'subscription')!.amountCents).toBe(10968);
  });

  it('days billed before and after an upgrade add up to the month (14 + 17 = 31) in the customer timezone', () => {
    const paris = 'Europe/Paris';
    const s = { ...schedule, subscriptionAt: '2025-12-31T23:00:00.000Z', timezone: paris };
    const jan = periodContaining(s, '2026-01-10T00:00:00.000Z');
    const at = '2026-01-15T07:00:00.000Z'; // 08:00 in Paris
    const old = upgradedFeePeriod({ start: jan.period.start, end: at }, at, paris);
    expect(old.end).toBe('2026-01-14T23:00:00.000Z');
    const oldFee = buildInvoice({ plan: planA, kind: 'subscription', currency: 'EUR', timezone: paris, period: { start: jan.period.start, end: at }, fullPeriod: jan.fullPeriod, chargeSubscriptionFee: true, subscriptionFeePeriod: { period: old, fullPeriod: jan.fullPeriod }, usage: [] });
    const next = periodAfterChange(s, at);
    const newFee = buildInvoice({ plan: planA, kind: 'subscription', currency: 'EUR', timezone: paris, period: next.period, fullPeriod: next.fullPeriod, chargeSubscriptionFee: true, usage: [] });
    // 14/31 + 17/31 of the same plan: 4516 + 5484 = 10000 (each line rounded once, half-up).
    expect(oldFee.fees[0].amountCents + newFee.fees[0].amountCents).toBe(10000);
  });

  it('an upgrade on the period\'s first day bills the old plan no subscription fee', () => {
    const at = '2026-01-01T09:00:00.000Z';
    const fee = upgradedFeePeriod({ start: january.period.start, end: at }, at, tz);
    expect(fee.start).toBe(fee.end);
    const draft = buildInvoice({ plan: planA, kind: 'subscription', currency: 'EUR', timezone: tz, period: { start: january.period.start, end: at }, fullPeriod: january.fullPeriod, chargeSubscriptionFee: true, subscriptionFeePeriod: { period: fee, fullPeriod: january.fullPeriod }, usage: [] });
    expect(draft.fees.filter((f) => f.kind === 'subscription')).toHaveLength(0);
  });
});

describe('interval change (monthly → yearly) and migration start', () => {
  const schedule = { subscriptionAt: '2025-03-10T00:00:00.000Z', interval: 'yearly' as const, billingTime: 'calendar' as const, timezone: 'UTC' };

  it('a monthly → yearly change on Jan 15 opens [Jan 15, next Jan 1) over the calendar year: 351/365 of the yearly fee', () => {
    const next = periodAfterChange(schedule, '2026-01-15T00:00:00.000Z');
    expect(next.period).toEqual({ start: '2026-01-15T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' });
    expect(next.fullPeriod).toEqual({ start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' });
    const draft = buildInvoice({ plan: plan([], { interval: 'yearly', amountCents: 36500 }), kind: 'subscription', currency: 'USD', timezone: 'UTC', period: next.period, fullPeriod: next.fullPeriod, chargeSubscriptionFee: true, usage: [] });
    expect(draft.fees[0].amountCents).toBe(35100);
  });

  it('firstBilledPeriod clips the period containing billing_starts_at (anniversary anchor kept)', () => {
    const s = { subscriptionAt: '2024-05-20T08:00:00.000Z', interval: 'monthly' as const, billingTime: 'anniversary' as const, timezone: 'UTC' };
    expect(firstBilledPeriod(s, '2026-02-01T00:00:00.000Z')).toEqual({
      period: { start: '2026-02-01T00:00:00.000Z', end: '2026-02-20T08:00:00.000Z' },
      fullPeriod: { start: '2026-01-20T08:00:00.000Z', end: '2026-02-20T08:00:00.000Z' },
    });
  });
});

describe('trials', () => {
  it('trialEndsAt counts whole days from the subscription instant in the customer timezone; null without a trial', () => {
    expect(trialEndsAt('2026-03-20T10:00:00.000Z', 14, 'UTC')).toBe('2026-04-03T10:00:00.000Z');
    // Across the DST change in New York: 14 local days, 13 days 23 h of elapsed time.
    expect(trialEndsAt('2026-03-01T15:00:00.000Z', 14, 'America/New_York')).toBe('2026-03-15T14:00:00.000Z');
    expect(trialEndsAt('2026-03-20T10:00:00.000Z', 0, 'UTC')).toBeNull();
  });

  it('a 14-day trial ending mid-month: the fee is prorated to the days after it (Mar 15 → 17/31)', () => {
    const s = { subscriptionAt: '2026-03-01T00:00:00.000Z', interval: 'monthly' as const, billingTime: 'calendar' as const, timezone: 'UTC' };
    const march = periodContaining(s, '2026-03-01T00:00:00.000Z');
    const draft = buildInvoice({ plan: plan([], { amountCents: 3100, trialPeriodDays: 14 }), kind: 'subscription', currency: 'USD', timezone: 'UTC', period: march.period, fullPeriod: march.fullPeriod, chargeSubscriptionFee: true, usage: [], subscriptionAt: s.subscriptionAt });
    const fee = draft.fees.find((f) => f.kind === 'subscription')!;
    expect(fee.fromDatetime).toBe('2026-03-15T00:00:00.000Z');
    expect(fee.amountCents).toBe(1700);
  });
});
