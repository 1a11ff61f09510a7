// billing/in-advance-charges.ts: one fee per event of a pay-in-advance charge, in arrival order.
import fc from 'fast-check';
import { aggregateCharge } from '../../billing/aggregation';
import { inAdvanceChargeFees } from '../../billing/in-advance-charges';
import { buildInvoice } from '../../billing/invoice';
import { D } from '../../billing/money';
import type { UsageEvent } from '../../billing/types';
import { charge, metric, plan } from './helpers';

const MAY = { start: '2026-05-01T00:00:00.000Z', end: '2026-06-01T00:00:00.000Z' };
const ev = (id: string, value: number | string, timestamp = '2026-05-10T12:00:00.000Z', extra: Record<string, string> = {}): UsageEvent => ({
  transactionId: id,
  timestamp,
  properties: { value, ...extra },
});
const input = (c: ReturnType<typeof charge>, events: UsageEvent[]) => ({ charge: c, events, period: MAY, fullPeriod: MAY, currency: 'USD', timezone: 'UTC' });

describe('inAdvanceChargeFees', () => {
  test('a standard charge bills each event its own units: 3 and 4 units at 0.50 → 1.50 and 2.00', () => {
    const c = charge('standard', { amount: '0.5' }, { payInAdvance: true });
    const fees = inAdvanceChargeFees(input(c, [ev('t1', 3), ev('t2', 4)]));
    expect(fees.map((f) => [f.transactionId, f.units, f.amountCents])).toEqual([['t1', '3', 150], ['t2', '4', 200]]);
  });

  test('a graduated charge bills the marginal price of each event (first 10 units at 1.00, then 0.50)', () => {
    const c = charge('graduated', {
      graduated_ranges: [
        { from_value: 0, to_value: 10, per_unit_amount: '1', flat_amount: '0' },
        { from_value: 11, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
      ],
    }, { payInAdvance: true });
    const fees = inAdvanceChargeFees(input(c, [ev('a', 8), ev('b', 4), ev('c', 2)]));
    // 8 × 1.00; then 2 × 1.00 + 2 × 0.50; then 2 × 0.50.
    expect(fees.map((f) => f.amountCents)).toEqual([800, 300, 100]);
  });

  test('fees follow arrival order, not timestamps: a later-arriving earlier-dated event never changes earlier fees', () => {
    const c = charge('graduated', {
      graduated_ranges: [
        { from_value: 0, to_value: 10, per_unit_amount: '1', flat_amount: '0' },
        { from_value: 11, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
      ],
    }, { payInAdvance: true });
    const first = inAdvanceChargeFees(input(c, [ev('a', 8, '2026-05-20T00:00:00.000Z')]));
    const both = inAdvanceChargeFees(input(c, [ev('a', 8, '2026-05-20T00:00:00.000Z'), ev('b', 4, '2026-05-02T00:00:00.000Z')]));
    expect(both[0]).toEqual(first[0]);
    expect(both[1]!.amountCents).toBe(300);
  });

  test('events outside the period are ignored', () => {
    const c = charge('standard', { amount: '1' }, { payInAdvance: true });
    expect(inAdvanceChargeFees(input(c, [ev('x', 1, '2026-06-01T00:00:00.000Z'), ev('y', 1, '2026-04-30T23:59:59.999Z')]))).toEqual([]);
  });

  test('unique_count_agg: an already counted value costs 0, a new one is billed', () => {
    const c = charge('standard', { amount: '2' }, { payInAdvance: true, billableMetric: metric({ aggregationType: 'unique_count_agg', fieldName: 'user' }) });
    const fees = inAdvanceChargeFees(input(c, [
      { transactionId: 'u1', timestamp: '2026-05-02T00:00:00.000Z', properties: { user: 'alice' } },
      { transactionId: 'u2', timestamp: '2026-05-03T00:00:00.000Z', properties: { user: 'alice' } },
      { transactionId: 'u3', timestamp: '2026-05-04T00:00:00.000Z', properties: { user: 'bob' } },
    ]));
    expect(fees.map((f) => [f.transactionId, f.units, f.amountCents])).toEqual([['u1', '1', 200], ['u2', '0', 0], ['u3', '1', 200]]);
  });

  test('a prorated charge on a recurring metric bills the days left: a seat added on May 22 pays 10/31 of 31.00 = 10.00', () => {
    const c = charge('standard', { amount: '31' }, { payInAdvance: true, prorated: true, billableMetric: metric({ recurring: true }) });
    const [fee] = inAdvanceChargeFees(input(c, [ev('s1', 1, '2026-05-22T09:00:00.000Z')]));
    expect([fee!.amountCents, fee!.prorationRatio]).toEqual([10_00, new D(10).div(31).toString()]);
  });

  test('a recurring metric without proration bills each event whole (metered and recurring alike)', () => {
    const c = charge('standard', { amount: '31' }, { payInAdvance: true, billableMetric: metric({ recurring: true }) });
    expect(inAdvanceChargeFees(input(c, [ev('s1', 1, '2026-05-22T09:00:00.000Z')]))[0]!.amountCents).toBe(31_00);
  });

  test('filters: each event is priced in its own filter bucket', () => {
    const c = charge('standard', { amount: '1' }, {
      payInAdvance: true,
      billableMetric: metric({ filters: [{ key: 'region', values: ['eu', 'us'] }] }),
      filters: [{ invoiceDisplayName: null, properties: { amount: '3' }, values: { region: ['eu'] } }],
    });
    const fees = inAdvanceChargeFees(input(c, [ev('e1', 2, undefined, { region: 'eu' }), ev('e2', 2, undefined, { region: 'us' })]));
    expect(fees.map((f) => [f.filterIndex, f.amountCents])).toEqual([[0, 600], [null, 200]]);
  });

  test('property: the fees of a period sum (within one cent per fee) to the period priced whole in arrears', () => {
    const c = charge('graduated', {
      graduated_ranges: [
        { from_value: 0, to_value: 5, per_unit_amount: '0.37', flat_amount: '1' },
        { from_value: 6, to_value: null, per_unit_amount: '0.11', flat_amount: '0' },
      ],
    }, { payInAdvance: true });
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 15 }), (values) => {
      const events = values.map((v, i) => ev(`t${i}`, v));
      const fees = inAdvanceChargeFees(input(c, events));
      const arrears = { ...c, payInAdvance: false };
      const whole = buildInvoice({
        plan: plan([arrears]), kind: 'subscription', currency: 'USD', timezone: 'UTC', period: MAY, fullPeriod: MAY,
        chargeSubscriptionFee: false, usage: [aggregateCharge(arrears, events, MAY)],
      }).feesAmountCents;
      const sum = fees.reduce((a, f) => a + f.amountCents, 0);
      expect(Math.abs(sum - whole)).toBeLessThanOrEqual(fees.length);
    }));
  });

  test('a charge in arrears is refused', () => {
    expect(() => inAdvanceChargeFees(input(charge('standard', { amount: '1' }), []))).toThrow(/not paid in advance/);
  });
});
