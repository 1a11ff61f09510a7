// billing/plan-change-advance.ts: what the invoice at a plan change bills of the old plan, and the new plan's first
// advance fee. Lago's published upgrade example (docs "Upgrades and downgrades"): Plan A 100 EUR/month from Jan 1,
// Plan B 200 EUR/month from Jan 15 (calendar billing, UTC) → A 14/31 = 45.16, B 17/31 = 109.68.
import { changeBoundaryBilling, firstAdvanceFeeAfterChange, firstPeriodAfterChange } from '../../billing/plan-change-advance';
import { periodContaining } from '../../billing/period';
import { plan } from './helpers';

const tz = 'UTC';
const monthly = { subscriptionAt: '2026-01-01T00:00:00.000Z', interval: 'monthly' as const, billingTime: 'calendar' as const, timezone: tz };
const january = periodContaining(monthly, '2026-01-10T00:00:00.000Z');
const jan15 = '2026-01-15T00:00:00.000Z';
const feb1 = '2026-02-01T00:00:00.000Z';
const advanceB = plan([], { code: 'b', amountCents: 20000, amountCurrency: 'EUR', payInAdvance: true });

describe('changeBoundaryBilling: the old plan at the change', () => {
  it('a pay-in-advance old plan bills no subscription fee at an upgrade (its January fee was paid on Jan 1; the days after the change belong to the new plan)', () => {
    const b = changeBoundaryBilling({ plan: { payInAdvance: true }, kind: 'upgrade', usagePeriod: { start: january.period.start, end: jan15 }, usageFullPeriod: january.fullPeriod, timezone: tz });
    expect(b).toEqual({ rateUsage: true, chargeSubscriptionFee: false, subscriptionFeePeriod: null, feePaidEarlierFor: { period: { start: january.period.start, end: jan15 }, fullPeriod: january.fullPeriod } });
  });

  it('a pay-in-advance old plan bills no fee for the next period at a downgrade (the next period is the new plan\'s)', () => {
    const b = changeBoundaryBilling({ plan: { payInAdvance: true }, kind: 'downgrade', usagePeriod: january.period, usageFullPeriod: january.fullPeriod, timezone: tz });
    expect(b.chargeSubscriptionFee).toBe(false);
    expect(b.subscriptionFeePeriod).toBeNull();
  });

  it('an in-arrears old plan bills its fee up to the change day at an upgrade (Jan 1 → Jan 15: 14/31) and its whole period at a downgrade', () => {
    const up = changeBoundaryBilling({ plan: { payInAdvance: false }, kind: 'upgrade', usagePeriod: { start: january.period.start, end: '2026-01-15T10:30:00.000Z' }, usageFullPeriod: january.fullPeriod, timezone: tz });
    expect(up.subscriptionFeePeriod).toEqual({ period: { start: january.period.start, end: jan15 }, fullPeriod: january.fullPeriod });
    const down = changeBoundaryBilling({ plan: { payInAdvance: false }, kind: 'downgrade', usagePeriod: january.period, usageFullPeriod: january.fullPeriod, timezone: tz });
    expect(down.subscriptionFeePeriod).toEqual({ period: january.period, fullPeriod: january.fullPeriod });
  });
});

describe('firstAdvanceFeeAfterChange: the new plan\'s first fee, in advance', () => {
  it("Lago's upgrade on Jan 15 to 200 EUR/month: one fee of 17/31 × 20000 = 10967.74… → 10968 over [Jan 15, Feb 1)", () => {
    const fees = firstAdvanceFeeAfterChange({ plan: advanceB, schedule: monthly, changeAt: jan15, subscriptionAt: monthly.subscriptionAt });
    expect(fees.map((f) => [f.kind, f.amountCents, f.fromDatetime, f.toDatetime])).toEqual([['subscription', 10968, jan15, feb1]]);
    expect(fees[0]!.preciseAmount.startsWith('109.677419354')).toBe(true);
  });

  it('the change day counts whole for the new plan whatever the time of the change (Jan 15 10:30 → still 17/31)', () => {
    const fees = firstAdvanceFeeAfterChange({ plan: advanceB, schedule: monthly, changeAt: '2026-01-15T10:30:00.000Z', subscriptionAt: monthly.subscriptionAt });
    expect(fees[0]!.amountCents).toBe(10968);
  });

  it('a downgrade at the period end bills the new plan\'s whole next period (50 EUR/month from Feb 1: 5000 over February)', () => {
    const fees = firstAdvanceFeeAfterChange({ plan: plan([], { amountCents: 5000, amountCurrency: 'EUR', payInAdvance: true }), schedule: monthly, changeAt: feb1, subscriptionAt: monthly.subscriptionAt });
    expect(fees.map((f) => [f.amountCents, f.fromDatetime, f.toDatetime])).toEqual([[5000, feb1, '2026-03-01T00:00:00.000Z']]);
  });

  it('a monthly → yearly change on Jan 15 bills 351/365 of the yearly fee over [Jan 15, 2027-01-01): 150000 → 144246.57… → 144247', () => {
    const yearly = { ...monthly, interval: 'yearly' as const };
    expect(firstPeriodAfterChange({ schedule: yearly, changeAt: jan15 })).toEqual({
      period: { start: jan15, end: '2027-01-01T00:00:00.000Z' },
      fullPeriod: { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
    });
    const fees = firstAdvanceFeeAfterChange({ plan: plan([], { interval: 'yearly', amountCents: 150000, amountCurrency: 'EUR', payInAdvance: true }), schedule: yearly, changeAt: jan15, subscriptionAt: monthly.subscriptionAt });
    expect(fees.map((f) => [f.amountCents, f.toDatetime])).toEqual([[144247, '2027-01-01T00:00:00.000Z']]);
  });

  it('an in-arrears new plan bills nothing at the change (its first fee comes at its period end)', () => {
    expect(firstAdvanceFeeAfterChange({ plan: { ...advanceB, payInAdvance: false }, schedule: monthly, changeAt: jan15, subscriptionAt: monthly.subscriptionAt })).toEqual([]);
  });

  it('a free new plan bills no zero line', () => {
    expect(firstAdvanceFeeAfterChange({ plan: { ...advanceB, amountCents: 0 }, schedule: monthly, changeAt: jan15, subscriptionAt: monthly.subscriptionAt })).toEqual([]);
  });

  it('in the customer timezone (Europe/Paris, change Jan 15 08:00 local): 17/31 of the local January', () => {
    const paris = { ...monthly, subscriptionAt: '2025-12-31T23:00:00.000Z', timezone: 'Europe/Paris' };
    const fees = firstAdvanceFeeAfterChange({ plan: advanceB, schedule: paris, changeAt: '2026-01-15T07:00:00.000Z', subscriptionAt: paris.subscriptionAt });
    expect(fees.map((f) => [f.amountCents, f.toDatetime])).toEqual([[10968, '2026-01-31T23:00:00.000Z']]);
  });
});
