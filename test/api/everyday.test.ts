// Lago's everyday API over the real system (HTTP API, worker, Postgres, Temporal dev server): what may change under
// live subscriptions (api/routes/catalog-edits.ts), deletions that terminate subscriptions through their workflows,
// GET /events and /fees filters, and projected usage (billing/projection.ts).
import crypto from 'node:crypto';
import { eventually, startSystem, type System } from '../e2e/harness';

let sys: System;
const S = crypto.randomBytes(3).toString('hex');

async function ok(method: string, path: string, body?: unknown) {
  const res = await sys.request(method, path, body);
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function seed(tag: string) {
  const metric = (await ok('POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: `tok_${tag}`, aggregation_type: 'sum_agg', field_name: 'tokens', filters: [{ key: 'model', values: ['s'] }] } })).billable_metric;
  const peak = (await ok('POST', '/billable_metrics', { billable_metric: { name: 'Peak', code: `peak_${tag}`, aggregation_type: 'max_agg', field_name: 'gb' } })).billable_metric;
  const plan = (
    await ok('POST', '/plans', {
      plan: {
        name: 'Pro', code: `pro_${tag}`, interval: 'monthly', amount_cents: 1000, amount_currency: 'USD',
        charges: [
          { billable_metric_id: metric.lago_id, charge_model: 'standard', properties: { amount: '0.01' } },
          { billable_metric_id: peak.lago_id, charge_model: 'standard', properties: { amount: '1' } },
        ],
      },
    })
  ).plan;
  await ok('POST', '/customers', { customer: { external_id: `cust_${tag}`, name: 'Ada', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } });
  const sub = (await ok('POST', '/subscriptions', { subscription: { external_customer_id: `cust_${tag}`, plan_code: `pro_${tag}`, external_id: `sub_${tag}`, subscription_at: new Date(Date.now() - 60_000).toISOString() } })).subscription;
  const ts = Math.floor(Date.now() / 1000) - 5;
  await ok('POST', '/events/batch', {
    events: [
      { transaction_id: `a_${tag}`, external_subscription_id: `sub_${tag}`, code: `tok_${tag}`, timestamp: ts, properties: { tokens: 100 } },
      { transaction_id: `b_${tag}`, external_subscription_id: `sub_${tag}`, code: `tok_${tag}`, timestamp: ts, properties: { tokens: 50 } },
      { transaction_id: `c_${tag}`, external_subscription_id: `sub_${tag}`, code: `peak_${tag}`, timestamp: ts, properties: { gb: 3 } },
    ],
  });
  return { metric, peak, plan, sub };
}

beforeAll(async () => {
  sys = await startSystem('dev-server');
});

afterAll(async () => {
  await sys?.stop();
});

describe('plans under live subscriptions', () => {
  test('a charge price edit applies to the live subscription at once (current usage re-priced); the charge keeps its lago_id', async () => {
    const { plan } = await seed(`pe${S}`);
    const before = await ok('GET', `/customers/cust_pe${S}/current_usage?external_subscription_id=sub_pe${S}`);
    expect(before.customer_usage.amount_cents).toBe(150 + 300); // 150 tokens × 0.01 + 3 GB × 1
    const [tok, peak] = plan.charges;
    const updated = await ok('PUT', `/plans/pro_pe${S}`, {
      plan: { charges: [{ id: tok.lago_id, billable_metric_id: tok.lago_billable_metric_id, charge_model: 'standard', properties: { amount: '0.02' } }, { id: peak.lago_id, billable_metric_id: peak.lago_billable_metric_id, charge_model: 'standard', properties: { amount: '1' } }] },
    });
    expect(updated.plan.charges.map((c: any) => c.lago_id)).toEqual([tok.lago_id, peak.lago_id]);
    expect(updated.plan.charges[0].properties).toEqual({ amount: '0.02' });
    const after = await ok('GET', `/customers/cust_pe${S}/current_usage?external_subscription_id=sub_pe${S}`);
    expect(after.customer_usage.amount_cents).toBe(300 + 300);
  });

  test('a charge left out of the update is removed from the plan and from the current usage', async () => {
    const { plan } = await seed(`rm${S}`);
    const [tok] = plan.charges;
    const updated = await ok('PUT', `/plans/pro_rm${S}`, { plan: { charges: [{ id: tok.lago_id, billable_metric_id: tok.lago_billable_metric_id, charge_model: 'standard', properties: { amount: '0.01' } }] } });
    expect(updated.plan.charges).toHaveLength(1);
    const usage = await ok('GET', `/customers/cust_rm${S}/current_usage?external_subscription_id=sub_rm${S}`);
    expect(usage.customer_usage.charges_usage.map((c: any) => c.charge.lago_id)).toEqual([tok.lago_id]);
    expect(usage.customer_usage.amount_cents).toBe(150);
  });

  test('interval, currency, pay_in_advance and code are refused while a live subscription uses the plan; nothing is written', async () => {
    await seed(`fx${S}`);
    const res = await sys.request('PUT', `/plans/pro_fx${S}`, { plan: { interval: 'yearly', amount_currency: 'EUR', code: `other_${S}`, amount_cents: 1 } });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ interval: ['plan_has_subscriptions'], amount_currency: ['plan_has_subscriptions'], code: ['plan_has_subscriptions'] });
    expect((await ok('GET', `/plans/pro_fx${S}`)).plan).toMatchObject({ interval: 'monthly', amount_currency: 'USD', amount_cents: 1000 });
  });

  test('an invalid charge in the update is the same 422 as POST /plans would answer, and the plan is unchanged', async () => {
    const { plan } = await seed(`iv${S}`);
    const res = await sys.request('PUT', `/plans/pro_iv${S}`, { plan: { charges: [{ billable_metric_id: plan.charges[0].lago_billable_metric_id, charge_model: 'standard', properties: { amount: 'abc' } }] } });
    expect(res.status).toBe(422);
    expect(Object.keys(res.body.error_details)[0]).toMatch(/^charges\[0\]/);
    expect((await ok('GET', `/plans/pro_iv${S}`)).plan.charges).toHaveLength(2);
  });

  test('DELETE /plans terminates its live subscription through its workflow (an invoice for the period so far), then frees the code', async () => {
    await seed(`dp${S}`);
    const deleted = await ok('DELETE', `/plans/pro_dp${S}`);
    expect(deleted.plan.code).toBe(`pro_dp${S}`);
    expect((await ok('GET', `/subscriptions/sub_dp${S}`)).subscription.status).toBe('terminated');
    await eventually(async () => ((await ok('GET', `/invoices?external_subscription_id=sub_dp${S}`)).invoices.length > 0 ? true : undefined), 60_000, 'the termination invoice');
    expect((await sys.request('GET', `/plans/pro_dp${S}`)).status).toBe(404);
    expect((await ok('GET', '/plans?per_page=100')).plans.map((p: any) => p.code)).not.toContain(`pro_dp${S}`);
    const again = await ok('POST', '/plans', { plan: { name: 'Again', code: `pro_dp${S}`, interval: 'monthly', amount_cents: 5, amount_currency: 'USD' } });
    expect(again.plan.lago_id).not.toBe(deleted.plan.lago_id);
  });
});

describe('billable metrics', () => {
  test('in use: aggregation, field, code and removed filter values are refused; name, description and added filter values are accepted', async () => {
    await seed(`bm${S}`);
    const refused = await sys.request('PUT', `/billable_metrics/tok_bm${S}`, { billable_metric: { aggregation_type: 'count_agg', filters: [] } });
    expect(refused.status).toBe(422);
    expect(refused.body.error_details).toEqual({ aggregation_type: ['billable_metric_in_use'], field_name: ['billable_metric_in_use'], filters: ['billable_metric_in_use'] });
    const renamed = await ok('PUT', `/billable_metrics/tok_bm${S}`, { billable_metric: { name: 'LLM tokens', description: 'd', filters: [{ key: 'model', values: ['s', 'l'] }] } });
    expect(renamed.billable_metric).toMatchObject({ name: 'LLM tokens', description: 'd', aggregation_type: 'sum_agg', filters: [{ key: 'model', values: ['s', 'l'] }] });
    const del = await sys.request('DELETE', `/billable_metrics/tok_bm${S}`);
    expect(del.status).toBe(422);
    expect(del.body.error_details).toEqual({ base: ['billable_metric_in_use'] });
  });

  test('unused: everything may change, it can be deleted, and its code used again', async () => {
    await ok('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: `free_${S}`, aggregation_type: 'count_agg' } });
    const changed = await ok('PUT', `/billable_metrics/free_${S}`, { billable_metric: { aggregation_type: 'max_agg', field_name: 'gb' } });
    expect(changed.billable_metric).toMatchObject({ aggregation_type: 'max_agg', field_name: 'gb' });
    await ok('DELETE', `/billable_metrics/free_${S}`);
    expect((await sys.request('GET', `/billable_metrics/free_${S}`)).status).toBe(404);
    await ok('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: `free_${S}`, aggregation_type: 'count_agg' } });
  });
});

describe('customers', () => {
  test('DELETE terminates its subscriptions, hides the customer, and the external_id makes a new customer afterwards', async () => {
    await seed(`dc${S}`);
    const before = (await ok('GET', `/customers/cust_dc${S}`)).customer;
    await ok('DELETE', `/customers/cust_dc${S}`);
    expect((await ok('GET', `/subscriptions/sub_dc${S}`)).subscription.status).toBe('terminated');
    expect((await sys.request('GET', `/customers/cust_dc${S}`)).status).toBe(404);
    expect((await sys.request('GET', `/customers/cust_dc${S}/subscriptions`)).status).toBe(404);
    expect((await ok('GET', `/customers?search_term=cust_dc${S}`)).customers).toEqual([]);
    const fresh = (await ok('POST', '/customers', { customer: { external_id: `cust_dc${S}`, name: 'Ada again' } })).customer;
    expect(fresh.lago_id).not.toBe(before.lago_id);
    expect((await ok('GET', `/customers?search_term=cust_dc${S}`)).meta.total_count).toBe(1);
  });
});

describe('events, fees and projected usage', () => {
  test('GET /events filters by subscription, code and time, newest first, paginated', async () => {
    await seed(`ev${S}`);
    const subs = await ok('GET', `/customers/cust_ev${S}/subscriptions`);
    expect(subs.subscriptions.map((x: any) => x.external_id)).toEqual([`sub_ev${S}`]);
    const byCode = await ok('GET', `/events?external_subscription_id=sub_ev${S}&code=tok_ev${S}`);
    expect(byCode.events.map((e: any) => e.transaction_id).sort()).toEqual([`a_ev${S}`, `b_ev${S}`]);
    expect(byCode.meta.total_count).toBe(2);
    const paged = await ok('GET', `/events?external_subscription_id=sub_ev${S}&per_page=1&page=2`);
    expect(paged.meta).toMatchObject({ current_page: 2, total_pages: 3, total_count: 3, prev_page: 1, next_page: 3 });
    const future = await ok('GET', `/events?external_subscription_id=sub_ev${S}&timestamp_from=${new Date(Date.now() + 3_600_000).toISOString()}`);
    expect(future.events).toEqual([]);
  });

  test('GET /fees lists the fees of invoices with their filters, and GET /fees/:id answers one as on its invoice', async () => {
    await seed(`fe${S}`);
    await ok('DELETE', `/subscriptions/sub_fe${S}`);
    // Finalized (grace period 0): its fees are no longer rewritten.
    const invoice = await eventually(async () => (await ok('GET', `/invoices?external_subscription_id=sub_fe${S}&status=finalized`)).invoices[0], 60_000, 'the finalized invoice');
    const all = await ok('GET', `/fees?external_subscription_id=sub_fe${S}`);
    expect(all.fees.map((f: any) => f.lago_id).sort()).toEqual(invoice.fees.map((f: any) => f.lago_id).sort());
    const charges = await ok('GET', `/fees?external_customer_id=cust_fe${S}&fee_type=charge&billable_metric_code=tok_fe${S}`);
    expect(charges.fees.map((f: any) => f.item.code)).toEqual([`tok_fe${S}`]);
    expect(charges.fees[0].amount_cents).toBe(150);
    const one = await ok('GET', `/fees/${charges.fees[0].lago_id}`);
    expect(one.fee).toEqual(invoice.fees.find((f: any) => f.lago_id === charges.fees[0].lago_id));
    expect((await sys.request('GET', `/fees/${crypto.randomUUID()}`)).status).toBe(404);
  });

  test('projected usage: the summed metric is extrapolated to the period end, the peak (max) is held', async () => {
    await seed(`pu${S}`);
    const { customer_projected_usage: p } = await ok('GET', `/customers/cust_pu${S}/projected_usage?external_subscription_id=sub_pu${S}`);
    const [tok, peak] = p.charges_usage;
    expect(tok.amount_cents).toBe(150);
    // The subscription started seconds ago: the month's projection is far above the usage so far.
    expect(tok.projected_amount_cents).toBeGreaterThan(150 * 1000);
    expect(Number(tok.projected_units)).toBeGreaterThan(150 * 1000);
    expect(peak).toMatchObject({ units: '3', projected_units: '3', amount_cents: 300, projected_amount_cents: 300 });
    expect(p.projected_amount_cents).toBe(tok.projected_amount_cents + peak.projected_amount_cents);
    expect(p.amount_cents).toBe(450);
  });
});
