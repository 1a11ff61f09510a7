import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_catalog' });
});
afterAll(async () => {
  await h?.stop();
});

describe('billable metrics', () => {
  test.each([
    ['count_agg', undefined],
    ['sum_agg', 'tokens'],
    ['max_agg', 'gpu'],
    ['unique_count_agg', 'user_id'],
    ['latest_agg', 'seats'],
    ['weighted_sum_agg', 'gb'],
  ])('%s is accepted and read back by code', async (aggregation, fieldName) => {
    const code = `m_${aggregation}`;
    const res = await h.request('POST', '/billable_metrics', {
      billable_metric: { name: aggregation, code, aggregation_type: aggregation, field_name: fieldName, filters: [{ key: 'model', values: ['a', 'b'] }] },
    });
    expect(res.status).toBe(200);
    expect(res.body.billable_metric).toMatchObject({ code, aggregation_type: aggregation, field_name: fieldName ?? null, recurring: false });
    const got = await h.request('GET', `/billable_metrics/${code}`);
    expect(got.body.billable_metric).toEqual(res.body.billable_metric);
  });

  test('field_name is mandatory except for count_agg', async () => {
    const res = await h.request('POST', '/billable_metrics', { billable_metric: { name: 'x', code: 'no_field', aggregation_type: 'sum_agg' } });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: { field_name: ['value_is_mandatory'] } });
  });

  test('an unknown aggregation type and a missing name are both reported', async () => {
    const res = await h.request('POST', '/billable_metrics', { billable_metric: { code: 'bad', aggregation_type: 'avg_agg' } });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ name: ['value_is_mandatory'], aggregation_type: ['value_is_invalid'] });
  });

  test('a duplicate code is 422 value_already_exist', async () => {
    const body = { billable_metric: { name: 'dup', code: 'dup', aggregation_type: 'count_agg' } };
    expect((await h.request('POST', '/billable_metrics', body)).status).toBe(200);
    const again = await h.request('POST', '/billable_metrics', body);
    expect(again.status).toBe(422);
    expect(again.body.error_details).toEqual({ code: ['value_already_exist'] });
  });

  test('list is paginated with Lago meta', async () => {
    const res = await h.request('GET', '/billable_metrics?page=1&per_page=2');
    expect(res.status).toBe(200);
    expect(res.body.billable_metrics).toHaveLength(2);
    expect(res.body.meta).toMatchObject({ current_page: 1, next_page: 2, prev_page: null, total_count: 7, total_pages: 4 });
  });
});

describe('plans', () => {
  let metricId: string;
  beforeAll(async () => {
    const res = await h.request('POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: 'plan_tokens', aggregation_type: 'sum_agg', field_name: 'tokens' } });
    metricId = res.body.billable_metric.lago_id;
  });

  test('a plan with charges by metric lago_id and by code is written with its charges', async () => {
    const res = await h.request('POST', '/plans', {
      plan: {
        name: 'Pro',
        code: 'pro',
        interval: 'monthly',
        amount_cents: 4900,
        amount_currency: 'USD',
        pay_in_advance: false,
        trial_period: 0,
        minimum_commitment: { amount_cents: 10000 },
        usage_thresholds: [{ amount_cents: 50000, threshold_display_name: 'alert' }],
        charges: [
          { billable_metric_id: metricId, charge_model: 'standard', properties: { amount: '0.000002' } },
          {
            billable_metric_code: 'plan_tokens',
            charge_model: 'graduated',
            properties: {
              graduated_ranges: [
                { from_value: 0, to_value: 1000, per_unit_amount: '0', flat_amount: '0' },
                { from_value: 1001, to_value: null, per_unit_amount: '0.01', flat_amount: '1' },
              ],
            },
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    const plan = res.body.plan;
    expect(plan).toMatchObject({ code: 'pro', amount_cents: 4900, amount_currency: 'USD', pay_in_advance: false, interval: 'monthly' });
    expect(plan.minimum_commitment.amount_cents).toBe(10000);
    expect(plan.charges).toHaveLength(2);
    expect(plan.charges.map((c: any) => c.lago_billable_metric_id)).toEqual([metricId, metricId]);
    expect(plan.charges[0].properties).toEqual({ amount: '0.000002' });
    const got = await h.request('GET', '/plans/pro');
    expect(got.body).toEqual(res.body);
  });

  test('billing in advance (the plan fee and a charge) is accepted and read back with pay_in_advance true (issue 11)', async () => {
    const res = await h.request('POST', '/plans', {
      plan: {
        name: 'Advance', code: 'advance', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: true,
        charges: [
          { billable_metric_id: metricId, charge_model: 'standard', properties: { amount: '1' } },
          { billable_metric_id: metricId, charge_model: 'standard', pay_in_advance: true, invoiceable: false, properties: { amount: '1' } },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.plan.pay_in_advance).toBe(true);
    expect(res.body.plan.charges.map((c: any) => [c.pay_in_advance, c.invoiceable])).toEqual([[false, true], [true, false]]);
    expect((await h.request('GET', '/plans/advance')).body).toEqual(res.body);
    // The next tests count every charge row: leave only the earlier plan's.
    await h.database.db('charges').where({ plan_id: res.body.plan.lago_id }).delete();
    await h.database.db('plans').where({ id: res.body.plan.lago_id }).delete();
  });

  test('an invalid plan is a 422 naming every field, and nothing is written', async () => {
    const res = await h.request('POST', '/plans', {
      plan: {
        name: 'Broken',
        code: 'broken',
        interval: 'fortnightly',
        amount_cents: 100,
        amount_currency: 'USD',
        pay_in_advance: false,
        charges: [
          { billable_metric_id: metricId, charge_model: 'standard', properties: { amount: 'abc' } },
          { billable_metric_code: 'no_such_metric', charge_model: 'standard', properties: { amount: '1' } },
        ],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_errors');
    const fields = Object.keys(res.body.error_details);
    expect(fields).toEqual(expect.arrayContaining(['interval', 'charges[1].billable_metric_code']));
    expect(fields.some((f) => f.startsWith('charges[0].properties'))).toBe(true);
    expect(await h.database.db('plans').where({ code: 'broken' }).first()).toBeUndefined();
    expect(Number((await h.database.db('charges').count('* as n'))[0].n)).toBe(2);
  });

  test('a duplicate plan code is 422 and the first plan keeps its charges', async () => {
    const res = await h.request('POST', '/plans', {
      plan: { name: 'Pro 2', code: 'pro', interval: 'yearly', amount_cents: 1, amount_currency: 'USD', pay_in_advance: false, charges: [{ billable_metric_id: metricId, charge_model: 'standard', properties: { amount: '1' } }] },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ code: ['value_already_exist'] });
    expect(Number((await h.database.db('charges').count('* as n'))[0].n)).toBe(2);
  });

  test('negative or fractional amount_cents is rejected (money is integer minor units)', async () => {
    const res = await h.request('POST', '/plans', { plan: { name: 'X', code: 'x', interval: 'monthly', amount_cents: 10.5, amount_currency: 'USD', pay_in_advance: false } });
    expect(res.status).toBe(422);
    expect(Object.keys(res.body.error_details)).toContain('amount_cents');
  });
});

describe('Lago features Meterline does not implement are refused, never silently ignored', () => {
  test('billable metric expression / rounding → 422 not_supported', async () => {
    const res = await h.request('POST', '/billable_metrics', {
      billable_metric: { name: 'e', code: 'expr', aggregation_type: 'sum_agg', field_name: 'x', expression: 'x * 2', rounding_function: 'round' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ expression: ['not_supported'], rounding_function: ['not_supported'] });
  });

  test('plan fixed_charges on an unknown add-on → 422 add_on_not_found naming the field, nothing written (fixed charges: api/routes/fixed-charges.ts)', async () => {
    const res = await h.request('POST', '/plans', {
      plan: { name: 'F', code: 'fixed', interval: 'monthly', amount_cents: 1, amount_currency: 'USD', pay_in_advance: false, fixed_charges: [{ add_on_id: 'x', charge_model: 'standard' }] },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ 'fixed_charges[0].add_on_id': ['add_on_not_found'] });
    expect(await h.database.db('plans').where({ code: 'fixed' }).first()).toBeUndefined();
  });
});
