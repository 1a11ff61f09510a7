import { PlanValidationError, planFromLagoInput, validatePlan, type BillableMetric } from '../../billing';
import { charge, plan } from './helpers';

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PlanValidationError);
    expect((e as PlanValidationError).code).toBe('invalid_plan');
    return (e as PlanValidationError).issues.map((i) => [i.field, i.code]);
  }
  throw new Error('expected a PlanValidationError');
};

describe('validatePlan', () => {
  it('accepts a valid plan', () => {
    expect(() => validatePlan(plan([charge('standard', { amount: '0.5' })]))).not.toThrow();
  });

  it('lists ALL issues with Lago field paths', () => {
    const bad = plan(
      [
        charge('graduated', { graduated_ranges: [
          { from_value: 1, to_value: 10, per_unit_amount: '1', flat_amount: '0' },
          { from_value: 15, to_value: 20, per_unit_amount: '-1', flat_amount: '0' },
          { from_value: 20, to_value: 30, per_unit_amount: 1, flat_amount: '0' },
        ] }, { id: 'a' }),
        charge('percentage', { rate: '120' }, { id: 'b' }),
        charge('package', { amount: '1', package_size: 0 }, { id: 'c', minAmountCents: -1 }),
        charge('bogus' as never, {}, { id: 'd' }),
      ],
      { amountCents: -5, amountCurrency: 'XXX', interval: 'daily' as never, minimumCommitmentAmountCents: -1 },
    );
    expect(issuesOf(() => validatePlan(bad))).toEqual([
      ['interval', 'invalid_interval'],
      ['amount_cents', 'invalid_amount'],
      ['amount_currency', 'unsupported_currency'],
      ['minimum_commitment.amount_cents', 'invalid_amount'],
      ['charges[0].properties.graduated_ranges[0].from_value', 'invalid_range_bounds'],
      ['charges[0].properties.graduated_ranges[1].per_unit_amount', 'negative_amount'],
      ['charges[0].properties.graduated_ranges[1].from_value', 'gap_between_ranges'],
      ['charges[0].properties.graduated_ranges[2].per_unit_amount', 'invalid_amount'],
      ['charges[0].properties.graduated_ranges[2].to_value', 'invalid_range_bounds'],
      ['charges[1].properties.rate', 'invalid_rate'],
      ['charges[2].min_amount_cents', 'invalid_amount'],
      ['charges[2].properties.package_size', 'invalid_package_size'],
      ['charges[3].charge_model', 'unknown_charge_model'],
    ]);
  });

  it('reports overlapping ranges', () => {
    const c = charge('volume', { volume_ranges: [
      { from_value: 0, to_value: 10, per_unit_amount: '1', flat_amount: '0' },
      { from_value: 5, to_value: null, per_unit_amount: '1', flat_amount: '0' },
    ] });
    expect(issuesOf(() => validatePlan(plan([c])))).toEqual([['charges[0].properties.volume_ranges[1].from_value', 'overlapping_ranges']]);
  });

  it('accepts classic (+1) and adjacent ranges', () => {
    for (const second of [10, 11]) {
      const c = charge('graduated', { graduated_ranges: [
        { from_value: 0, to_value: 10, per_unit_amount: '1', flat_amount: '0' },
        { from_value: second, to_value: null, per_unit_amount: '1', flat_amount: '0' },
      ] });
      expect(() => validatePlan(plan([c]))).not.toThrow();
    }
  });

  it('validates filter properties and values against the metric', () => {
    const c = charge('standard', { amount: '1' });
    c.filters = [{ invoiceDisplayName: null, properties: { amount: 'x' }, values: { model: ['gpt-5'] } }];
    expect(issuesOf(() => validatePlan(plan([c])))).toEqual([
      ['charges[0].filters[0].values.model', 'invalid_filter_key'],
      ['charges[0].filters[0].properties.amount', 'invalid_amount'],
    ]);
  });
});

describe('planFromLagoInput', () => {
  const metrics: Record<string, BillableMetric> = {
    tokens: { code: 'tokens', name: 'Tokens', aggregationType: 'sum_agg', fieldName: 'tokens', recurring: false, filters: [{ key: 'model', values: ['gpt-4o'] }] },
  };
  it('maps a Lago POST /plans body', () => {
    const p = planFromLagoInput({ plan: {
      code: 'ai', name: 'AI', interval: 'monthly', amount_cents: 1900, amount_currency: 'EUR', pay_in_advance: true, trial_period: 7,
      minimum_commitment: { amount_cents: 5000 }, usage_thresholds: [{ amount_cents: 10000, threshold_display_name: 't' }],
      charges: [{ billable_metric_code: 'tokens', charge_model: 'standard', min_amount_cents: 100, invoice_display_name: 'Tokens!',
        properties: { amount: '0.000002' }, filters: [{ invoice_display_name: '4o', properties: { amount: '0.00001' }, values: { model: ['gpt-4o'] } }] }],
    } }, metrics);
    expect(p).toMatchObject({
      code: 'ai', interval: 'monthly', amountCents: 1900, amountCurrency: 'EUR', payInAdvance: true, trialPeriodDays: 7, minimumCommitmentAmountCents: 5000,
      usageThresholds: [{ amountCents: 10000, recurring: false, thresholdDisplayName: 't' }],
      charges: [{ id: 'ai:charge:0', chargeModel: 'standard', minAmountCents: 100, invoiceDisplayName: 'Tokens!', properties: { amount: '0.000002' },
        filters: [{ invoiceDisplayName: '4o', properties: { amount: '0.00001' }, values: { model: ['gpt-4o'] } }] }],
    });
  });
  it('reports mapping and validation issues together, with request indices', () => {
    expect(issuesOf(() => planFromLagoInput({ code: 'x', name: 'X', interval: 'monthly', amount_cents: '12.5', amount_currency: 'USD', charges: [
      { billable_metric_code: 'nope', charge_model: 'standard', properties: { amount: '1' } },
      { billable_metric_code: 'tokens', charge_model: 'standard', properties: { amount: 1 } },
    ] }, metrics))).toEqual([
      ['amount_cents', 'invalid_amount'],
      ['charges[0].billable_metric_code', 'billable_metric_not_found'],
      ['charges[1].properties.amount', 'invalid_amount'],
    ]);
  });
});
