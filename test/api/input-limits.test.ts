// Values billing cannot carry are refused at the door (422 per index, recorded in event_errors), never stored.
import { ingestEvents } from '../support/fixtures';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let sub: Awaited<ReturnType<typeof seedSubscription>>;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_limits' });
  sub = await seedSubscription(h, { suffix: 'lim', aggregation: 'sum_agg', fieldName: 'tokens' });
});
afterAll(async () => {
  await h?.stop();
});

function ev(tx: string, extra: Record<string, unknown> = {}) {
  return { transaction_id: tx, external_subscription_id: sub.subscriptionId, code: sub.metricCode, properties: { tokens: 12 }, ...extra };
}

describe('numeric limits of event values', () => {
  test.each([
    ['1e79 as a JSON number', 1e79, 'value_is_out_of_range'],
    ['an 80-digit string', '9'.repeat(80), 'value_is_out_of_range'],
    ['exactly 1e15', '1000000000000000', 'value_is_out_of_range'],
    ['16 fractional digits', '0.0000000000000001', 'too_many_decimals'],
  ])('a sum value of %s is a 422 for that index, recorded, and not stored', async (_label, value, code) => {
    const tx = `poison-${code}-${String(value).length}`;
    const res = await h.request('POST', '/events/batch', { events: [ev(`${tx}-ok`), ev(tx, { properties: { tokens: value } })] });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ status: 422, code: 'validation_errors', error_details: { '1': { 'properties.tokens': [code] } } });
    expect(await h.database.db('events').where({ organization_id: h.org.id }).whereIn('transaction_id', [tx, `${tx}-ok`])).toHaveLength(0);
    const recorded = await h.database.db('event_errors').where({ organization_id: h.org.id, transaction_id: tx });
    expect(recorded.map((r) => r.error_code)).toEqual([code]);
  });

  test('the largest accepted value (15 integer and 15 fractional digits) is stored exactly', async () => {
    const res = await h.request('POST', '/events', { event: ev('max-ok', { properties: { tokens: '999999999999999.999999999999999' } }) });
    expect(res.status).toBe(200);
  });

  test('precise_total_amount_cents of 1e25 in a batch is a 422 for that index (not a 500 for the batch)', async () => {
    const res = await h.request('POST', '/events/batch', {
      events: [ev('ptac-ok'), ev('ptac-big', { precise_total_amount_cents: '1' + '0'.repeat(25) })],
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ '1': { precise_total_amount_cents: ['value_is_out_of_range'] } });
  });
});

describe('numeric limits of plans', () => {
  test('a charge price of 100 digits is refused with the field named', async () => {
    const res = await h.request('POST', '/plans', {
      plan: {
        name: 'Huge', code: 'huge_price', interval: 'monthly', amount_cents: 0, amount_currency: 'USD',
        charges: [{ billable_metric_code: sub.metricCode, charge_model: 'standard', properties: { amount: '9'.repeat(100) } }],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toMatchObject({ 'charges[0].properties.amount': ['value_is_out_of_range'] });
    expect(await h.database.db('plans').where({ organization_id: h.org.id, code: 'huge_price' })).toHaveLength(0);
  });

  test('a graduated tier amount beyond the limit is refused with its path', async () => {
    const res = await h.request('POST', '/plans', {
      plan: {
        name: 'Tiers', code: 'huge_tier', interval: 'monthly', amount_cents: 0, amount_currency: 'USD',
        charges: [{ billable_metric_code: sub.metricCode, charge_model: 'graduated', properties: { graduated_ranges: [
          { from_value: 0, to_value: null, per_unit_amount: '0.0000000000000000001', flat_amount: '0' },
        ] } }],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toMatchObject({ 'charges[0].properties.graduated_ranges[0].per_unit_amount': ['too_many_decimals'] });
  });

  test('trial_period of 1e8 days is a 422, not a 500', async () => {
    const res = await h.request('POST', '/plans', {
      plan: { name: 'Trial', code: 'huge_trial', interval: 'monthly', amount_cents: 100, amount_currency: 'USD', trial_period: 1e8 },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toMatchObject({ trial_period: ['value_is_out_of_range'] });
  });
});

describe('a poison row already stored (before the limits existed)', () => {
  test('current usage quarantines it and answers 200 on the rest; GET /events/quarantined lists it for operators', async () => {
    const poisoned = await seedSubscription(h, { suffix: 'poison', aggregation: 'sum_agg', fieldName: 'tokens' });
    const ref = { organizationId: h.org.id, subscriptionId: poisoned.lagoSubscriptionId, externalSubscriptionId: poisoned.subscriptionId };
    const now = new Date().toISOString();
    await ingestEvents(h.database.db, ref, [
      { code: poisoned.metricCode, timestamp: now, properties: { tokens: 1000 }, transactionId: 'legacy-good' },
      { code: poisoned.metricCode, timestamp: now, properties: { tokens: 1e79 }, transactionId: 'legacy-poison' },
    ]);
    const usage = await h.request('GET', `/customers/${poisoned.customerId}/current_usage?external_subscription_id=${poisoned.subscriptionId}`);
    expect(usage.status).toBe(200);
    // 1000 tokens × 0.002 = 2.00 USD
    expect(usage.body.customer_usage).toMatchObject({ amount_cents: 200 });
    const listed = await h.request('GET', '/events/quarantined');
    expect(listed.status).toBe(200);
    expect(listed.body.quarantined_events).toEqual([
      expect.objectContaining({ transaction_id: 'legacy-poison', field: 'properties.tokens', reason_code: 'value_is_out_of_range' }),
    ]);
    const errors = await h.request('GET', '/events/errors?error_code=event_quarantined');
    expect(errors.body.event_errors.map((e: { transaction_id: string }) => e.transaction_id)).toEqual(['legacy-poison']);
  });
});
