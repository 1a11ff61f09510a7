// billing/advance-billing.ts: the boundary rule (which fees an invoice at a period boundary bills) and the unused
// part of a paid advance fee. Credit numbers from lago-api spec/services/credit_notes/create_from_termination_spec.rb
// (amounts before taxes: the spec's totals include a 20 % tax, e.g. 19.20 = 16.00 + 3.20).
import { advanceFeeCents, boundaryBilling, startInvoicePeriod, terminationCreditCents, upgradeCreditCents } from '../../billing/advance-billing';
import { buildInvoice } from '../../billing/invoice';
import type { ScheduleInput } from '../../billing/period';
import { charge, plan } from './helpers';

const UTC_MONTHLY: ScheduleInput = { subscriptionAt: '2026-03-15T10:30:00.000Z', interval: 'monthly', billingTime: 'calendar', timezone: 'UTC' };
const advance = plan([charge('standard', { amount: '1' })], { amountCents: 100_00, payInAdvance: true });
const arrears = { ...advance, payInAdvance: false };

describe('boundaryBilling', () => {
  test('the start invoice of an advance plan bills only the first period fee, prorated from the subscription start', () => {
    const start = startInvoicePeriod(UTC_MONTHLY.subscriptionAt);
    const b = boundaryBilling({ plan: advance, kind: 'subscription', usagePeriod: start, usageFullPeriod: start, schedule: UTC_MONTHLY });
    expect(b).toEqual({
      rateUsage: false,
      chargeSubscriptionFee: true,
      subscriptionFeePeriod: {
        period: { start: '2026-03-15T10:30:00.000Z', end: '2026-04-01T00:00:00.000Z' },
        fullPeriod: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
      },
      feePaidEarlierFor: null,
    });
    // 17 of March's 31 days (Mar 15 counts whole): 100.00 × 17/31 = 54.8387… → 54.84.
    expect(advanceFeeCents(advance, b.subscriptionFeePeriod!, 'UTC', UTC_MONTHLY.subscriptionAt)).toBe(54_84);
  });

  test('a period-end invoice of an advance plan bills the ended period usage and the fee of the period that begins', () => {
    const march = { start: '2026-03-15T10:30:00.000Z', end: '2026-04-01T00:00:00.000Z' };
    const b = boundaryBilling({ plan: advance, kind: 'subscription', usagePeriod: march, usageFullPeriod: { start: '2026-03-01T00:00:00.000Z', end: march.end }, schedule: UTC_MONTHLY });
    expect(b.rateUsage).toBe(true);
    expect(b.subscriptionFeePeriod).toEqual({
      period: { start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z' },
      fullPeriod: { start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z' },
    });
    expect(b.feePaidEarlierFor?.period).toEqual(march);
    const draft = buildInvoice({
      plan: advance, kind: 'subscription', currency: 'USD', timezone: 'UTC', period: march, fullPeriod: b.feePaidEarlierFor!.fullPeriod,
      chargeSubscriptionFee: b.chargeSubscriptionFee, subscriptionFeePeriod: b.subscriptionFeePeriod!,
      usage: [{ chargeId: 'c1', buckets: [{ filterIndex: null, groupedBy: {}, units: '7', eventsCount: 7 }] }],
    });
    expect(draft.fees.map((f) => [f.kind, f.amountCents, f.fromDatetime, f.toDatetime])).toEqual([
      ['subscription', 100_00, '2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z'],
      ['charge', 7_00, march.start, march.end],
    ]);
  });

  test('a termination invoice of an advance plan bills usage and no fee (the fee was paid at the period start)', () => {
    const p = { start: '2026-04-01T00:00:00.000Z', end: '2026-04-10T00:00:00.000Z' };
    const b = boundaryBilling({ plan: advance, kind: 'termination', usagePeriod: p, usageFullPeriod: { start: p.start, end: '2026-05-01T00:00:00.000Z' }, schedule: UTC_MONTHLY });
    expect([b.rateUsage, b.chargeSubscriptionFee, b.subscriptionFeePeriod]).toEqual([true, false, null]);
  });

  test('an arrears plan bills the fee of the ended period, and a progressive-billing invoice bills no fee', () => {
    const p = { start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z' };
    const a = boundaryBilling({ plan: arrears, kind: 'subscription', usagePeriod: p, usageFullPeriod: p, schedule: UTC_MONTHLY });
    expect(a.subscriptionFeePeriod).toEqual({ period: p, fullPeriod: p });
    const pb = boundaryBilling({ plan: advance, kind: 'progressive_billing', usagePeriod: p, usageFullPeriod: p, schedule: UTC_MONTHLY });
    expect(pb.chargeSubscriptionFee).toBe(false);
  });

  test('an empty usage period is refused except for the start invoice of an advance plan', () => {
    const e = startInvoicePeriod(UTC_MONTHLY.subscriptionAt);
    expect(() => boundaryBilling({ plan: arrears, kind: 'subscription', usagePeriod: e, usageFullPeriod: e, schedule: UTC_MONTHLY })).toThrow(/empty period/);
    expect(() => boundaryBilling({ plan: advance, kind: 'termination', usagePeriod: e, usageFullPeriod: e, schedule: UTC_MONTHLY })).toThrow(/empty period/);
  });

  test('over three periods every period fee is billed exactly once, each on the invoice at its start', () => {
    const s: ScheduleInput = { ...UTC_MONTHLY, subscriptionAt: '2026-01-01T00:00:00.000Z' };
    const starts: string[] = [];
    let usage = startInvoicePeriod(s.subscriptionAt);
    for (let i = 0; i < 4; i++) {
      const b = boundaryBilling({ plan: advance, kind: 'subscription', usagePeriod: usage, usageFullPeriod: usage, schedule: s });
      starts.push(b.subscriptionFeePeriod!.period.start);
      usage = b.subscriptionFeePeriod!.period;
    }
    expect(starts).toEqual(['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
  });
});

describe('unused advance fee credit (Lago CreditNotes::CreateFromTermination)', () => {
  const october = { amountCents: 31_00, currency: 'EUR', feePeriod: { start: '2022-10-01T00:00:00.000Z', end: '2022-11-01T00:00:00.000Z' } };

  test('terminated on Oct 15 10:00 UTC: the 16 days after the termination day are credited, 16.00 of 31.00', () => {
    const c = terminationCreditCents(october, '2022-10-15T10:00:00.000Z', 'UTC');
    expect([c.amountCents, c.creditedDays, c.feeDays]).toEqual([16_00, 16, 31]);
    expect(c.creditedPeriod).toEqual({ start: '2022-10-16T00:00:00.000Z', end: '2022-11-01T00:00:00.000Z' });
  });

  test('upgraded on Oct 15: the upgrade day is credited too, 17.00', () => {
    expect(upgradeCreditCents(october, '2022-10-15T10:00:00.000Z', 'UTC').amountCents).toBe(17_00);
  });

  test('the termination day is the customer\'s local day: 01:00 UTC Oct 15 is Oct 14 in Los Angeles (17.00), Oct 15 in Paris (16.00)', () => {
    const la = { ...october, feePeriod: { start: '2022-10-01T07:00:00.000Z', end: '2022-11-01T07:00:00.000Z' } };
    expect(terminationCreditCents(la, '2022-10-15T01:00:00.000Z', 'America/Los_Angeles').amountCents).toBe(17_00);
    const paris = { ...october, feePeriod: { start: '2022-09-30T22:00:00.000Z', end: '2022-10-31T23:00:00.000Z' } };
    expect(terminationCreditCents(paris, '2022-10-15T01:00:00.000Z', 'Europe/Paris').amountCents).toBe(16_00);
  });

  test('earlier credit notes on the fee are deducted: 16.00 − 10.00 = 6.00', () => {
    expect(terminationCreditCents({ ...october, alreadyCreditedCents: 10_00 }, '2022-10-15T10:00:00.000Z', 'UTC').amountCents).toBe(6_00);
  });

  test('rounding A1 rounds the credit down: 9.99 × 15/30 = 4.995 → 4.99', () => {
    const fee = { amountCents: 9_99, currency: 'EUR', feePeriod: { start: '2023-02-28T10:00:00.000Z', end: '2023-03-30T10:00:00.000Z' } };
    const c = terminationCreditCents(fee, '2023-03-14T10:00:00.000Z', 'UTC');
    expect([c.amountCents, c.creditedDays, c.feeDays, c.preciseAmount]).toEqual([4_99, 15, 30, '4.995']);
  });

  test('a trial: only days the fee paid for are credited (fee from the trial end Oct 17 10:00: 15 days, all unused)', () => {
    const fee = { amountCents: 15_00, currency: 'EUR', feePeriod: { start: '2022-10-17T10:00:00.000Z', end: '2022-11-01T00:00:00.000Z' } };
    const c = terminationCreditCents(fee, '2022-10-15T10:00:00.000Z', 'UTC');
    expect([c.amountCents, c.creditedDays, c.feeDays]).toEqual([15_00, 15, 15]);
  });

  test('nothing is credited after the fee period, for a zero fee, or when all was credited already', () => {
    expect(terminationCreditCents(october, '2022-10-31T12:00:00.000Z', 'UTC').amountCents).toBe(0);
    expect(terminationCreditCents({ ...october, amountCents: 0 }, '2022-10-15T10:00:00.000Z', 'UTC').amountCents).toBe(0);
    expect(terminationCreditCents({ ...october, alreadyCreditedCents: 31_00 }, '2022-10-15T10:00:00.000Z', 'UTC').amountCents).toBe(0);
  });
});
