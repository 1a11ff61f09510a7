// Lago operations added for issue 13 (ops13b) over the real system (HTTP API, worker, Postgres, Temporal dev
// server): alert edits by code, metadata of plans / credit notes / wallets, PUT /credit_notes refund_status, and the
// fee estimates of a hypothetical pay-in-advance event (priced like the worker prices a real one, nothing stored).
import crypto from 'node:crypto';
import { eventually, startSystem, type System } from '../e2e/harness';

let sys: System;
const S = `x${crypto.randomBytes(3).toString('hex')}`;

async function ok(method: string, path: string, body?: unknown) {
  const res = await sys.request(method, path, body);
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

beforeAll(async () => {
  sys = await startSystem('dev-server');
  await ok('POST', '/billable_metrics', { billable_metric: { name: 'Tokens', code: `tok_${S}`, aggregation_type: 'sum_agg', field_name: 'tokens' } });
  await ok('POST', '/billable_metrics', { billable_metric: { name: 'Seats', code: `seat_${S}`, aggregation_type: 'sum_agg', field_name: 'n' } });
  await ok('POST', '/taxes', { tax: { name: 'VAT', code: `vat_${S}`, rate: '20' } });
  await ok('POST', '/plans', {
    plan: {
      name: 'Pro', code: `pro_${S}`, interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', tax_codes: [`vat_${S}`],
      charges: [
        // Pay in advance, graduated: the first 10 tokens of a period are free, then 1 USD each.
        {
          billable_metric_code: `tok_${S}`, charge_model: 'graduated', pay_in_advance: true, invoiceable: false,
          properties: { graduated_ranges: [{ from_value: 0, to_value: 10, per_unit_amount: '0', flat_amount: '0' }, { from_value: 11, to_value: null, per_unit_amount: '1', flat_amount: '0' }] },
        },
        { billable_metric_code: `seat_${S}`, charge_model: 'standard', properties: { amount: '2' } },
      ],
    },
  });
  await ok('POST', '/customers', { customer: { external_id: `cust_${S}`, name: 'Ada', currency: 'USD', timezone: 'UTC' } });
  await ok('POST', '/subscriptions', { subscription: { external_customer_id: `cust_${S}`, plan_code: `pro_${S}`, external_id: `sub_${S}` } });
});

afterAll(async () => {
  await sys?.stop();
});

test('alerts by code: get, update (code, thresholds), 422 on a taken code or a metric on an amount alert, delete one (code reusable), delete all', async () => {
  const base = `/subscriptions/sub_${S}/alerts`;
  await ok('POST', base, { alert: { alert_type: 'current_usage_amount', code: `spend_${S}`, name: 'Spend', thresholds: [{ value: 100, code: 'warn' }] } });
  await ok('POST', base, { alert: { alert_type: 'billable_metric_current_usage_units', code: `units_${S}`, billable_metric_code: `tok_${S}`, thresholds: [{ value: '5' }] } });

  expect((await ok('GET', `${base}/spend_${S}`)).alert).toMatchObject({ code: `spend_${S}`, name: 'Spend', thresholds: [{ code: 'warn', value: '100', recurring: false }] });
  expect((await sys.request('GET', `${base}/nope_${S}`)).body).toMatchObject({ status: 404, code: 'alert_not_found' });

  const updated = (await ok('PUT', `${base}/spend_${S}`, { alert: { code: `spend2_${S}`, name: 'Spend 2', thresholds: [{ value: '50.5' }, { value: 200, recurring: true }] } })).alert;
  expect(updated).toMatchObject({ code: `spend2_${S}`, name: 'Spend 2', alert_type: 'current_usage_amount', thresholds: [{ value: '50.5', recurring: false }, { value: '200', recurring: true }] });
  expect((await sys.request('GET', `${base}/spend_${S}`)).status).toBe(404);

  const taken = await sys.request('PUT', `${base}/spend2_${S}`, { alert: { code: `units_${S}` } });
  expect(taken.body).toMatchObject({ status: 422, code: 'validation_errors', error_details: { code: ['value_already_exist'] } });
  const metricOnAmount = await sys.request('PUT', `${base}/spend2_${S}`, { alert: { billable_metric_code: `tok_${S}` } });
  expect(metricOnAmount.body).toMatchObject({ status: 422, error_details: { billable_metric_code: ['value_is_invalid'] } });
  const twoRecurring = await sys.request('PUT', `${base}/units_${S}`, { alert: { thresholds: [{ value: 1, recurring: true }, { value: 2, recurring: true }] } });
  expect(twoRecurring.body).toMatchObject({ status: 422, error_details: { thresholds: ['only_one_recurring_threshold'] } });
  const badValue = await sys.request('PUT', `${base}/units_${S}`, { alert: { thresholds: [{ value: '-1' }] } });
  expect(badValue.status).toBe(422);
  expect(Object.keys(badValue.body.error_details)[0]).toBe('thresholds[0].value');
  // Nothing half-written: the refused updates left both alerts as they were.
  expect((await ok('GET', `${base}/units_${S}`)).alert.thresholds).toEqual([{ code: null, value: '5', recurring: false }]);

  expect((await ok('DELETE', `${base}/units_${S}`)).alert.code).toBe(`units_${S}`);
  expect((await sys.request('GET', `${base}/units_${S}`)).status).toBe(404);
  await ok('POST', base, { alert: { alert_type: 'billable_metric_current_usage_units', code: `units_${S}`, billable_metric_code: `tok_${S}`, thresholds: [{ value: '7' }] } });

  const all = await ok('DELETE', base);
  expect(all.alerts.map((a: any) => a.code).sort()).toEqual([`spend2_${S}`, `units_${S}`].sort());
  expect((await ok('GET', base)).alerts).toEqual([]);
  expect((await sys.request('DELETE', `/subscriptions/nosub_${S}/alerts`)).body).toMatchObject({ status: 404, code: 'subscription_not_found' });
});

test('plan metadata: replace, merge, delete a key, delete all; shown on GET /plans/:code; bad keys and values refused with the field', async () => {
  const m = `/plans/pro_${S}/metadata`;
  expect((await ok('GET', `/plans/pro_${S}`)).plan.metadata).toBeNull();
  expect(await ok('POST', m, { metadata: { crm_id: 'C-1', tier: 'gold' } })).toEqual({ metadata: { crm_id: 'C-1', tier: 'gold' } });
  expect(await ok('POST', m, { metadata: { source: null } })).toEqual({ metadata: { source: null } });
  expect(await ok('PATCH', m, { metadata: { crm_id: 'C-2', tier: 'gold' } })).toEqual({ metadata: { source: null, crm_id: 'C-2', tier: 'gold' } });
  expect(await ok('PATCH', m, { metadata: { tier: 'silver' } })).toEqual({ metadata: { source: null, crm_id: 'C-2', tier: 'silver' } });
  expect(await ok('DELETE', `${m}/crm_id`)).toEqual({ metadata: { source: null, tier: 'silver' } });
  expect(await ok('DELETE', `${m}/absent`)).toEqual({ metadata: { source: null, tier: 'silver' } });
  expect((await ok('GET', `/plans/pro_${S}`)).plan.metadata).toEqual({ source: null, tier: 'silver' });
  expect((await ok('GET', '/plans?per_page=100')).plans.find((p: any) => p.code === `pro_${S}`).metadata).toEqual({ source: null, tier: 'silver' });

  const longValue = await sys.request('PATCH', m, { metadata: { note: 'x'.repeat(256) } });
  expect(longValue.body).toMatchObject({ status: 422, code: 'validation_errors' });
  expect(Object.keys(longValue.body.error_details)).toEqual(['note']); // the offending key
  const numberValue = await sys.request('POST', m, { metadata: { n: 5 } });
  expect(numberValue.status).toBe(422);
  const longKey = await sys.request('POST', m, { metadata: { ['k'.repeat(101)]: 'v' } });
  expect(longKey.status).toBe(422);
  // 50 keys at most, a merge included (the stored two plus 49 new ones are refused, nothing merged).
  const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v']));
  expect((await sys.request('PATCH', m, { metadata: many })).body).toMatchObject({ status: 422, error_details: { metadata: ['too_many_keys'] } });
  expect((await ok('GET', `/plans/pro_${S}`)).plan.metadata).toEqual({ source: null, tier: 'silver' });
  expect((await sys.request('POST', `/plans/none_${S}/metadata`, { metadata: {} })).body).toMatchObject({ status: 404, code: 'plan_not_found' });

  expect(await ok('DELETE', m)).toEqual({ metadata: null });
  expect((await ok('GET', `/plans/pro_${S}`)).plan.metadata).toBeNull();
});

test('credit note: metadata endpoints and PUT refund_status (only on a note that refunds something); wallet metadata', async () => {
  await ok('POST', '/add_ons', { add_on: { name: 'Pack', code: `pack_${S}`, amount_cents: 5000, amount_currency: 'USD' } });
  const invoice = (await ok('POST', '/invoices', { invoice: { external_customer_id: `cust_${S}`, currency: 'USD', fees: [{ add_on_code: `pack_${S}`, units: '1' }] } })).invoice;
  await ok('POST', '/payments', { payment: { invoice_id: invoice.lago_id, amount_cents: invoice.total_amount_cents, reference: `wire_${S}` } });
  const fee = invoice.fees[0];
  const creditOnly = (await ok('POST', '/credit_notes', { credit_note: { invoice_id: invoice.lago_id, reason: 'other', items: [{ fee_id: fee.lago_id, amount_cents: 1000 }] } })).credit_note;
  const refund = (await ok('POST', '/credit_notes', { credit_note: { invoice_id: invoice.lago_id, reason: 'other', credit_amount_cents: 0, refund_amount_cents: 1000, items: [{ fee_id: fee.lago_id, amount_cents: 1000 }] } })).credit_note;
  expect(refund.refund_amount_cents).toBe(1000);

  const noRefund = await sys.request('PUT', `/credit_notes/${creditOnly.lago_id}`, { credit_note: { refund_status: 'succeeded' } });
  expect(noRefund.body).toMatchObject({ status: 422, error_details: { refund_status: ['value_is_invalid'] } });
  expect((await ok('GET', `/credit_notes/${creditOnly.lago_id}`)).credit_note.refund_status).toBeNull();
  const badStatus = await sys.request('PUT', `/credit_notes/${refund.lago_id}`, { credit_note: { refund_status: 'done' } });
  expect(badStatus.status).toBe(422);
  expect(Object.keys(badStatus.body.error_details)).toEqual(['refund_status']);

  await ok('POST', `/credit_notes/${refund.lago_id}/metadata`, { metadata: { ticket: 'T-1' } });
  const set = (await ok('PUT', `/credit_notes/${refund.lago_id}`, { credit_note: { refund_status: 'succeeded', metadata: { bank_ref: 'B-9' } } })).credit_note;
  expect(set).toMatchObject({ lago_id: refund.lago_id, refund_status: 'succeeded', metadata: { ticket: 'T-1', bank_ref: 'B-9' } });
  expect((await ok('GET', `/credit_notes/${refund.lago_id}`)).credit_note).toMatchObject({ refund_status: 'succeeded', metadata: { ticket: 'T-1', bank_ref: 'B-9' } });
  expect(await ok('DELETE', `/credit_notes/${refund.lago_id}/metadata/ticket`)).toEqual({ metadata: { bank_ref: 'B-9' } });
  expect((await sys.request('PUT', `/credit_notes/${crypto.randomUUID()}`, { credit_note: { refund_status: 'failed' } })).body).toMatchObject({ status: 404, code: 'credit_note_not_found' });

  const wallet = (await ok('POST', '/wallets', { wallet: { external_customer_id: `cust_${S}`, name: 'Prepaid', rate_amount: '1', currency: 'USD', granted_credits: '1' } })).wallet;
  expect(wallet.metadata).toBeNull();
  expect(await ok('PATCH', `/wallets/${wallet.lago_id}/metadata`, { metadata: { purpose: 'promo' } })).toEqual({ metadata: { purpose: 'promo' } });
  expect((await ok('GET', `/wallets/${wallet.lago_id}`)).wallet.metadata).toEqual({ purpose: 'promo' });
  expect(await ok('DELETE', `/wallets/${wallet.lago_id}/metadata`)).toEqual({ metadata: null });
  expect((await sys.request('POST', '/wallets/not-a-uuid/metadata', { metadata: {} })).body).toMatchObject({ status: 404, code: 'wallet_not_found' });
});

test('fee estimates price a hypothetical pay-in-advance event on top of the period so far (graduated tiers, taxes) and store nothing', async () => {
  // A timestamp inside the period: at or after the subscription's start (a fixed "now − 5 s" fell before it when the
  // tests before this one ran in under 5 s), whole seconds as Lago's integer timestamps are.
  const startedMs = Date.parse((await ok('GET', `/subscriptions/sub_${S}`)).subscription.started_at);
  while (Date.now() < startedMs + 1000) await new Promise((r) => setTimeout(r, 100));
  const ts = Math.floor(Date.now() / 1000);
  await ok('POST', '/events', { event: { transaction_id: `e1_${S}`, external_subscription_id: `sub_${S}`, code: `tok_${S}`, timestamp: ts, properties: { tokens: 8 } } });
  // The worker bills the stored event (8 free tokens: a 0 fee); then the fee count is settled for the check below.
  await eventually(async () => ((await ok('GET', `/fees?external_subscription_id=sub_${S}`)).fees.length > 0 ? true : undefined), 60_000, 'the stored event billed');
  const feesBefore = (await ok('GET', `/fees?external_subscription_id=sub_${S}`)).fees.length;
  const eventsBefore = (await ok('GET', `/events?external_subscription_id=sub_${S}`)).events.length;

  const event = { code: `tok_${S}`, external_subscription_id: `sub_${S}`, transaction_id: `what_if_${S}`, properties: { tokens: 5 } };
  // 8 tokens so far; 5 more: tokens 9–10 free, 11–13 at 1 USD → 300 cents, VAT 20% → 60.
  const instant = (await ok('POST', '/events/estimate_instant_fees', { event })).fees;
  expect(instant).toHaveLength(1);
  expect(instant[0]).toMatchObject({
    lago_id: null, lago_invoice_id: null, external_subscription_id: `sub_${S}`, external_customer_id: `cust_${S}`, event_transaction_id: `what_if_${S}`,
    amount_cents: 300, units: '5', taxes_amount_cents: 60, taxes_rate: 20, total_amount_cents: 360, amount_currency: 'USD', pay_in_advance: true, invoiceable: false,
    item: { type: 'charge', code: `tok_${S}`, item_type: 'BillableMetric' },
  });
  expect((await ok('POST', '/events/estimate_fees', { event })).fees.map((f: any) => f.amount_cents)).toEqual([300]);
  // Each event of a batch is priced on its own against what is stored (both as if they alone arrived next).
  const batch = (await ok('POST', '/events/batch_estimate_instant_fees', { events: [{ event: { ...event, properties: { tokens: 2 } } }, { ...event, properties: { tokens: 3 } }] })).fees;
  expect(batch.map((f: any) => f.amount_cents)).toEqual([0, 100]);

  // Nothing stored: no fee, no event, and the same estimate again.
  expect((await ok('GET', `/fees?external_subscription_id=sub_${S}`)).fees.length).toBe(feesBefore);
  expect((await ok('GET', `/events?external_subscription_id=sub_${S}`)).events.length).toBe(eventsBefore);
  expect((await ok('POST', '/events/estimate_instant_fees', { event })).fees[0].amount_cents).toBe(300);

  // A metric with no pay-in-advance charge, an unknown subscription, a missing code: refused, with the field.
  expect((await sys.request('POST', '/events/estimate_fees', { event: { ...event, code: `seat_${S}` } })).body).toMatchObject({ status: 422, error_details: { code: ['does_not_match_an_instant_charge'] } });
  expect((await sys.request('POST', '/events/batch_estimate_instant_fees', { events: [event, { ...event, code: `seat_${S}` }] })).body).toMatchObject({ status: 422, error_details: { 'events.1.code': ['does_not_match_an_instant_charge'] } });
  expect((await sys.request('POST', '/events/estimate_instant_fees', { event: { ...event, external_subscription_id: `none_${S}` } })).body).toMatchObject({ status: 404, code: 'subscription_not_found' });
  const missing = await sys.request('POST', '/events/estimate_instant_fees', { event: { external_subscription_id: `sub_${S}` } });
  expect(missing.status).toBe(422);
  expect(Object.keys(missing.body.error_details)).toEqual(['code']);
});

test('invoice collection counts the finalized one-off invoice, paid, under its issuing month and currency', async () => {
  const month = `${new Date().toISOString().slice(0, 7)}-01T00:00:00.000Z`;
  const rows = (await ok('GET', '/analytics/invoice_collection?currency=USD')).invoice_collections;
  expect(rows).toEqual([{ month, payment_status: 'succeeded', invoices_count: 1, amount_cents: 5000, currency: 'USD' }]);
  expect((await ok('GET', '/analytics/invoice_collection?currency=EUR')).invoice_collections).toEqual([]);
  expect((await sys.request('GET', '/analytics/invoice_collection?months=0')).status).toBe(422);
});
