// POST /api/v1/invoices/preview over real Postgres and the real Express app (api/server.ts createApp): a
// stored or inline plan priced on explicit usage totals or on a subscription's stored events of a past
// period, in Lago's invoice shape, writing nothing.
import crypto from 'node:crypto';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_preview' });
});
afterAll(async () => {
  await h?.stop();
});

const MARCH = { from_datetime: '2026-03-01T00:00:00Z', to_datetime: '2026-04-01T00:00:00Z' };

async function createMetric(body: Record<string, unknown>): Promise<string> {
  const res = await h.request('POST', '/billable_metrics', { billable_metric: body });
  if (res.status !== 200) throw new Error(`metric: ${JSON.stringify(res.body)}`);
  return res.body.billable_metric.lago_id;
}

/** A stored plan: graduated tokens + standard calls with a `model: large` filter, 49.00 USD a month. */
async function seedCatalog() {
  const s = crypto.randomBytes(3).toString('hex');
  const tokens = `tokens_${s}`;
  const calls = `calls_${s}`;
  await createMetric({ name: 'Tokens', code: tokens, aggregation_type: 'sum_agg', field_name: 'tokens' });
  await createMetric({ name: 'Calls', code: calls, aggregation_type: 'count_agg', filters: [{ key: 'model', values: ['small', 'large'] }] });
  const planCode = `pro_${s}`;
  const plan = await h.request('POST', '/plans', {
    plan: {
      name: 'Pro',
      code: planCode,
      interval: 'monthly',
      amount_cents: 4900,
      amount_currency: 'USD',
      charges: [
        {
          billable_metric_code: tokens,
          charge_model: 'graduated',
          properties: {
            graduated_ranges: [
              { from_value: 0, to_value: 1000, per_unit_amount: '0.01', flat_amount: '2' },
              { from_value: 1000, to_value: null, per_unit_amount: '0.002', flat_amount: '0' },
            ],
          },
        },
        {
          billable_metric_code: calls,
          charge_model: 'standard',
          properties: { amount: '0.05' },
          filters: [{ invoice_display_name: 'Large calls', properties: { amount: '0.2' }, values: { model: ['large'] } }],
        },
      ],
    },
  });
  if (plan.status !== 200) throw new Error(`plan: ${JSON.stringify(plan.body)}`);
  return { tokens, calls, planCode, plan: plan.body.plan };
}

async function counts() {
  const db = h.database.db;
  const n = async (table: string) => Number(((await db(table).count<{ n: string }[]>({ n: '*' })) as { n: string }[])[0]!.n);
  return { invoices: await n('invoices'), fees: await n('fees'), plans: await n('plans'), charges: await n('charges'), events: await n('events') };
}

describe('totals mode with a stored plan', () => {
  test('graduated and standard (with a filter) charges priced exactly to the cent, in Lago\'s invoice shape', async () => {
    const c = await seedCatalog();
    const before = await counts();
    const body = {
      plan_code: c.planCode,
      period: MARCH,
      usage: [
        { billable_metric_code: c.tokens, units: '2500.5', events_count: 40 },
        { billable_metric_code: c.tokens, units: 500, events_count: 2 }, // same bucket: summed → 3000.5
        { billable_metric_code: c.calls, units: '120', events_count: 120 },
        { billable_metric_code: c.calls, units: 7, events_count: 7, filters: { model: 'large' } },
      ],
    };
    const res = await h.request('POST', '/invoices/preview', body);
    expect(res.status).toBe(200);
    const inv = res.body.invoice;

    // Subscription fee: a whole March (31/31) of 49.00 = 4900 cents.
    // Tokens, graduated on 3000.5 units: tier 1 (0, 1000] = 1000 × 0.01 + flat 2 = 12.00;
    //   tier 2 (1000, ∞) = 2000.5 × 0.002 = 4.001 → 16.001 USD → 1600 cents (half-up once per line).
    // Calls, default bucket: 120 × 0.05 = 6.00 → 600 cents; "large" filter: 7 × 0.2 = 1.40 → 140 cents.
    // Total = 4900 + 1600 + 600 + 140 = 7240 cents.
    const byKey = Object.fromEntries(
      inv.fees.map((f: any) => [`${f.item.type}:${f.item.code}:${JSON.stringify(f.item.filters ?? null)}`, f]),
    );
    expect(byKey[`subscription:${c.planCode}:null`]).toMatchObject({ amount_cents: 4900, units: '1' });
    expect(byKey[`charge:${c.tokens}:null`]).toMatchObject({ amount_cents: 1600, precise_amount: '16.001', units: '3000.5', events_count: 42 });
    expect(byKey[`charge:${c.calls}:null`]).toMatchObject({ amount_cents: 600, units: '120', events_count: 120 });
    expect(byKey[`charge:${c.calls}:{"model":["large"]}`]).toMatchObject({
      amount_cents: 140,
      units: '7',
      events_count: 7,
      item: { filter_invoice_display_name: 'Large calls', item_type: 'BillableMetric' },
    });
    expect(inv.fees).toHaveLength(4);
    expect(inv).toMatchObject({
      lago_id: null,
      number: null,
      invoice_type: 'subscription',
      status: 'draft',
      currency: 'USD',
      issuing_date: '2026-04-01',
      fees_amount_cents: 7240,
      sub_total_excluding_taxes_amount_cents: 7240,
      taxes_amount_cents: 0,
      total_amount_cents: 7240,
      customer: null,
      subscriptions: [],
    });
    // Stored plan: the fees name the stored charges and metrics; no fee has an id.
    const storedChargeIds = c.plan.charges.map((ch: any) => ch.lago_charge_id ?? ch.lago_id);
    expect(byKey[`charge:${c.tokens}:null`].lago_charge_id).toBe(storedChargeIds[0]);
    expect(byKey[`charge:${c.tokens}:null`].item.lago_item_id).toBe(c.plan.charges[0].lago_billable_metric_id);
    expect(inv.fees.every((f: any) => f.lago_id === null && f.lago_invoice_id === null)).toBe(true);
    expect(inv.fees.every((f: any) => f.from_date === '2026-03-01T00:00:00.000Z' && f.to_date === '2026-04-01T00:00:00.000Z')).toBe(true);

    expect(await counts()).toEqual(before);
  });

  test('with an Idempotency-Key the preview answers and a replay returns the same invoice', async () => {
    const c = await seedCatalog();
    const body = { plan_code: c.planCode, period: MARCH, usage: [{ billable_metric_code: c.calls, units: 3 }] };
    const key = `preview-${crypto.randomBytes(4).toString('hex')}`;
    const first = await h.request('POST', '/invoices/preview', body, { 'idempotency-key': key });
    expect(first.status).toBe(200);
    // 4900 fee + calls 3 × 0.05 = 0.15 → 15 cents; tokens graduated at 0 units bills tier 1's flat 2.00 (zero_usage_flat_fee "charge").
    expect(first.body.invoice.total_amount_cents).toBe(4900 + 15 + 200);
    const replay = await h.request('POST', '/invoices/preview', body, { 'idempotency-key': key });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
  });

  test('without a period the current calendar month of the (UTC) organization is priced', async () => {
    const c = await seedCatalog();
    const res = await h.request('POST', '/invoices/preview', { plan_code: c.planCode });
    expect(res.status).toBe(200);
    const sub = res.body.invoice.fees.find((f: any) => f.item.type === 'subscription');
    expect(sub.from_date).toMatch(/^\d{4}-\d{2}-01T00:00:00\.000Z$/);
    expect(sub.amount_cents).toBe(4900); // a whole calendar month: no proration
  });
});

describe('real usage of a past period priced with an inline plan', () => {
  test('reads the subscription\'s stored events of the period, prices them with the inline plan, and writes nothing', async () => {
    // Subscribed on Aug 15 2026 (calendar billing, UTC); the seeded plan: 10.00/month + 0.002 per token.
    const seeded = await seedSubscription(h, { subscriptionAt: '2026-08-15T00:00:00Z' });
    const ev = (tx: string, timestamp: string, tokens: string | number) => ({
      transaction_id: `${seeded.subscriptionId}-${tx}`,
      external_subscription_id: seeded.subscriptionId,
      code: seeded.metricCode,
      timestamp,
      properties: { tokens },
    });
    const ingest = await h.request('POST', '/events/batch', {
      events: [
        ev('aug', '2026-08-20T10:00:00Z', 100000),
        ev('s1', '2026-09-01T00:00:00Z', 1000),
        ev('s2', '2026-09-10T08:30:00Z', '2500'),
        ev('s3', '2026-09-15T23:59:59Z', 333),
        ev('s4', '2026-09-21T12:00:00Z', '12.5'),
        ev('s5', '2026-09-30T23:59:59.999Z', '4154.5'),
        ev('oct', '2026-10-01T00:00:00Z', 100000), // next period: not counted
      ],
    });
    expect(ingest.status).toBe(200);

    const inlinePlan = {
      name: 'What if',
      code: `what_if_${crypto.randomBytes(3).toString('hex')}`,
      interval: 'monthly',
      amount_cents: 2000,
      amount_currency: 'USD',
      charges: [{ billable_metric_code: seeded.metricCode, charge_model: 'standard', properties: { amount: '0.00137' } }],
    };
    const who = { customer: { external_id: seeded.customerId }, subscription: { external_id: seeded.subscriptionId } };
    const before = await counts();

    // September (the subscription's period #1): 1000 + 2500 + 333 + 12.5 + 4154.5 = 8000 tokens.
    // Inline plan: fee 20.00 (whole month) = 2000; 8000 × 0.00137 = 10.96 → 1096. Total 3096.
    const sep = await h.request('POST', '/invoices/preview', { ...who, plan: inlinePlan, billing_period: { from_datetime: '2026-09-01T00:00:00Z', to_datetime: '2026-10-01T00:00:00Z' } });
    expect(sep.status).toBe(200);
    const charge = sep.body.invoice.fees.find((f: any) => f.item.type === 'charge');
    expect(charge).toMatchObject({ units: '8000', events_count: 5, amount_cents: 1096, precise_amount: '10.96', lago_charge_id: null });
    expect(sep.body.invoice.fees.find((f: any) => f.item.type === 'subscription').amount_cents).toBe(2000);
    expect(sep.body.invoice.total_amount_cents).toBe(3096);
    expect(sep.body.invoice.customer.external_id).toBe(seeded.customerId);
    expect(sep.body.invoice.subscriptions.map((s: any) => s.external_id)).toEqual([seeded.subscriptionId]);
    expect(charge.external_subscription_id).toBe(seeded.subscriptionId);

    // The same period by index answers the same invoice.
    const byIndex = await h.request('POST', '/invoices/preview', { ...who, plan: inlinePlan, billing_period: { index: 1 } });
    expect(byIndex.body).toEqual(sep.body);
    // Lago's `subscriptions.external_ids` (one id) names the same subscription.
    const lagoShape = await h.request('POST', '/invoices/preview', {
      customer: who.customer,
      subscriptions: { external_ids: [seeded.subscriptionId] },
      plan: inlinePlan,
      billing_period: { index: 1 },
    });
    expect(lagoShape.body).toEqual(sep.body);

    // Period #0 is clipped at the subscription start: Aug 15 → Sep 1 = 17 of August's 31 days.
    // Fee 2000 × 17/31 = 1096.77… → 1097; usage 100000 × 0.00137 = 137.00 → 13700. Total 14797.
    const aug = await h.request('POST', '/invoices/preview', { ...who, plan: inlinePlan, billing_period: { index: 0 } });
    expect(aug.status).toBe(200);
    const augFee = aug.body.invoice.fees.find((f: any) => f.item.type === 'subscription');
    expect(augFee).toMatchObject({ amount_cents: 1097, from_date: '2026-08-15T00:00:00.000Z', to_date: '2026-09-01T00:00:00.000Z' });
    expect(aug.body.invoice.total_amount_cents).toBe(14797);

    // Without a plan, the subscription's own plan: 10.00 + 8000 × 0.002 = 16.00 → 1000 + 1600 = 2600.
    const own = await h.request('POST', '/invoices/preview', { ...who, billing_period: { index: 1 } });
    expect(own.status).toBe(200);
    expect(own.body.invoice.total_amount_cents).toBe(2600);

    // Nothing was written: no invoice, fee, plan, charge or event.
    expect(await counts()).toEqual(before);
    expect(await h.database.db('plans').where({ code: inlinePlan.code })).toHaveLength(0);
  });

  test('an unknown customer is 404 customer_not_found; another customer\'s subscription is 404 subscription_not_found', async () => {
    const a = await seedSubscription(h, { subscriptionAt: '2026-08-15T00:00:00Z' });
    const b = await seedSubscription(h, { subscriptionAt: '2026-08-15T00:00:00Z' });
    const period = { billing_period: { index: 0 } };
    const noCustomer = await h.request('POST', '/invoices/preview', { customer: { external_id: 'nobody' }, subscription: { external_id: a.subscriptionId }, ...period });
    expect(noCustomer.status).toBe(404);
    expect(noCustomer.body).toEqual({ status: 404, error: 'Not Found', code: 'customer_not_found' });
    const notTheirs = await h.request('POST', '/invoices/preview', { customer: { external_id: a.customerId }, subscription: { external_id: b.subscriptionId }, ...period });
    expect(notTheirs.status).toBe(404);
    expect(notTheirs.body.code).toBe('subscription_not_found');
  });
});

describe('validation', () => {
  test('unknown plan_code is 404 plan_not_found', async () => {
    const res = await h.request('POST', '/invoices/preview', { plan_code: 'does_not_exist', period: MARCH });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ status: 404, error: 'Not Found', code: 'plan_not_found' });
  });

  test('an unknown metric code in usage names usage[i].billable_metric_code; a metric the plan does not charge is refused too', async () => {
    const c = await seedCatalog();
    const other = `other_${crypto.randomBytes(3).toString('hex')}`;
    await createMetric({ name: 'Other', code: other, aggregation_type: 'count_agg' });
    const res = await h.request('POST', '/invoices/preview', {
      plan_code: c.planCode,
      period: MARCH,
      usage: [
        { billable_metric_code: c.tokens, units: '1' },
        { billable_metric_code: 'nope', units: '1' },
        { billable_metric_code: other, units: '1' },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: {
        'usage[1].billable_metric_code': ['billable_metric_not_found'],
        'usage[2].billable_metric_code': ['no_charge_for_billable_metric'],
      },
    });
  });

  test('non-numeric units and from_datetime after to_datetime are 422 with their fields', async () => {
    const c = await seedCatalog();
    const res = await h.request('POST', '/invoices/preview', {
      plan_code: c.planCode,
      period: MARCH,
      usage: [{ billable_metric_code: c.tokens, units: 'lots' }, { billable_metric_code: c.tokens, units: true }, { billable_metric_code: c.tokens }],
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({
      'usage[0].units': ['invalid_decimal'],
      'usage[1].units': ['invalid_decimal'],
      'usage[2].units': ['value_is_mandatory'],
    });

    const backwards = await h.request('POST', '/invoices/preview', {
      plan_code: c.planCode,
      period: { from_datetime: '2026-04-01T00:00:00Z', to_datetime: '2026-03-01T00:00:00Z' },
    });
    expect(backwards.status).toBe(422);
    expect(backwards.body.error_details).toEqual({ 'period.to_datetime': ['must_be_after_from_datetime'] });

    const seeded = await seedSubscription(h, { subscriptionAt: '2026-08-15T00:00:00Z' });
    const backwardsReal = await h.request('POST', '/invoices/preview', {
      customer: { external_id: seeded.customerId },
      subscription: { external_id: seeded.subscriptionId },
      billing_period: { from_datetime: '2026-10-01T00:00:00Z', to_datetime: '2026-09-01T00:00:00Z' },
    });
    expect(backwardsReal.status).toBe(422);
    expect(backwardsReal.body.error_details).toEqual({ 'billing_period.to_datetime': ['must_be_after_from_datetime'] });
  });

  test('an invalid inline plan is 422 with every field and reason (the rules of POST /plans), nothing stored', async () => {
    const c = await seedCatalog();
    const before = await counts();
    const res = await h.request('POST', '/invoices/preview', {
      period: MARCH,
      plan: {
        name: 'Broken',
        code: 'broken',
        interval: 'fortnightly',
        amount_cents: 1000,
        amount_currency: 'USD',
        charges: [
          { billable_metric_code: 'ghost', charge_model: 'standard', properties: { amount: '1' } },
          { billable_metric_code: c.tokens, charge_model: 'standard', properties: { amount: 'abc' } },
          { billable_metric_code: c.calls, charge_model: 'nope' },
        ],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({
      'plan.interval': ['invalid_interval'],
      'plan.charges[0].billable_metric_code': ['billable_metric_not_found'],
      'plan.charges[1].properties.amount': ['invalid_amount'],
      'plan.charges[2].charge_model': ['unknown_charge_model'],
    });
    expect(await counts()).toEqual(before);
  });

  test('plan_code and plan together, a currency other than the plan\'s, and totals mixed with a billing period are 422', async () => {
    const c = await seedCatalog();
    const both = await h.request('POST', '/invoices/preview', { plan_code: c.planCode, plan: { name: 'x' }, period: MARCH });
    expect(both.status).toBe(422);
    expect(both.body.error_details).toEqual({ plan: ['mutually_exclusive_with_plan_code'] });

    const eur = await h.request('POST', '/invoices/preview', { plan_code: c.planCode, period: MARCH, currency: 'EUR' });
    expect(eur.status).toBe(422);
    expect(eur.body.error_details).toEqual({ currency: ['currency_mismatch'] });

    const mixed = await h.request('POST', '/invoices/preview', {
      plan_code: c.planCode,
      usage: [],
      customer: { external_id: 'x' },
      subscription: { external_id: 'y' },
      billing_period: { index: 0 },
    });
    expect(mixed.status).toBe(422);
    expect(mixed.body.error_details).toEqual({ usage: ['mutually_exclusive_with_billing_period'] });

    const upgrade = await h.request('POST', '/invoices/preview', {
      customer: { external_id: 'x' },
      subscriptions: { external_ids: ['y'], plan_code: c.planCode },
      billing_period: { index: 0 },
    });
    expect(upgrade.status).toBe(422);
    expect(upgrade.body.error_details).toEqual({ 'subscriptions.plan_code': ['not_supported'] });

    const none = await h.request('POST', '/invoices/preview', { period: MARCH });
    expect(none.status).toBe(422);
    expect(none.body.error_details).toEqual({ plan_code: ['value_is_mandatory'] });
  });
});
