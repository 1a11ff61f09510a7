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

describe('fees on no invoice (pay-in-advance charges with invoiceable false) and PUT /fees/:lago_id', () => {
  /** A plan with two pay-in-advance charges: `inst_` without invoice (Lago's instant fee), `inv_` invoiced per event. */
  async function seedInAdvance(tag: string) {
    const inst = (await ok('POST', '/billable_metrics', { billable_metric: { name: 'Instant', code: `inst_${tag}`, aggregation_type: 'sum_agg', field_name: 'n' } })).billable_metric;
    const inv = (await ok('POST', '/billable_metrics', { billable_metric: { name: 'Invoiced', code: `inv_${tag}`, aggregation_type: 'sum_agg', field_name: 'n' } })).billable_metric;
    await ok('POST', '/plans', {
      plan: {
        name: 'Advance charges', code: `adv_${tag}`, interval: 'monthly', amount_cents: 0, amount_currency: 'USD',
        charges: [
          { billable_metric_id: inst.lago_id, charge_model: 'standard', pay_in_advance: true, invoiceable: false, properties: { amount: '0.5' } },
          { billable_metric_id: inv.lago_id, charge_model: 'standard', pay_in_advance: true, invoiceable: true, properties: { amount: '2' } },
        ],
      },
    });
    await ok('POST', '/customers', { customer: { external_id: `cust_${tag}`, currency: 'USD', timezone: 'UTC' } });
    const sub = (await ok('POST', '/subscriptions', { subscription: { external_customer_id: `cust_${tag}`, plan_code: `adv_${tag}`, external_id: `sub_${tag}`, subscription_at: new Date(Date.now() - 60_000).toISOString() } })).subscription;
    // The events go in once the run knows its pay-in-advance metrics (startAdvancePeriod completed AND a workflow
    // task applied the result): a usage signal that arrives earlier is only billed at the period close
    // (workflows/advance-billing.ts onUsage ignores it while inAdvanceMetricCodes is empty).
    const handle = sys.client.workflow.getHandle(`subscription:${sub.lago_id}`);
    await eventually(async () => {
      const events = (await handle.fetchHistory().catch(() => null))?.events ?? [];
      const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'startAdvancePeriod').map((e) => String(e.eventId)));
      const completed = events.find((e) => scheduled.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)));
      if (!completed) return undefined;
      return events.some((e) => e.workflowTaskCompletedEventAttributes && Number(e.eventId) > Number(completed.eventId)) ? true : undefined;
    }, 60_000, 'the run to know its pay-in-advance metrics');
    const ts = Math.floor(Date.now() / 1000) - 5;
    await ok('POST', '/events/batch', {
      events: [
        { transaction_id: `i1_${tag}`, external_subscription_id: `sub_${tag}`, code: `inst_${tag}`, timestamp: ts, properties: { n: 4 } },
        { transaction_id: `i2_${tag}`, external_subscription_id: `sub_${tag}`, code: `inst_${tag}`, timestamp: ts, properties: { n: 6 } },
        { transaction_id: `v1_${tag}`, external_subscription_id: `sub_${tag}`, code: `inv_${tag}`, timestamp: ts, properties: { n: 3 } },
      ],
    });
    const byTx = async (tx: string) => (await ok('GET', `/fees?event_transaction_id=${tx}`)).fees[0];
    const [i1, i2, v1] = [
      await eventually(() => byTx(`i1_${tag}`), 60_000, 'the first instant fee'),
      await eventually(() => byTx(`i2_${tag}`), 60_000, 'the second instant fee'),
      await eventually(() => byTx(`v1_${tag}`), 60_000, "the invoiced event's fee"),
    ];
    return { i1, i2, v1, metricId: inst.lago_id };
  }

  test('GET /fees and GET /fees/:id answer a fee on no invoice in Lago’s shape (invoiceable false, its own pending status, its event)', async () => {
    const tag = `ni${S}`;
    const { i1, i2, v1, metricId } = await seedInAdvance(tag);
    expect(i1).toMatchObject({
      lago_invoice_id: null, invoiceable: false, pay_in_advance: true, payment_status: 'pending', event_transaction_id: `i1_${tag}`,
      amount_cents: 200, amount_currency: 'USD', units: '4', events_count: 1, external_subscription_id: `sub_${tag}`, external_customer_id: `cust_${tag}`,
      succeeded_at: null, failed_at: null, refunded_at: null,
      item: { type: 'charge', code: `inst_${tag}`, item_type: 'BillableMetric', lago_item_id: metricId },
    });
    expect(i2.amount_cents).toBe(300);
    // The invoiced event's fee is its invoice's fee (pay in advance, invoiceable), found by its event too.
    expect(v1).toMatchObject({ invoiceable: true, pay_in_advance: true, amount_cents: 600 });
    expect(v1.lago_invoice_id).toEqual(expect.any(String));
    expect((await ok('GET', `/fees/${i1.lago_id}`)).fee).toEqual(i1);
    // The list holds the three (newest first by creation), filters apply to the uninvoiced ones as well.
    const all = await ok('GET', `/fees?external_subscription_id=sub_${tag}`);
    expect(all.fees.map((f: any) => f.lago_id).sort()).toEqual([i1.lago_id, i2.lago_id, v1.lago_id].sort());
    expect(all.meta.total_count).toBe(3);
    const byMetric = await ok('GET', `/fees?external_customer_id=cust_${tag}&billable_metric_code=inst_${tag}&fee_type=charge`);
    expect(byMetric.fees.map((f: any) => f.lago_id).sort()).toEqual([i1.lago_id, i2.lago_id].sort());
    expect((await ok('GET', `/fees?external_subscription_id=sub_${tag}&fee_type=subscription`)).fees.map((f: any) => f.lago_id)).not.toContain(i1.lago_id);
    const paged = await ok('GET', `/fees?external_subscription_id=sub_${tag}&per_page=2&page=2`);
    expect(paged.fees).toHaveLength(1);
    expect(paged.meta).toMatchObject({ current_page: 2, total_count: 3, total_pages: 2 });
  });

  test('PUT /fees/:id sets the payment status of a fee on no invoice, once (a repeat changes nothing); an invoiced fee is refused 405 invoiced_fee', async () => {
    const tag = `fu${S}`; // not `pu`: the projected-usage test above seeds sub_pu… on another plan
    const { i1, i2, v1 } = await seedInAdvance(tag);
    const paid = (await ok('PUT', `/fees/${i1.lago_id}`, { fee: { payment_status: 'succeeded' } })).fee;
    expect(paid).toMatchObject({ lago_id: i1.lago_id, payment_status: 'succeeded', failed_at: null, refunded_at: null, amount_cents: i1.amount_cents });
    expect(Date.parse(paid.succeeded_at)).not.toBeNaN();
    // Idempotent: the same status again answers the same fee (its succeeded_at is the first one).
    expect((await ok('PUT', `/fees/${i1.lago_id}`, { fee: { payment_status: 'succeeded' } })).fee).toEqual(paid);
    expect((await ok('GET', `/fees/${i1.lago_id}`)).fee).toEqual(paid);
    expect((await ok('GET', `/fees?external_subscription_id=sub_${tag}&payment_status=succeeded`)).fees.map((f: any) => f.lago_id)).toEqual([i1.lago_id]);
    // Another status: only its own timestamp is set (Lago clears the others).
    const refunded = (await ok('PUT', `/fees/${i1.lago_id}`, { fee: { payment_status: 'refunded' } })).fee;
    expect(refunded).toMatchObject({ payment_status: 'refunded', succeeded_at: null, failed_at: null });
    expect(Date.parse(refunded.refunded_at)).not.toBeNaN();
    // The other fee is untouched.
    expect((await ok('GET', `/fees/${i2.lago_id}`)).fee).toEqual(i2);

    // An invoiced fee: 405 invoiced_fee (Lago's answer), even with a valid body; nothing changes.
    const invoicedFee = await sys.request('PUT', `/fees/${v1.lago_id}`, { fee: { payment_status: 'succeeded' } });
    expect([invoicedFee.status, invoicedFee.body]).toEqual([405, { status: 405, error: 'Method Not Allowed', code: 'invoiced_fee' }]);
    expect((await ok('GET', `/fees/${v1.lago_id}`)).fee).toEqual(v1);
    // A bad status: 422 with the field; an unknown id: 404.
    const bad = await sys.request('PUT', `/fees/${i2.lago_id}`, { fee: { payment_status: 'paid' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error_details).toEqual({ payment_status: ['value_is_invalid'] }); // Lago's field and code
    expect((await ok('GET', `/fees/${i2.lago_id}`)).fee).toEqual(i2);
    const unknown = await sys.request('PUT', `/fees/${crypto.randomUUID()}`, { fee: { payment_status: 'succeeded' } });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'fee_not_found']);
  });
});
