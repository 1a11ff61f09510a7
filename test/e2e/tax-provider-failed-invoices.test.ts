// failed13 (issue 13) end to end: an organization taxed by an external engine (the fake Anrok behind Lago's
// integration-aggregator protocol, over HTTP at the edge), real API, worker, Postgres and Temporal dev server, a test
// clock for time. A customer whose address the engine cannot place: the period's invoice becomes `failed` with
// error_details, takes no number, and billing goes on (the next period closes). After the address is fixed, the
// next period's finalization survives the engine's transient errors (503, 429: retried), and a retry finalizes the
// failed invoice with the engine's taxes and the next number. A retry of a finalized invoice is 405 invalid_status.
import { advanceTestClock, eventually, startSystem, type System } from './harness';
import { startFakeTaxEngineServer, type FakeTaxEngineServer } from '../support/fake-tax-engine';

jest.setTimeout(600_000);

let sys: System;
let engine: FakeTaxEngineServer;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
const month = (i: number) => new Date(Date.UTC(2025, i, 1));

beforeAll(async () => {
  engine = await startFakeTaxEngineServer();
  sys = await startSystem('dev-server');
  const settings = await r('PUT', '/tax_settings', { tax_settings: { automatic_taxes_enabled: false, tax_provider: { provider: 'anrok', code: 'anrok_prod', api_url: engine.url, api_key: engine.apiKey } } });
  expect(settings.status).toBe(200);
  expect(settings.body.tax_settings.tax_provider).toEqual({ provider: 'anrok', code: 'anrok_prod', api_url: engine.url, api_key_last4: engine.apiKey.slice(-4) });
  // An endpoint, so the outbox records the webhooks (delivery is not part of this test).
  expect((await r('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: 'http://127.0.0.1:9/hooks' } })).status).toBe(200);
  expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'calls', aggregation_type: 'count_agg' } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: {
    name: 'Taxed', code: 'taxed', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false,
    charges: [{ billable_metric_code: 'calls', charge_model: 'standard', properties: { amount: '0.01' } }],
  } })).status).toBe(200);
  // New York without a ZIP code: the engine cannot place it.
  expect((await r('POST', '/customers', { customer: { external_id: 'nyc', name: 'NYC Inc', currency: 'USD', timezone: 'UTC', country: 'US', state: 'NY', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
  await engine?.close();
});

async function periodInvoice(subscriptionId: string, start: Date, status: string) {
  return eventually(async () => {
    const row = await sys.database.db('invoices').where({ subscription_id: subscriptionId, invoice_type: 'subscription', period_start: start }).first('id', 'status', 'number');
    return row?.status === status ? row : undefined;
  }, 120_000, `the invoice of ${start.toISOString()} ${status}`);
}

it('a permanent tax-engine error fails the invoice (error_details, no number), billing goes on, retry after the fix finalizes with the engine\'s taxes', async () => {
  const clock = await r('POST', '/test_clocks', { test_clock: { name: 'taxed', frozen_time: month(0).toISOString() } });
  expect(clock.status).toBe(200);
  const clockId: string = clock.body.test_clock.lago_id;
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'nyc', plan_code: 'taxed', external_id: 'nyc-main', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;
  const events = Array.from({ length: 100 }, (_, k) => ({ transaction_id: `c${k}`, external_subscription_id: 'nyc-main', code: 'calls' }));
  expect((await r('POST', '/events/batch', { events })).status).toBe(200);

  // Period 1 closes: the engine refuses the address → failed, no number, one error detail, Lago's webhook.
  await advanceTestClock(sys, clockId, month(1));
  const first = await periodInvoice(subscriptionId, month(0), 'failed');
  expect(first.number).toBeNull();
  expect(engine.calls).toContain(`invoice:${first.id}:taxes`);
  const failed = await r('GET', `/invoices/${first.id}`);
  expect(failed.status).toBe(200);
  expect(failed.body.invoice).toMatchObject({ status: 'failed', fees_amount_cents: 1100 });
  expect(failed.body.invoice.error_details).toEqual([
    { lago_id: expect.any(String), error_code: 'tax_error', details: { tax_error: 'customerAddressCouldNotResolve', tax_error_message: expect.stringContaining('customerAddressCouldNotResolve') } },
  ]);
  const listed = await r('GET', '/invoices?status=failed');
  expect(listed.body.invoices.map((i: { lago_id: string }) => i.lago_id)).toEqual([first.id]);
  const hooks = await sys.database.db('webhooks').where({ webhook_type: 'customer.tax_provider_error' }).select('payload');
  expect(hooks).toHaveLength(1);
  expect(JSON.parse(hooks[0].payload).tax_provider_customer_error).toMatchObject({
    lago_customer_id: expect.any(String), external_customer_id: 'nyc', tax_provider: 'anrok', tax_provider_code: 'anrok_prod',
    provider_error: { error_code: 'customerAddressCouldNotResolve' },
  });

  // A retry before the fix: failed again, the old error detail replaced by a new one.
  const again = await r('POST', `/invoices/${first.id}/retry`, {});
  expect(again.status).toBe(200);
  expect(again.body.invoice.status).toBe('failed');
  expect(again.body.invoice.error_details).toHaveLength(1);
  expect(again.body.invoice.error_details[0].lago_id).not.toBe(failed.body.invoice.error_details[0].lago_id);
  // A retry is a new engine request, keyed by the error detail it answers.
  expect(engine.calls).toContain(`invoice:${first.id}:taxes:retry:${failed.body.invoice.error_details[0].lago_id}`);

  // The address is fixed; the next period closes and is finalized through two transient engine errors (retried).
  expect((await r('POST', '/customers', { customer: { external_id: 'nyc', name: 'NYC Inc', currency: 'USD', timezone: 'UTC', country: 'US', state: 'NY', zipcode: '10001' } })).status).toBe(200);
  engine.failNext.push('http_503', 'http_429');
  await advanceTestClock(sys, clockId, month(2));
  const second = await periodInvoice(subscriptionId, month(1), 'finalized');
  expect(engine.calls.filter((k) => k === `invoice:${second.id}:taxes`).length).toBeGreaterThanOrEqual(3);
  const secondBody = (await r('GET', `/invoices/${second.id}`)).body.invoice;
  // 1000 × 8.875 % = 88.75 → 89 (the engine rounds per line); the usage line of 0 calls has no tax.
  expect(secondBody).toMatchObject({ status: 'finalized', fees_amount_cents: 1000, taxes_amount_cents: 89, total_amount_cents: 1089, error_details: [] });
  expect(secondBody.number).toMatch(/-000001$/);
  expect(secondBody.applied_taxes).toEqual([expect.objectContaining({ tax_code: 'sales_tax_us_ny', tax_rate: 8.875, amount_cents: 89 })]);

  // Retry of the failed first invoice: finalized with the engine's taxes and the NEXT number (none was consumed).
  const retried = await r('POST', `/invoices/${first.id}/retry`, {});
  expect(retried.status).toBe(200);
  // 1000 → 88.75 → 89 and 100 → 8.875 → 9: 98 of taxes.
  expect(retried.body.invoice).toMatchObject({ lago_id: first.id, status: 'finalized', fees_amount_cents: 1100, taxes_amount_cents: 98, total_amount_cents: 1198, error_details: [] });
  expect(retried.body.invoice.number).toMatch(/-000002$/);
  expect(engine.calls.at(-1)).toBe(`invoice:${first.id}:taxes:retry:${again.body.invoice.error_details[0].lago_id}`);
  expect(await sys.database.db('invoice_error_details').where({ invoice_id: first.id }).select('id')).toEqual([]);

  // Only a failed invoice can be retried (Lago: 405 invalid_status); an unknown one is 404.
  const refused = await r('POST', `/invoices/${first.id}/retry`, {});
  expect(refused.status).toBe(405);
  expect(refused.body).toMatchObject({ status: 405, code: 'invalid_status' });
  expect((await r('POST', '/invoices/00000000-0000-4000-8000-000000000000/retry', {})).status).toBe(404);
});
