// Lago's subscription charge overrides, lifetime usage and lose_dispute (issue 13, ops13c), end to end: the real HTTP
// API, worker (real activities), Postgres and the Temporal dev server; the subscriptions live on test clocks so their
// periods close when the clock is advanced (current usage follows the clock too).
// - A charge override (PUT /subscriptions/:id/charges/:code, and its filters) is a plan override of that one
//   subscription: current usage is re-priced at once after each edit (hand-computed cents), the period's invoice at
//   close bills the overridden prices, the catalog plan and a second subscription of it are untouched.
// - Lifetime usage: historical (PUT, ≥ 0), invoiced (the closed period's usage fees) and current amounts, thresholds'
//   completion and reached_at from the period's progressive invoice.
// - lose_dispute: finalized invoices only (405 not_disputable for a draft), the first timestamp kept, one webhook
//   step, collection stopped.
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { startSystem, eventually, type System } from '../e2e/harness';

jest.setTimeout(600_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
const ok = async (m: string, p: string, b?: unknown) => {
  const res = await r(m, p, b);
  if (res.status !== 200) throw new Error(`${m} ${p} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

let clockId = '';
let catalogChargeId = '';

beforeAll(async () => {
  sys = await startSystem('dev-server');
  await ok('POST', '/billable_metrics', {
    billable_metric: { name: 'Sc tokens', code: 'sc_tokens', aggregation_type: 'sum_agg', field_name: 'tokens', filters: [{ key: 'model', values: ['s', 'l'] }] },
  });
  const plan = await ok('POST', '/plans', { plan: {
    name: 'Sc plan', code: 'sc_plan', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false,
    charges: [{ billable_metric_code: 'sc_tokens', charge_model: 'standard', properties: { amount: '0.001' }, filters: [{ invoice_display_name: 'Large', properties: { amount: '0.002' }, values: { model: ['l'] } }] }],
  } });
  catalogChargeId = plan.plan.charges[0].lago_id;
  await ok('POST', '/customers', { customer: { external_id: 'sc-a', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } });
  await ok('POST', '/customers', { customer: { external_id: 'sc-b', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 5 } } });
  clockId = (await ok('POST', '/test_clocks', { test_clock: { name: 'sc', frozen_time: '2026-03-01T00:00:00.000Z' } })).test_clock.lago_id;
  for (const [customer, sub] of [['sc-a', 'sc-sub-a'], ['sc-b', 'sc-sub-b'], ['sc-b', 'sc-sub-c']] as const) {
    await ok('POST', '/subscriptions', { subscription: { external_customer_id: customer, plan_code: 'sc_plan', external_id: sub, billing_time: 'calendar', test_clock_id: clockId } });
  }
  // 1000 tokens of model s and 500 of model l for a and b, at the clock's time (no timestamp).
  for (const sub of ['sc-sub-a', 'sc-sub-b']) {
    await ok('POST', '/events/batch', { events: [
      { transaction_id: `${sub}-s`, external_subscription_id: sub, code: 'sc_tokens', properties: { tokens: 1000, model: 's' } },
      { transaction_id: `${sub}-l`, external_subscription_id: sub, code: 'sc_tokens', properties: { tokens: 500, model: 'l' } },
    ] });
  }
});
afterAll(async () => {
  await sys?.stop();
});

async function usageCents(customer: string, sub: string): Promise<number> {
  return (await ok('GET', `/customers/${customer}/current_usage?external_subscription_id=${sub}`)).customer_usage.amount_cents;
}

/** Current usage once it shows `cents` (the events' rollups are written asynchronously). */
async function usageBecomes(customer: string, sub: string, cents: number): Promise<number> {
  return eventually(async () => ((await usageCents(customer, sub)) === cents ? cents : undefined), 30_000, `${sub}'s usage to be ${cents}`).catch(async () => usageCents(customer, sub));
}

describe('subscription charge overrides', () => {
  it("PUT of a subscription's charge re-prices its current usage at once (200 → 400 cents), leaves the catalog plan and the other subscription at 200", async () => {
    // s: 1000 × 0.001 = 1.00 USD; l (filter): 500 × 0.002 = 1.00 USD.
    expect(await usageBecomes('sc-a', 'sc-sub-a', 200)).toBe(200);
    expect(await usageBecomes('sc-b', 'sc-sub-b', 200)).toBe(200);

    const before = await ok('GET', '/subscriptions/sc-sub-a/charges');
    expect(before.charges).toHaveLength(1);
    expect(before.charges[0]).toMatchObject({ lago_id: catalogChargeId, code: 'sc_tokens', properties: { amount: '0.001' } });
    expect(before.meta).toMatchObject({ current_page: 1, total_count: 1 });

    const put = await ok('PUT', '/subscriptions/sc-sub-a/charges/sc_tokens', { charge: { properties: { amount: '0.003' }, invoice_display_name: 'Tokens (A)' } });
    expect(put.charge.lago_id).not.toBe(catalogChargeId);
    expect(put.charge).toMatchObject({ code: 'sc_tokens', invoice_display_name: 'Tokens (A)', properties: { amount: '0.003' } });
    expect(put.charge.filters).toEqual([{ invoice_display_name: 'Large', properties: { amount: '0.002' }, values: { model: ['l'] } }]);
    // 1000 × 0.003 = 3.00 USD + the filter's 1.00 USD.
    expect(await usageCents('sc-a', 'sc-sub-a')).toBe(400);
    expect(await usageCents('sc-b', 'sc-sub-b')).toBe(200);
    expect((await ok('GET', '/plans/sc_plan')).plan.charges[0]).toMatchObject({ lago_id: catalogChargeId, properties: { amount: '0.001' }, invoice_display_name: null });
    expect((await ok('GET', '/subscriptions/sc-sub-b/charges/sc_tokens')).charge).toMatchObject({ lago_id: catalogChargeId, properties: { amount: '0.001' } });
    expect((await ok('GET', '/subscriptions/sc-sub-a/charges/sc_tokens')).charge).toMatchObject({ lago_id: put.charge.lago_id, properties: { amount: '0.003' } });
    // The subscription still shows the catalog plan's code.
    expect((await ok('GET', '/subscriptions/sc-sub-a')).subscription.plan_code).toBe('sc_plan');

    // The same PUT again changes nothing and keeps the same child charge.
    const again = await ok('PUT', '/subscriptions/sc-sub-a/charges/sc_tokens', { charge: { properties: { amount: '0.003' }, invoice_display_name: 'Tokens (A)' } });
    expect(again.charge.lago_id).toBe(put.charge.lago_id);
    expect(await usageCents('sc-a', 'sc-sub-a')).toBe(400);
    const children = await sys.database.db('plans').whereNotNull('parent_id').where({ code: 'sc_plan' }).count({ n: '*' }).first();
    expect(Number(children!.n)).toBe(1);
  });

  it('filters of the overridden charge: PUT (l at 0.004: 400 → 500), POST (s at 0.005: → 700), DELETE of l (l at the charge price 0.003: → 650), each priced at once', async () => {
    const filters = await ok('GET', '/subscriptions/sc-sub-a/charges/sc_tokens/filters');
    expect(filters.filters).toHaveLength(1);
    const large = filters.filters[0];
    expect(large).toMatchObject({ charge_code: 'sc_tokens', values: { model: ['l'] } });
    expect((await ok('GET', `/subscriptions/sc-sub-a/charges/sc_tokens/filters/${large.lago_id}`)).filter).toEqual(large);

    const put = await ok('PUT', `/subscriptions/sc-sub-a/charges/sc_tokens/filters/${large.lago_id}`, { filter: { properties: { amount: '0.004' } } });
    expect(put.filter).toMatchObject({ lago_id: large.lago_id, properties: { amount: '0.004' }, values: { model: ['l'] }, invoice_display_name: 'Large' });
    expect(await usageCents('sc-a', 'sc-sub-a')).toBe(300 + 200);

    const small = await ok('POST', '/subscriptions/sc-sub-a/charges/sc_tokens/filters', { filter: { values: { model: ['s'] }, properties: { amount: '0.005' }, invoice_display_name: 'Small' } });
    expect(small.filter).toMatchObject({ charge_code: 'sc_tokens', values: { model: ['s'] }, properties: { amount: '0.005' }, invoice_display_name: 'Small' });
    expect(await usageCents('sc-a', 'sc-sub-a')).toBe(500 + 200);

    const deleted = await ok('DELETE', `/subscriptions/sc-sub-a/charges/sc_tokens/filters/${large.lago_id}`);
    expect(deleted.filter).toMatchObject({ lago_id: large.lago_id, values: { model: ['l'] } });
    expect((await ok('GET', '/subscriptions/sc-sub-a/charges/sc_tokens/filters')).filters.map((f: any) => f.lago_id)).toEqual([small.filter.lago_id]);
    expect(await usageCents('sc-a', 'sc-sub-a')).toBe(500 + 150);
    // The catalog plan still has its one filter at 0.002; b is still billed by it.
    expect((await ok('GET', '/plans/sc_plan/charges/sc_tokens/filters')).filters).toEqual([expect.objectContaining({ values: { model: ['l'] }, properties: { amount: '0.002' } })]);
    expect(await usageCents('sc-b', 'sc-sub-b')).toBe(200);
  });

  it("a filter edit of a subscription without an override yet creates it: PUT of the catalog filter's id answers the subscription's own copy", async () => {
    const catalogFilter = (await ok('GET', '/subscriptions/sc-sub-c/charges/sc_tokens/filters')).filters[0];
    const put = await ok('PUT', `/subscriptions/sc-sub-c/charges/sc_tokens/filters/${catalogFilter.lago_id}`, { filter: { invoice_display_name: 'Big' } });
    expect(put.filter.lago_id).not.toBe(catalogFilter.lago_id);
    expect(put.filter).toMatchObject({ invoice_display_name: 'Big', values: { model: ['l'] }, properties: { amount: '0.002' } });
    expect((await ok('GET', '/subscriptions/sc-sub-c/charges/sc_tokens/filters')).filters.map((f: any) => f.lago_id)).toEqual([put.filter.lago_id]);
    expect((await ok('GET', '/plans/sc_plan/charges/sc_tokens/filters')).filters[0]).toMatchObject({ lago_id: catalogFilter.lago_id, invoice_display_name: 'Large' });
  });

  it("refusals in Lago's shape: unknown charge or filter 404, invalid properties 422 on charge.properties.amount, another subscription_status 404, nothing written", async () => {
    const plansBefore = await sys.database.db('plans').count({ n: '*' }).first();
    expect((await r('PUT', '/subscriptions/sc-sub-b/charges/nope', { charge: { properties: { amount: '1' } } }))).toMatchObject({ status: 404, body: { code: 'charge_not_found' } });
    expect((await r('GET', '/subscriptions/sc-sub-b/charges/sc_tokens/filters/00000000-0000-4000-8000-000000000000'))).toMatchObject({ status: 404, body: { code: 'charge_filter_not_found' } });
    expect((await r('GET', '/subscriptions/nope/charges'))).toMatchObject({ status: 404, body: { code: 'subscription_not_found' } });
    expect((await r('GET', '/subscriptions/sc-sub-b/charges?subscription_status=pending'))).toMatchObject({ status: 404, body: { code: 'subscription_not_found' } });
    const bad = await r('PUT', '/subscriptions/sc-sub-b/charges/sc_tokens', { charge: { properties: { amount: 'abc' } } });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error_details)).toEqual(['charge.properties.amount']);
    const badFilter = await r('POST', '/subscriptions/sc-sub-b/charges/sc_tokens/filters', { filter: { values: { model: ['xl'] }, properties: { amount: '1' } } });
    expect(badFilter.status).toBe(422);
    expect(Object.keys(badFilter.body.error_details)[0]).toMatch(/^filter\./);
    expect((await r('POST', '/subscriptions/sc-sub-b/charges/sc_tokens/filters', { filter: { properties: { amount: '1' } } })).status).toBe(422);
    expect(await sys.database.db('plans').count({ n: '*' }).first()).toEqual(plansBefore);
    expect(await usageCents('sc-b', 'sc-sub-b')).toBe(200);
  });

  it('two overrides of one subscription at once both land on ONE child plan (the write locks the subscription and re-reads)', async () => {
    await ok('POST', '/subscriptions', { subscription: { external_customer_id: 'sc-b', plan_code: 'sc_plan', external_id: 'sc-sub-race', billing_time: 'calendar', test_clock_id: clockId } });
    const [one, two] = await Promise.all([
      r('PUT', '/subscriptions/sc-sub-race/charges/sc_tokens', { charge: { properties: { amount: '0.007' } } }),
      r('PUT', '/subscriptions/sc-sub-race/charges/sc_tokens', { charge: { invoice_display_name: 'Raced' } }),
    ]);
    expect([one.status, two.status]).toEqual([200, 200]);
    const charge = (await ok('GET', '/subscriptions/sc-sub-race/charges/sc_tokens')).charge;
    expect(charge).toMatchObject({ properties: { amount: '0.007' }, invoice_display_name: 'Raced' });
    const sub = await sys.database.db('subscriptions').where({ external_id: 'sc-sub-race' }).first('plan_id');
    const children = await sys.database.db('plans').whereNotNull('parent_id').where({ code: 'sc_plan' }).select('id');
    expect(children.map((c) => c.id)).toContain(sub.plan_id);
    // a, c and the raced one: one child each.
    expect(children).toHaveLength(3);
  });
});

describe('the close, lifetime usage and lose_dispute', () => {
  let invoiceA: any;
  let draftB: any;

  it("the period's invoice bills the overridden prices (1000 + 650 = 1650 cents) and the plain subscription the catalog's (1000 + 200)", async () => {
    await ok('POST', `/test_clocks/${clockId}/advance`, { test_clock: { frozen_time: '2026-04-02T00:00:00.000Z' } });
    invoiceA = await eventually(async () => (await ok('GET', '/invoices?external_customer_id=sc-a')).invoices.find((i: any) => i.status === 'finalized'), 90_000, "a's invoice");
    expect(invoiceA.total_amount_cents).toBe(1650);
    const usage = invoiceA.fees.filter((f: any) => f.item.item_type === 'BillableMetric').reduce((n: number, f: any) => n + f.amount_cents, 0);
    expect(usage).toBe(650);
    draftB = await eventually(async () => (await ok('GET', '/invoices?external_customer_id=sc-b')).invoices.find((i: any) => i.subscriptions?.[0]?.external_id === 'sc-sub-b'), 90_000, "b's draft");
    expect(draftB).toMatchObject({ status: 'draft', total_amount_cents: 1200 });
    // The next period of a keeps its overrides: 100 tokens of s at the override's 0.005 = 50 cents.
    await ok('POST', '/events', { event: { transaction_id: 'sc-sub-a-april', external_subscription_id: 'sc-sub-a', code: 'sc_tokens', properties: { tokens: 100, model: 's' } } });
    expect(await usageBecomes('sc-a', 'sc-sub-a', 50)).toBe(50);
  });

  it('lifetime usage: invoiced 650 (the closed period), current 50 (the open one), historical 0 then 12345 by PUT; a negative amount is 422, nothing written', async () => {
    const sub = await ok('GET', '/subscriptions/sc-sub-a');
    const got = (await ok('GET', '/subscriptions/sc-sub-a/lifetime_usage')).lifetime_usage;
    expect(got).toMatchObject({
      lago_subscription_id: sub.subscription.lago_id,
      external_subscription_id: 'sc-sub-a',
      external_historical_usage_amount_cents: 0,
      invoiced_usage_amount_cents: 650,
      current_usage_amount_cents: 50,
      from_datetime: sub.subscription.started_at,
      to_datetime: '2026-05-01T00:00:00.000Z',
      usage_thresholds: [],
    });
    const put = (await ok('PUT', '/subscriptions/sc-sub-a/lifetime_usage', { lifetime_usage: { external_historical_usage_amount_cents: 12345 } })).lifetime_usage;
    expect(put).toEqual({ ...got, external_historical_usage_amount_cents: 12345 });
    expect((await ok('GET', '/subscriptions/sc-sub-a/lifetime_usage')).lifetime_usage.external_historical_usage_amount_cents).toBe(12345);
    const bad = await r('PUT', '/subscriptions/sc-sub-a/lifetime_usage', { lifetime_usage: { external_historical_usage_amount_cents: -1 } });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error_details)).toEqual(['external_historical_usage_amount_cents']);
    expect((await ok('GET', '/subscriptions/sc-sub-a/lifetime_usage')).lifetime_usage.external_historical_usage_amount_cents).toBe(12345);
    expect((await r('GET', '/subscriptions/nope/lifetime_usage')).status).toBe(404);
  });

  it("a terminated subscription's charges are read with subscription_status=terminated and not overridden (422 charge: subscription_terminated)", async () => {
    // The clock's advance also closes this subscription's March period. A termination that arrives while that close
    // runs waits for it in the API (api/services/period-closing-wait.ts) instead of answering 422 period_closing, as
    // a Lago client, which does not retry a 422, needs (CI failed here before that wait).
    await ok('DELETE', '/subscriptions/sc-sub-race');
    await eventually(async () => ((await ok('GET', '/subscriptions/sc-sub-race')).subscription.status === 'terminated' ? true : undefined), 60_000, 'the termination');
    expect((await r('GET', '/subscriptions/sc-sub-race/charges')).status).toBe(404);
    const read = await ok('GET', '/subscriptions/sc-sub-race/charges/sc_tokens?subscription_status=terminated');
    expect(read.charge).toMatchObject({ properties: { amount: '0.007' }, invoice_display_name: 'Raced' });
    const refused = await r('PUT', '/subscriptions/sc-sub-race/charges/sc_tokens?subscription_status=terminated', { charge: { properties: { amount: '1' } } });
    expect(refused).toMatchObject({ status: 422, body: { error_details: { charge: ['subscription_terminated'] } } });
    expect((await ok('GET', '/subscriptions/sc-sub-race/charges/sc_tokens?subscription_status=terminated')).charge.properties).toEqual({ amount: '0.007' });
  });

  it('lose_dispute: the finalized invoice gets payment_dispute_lost_at (kept on a repeat, one webhook step, no longer overdue); a draft is 405 not_disputable', async () => {
    await sys.database.db('invoices').where({ id: invoiceA.lago_id }).update({ payment_overdue: true });
    const lost = (await ok('POST', `/invoices/${invoiceA.lago_id}/lose_dispute`)).invoice;
    expect(lost.payment_dispute_lost_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(lost.payment_overdue).toBe(false);
    const again = (await ok('POST', `/invoices/${invoiceA.lago_id}/lose_dispute`)).invoice;
    expect(again.payment_dispute_lost_at).toBe(lost.payment_dispute_lost_at);
    expect((await ok('GET', `/invoices/${invoiceA.lago_id}`)).invoice.payment_dispute_lost_at).toBe(lost.payment_dispute_lost_at);
    const steps = await sys.database.db('payment_events').where({ invoice_id: invoiceA.lago_id, event_type: 'invoice.payment_dispute_lost' }).select('id');
    expect(steps).toHaveLength(1);
    expect(await r('POST', `/invoices/${draftB.lago_id}/lose_dispute`)).toMatchObject({ status: 405, body: { status: 405, code: 'not_disputable' } });
    expect((await ok('GET', `/invoices/${draftB.lago_id}`)).invoice.payment_dispute_lost_at).toBeUndefined();
    expect((await r('POST', '/invoices/00000000-0000-4000-8000-000000000000/lose_dispute')).status).toBe(404);
  });
});

describe('lifetime usage thresholds', () => {
  it("completion of the plan's usage thresholds: 600 of 500 reached at the progressive invoice, the recurring 1000's next level 1500 at 0.4", async () => {
    await ok('POST', '/billable_metrics', { billable_metric: { name: 'Lt calls', code: 'lt_calls', aggregation_type: 'count_agg' } });
    await ok('POST', '/plans', { plan: {
      name: 'Lt plan', code: 'lt_plan', interval: 'monthly', amount_cents: 0, amount_currency: 'USD', pay_in_advance: false,
      usage_thresholds: [{ amount_cents: 500 }, { amount_cents: 1000, recurring: true }],
      charges: [{ billable_metric_code: 'lt_calls', charge_model: 'standard', properties: { amount: '1' } }],
    } });
    const clock = (await ok('POST', '/test_clocks', { test_clock: { name: 'lt', frozen_time: '2026-06-01T00:00:00.000Z' } })).test_clock.lago_id;
    await ok('POST', '/subscriptions', { subscription: { external_customer_id: 'sc-a', plan_code: 'lt_plan', external_id: 'lt-sub', billing_time: 'calendar', test_clock_id: clock } });
    const ltSub = (await ok('GET', '/subscriptions/lt-sub')).subscription.lago_id;
    await ok('POST', '/events/batch', { events: Array.from({ length: 6 }, (_, k) => ({ transaction_id: `lt-${k}`, external_subscription_id: 'lt-sub', code: 'lt_calls' })) });
    // The workflow has counted the usage (its live estimate decides to check when the clock moves).
    await eventually(async () => {
      const state = await sys.client.workflow.getHandle(subscriptionWorkflowId(ltSub)).query(stateQuery);
      return state.liveUsage.lt_calls?.eventsCount === 6 ? true : undefined;
    }, 60_000, 'the usage signal');
    const before = await eventually(async () => {
      const l = (await ok('GET', '/subscriptions/lt-sub/lifetime_usage')).lifetime_usage;
      return l.current_usage_amount_cents === 600 ? l : undefined;
    }, 30_000, 'the usage');
    expect(before.usage_thresholds).toEqual([
      { amount_cents: 500, completion_ratio: 1, reached_at: null },
      { amount_cents: 1500, completion_ratio: 0.4, reached_at: null },
    ]);
    // The clock moves: the threshold check issues the progressive invoice for 500.
    await ok('POST', `/test_clocks/${clock}/advance`, { test_clock: { frozen_time: '2026-06-10T00:00:00.000Z' } });
    const progressive: { created_at: Date } = await eventually(async () => sys.database.db('invoices').where({ invoice_type: 'progressive_billing', subscription_id: ltSub }).first('created_at'), 60_000, 'the progressive invoice');
    const after = (await ok('GET', '/subscriptions/lt-sub/lifetime_usage')).lifetime_usage;
    expect(after.usage_thresholds).toEqual([
      { amount_cents: 500, completion_ratio: 1, reached_at: progressive.created_at.toISOString() },
      { amount_cents: 1500, completion_ratio: 0.4, reached_at: null },
    ]);
    // Progressive invoices are not counted as invoiced usage (the period's usage is the current usage).
    expect(after).toMatchObject({ invoiced_usage_amount_cents: 0, current_usage_amount_cents: 600 });
  });
});

describe('tenant scope', () => {
  it("another organization naming a's subscription, charge, filter and invoice gets 404 everywhere and changes nothing of a", async () => {
    const orgB = await ensureOrganization(sys.database.db, 'sc-other', 'Other organization');
    const keyB = await createApiKey(sys.database.db, orgB.id);
    const asB = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${sys.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${keyB}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const filterId = (await ok('GET', '/subscriptions/sc-sub-a/charges/sc_tokens/filters')).filters[0].lago_id;
    const invoiceId = (await ok('GET', '/invoices?external_customer_id=sc-a')).invoices.find((i: any) => i.status === 'finalized').lago_id;
    const plansBefore = await sys.database.db('plans').orderBy('id').select('id', 'revision');
    const lifetimeBefore = await sys.database.db('subscription_lifetime_usages').orderBy('subscription_id').select('*');
    const calls: [string, string, unknown?][] = [
      ['GET', '/subscriptions/sc-sub-a/charges'],
      ['GET', '/subscriptions/sc-sub-a/charges/sc_tokens'],
      ['PUT', '/subscriptions/sc-sub-a/charges/sc_tokens', { charge: { properties: { amount: '9' } } }],
      ['GET', '/subscriptions/sc-sub-a/charges/sc_tokens/filters'],
      ['POST', '/subscriptions/sc-sub-a/charges/sc_tokens/filters', { filter: { values: { model: ['l'] }, properties: { amount: '9' } } }],
      ['GET', `/subscriptions/sc-sub-a/charges/sc_tokens/filters/${filterId}`],
      ['PUT', `/subscriptions/sc-sub-a/charges/sc_tokens/filters/${filterId}`, { filter: { properties: { amount: '9' } } }],
      ['DELETE', `/subscriptions/sc-sub-a/charges/sc_tokens/filters/${filterId}`],
      ['GET', '/subscriptions/sc-sub-a/lifetime_usage'],
      ['PUT', '/subscriptions/sc-sub-a/lifetime_usage', { lifetime_usage: { external_historical_usage_amount_cents: 1 } }],
      ['POST', `/invoices/${invoiceId}/lose_dispute`, {}],
    ];
    for (const [method, path, body] of calls) {
      const res = await asB(method, path, body);
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect(await sys.database.db('plans').orderBy('id').select('id', 'revision')).toEqual(plansBefore);
    expect(await sys.database.db('subscription_lifetime_usages').orderBy('subscription_id').select('*')).toEqual(lifetimeBefore);
    expect((await ok('GET', '/subscriptions/sc-sub-a/lifetime_usage')).lifetime_usage.external_historical_usage_amount_cents).toBe(12345);
  });
});
