import {
  chargesToRead,
  eventValuesUse,
  isSingleBucketCharge,
  rateInAdvanceEvent,
  ratePeriod,
  usageReadableFromTotals,
  type ChargeUsage,
} from '../../billing';
import { D } from '../../billing/money';
import { charge, metric, plan } from './helpers';

const nov = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const base = { kind: 'preview' as const, timezone: 'UTC', period: nov, fullPeriod: nov, chargeSubscriptionFee: false };

const arrears = charge('standard', { amount: '0.5' }, { id: 'arrears' });
const advance = charge('standard', { amount: '2' }, { id: 'advance', payInAdvance: true, billableMetric: metric({ code: 'seats' }) });
const usage: ChargeUsage[] = [
  { chargeId: 'arrears', buckets: [{ filterIndex: null, groupedBy: {}, units: '10', eventsCount: 3 }] },
  { chargeId: 'advance', buckets: [{ filterIndex: null, groupedBy: {}, units: '3', eventsCount: 3 }] },
];

describe('ratePeriod', () => {
  it("'per_event' leaves pay-in-advance charges off the period's lines (they are billed per event)", () => {
    const r = ratePeriod({ ...base, plan: plan([arrears, advance]), usage, payInAdvanceCharges: 'per_event' });
    expect(r.chargeFees.map((f) => [f.chargeId, f.amountCents])).toEqual([['arrears', 500]]);
    expect(r.usageAmountCents).toBe(500);
    expect(chargesToRead(plan([arrears, advance]), 'per_event').map((c) => c.id)).toEqual(['arrears']);
  });

  it("'on_period_total' prices pay-in-advance charges in arrears, equal to the sum of their per-event fees", () => {
    const p = plan([arrears, advance]);
    const r = ratePeriod({ ...base, plan: p, usage, payInAdvanceCharges: 'on_period_total' });
    expect(r.chargeFees.map((f) => [f.chargeId, f.amountCents])).toEqual([['arrears', 500], ['advance', 600]]);
    expect(r.plan.charges.every((c) => !c.payInAdvance)).toBe(true);
    expect(p.charges[1]!.payInAdvance).toBe(true); // the given plan is not mutated
    expect(chargesToRead(p, 'on_period_total').map((c) => c.id)).toEqual(['arrears', 'advance']);
    // The same three seats billed one event at a time sum to the same 6.00.
    let before = { filterIndex: null, groupedBy: {}, units: '0', eventsCount: 0 };
    let perEvent = new D(0);
    for (let i = 0; i < 3; i++) {
      const ev = { transactionId: `t${i}`, timestamp: '2026-11-02T00:00:00.000Z', properties: { value: 1 } };
      perEvent = perEvent.plus(rateInAdvanceEvent(advance, before, ev).amount);
      before = { ...before, units: String(i + 1), eventsCount: i + 1 };
    }
    expect(perEvent.toString()).toBe('6');
  });

  it('usage amount is the sum of the charge lines only (no subscription fee, no minimum true-up)', () => {
    const withMin = { ...arrears, minAmountCents: 2000 };
    const r = ratePeriod({
      ...base,
      kind: 'subscription',
      plan: plan([withMin], { amountCents: 1000 }),
      usage: [usage[0]!],
      chargeSubscriptionFee: true,
      payInAdvanceCharges: 'per_event',
    });
    expect(r.draft.fees.map((f) => f.kind)).toEqual(['subscription', 'charge', 'charge_minimum']);
    expect(r.draft.totalAmountCents).toBe(1000 + 2000);
    expect(r.usageAmountCents).toBe(500);
  });
});

describe('per-event values: each charge model says whether it needs them', () => {
  it('dynamic always needs them; percentage only with per-event properties; the others never', () => {
    expect(eventValuesUse(charge('dynamic', {}))).toBe('required');
    expect(eventValuesUse(charge('percentage', { rate: '1' }))).toBe('optional');
    expect(eventValuesUse(charge('percentage', { rate: '1', free_units_per_events: 2 }))).toBe('required');
    expect(eventValuesUse(charge('percentage', { rate: '1', per_transaction_max_amount: '3' }))).toBe('required');
    expect(eventValuesUse(charge('percentage', { rate: '1', free_units_per_total_aggregation: '10', fixed_amount: '1' }))).toBe('required');
    expect(eventValuesUse(charge('percentage', { rate: '1', free_units_per_total_aggregation: '10' }))).toBe('optional');
    expect(eventValuesUse(charge('graduated', { graduated_ranges: [] }))).toBe('none');
    // A filter's properties count too.
    const filtered = charge('percentage', { rate: '1' }, { filters: [{ invoiceDisplayName: null, values: { k: ['a'] }, properties: { rate: '1', free_units_per_events: 1 } }] });
    expect(eventValuesUse(filtered)).toBe('required');
  });

  it('usage is readable from totals for count/sum/max without required per-event values', () => {
    expect(usageReadableFromTotals(charge('standard', { amount: '1' }))).toBe(true);
    expect(usageReadableFromTotals(charge('percentage', { rate: '1' }))).toBe(true);
    expect(usageReadableFromTotals(charge('dynamic', {}))).toBe(false);
    expect(usageReadableFromTotals(charge('standard', { amount: '1' }, { billableMetric: metric({ aggregationType: 'unique_count_agg' }) }))).toBe(false);
    expect(isSingleBucketCharge(charge('standard', { amount: '1', pricing_group_keys: ['region'] }))).toBe(false);
    expect(isSingleBucketCharge(charge('standard', { amount: '1' }))).toBe(true);
  });
});
