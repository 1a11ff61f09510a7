// The ops13d operations (issue 13) through the real HTTP API and Postgres: wallet metadata by customer and wallet
// code, wallet alerts (thresholds decreasing), wallet transaction consumptions / fundings (FIFO pairing), payment
// methods (synced from the Stripe fake, the provider at the internet's edge), GET /analytics/usage and POST
// /billable_metrics/evaluate_expression. Each route: a 2xx and a 4xx naming the offending field or object.
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { upsertProviderConfig } from '../../db/repositories/payments';
import { createActivities } from '../../activities';
import { FakeStripe } from '../support/fake-stripe';
import { createBillingSetup, ingestEvents } from '../support/fixtures';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
const fake = new FakeStripe();

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_o13d', paymentProviderFor: (cfg) => new StripePaymentProvider(fake.client(cfg.secretKey)) });
});
afterAll(async () => {
  await h?.stop();
});

async function walletOf(customer: string, code: string) {
  expect((await h.request('POST', '/customers', { customer: { external_id: customer, currency: 'USD' } })).status).toBe(200);
  const w = await h.request('POST', `/customers/${customer}/wallets`, { wallet: { name: 'W', code, rate_amount: '1', currency: 'USD', granted_credits: '5' } });
  expect(w.status).toBe(200);
  return w.body.wallet;
}

test('wallet metadata by customer and wallet code: replace, merge, delete a key, clear; an unknown wallet code is 404 wallet_not_found', async () => {
  await walletOf('o13d_meta', 'w_meta');
  const base = '/customers/o13d_meta/wallets/w_meta/metadata';
  expect((await h.request('POST', base, { metadata: { a: '1', b: '2' } })).body).toEqual({ metadata: { a: '1', b: '2' } });
  expect((await h.request('PATCH', base, { metadata: { c: '3' } })).body).toEqual({ metadata: { a: '1', b: '2', c: '3' } });
  expect((await h.request('DELETE', `${base}/a`)).body).toEqual({ metadata: { b: '2', c: '3' } });
  expect((await h.request('GET', '/customers/o13d_meta/wallets/w_meta')).body.wallet.metadata).toEqual({ b: '2', c: '3' });
  expect(await h.request('DELETE', base)).toMatchObject({ status: 200, body: { metadata: null } });
  expect(await h.request('POST', '/customers/o13d_meta/wallets/nope/metadata', { metadata: { a: '1' } })).toMatchObject({ status: 404, body: { code: 'wallet_not_found' } });
  expect(await h.request('POST', base, { metadata: 'x' })).toMatchObject({ status: 422, body: { error_details: { metadata: expect.any(Array) } } });
  expect(await h.request('PATCH', '/customers/o13d_meta/wallets/nope/metadata', { metadata: { a: '1' } })).toMatchObject({ status: 404, body: { code: 'wallet_not_found' } });
  expect(await h.request('DELETE', '/customers/nobody_o13d/wallets/w_meta/metadata')).toMatchObject({ status: 404, body: { code: 'wallet_not_found' } });
  expect(await h.request('DELETE', '/customers/o13d_meta/wallets/nope/metadata/b')).toMatchObject({ status: 404, body: { code: 'wallet_not_found' } });
});

test('wallet alerts: create one and a batch, read, list, update, delete one and all; increasing thresholds and a duplicate code are 422 on their field; another organization gets 404', async () => {
  await walletOf('o13d_alerts', 'w_alerts');
  const base = '/customers/o13d_alerts/wallets/w_alerts/alerts';
  const one = await h.request('POST', base, { alert: { alert_type: 'wallet_balance_amount', code: 'low', name: 'Low', thresholds: [{ code: 'warn', value: 300 }, { value: '100' }] } });
  expect(one.status).toBe(200);
  expect(one.body.alert).toMatchObject({ code: 'low', direction: 'decreasing', wallet_code: 'w_alerts', thresholds: [{ code: 'warn', value: '300', recurring: false }, { code: null, value: '100', recurring: false }] });
  const batch = await h.request('POST', base, { alerts: [{ alert_type: 'wallet_credits_balance', code: 'credits', thresholds: [{ value: '2' }] }] });
  expect(batch.body.alerts.map((a: any) => a.code)).toEqual(['credits']);
  expect(await h.request('POST', base, { alert: { alert_type: 'wallet_ongoing_balance_amount', code: 'up', thresholds: [{ value: 100 }, { value: 300 }] } })).toMatchObject({ status: 422, body: { error_details: { thresholds: expect.any(Array) } } });
  expect(await h.request('POST', base, { alert: { alert_type: 'wallet_ongoing_balance_amount', code: 'low', thresholds: [{ value: 1 }] } })).toMatchObject({ status: 422, body: { error_details: { code: ['value_already_exist'] } } });

  expect((await h.request('GET', `${base}/low`)).body.alert.lago_id).toBe(one.body.alert.lago_id);
  expect((await h.request('GET', base)).body).toMatchObject({ alerts: [{ code: expect.any(String) }, { code: expect.any(String) }], meta: { total_count: 2 } });
  expect((await h.request('PUT', `${base}/low`, { alert: { name: 'Lower', thresholds: [{ value: 200 }] } })).body.alert).toMatchObject({ name: 'Lower', thresholds: [{ value: '200' }] });
  const bad = await h.request('PUT', `${base}/low`, { alert: { thresholds: [{ value: 'ten' }] } });
  expect(bad.status).toBe(422);
  expect(Object.keys(bad.body.error_details).join()).toMatch(/thresholds/);
  expect(await h.request('GET', `${base}/missing`)).toMatchObject({ status: 404, body: { code: 'alert_not_found' } });
  expect(await h.request('DELETE', `${base}/missing`)).toMatchObject({ status: 404, body: { code: 'alert_not_found' } });
  expect(await h.request('GET', '/customers/o13d_alerts/wallets/nope/alerts')).toMatchObject({ status: 404, body: { code: 'wallet_not_found' } });
  expect(await h.request('DELETE', '/customers/nobody_o13d/wallets/w_alerts/alerts')).toMatchObject({ status: 404, body: { code: 'customer_not_found' } });

  // Another organization naming this customer and wallet finds nothing.
  const other = await ensureOrganization(h.database.db, 'o13d-other', 'Other');
  const key = await createApiKey(h.database.db, other.id);
  const asOther = await h.raw('GET', base, undefined, { authorization: `Bearer ${key}` });
  expect(asOther).toMatchObject({ status: 404, body: { code: 'customer_not_found' } });

  expect((await h.request('DELETE', `${base}/low`)).body.alert.code).toBe('low');
  expect((await h.request('DELETE', base)).body.alerts.map((a: any) => a.code)).toEqual(['credits']);
  expect((await h.request('GET', base)).body.alerts).toEqual([]);
});

test('consumptions of an inbound transaction and fundings of an outbound one pair the voided credits with the granted credits they spent; the wrong side is 422 transaction_type', async () => {
  const w = await walletOf('o13d_traces', 'w_traces');
  const moves = (await h.request('POST', '/wallet_transactions', { wallet_transaction: { wallet_id: w.lago_id, voided_credits: '2' } })).body.wallet_transactions;
  const outbound = moves.find((x: any) => x.transaction_type === 'outbound');
  const inbound = (await h.request('GET', `/wallets/${w.lago_id}/wallet_transactions`)).body.wallet_transactions.find((x: any) => x.transaction_type === 'inbound');
  const fundings = await h.request('GET', `/wallet_transactions/${outbound.lago_id}/fundings`);
  expect(fundings.status).toBe(200);
  expect(fundings.body.wallet_transaction_fundings).toMatchObject([{ amount_cents: 200, credit_amount: '2', wallet_transaction: { lago_id: inbound.lago_id } }]);
  const consumptions = await h.request('GET', `/wallet_transactions/${inbound.lago_id}/consumptions`);
  expect(consumptions.body.wallet_transaction_consumptions).toMatchObject([{ amount_cents: 200, wallet_transaction: { lago_id: outbound.lago_id } }]);
  expect(await h.request('GET', `/wallet_transactions/${outbound.lago_id}/consumptions`)).toMatchObject({ status: 422, body: { error_details: { transaction_type: ['must_be_inbound'] } } });
  expect(await h.request('GET', `/wallet_transactions/${inbound.lago_id}/fundings`)).toMatchObject({ status: 422, body: { error_details: { transaction_type: ['must_be_outbound'] } } });
  expect(await h.request('GET', '/wallet_transactions/00000000-0000-4000-8000-000000000000/consumptions')).toMatchObject({ status: 404, body: { code: 'wallet_transaction_not_found' } });
});

test("payment methods: listed from Stripe, one set as default (written through to Stripe), the other deleted; the default is not deletable while others exist (422 payment_method)", async () => {
  await upsertProviderConfig(h.database.db, { organizationId: h.org.id, code: 'stripe-o13d', secretKey: 'sk_test_fake', webhookSecret: 'whsec_test', successRedirectUrl: 'https://example.test/thanks' });
  const customer = (await h.request('POST', '/customers', { customer: { external_id: 'o13d_pm', currency: 'USD' } })).body.customer;
  const { providerCustomerId } = await new StripePaymentProvider(fake.client()).syncCustomer({ customerId: customer.lago_id, externalCustomerId: 'o13d_pm', name: null, email: null, providerCustomerId: null });
  await h.database.db('customers').where({ id: customer.lago_id }).update({ payment_provider: 'stripe', provider_customer_id: providerCustomerId });
  const first = fake.addCard(providerCustomerId);
  const second = fake.attachCard(providerCustomerId);
  const list = await h.request('GET', '/customers/o13d_pm/payment_methods');
  expect(list.status).toBe(200);
  const byStripe = new Map(list.body.payment_methods.map((m: any) => [m.provider_method_id, m]));
  expect(byStripe.get(first)).toMatchObject({ is_default: true, payment_provider_type: 'stripe', payment_provider_code: 'stripe-o13d' });
  expect(byStripe.get(second)).toMatchObject({ is_default: false });
  const firstId = (byStripe.get(first) as any).lago_id;
  const secondId = (byStripe.get(second) as any).lago_id;

  expect(await h.request('DELETE', `/customers/o13d_pm/payment_methods/${firstId}`)).toMatchObject({ status: 422, body: { error_details: { payment_method: ['cannot_delete_default'] } } });
  expect((await h.request('PUT', `/customers/o13d_pm/payment_methods/${secondId}/set_as_default`)).body.payment_method).toMatchObject({ lago_id: secondId, is_default: true });
  const stripeCustomer = (await fake.client().customers.retrieve(providerCustomerId)) as any;
  expect(stripeCustomer.invoice_settings.default_payment_method).toBe(second);
  expect((await h.request('DELETE', `/customers/o13d_pm/payment_methods/${firstId}`)).body.payment_method).toMatchObject({ lago_id: firstId });
  expect((await h.request('GET', '/customers/o13d_pm/payment_methods')).body.payment_methods.map((m: any) => [m.lago_id, m.is_default])).toEqual([[secondId, true]]);
  expect(await h.request('PUT', '/customers/o13d_pm/payment_methods/00000000-0000-4000-8000-000000000000/set_as_default')).toMatchObject({ status: 404, body: { code: 'payment_method_not_found' } });
  expect(await h.request('GET', '/customers/nobody_o13d/payment_methods')).toMatchObject({ status: 404, body: { code: 'customer_not_found' } });
});

test('analytics/usage answers invoiced usage rows (none yet) and names a bad granularity; evaluate_expression computes exactly and names the expression it cannot parse', async () => {
  expect(await h.request('GET', '/analytics/usage?time_granularity=daily')).toMatchObject({ status: 200, body: { usages: [] } });
  expect(await h.request('GET', '/analytics/usage?time_granularity=hourly')).toMatchObject({ status: 422, body: { error_details: { time_granularity: expect.any(Array) } } });
  expect(await h.request('GET', '/analytics/usage?from_date=2026-12-02&to_date=2026-12-01')).toMatchObject({ status: 422, body: { error_details: { to_date: ['before_from_date'] } } });
  const ok = await h.request('POST', '/billable_metrics/evaluate_expression', { expression: 'ROUND(event.properties.n * 2)', event: { code: 'x', properties: { n: '1.6' } } });
  expect(ok).toMatchObject({ status: 200, body: { expression_result: { value: '3' } } });
  expect(await h.request('POST', '/billable_metrics/evaluate_expression', { expression: 'ROUND(', event: { code: 'x', properties: {} } })).toMatchObject({ status: 422, body: { error_details: { expression: expect.any(Array) } } });
  expect(await h.request('POST', '/billable_metrics/evaluate_expression', { expression: '1 + 1' })).toMatchObject({ status: 422, body: { error_details: { event: expect.any(Array) } } });
});

test('analytics/usage sums the charge fees of a finalized invoice per month and metric (amount and units), in the invoice organization only', async () => {
  const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
  const s = await createBillingSetup(h.database.db, {
    planAmountCents: 1000,
    subscriptionAt: NOV.start,
    metrics: [{ code: 'o13d_calls', aggregationType: 'sum_agg', fieldName: 'calls' }],
    charges: ([calls]) => [{ metricId: calls!.id, properties: { amount: '0.5' } }],
  });
  await ingestEvents(h.database.db, s.ref, [
    { code: 'o13d_calls', timestamp: '2026-11-03T10:00:00Z', properties: { calls: 3 }, transactionId: 'o13d_u1' },
    { code: 'o13d_calls', timestamp: '2026-11-20T10:00:00Z', properties: { calls: 4.5 }, transactionId: 'o13d_u2' },
  ]);
  const billing = createActivities({ db: h.database.db });
  const draft = await billing.createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV });
  await billing.finalizeInvoice({ organizationId: s.org.id, invoiceId: draft.invoiceId });
  const key = await createApiKey(h.database.db, s.org.id);
  const usage = await h.raw('GET', '/analytics/usage?time_granularity=monthly', undefined, { authorization: `Bearer ${key}` });
  expect(usage.status).toBe(200);
  // 7.5 calls at 0.50 = 375 cents; the plan's subscription fee is not usage.
  expect(usage.body.usages).toEqual([
    { organization_id: s.org.id, start_of_period_dt: '2026-11-01', end_of_period_dt: '2026-11-30', amount_currency: 'USD', amount_cents: 375, billable_metric_code: 'o13d_calls', units: '7.5', is_billable_metric_deleted: false },
  ]);
  expect((await h.request('GET', '/analytics/usage?time_granularity=monthly')).body.usages).toEqual([]);
});
