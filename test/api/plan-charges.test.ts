// Lago 1.51's nested plan routes (api/routes/plan-charges.ts) over the real system (HTTP API, worker, Postgres,
// Temporal dev server): charges and charge filters listed, read, created, updated and deleted; each write is a plan
// edit as PUT /plans makes it (validated by POST /plans's rules, one transaction), applied to a live subscription's
// open period at once; errors name the charge's or filter's field; concurrent edits are not lost.
import crypto from 'node:crypto';
import { startSystem, type System } from '../e2e/harness';

let sys: System;
const S = crypto.randomBytes(3).toString('hex');

async function ok(method: string, path: string, body?: unknown) {
  const res = await sys.request(method, path, body);
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function seed(tag: string) {
  const tok = (await ok('POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: `tok_${tag}`, aggregation_type: 'sum_agg', field_name: 'tokens', filters: [{ key: 'model', values: ['s', 'l'] }] } })).billable_metric;
  const peak = (await ok('POST', '/billable_metrics', { billable_metric: { name: 'Peak', code: `peak_${tag}`, aggregation_type: 'max_agg', field_name: 'gb' } })).billable_metric;
  await ok('POST', '/plans', {
    plan: { name: 'Pro', code: `pro_${tag}`, interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', charges: [{ billable_metric_id: tok.lago_id, charge_model: 'standard', properties: { amount: '0.01' } }] },
  });
  await ok('POST', '/customers', { customer: { external_id: `cust_${tag}`, name: 'Ada', currency: 'USD', timezone: 'UTC' } });
  await ok('POST', '/subscriptions', { subscription: { external_customer_id: `cust_${tag}`, plan_code: `pro_${tag}`, external_id: `sub_${tag}`, subscription_at: new Date(Date.now() - 60_000).toISOString() } });
  const ts = Math.floor(Date.now() / 1000) - 5;
  await ok('POST', '/events/batch', {
    events: [
      { transaction_id: `a_${tag}`, external_subscription_id: `sub_${tag}`, code: `tok_${tag}`, timestamp: ts, properties: { tokens: 100, model: 's' } },
      { transaction_id: `b_${tag}`, external_subscription_id: `sub_${tag}`, code: `tok_${tag}`, timestamp: ts, properties: { tokens: 50, model: 'l' } },
      { transaction_id: `c_${tag}`, external_subscription_id: `sub_${tag}`, code: `peak_${tag}`, timestamp: ts, properties: { gb: 3 } },
    ],
  });
  return { tok, peak };
}

const usage = async (tag: string) => (await ok('GET', `/customers/cust_${tag}/current_usage?external_subscription_id=sub_${tag}`)).customer_usage;

beforeAll(async () => {
  sys = await startSystem('dev-server');
});

afterAll(async () => {
  await sys?.stop();
});

describe('charges of a plan', () => {
  test('created, listed, read, re-priced and deleted by code; each change reaches the live subscription at once', async () => {
    const tag = `c${S}`;
    const { peak } = await seed(tag);
    expect((await usage(tag)).amount_cents).toBe(150);

    const created = (await ok('POST', `/plans/pro_${tag}/charges`, { charge: { billable_metric_id: peak.lago_id, charge_model: 'standard', properties: { amount: '1' } } })).charge;
    expect(created).toMatchObject({ code: `peak_${tag}`, billable_metric_code: `peak_${tag}`, properties: { amount: '1' } });
    expect((await usage(tag)).amount_cents).toBe(150 + 300);

    const list = await ok('GET', `/plans/pro_${tag}/charges?per_page=1&page=2`);
    expect(list.charges.map((c: any) => c.lago_id)).toEqual([created.lago_id]);
    expect(list.meta).toMatchObject({ current_page: 2, total_pages: 2, total_count: 2 });
    expect((await ok('GET', `/plans/pro_${tag}/charges/peak_${tag}`)).charge.lago_id).toBe(created.lago_id);

    const updated = (await ok('PUT', `/plans/pro_${tag}/charges/peak_${tag}`, { charge: { properties: { amount: '2' }, code: 'storage' } })).charge;
    expect(updated).toMatchObject({ lago_id: created.lago_id, code: 'storage', properties: { amount: '2' } });
    expect((await usage(tag)).amount_cents).toBe(150 + 600);

    const deleted = (await ok('DELETE', `/plans/pro_${tag}/charges/storage`)).charge;
    expect(deleted.lago_id).toBe(created.lago_id);
    expect((await usage(tag)).amount_cents).toBe(150);
    expect((await sys.request('GET', `/plans/pro_${tag}/charges/storage`)).status).toBe(404);
    expect((await ok('GET', `/plans/pro_${tag}`)).plan.charges.map((c: any) => c.code)).toEqual([`tok_${tag}`]);
  });

  test('a bad charge is a 422 naming the charge field, a duplicate code and a metric change are refused; nothing is written', async () => {
    const tag = `v${S}`;
    const { tok, peak } = await seed(tag);
    const bad = await sys.request('POST', `/plans/pro_${tag}/charges`, { charge: { billable_metric_id: peak.lago_id, charge_model: 'graduated', properties: {} } });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_errors');
    expect(Object.keys(bad.body.error_details).every((f) => f.startsWith('charge.'))).toBe(true);
    const missing = await sys.request('POST', `/plans/pro_${tag}/charges`, { charge: { charge_model: 'standard', properties: { amount: '1' } } });
    expect(missing.status).toBe(422);
    expect(missing.body.error_details['charge.billable_metric_id']).toEqual(['value_is_mandatory']);
    const dup = await sys.request('POST', `/plans/pro_${tag}/charges`, { charge: { billable_metric_id: peak.lago_id, code: `tok_${tag}`, charge_model: 'standard', properties: { amount: '1' } } });
    expect(dup.status).toBe(422);
    expect(dup.body.error_details).toEqual({ 'charge.code': ['value_already_exist'] });
    const metric = await sys.request('PUT', `/plans/pro_${tag}/charges/tok_${tag}`, { charge: { billable_metric_id: peak.lago_id } });
    expect(metric.status).toBe(422);
    expect(metric.body.error_details).toEqual({ 'charge.billable_metric_id': ['value_is_immutable'] });
    const plan = (await ok('GET', `/plans/pro_${tag}`)).plan;
    expect(plan.charges.map((c: any) => [c.lago_billable_metric_id, c.properties])).toEqual([[tok.lago_id, { amount: '0.01' }]]);
    expect((await sys.request('GET', `/plans/pro_${tag}/charges/nope`)).body).toMatchObject({ status: 404, code: 'charge_not_found' });
    expect((await sys.request('GET', `/plans/nope_${tag}/charges`)).body).toMatchObject({ status: 404, code: 'plan_not_found' });
  });

  test('two charges created at the same time are both kept (an edit from a stale read is recomputed)', async () => {
    const tag = `k${S}`;
    const { tok, peak } = await seed(tag);
    const [a, b] = await Promise.all([
      sys.request('POST', `/plans/pro_${tag}/charges`, { charge: { billable_metric_id: peak.lago_id, code: 'one', charge_model: 'standard', properties: { amount: '1' } } }),
      sys.request('POST', `/plans/pro_${tag}/charges`, { charge: { billable_metric_id: tok.lago_id, code: 'two', charge_model: 'standard', properties: { amount: '1' } } }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const codes = (await ok('GET', `/plans/pro_${tag}/charges`)).charges.map((c: any) => c.code).sort();
    expect(codes).toEqual(['one', `tok_${tag}`, 'two'].sort());
  });
});

describe('filters of a charge', () => {
  test('created, read, updated and deleted by lago_id, which a PUT /plans of the same filter keeps; prices apply at once', async () => {
    const tag = `f${S}`;
    await seed(tag);
    const base = `/plans/pro_${tag}/charges/tok_${tag}/filters`;
    const f = (await ok('POST', base, { filter: { values: { model: ['l'] }, properties: { amount: '0.1' }, invoice_display_name: 'Large' } })).filter;
    expect(f).toMatchObject({ charge_code: `tok_${tag}`, values: { model: ['l'] }, properties: { amount: '0.1' }, invoice_display_name: 'Large' });
    expect((await usage(tag)).amount_cents).toBe(100 + 500); // 100 small tokens × 0.01, 50 large × 0.1
    expect((await ok('GET', `${base}/${f.lago_id}`)).filter).toEqual(f);

    const changed = (await ok('PUT', `${base}/${f.lago_id}`, { filter: { properties: { amount: '0.2' } } })).filter;
    expect(changed).toMatchObject({ lago_id: f.lago_id, properties: { amount: '0.2' }, values: { model: ['l'] } });
    expect((await usage(tag)).amount_cents).toBe(100 + 1000);

    const charge = (await ok('GET', `/plans/pro_${tag}/charges/tok_${tag}`)).charge;
    await ok('PUT', `/plans/pro_${tag}`, { plan: { charges: [{ id: charge.lago_id, billable_metric_id: charge.lago_billable_metric_id, charge_model: 'standard', properties: { amount: '0.01' }, filters: [{ values: { model: ['l'] }, properties: { amount: '0.3' } }] }] } });
    const list = await ok('GET', base);
    expect(list.filters.map((x: any) => [x.lago_id, x.properties])).toEqual([[f.lago_id, { amount: '0.3' }]]);

    const bad = await sys.request('POST', base, { filter: { values: { model: ['xl'] }, properties: { amount: '1' } } });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error_details).every((k) => k.startsWith('filter.'))).toBe(true);

    expect((await ok('DELETE', `${base}/${f.lago_id}`)).filter.lago_id).toBe(f.lago_id);
    expect((await ok('GET', base)).filters).toEqual([]);
    expect((await sys.request('GET', `${base}/${f.lago_id}`)).body).toMatchObject({ status: 404, code: 'charge_filter_not_found' });
    expect((await usage(tag)).amount_cents).toBe(150);
  });
});
