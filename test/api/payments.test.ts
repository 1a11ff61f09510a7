// Payment routes through the real HTTP API and Postgres, with the Stripe adapter on the stateful fake.
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { createApiKey } from '../../db/repositories/organizations';
import { listPaymentEvents, listPayments } from '../../db/repositories/payments';
import type { FakeStripe } from '../support/fake-stripe';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let fake: FakeStripe | null = null;

beforeAll(async () => {
  h = await startApiHarness({
    prefix: 'api_pay',
    paymentProviderFor: () => {
      if (!fake) throw new Error('no fake Stripe for this test');
      return new StripePaymentProvider(fake.client());
    },
  });
});
afterAll(async () => {
  await h?.stop();
});

async function setup(opts: Parameters<typeof finalizedInvoiceSetup>[1] = {}) {
  const s = await finalizedInvoiceSetup(h.database.db, opts);
  fake = s.fake;
  const key = await createApiKey(h.database.db, s.org.id);
  const call = (method: string, path: string, body?: unknown) =>
    h.raw(method, path, body === undefined ? undefined : JSON.stringify(body), { authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  return { s, call };
}

test('partial manual payments add up: 999 then 1000 of a 1999 invoice; total_paid / total_due follow and the invoice is paid at the second', async () => {
  const { s, call } = await setup();
  const first = await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 999, reference: 'wire-1', paid_at: '2026-12-02' } });
  expect(first.status).toBe(200);
  expect(first.body.payment).toMatchObject({ invoice_ids: [s.ref.invoiceId], amount_cents: 999, amount_currency: 'USD', type: 'manual', reference: 'wire-1', payment_status: 'succeeded', payable_type: 'Invoice' });
  let inv = (await call('GET', `/invoices/${s.ref.invoiceId}`)).body.invoice;
  expect(inv).toMatchObject({ payment_status: 'pending', total_amount_cents: 1999, total_paid_amount_cents: 999, total_due_amount_cents: 1000, payment_overdue: false, net_payment_term: 0 });
  await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 1000, reference: 'wire-2' } });
  inv = (await call('GET', `/invoices/${s.ref.invoiceId}`)).body.invoice;
  expect(inv).toMatchObject({ payment_status: 'succeeded', total_paid_amount_cents: 1999, total_due_amount_cents: 0 });
  expect(inv.payment_due_date === null || /^\d{4}-\d{2}-\d{2}$/.test(inv.payment_due_date)).toBe(true);
  expect((await listPaymentEvents(h.database.db, s.ref.organizationId, s.ref.invoiceId)).map((e) => e.eventType)).toEqual(['payment.manual_recorded', 'invoice.payment_status_updated', 'payment.manual_recorded']) // pending → succeeded at the second;
});

test('a manual payment above the amount due is 422 amount_exceeds_due and writes nothing; an unknown invoice is 404; a bad body names the field', async () => {
  const { s, call } = await setup();
  const over = await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 2000, reference: 'too-much' } });
  expect(over).toMatchObject({ status: 422, body: { code: 'validation_errors', error_details: { amount_cents: ['amount_exceeds_due'] } } });
  expect(await listPayments(h.database.db, s.ref.organizationId, s.ref.invoiceId)).toHaveLength(0);
  const missing = await call('POST', '/payments', { payment: { invoice_id: '00000000-0000-4000-8000-000000000000', amount_cents: 1, reference: 'x' } });
  expect(missing).toMatchObject({ status: 404, body: { code: 'invoice_not_found' } });
  const bad = await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: -5, reference: 'x' } });
  expect(bad.status).toBe(422);
  expect(Object.keys(bad.body.error_details)).toContain('amount_cents');
});

test('checkout_url creates and links the Stripe customer and answers a setup-mode Checkout URL in Lago shape; without Stripe it is 422', async () => {
  const { s, call } = await setup();
  const res = await call('POST', `/customers/${s.customer.externalId}/checkout_url`);
  expect(res.status).toBe(200);
  expect(res.body.customer).toMatchObject({ lago_customer_id: s.customer.id, external_customer_id: s.customer.externalId, payment_provider: 'stripe', payment_provider_code: 'stripe-test' });
  expect(res.body.customer.checkout_url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
  const session = [...s.fake.checkoutSessions.values()][0]!;
  expect(session.mode).toBe('setup');
  const linked = await h.database.db('customers').where({ id: s.customer.id }).first();
  expect(session.customer).toBe(linked.provider_customer_id);
  const none = await setup({ stripe: false });
  await expect(none.call('POST', `/customers/${none.s.customer.externalId}/checkout_url`)).resolves.toMatchObject({ status: 422, body: { code: 'payment_provider_not_configured' } });
});

test('payment_url answers a payment-mode Checkout URL for the amount due of an unpaid invoice, and 422 once it is paid', async () => {
  const { s, call } = await setup();
  await linkCard(h.database.db, s);
  const res = await call('POST', `/invoices/${s.ref.invoiceId}/payment_url`);
  expect(res.status).toBe(200);
  expect(res.body.invoice_payment_details).toMatchObject({ lago_invoice_id: s.ref.invoiceId, lago_customer_id: s.customer.id, payment_provider: 'stripe' });
  const session = s.fake.requests.find((r) => r.path === '/v1/checkout/sessions')!;
  expect(session.form).toMatchObject({ mode: 'payment', line_items: { '0': { quantity: '1', price_data: { currency: 'usd', unit_amount: '1999' } } }, metadata: { lago_invoice_id: s.ref.invoiceId } });
  await call('POST', '/payments', { payment: { invoice_id: s.ref.invoiceId, amount_cents: 1999, reference: 'paid' } });
  await expect(call('POST', `/invoices/${s.ref.invoiceId}/payment_url`)).resolves.toMatchObject({ status: 422, body: { code: 'invoice_payment_already_succeeded' } });
});
