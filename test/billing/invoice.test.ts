import fc from 'fast-check';
import {
  aggregateCharge,
  buildInvoice,
  rateBucket,
  rateInAdvanceEvent,
  type ChargeModel,
  type ChargeProperties,
  type InvoiceInput,
  type UsageBucket,
  type UsageEvent,
} from '../../billing';
import { D } from '../../billing/money';
import { charge, metric, plan } from './helpers';

const march = { start: '2026-03-01T05:00:00.000Z', end: '2026-04-01T04:00:00.000Z' }; // New York local month
const tz = 'America/New_York';
const input = (over: Partial<InvoiceInput>): InvoiceInput => ({
  plan: plan([]),
  kind: 'subscription',
  currency: 'USD',
  timezone: tz,
  period: march,
  fullPeriod: march,
  chargeSubscriptionFee: true,
  usage: [],
  ...over,
});
const ev = (value: number | string, timestamp = '2026-03-10T00:00:00.000Z'): UsageEvent => ({ transactionId: `t-${String(value)}-${timestamp}`, timestamp, properties: { value } });

describe('buildInvoice', () => {
  it('standard 0.000002 × 123,456,789 tokens bills exactly 24691 cents', () => {
    const c = charge('standard', { amount: '0.000002' });
    const usage = [aggregateCharge(c, [ev(123_456_789)], march)];
    const inv = buildInvoice(input({ plan: plan([c]), chargeSubscriptionFee: false, usage }));
    expect(inv.fees).toHaveLength(1);
    expect(inv.fees[0]).toMatchObject({ kind: 'charge', units: '123456789', preciseAmount: '246.913578', amountCents: 24691 });
    expect(inv.totalAmountCents).toBe(24691);
  });

  it('prorates the subscription fee by days: $50 from Mar 15 in a 31-day month -> 17/31 -> 2742 cents', () => {
    const inv = buildInvoice(input({
      plan: plan([], { amountCents: 5000 }),
      period: { start: '2026-03-15T14:30:00.000Z', end: march.end },
    }));
    expect(inv.fees[0]).toMatchObject({ kind: 'subscription', amountCents: 2742, prorationRatio: '0.5483870967741935483870967741935483870968' });
  });

  it('rounds once per line and totals the rounded lines (3 × 0.005 = 3 cents, not 2)', () => {
    const c = charge('standard', { amount: '0.005' }, {
      billableMetric: metric({ filters: [{ key: 'k', values: ['a', 'b', 'c'] }] }),
      filters: ['a', 'b', 'c'].map((v) => ({ invoiceDisplayName: null, properties: { amount: '0.005' }, values: { k: [v] } })),
    });
    const evs = ['a', 'b', 'c'].map((k, i) => ({ transactionId: `e${i}`, timestamp: '2026-03-10T00:00:00.000Z', properties: { k, value: 1 } }));
    const inv = buildInvoice(input({ plan: plan([c]), chargeSubscriptionFee: false, usage: [aggregateCharge(c, evs, march)] }));
    expect(inv.fees.map((f) => f.amountCents)).toEqual([1, 1, 1, 0]);
    expect(inv.totalAmountCents).toBe(3);
  });

  it('JPY has no minor unit: 0.5 JPY/unit × 2999 units = 1499.5 -> 1500 yen', () => {
    const c = charge('standard', { amount: '0.5' });
    const inv = buildInvoice(input({ currency: 'JPY', plan: plan([c], { amountCurrency: 'JPY' }), chargeSubscriptionFee: false, usage: [aggregateCharge(c, [ev(2999)], march)] }));
    expect(inv.totalAmountCents).toBe(1500);
  });

  it('shows zero-usage charge lines and the graduated first-tier flat fee at zero units', () => {
    const c = charge('graduated', { graduated_ranges: [
      { from_value: 0, to_value: 10, per_unit_amount: '1', flat_amount: '5' },
      { from_value: 10, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
    ] });
    const inv = buildInvoice(input({ plan: plan([c]), chargeSubscriptionFee: false, usage: [] }));
    expect(inv.fees).toEqual([expect.objectContaining({ kind: 'charge', units: '0', amountCents: 500 })]);
  });

  it('skips pay-in-advance charges', () => {
    const c = charge('standard', { amount: '1' }, { payInAdvance: true });
    expect(buildInvoice(input({ plan: plan([c]), chargeSubscriptionFee: false })).fees).toEqual([]);
  });

  it('adds a charge minimum true-up, prorated for a partial period', () => {
    const c = charge('standard', { amount: '1' }, { minAmountCents: 3100 });
    const full = buildInvoice(input({ plan: plan([c]), chargeSubscriptionFee: false, usage: [aggregateCharge(c, [ev(10)], march)] }));
    expect(full.fees.map((f) => [f.kind, f.amountCents])).toEqual([['charge', 1000], ['charge_minimum', 2100]]);
    const partialPeriod = { start: '2026-03-15T14:30:00.000Z', end: march.end }; // 17/31 -> 1700
    const partial = buildInvoice(input({ plan: plan([c]), period: partialPeriod, chargeSubscriptionFee: false, usage: [aggregateCharge(c, [ev(10, '2026-03-20T00:00:00.000Z')], partialPeriod)] }));
    expect(partial.fees.map((f) => [f.kind, f.amountCents])).toEqual([['charge', 1000], ['charge_minimum', 700]]);
  });

  it('adds a minimum commitment true-up over subscription fee + charges', () => {
    const c = charge('standard', { amount: '1' });
    const inv = buildInvoice(input({ plan: plan([c], { amountCents: 1000, minimumCommitmentAmountCents: 5000 }), usage: [aggregateCharge(c, [ev(15)], march)] }));
    expect(inv.fees.map((f) => [f.kind, f.amountCents])).toEqual([['subscription', 1000], ['charge', 1500], ['minimum_commitment', 2500]]);
    expect(inv.totalAmountCents).toBe(5000);
  });

  it('progressive billing credit deducts what was already billed', () => {
    const c = charge('standard', { amount: '1' });
    const inv = buildInvoice(input({ plan: plan([c]), chargeSubscriptionFee: false, usage: [aggregateCharge(c, [ev(15)], march)], alreadyBilledAmountCents: 1000 }));
    expect(inv.fees.map((f) => [f.kind, f.amountCents])).toEqual([['charge', 1500], ['progressive_billing_credit', -1000]]);
    expect(inv.totalAmountCents).toBe(500);
  });

  it('trial: no fee while the trial covers the period, prorated after it ends', () => {
    const p = plan([], { amountCents: 3100, trialPeriodDays: 14 });
    const inTrial = buildInvoice(input({ plan: p, subscriptionAt: '2026-03-01T05:00:00.000Z', period: { start: '2026-03-01T05:00:00.000Z', end: '2026-03-10T05:00:00.000Z' } }));
    expect(inTrial.fees).toEqual([]);
    const after = buildInvoice(input({ plan: p, subscriptionAt: '2026-03-01T05:00:00.000Z' }));
    expect(after.fees[0]).toMatchObject({ fromDatetime: '2026-03-15T04:00:00.000Z', amountCents: 1700 }); // Mar 15..31 = 17/31
  });

  it('rejects usage for a charge outside the plan and a currency mismatch', () => {
    expect(() => buildInvoice(input({ usage: [{ chargeId: 'nope', buckets: [] }] }))).toThrow(expect.objectContaining({ code: 'unknown_charge' }));
    expect(() => buildInvoice(input({ currency: 'EUR' }))).toThrow(expect.objectContaining({ code: 'currency_mismatch' }));
  });
});

describe('rateInAdvanceEvent', () => {
  const models: [ChargeModel, ChargeProperties][] = [
    ['standard', { amount: '0.37' }],
    ['graduated', { graduated_ranges: [
      { from_value: 0, to_value: 10, per_unit_amount: '10', flat_amount: '2' },
      { from_value: 11, to_value: 20, per_unit_amount: '5', flat_amount: '3' },
      { from_value: 21, to_value: null, per_unit_amount: '5', flat_amount: '3' },
    ] }],
    ['package', { amount: '100', package_size: 10, free_units: 5 }],
    ['percentage', { rate: '1.3', fixed_amount: '2', free_units_per_events: 2, free_units_per_total_aggregation: '100' }],
    ['graduated_percentage', { graduated_percentage_ranges: [
      { from_value: 0, to_value: 10, flat_amount: '200', rate: '1' },
      { from_value: 10, to_value: null, flat_amount: '300', rate: '2' },
    ] }],
  ];
  it.each(models)('%s: summed deltas equal pricing the total', (model, props) => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 15 }), (values) => {
        const c = charge(model, props, { payInAdvance: true });
        let before: UsageBucket = { filterIndex: null, groupedBy: {}, units: '0', eventsCount: 0 };
        let sum = new D(0);
        const all: UsageEvent[] = [];
        values.forEach((v, i) => {
          const e = ev(v, `2026-03-10T00:00:${String(i).padStart(2, '0')}.000Z`);
          all.push(e);
          sum = sum.plus(rateInAdvanceEvent(c, before, e).amount);
          before = aggregateCharge(c, all, march).buckets[0]!;
        });
        expect(sum.toString()).toBe(new D(rateBucket(c, props, before, {}).amount).toString());
      }),
    );
  });
});
