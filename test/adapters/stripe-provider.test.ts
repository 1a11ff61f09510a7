// The Stripe adapter through the SDK's own HTTP hook (Stripe.createFetchHttpClient) into the stateful fake:
// asserts the exact paths, form bodies and Idempotency-Key headers the real SDK sends, and how each Stripe
// answer is classified.
import { ApplicationFailure } from '@temporalio/common';
import Stripe from 'stripe';
import { paymentIdempotencyKey } from '../../activities/payment-provider';
import { StripePaymentProvider, stripeHostOptions } from '../../adapters/stripe/provider';
import { FakeStripe } from '../support/fake-stripe';

function setup() {
  const fake = new FakeStripe();
  const provider = new StripePaymentProvider(fake.client());
  return { fake, provider };
}

async function customerWithCard(fake: FakeStripe, provider: StripePaymentProvider, behaviour: Parameters<FakeStripe['addCard']>[1] = 'succeeds') {
  const { providerCustomerId } = await provider.syncCustomer({ customerId: 'c-1', externalCustomerId: 'ext-1', name: 'Acme', email: 'a@acme.test', providerCustomerId: null });
  const pm = fake.addCard(providerCustomerId, behaviour);
  return { providerCustomerId, pm };
}

const attempt = (providerCustomerId: string, n = 1, amountCents = 1999, currency = 'USD') => ({
  invoiceId: 'inv-1',
  attempt: n,
  idempotencyKey: paymentIdempotencyKey('inv-1', n),
  amountCents,
  currency,
  providerCustomerId,
  invoiceNumber: 'ORG-202612-001',
});

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

test('syncCustomer creates the Stripe customer once with an idempotency key from the Meterline customer id and its ids in metadata', async () => {
  const { fake, provider } = setup();
  const first = await provider.syncCustomer({ customerId: 'c-1', externalCustomerId: 'ext-1', name: 'Acme', email: 'a@acme.test', providerCustomerId: null });
  const again = await provider.syncCustomer({ customerId: 'c-1', externalCustomerId: 'ext-1', name: 'Acme', email: 'a@acme.test', providerCustomerId: null });
  expect(again.providerCustomerId).toBe(first.providerCustomerId); // replayed by the idempotency key
  expect(fake.customers.size).toBe(1);
  const req = fake.requests[0]!;
  expect(req).toMatchObject({ method: 'POST', path: '/v1/customers', form: { name: 'Acme', email: 'a@acme.test', metadata: { lago_customer_id: 'c-1', customer_id: 'ext-1' } } });
  expect(req.headers['idempotency-key']).toBe('customer:c-1:create');
});

test('syncCustomer links an existing Stripe customer and rejects an unknown one as a non-retryable invalid request', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await customerWithCard(fake, provider);
  await expect(provider.syncCustomer({ customerId: 'c-2', externalCustomerId: 'ext-2', name: null, email: null, providerCustomerId })).resolves.toEqual({ providerCustomerId });
  expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: `/v1/customers/${providerCustomerId}` });
  const err = await failureOf(provider.syncCustomer({ customerId: 'c-2', externalCustomerId: 'ext-2', name: null, email: null, providerCustomerId: 'cus_missing' }));
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'payment_invalid_request', nonRetryable: true, details: [{ code: 'resource_missing' }] });
});

test('createPayment sends an off-session confirmed PaymentIntent for the total in minor units with the attempt idempotency key and metadata', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId, pm } = await customerWithCard(fake, provider);
  const payment = await provider.createPayment(attempt(providerCustomerId));
  expect(payment).toMatchObject({ status: 'succeeded', amountCents: 1999, currency: 'USD', declineCode: null });
  const req = fake.requests.find((r) => r.method === 'POST' && r.path === '/v1/payment_intents')!;
  expect(req.headers['idempotency-key']).toBe('invoice:inv-1:attempt:1');
  expect(req.form).toEqual({
    amount: '1999',
    currency: 'usd',
    customer: providerCustomerId,
    payment_method: pm,
    confirm: 'true',
    off_session: 'true',
    description: 'Invoice ORG-202612-001',
    metadata: { lago_invoice_id: 'inv-1', lago_payment_attempt: '1' },
  });
});

test('Stripe special currencies go through toStripeMinorUnits: 500 ISK is sent as 50000 and read back as 500', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await customerWithCard(fake, provider);
  const payment = await provider.createPayment(attempt(providerCustomerId, 1, 500, 'ISK'));
  expect(fake.requests.find((r) => r.path === '/v1/payment_intents')!.form.amount).toBe('50000');
  expect(payment.amountCents).toBe(500);
});

test('a card decline becomes a non-retryable payment_declined failure that keeps the decline code and the PaymentIntent id', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await customerWithCard(fake, provider, { decline: 'insufficient_funds' });
  const err = await failureOf(provider.createPayment(attempt(providerCustomerId)));
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failure = err as ApplicationFailure;
  expect(failure).toMatchObject({ type: 'payment_declined', nonRetryable: true });
  expect(failure.details?.[0]).toMatchObject({ code: 'card_declined', declineCode: 'insufficient_funds' });
  expect((failure.details?.[0] as { providerPaymentId: string }).providerPaymentId).toMatch(/^pi_/);
});

test('3-D Secure on an off-session payment is not a decline: the payment is returned as requires_action', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await customerWithCard(fake, provider, 'requires_authentication');
  const payment = await provider.createPayment(attempt(providerCustomerId));
  expect(payment).toMatchObject({ status: 'requires_action', declineCode: 'authentication_required' });
  expect(payment.providerPaymentId).toMatch(/^pi_/);
});

test('rate limits and 5xx are rethrown as the SDK errors (transient, retried by the activity policy), never ApplicationFailures', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await customerWithCard(fake, provider);
  fake.failNext('rate_limit');
  const limited = await failureOf(provider.createPayment(attempt(providerCustomerId)));
  expect(limited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
  fake.failNext('server_error');
  expect(await failureOf(provider.createPayment(attempt(providerCustomerId)))).toBeInstanceOf(Stripe.errors.StripeAPIError);
  expect(fake.succeededCharges()).toHaveLength(0);
  // The 429 was not saved under the key: the retry with the same key executes.
  await expect(provider.createPayment(attempt(providerCustomerId))).resolves.toMatchObject({ status: 'succeeded' });
  expect(fake.succeededCharges()).toHaveLength(1);
});

test('a 500 after the charge executed is replayed for the same key (cached error); findPayment finds the charge by metadata', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await customerWithCard(fake, provider);
  fake.failNext('server_error_after_execution');
  expect(await failureOf(provider.createPayment(attempt(providerCustomerId)))).toBeInstanceOf(Stripe.errors.StripeAPIError);
  // Stripe saved the 500 for the key: retrying the same request gets the same 500 again.
  expect(await failureOf(provider.createPayment(attempt(providerCustomerId)))).toBeInstanceOf(Stripe.errors.StripeAPIError);
  expect(fake.succeededCharges()).toHaveLength(1);
  const found = await provider.findPayment({ providerCustomerId, invoiceId: 'inv-1', attempt: 1 });
  expect(found).toMatchObject({ status: 'succeeded', amountCents: 1999 });
  expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/payment_intents', form: { customer: providerCustomerId, limit: '100' } });
  await expect(provider.findPayment({ providerCustomerId, invoiceId: 'inv-1', attempt: 2 })).resolves.toBeNull();
});

test('the same idempotency key with another amount is a non-retryable idempotency conflict', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await customerWithCard(fake, provider);
  await provider.createPayment(attempt(providerCustomerId));
  const err = await failureOf(provider.createPayment(attempt(providerCustomerId, 1, 2500)));
  expect(err).toMatchObject({ type: 'payment_idempotency_conflict', nonRetryable: true });
  expect(fake.succeededCharges()).toHaveLength(1);
});

test('a customer without a payment method fails with payment_method_missing before any PaymentIntent is created', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await provider.syncCustomer({ customerId: 'c-1', externalCustomerId: 'ext-1', name: null, email: null, providerCustomerId: null });
  expect(await failureOf(provider.createPayment(attempt(providerCustomerId)))).toMatchObject({ type: 'payment_method_missing', nonRetryable: true });
  expect(fake.requests.some((r) => r.method === 'POST' && r.path === '/v1/payment_intents')).toBe(false);
});

test('the setup checkout URL is a Checkout Session in setup mode for the customer, and the refund carries its own key', async () => {
  const { fake, provider } = setup();
  const { providerCustomerId } = await customerWithCard(fake, provider);
  const { url } = await provider.createSetupCheckoutUrl({ providerCustomerId, customerId: 'c-1', successUrl: 'https://example.test/done' });
  expect(url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
  expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/checkout/sessions', form: { mode: 'setup', customer: providerCustomerId, success_url: 'https://example.test/done' } });
  const payment = await provider.createPayment(attempt(providerCustomerId));
  const refund = await provider.refund({ providerPaymentId: payment.providerPaymentId, amountCents: 500, currency: 'USD', idempotencyKey: 'credit_note:cn-1:refund', reference: 'cn-1', creditNoteId: 'cn-1' });
  expect(refund).toMatchObject({ status: 'succeeded', amountCents: 500 });
  expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/refunds', form: { payment_intent: payment.providerPaymentId, amount: '500' }, headers: { 'idempotency-key': 'credit_note:cn-1:refund' } });
});

test('METERLINE_STRIPE_API_BASE becomes the SDK host/port/protocol options; unset keeps Stripe’s own endpoint', () => {
  expect(stripeHostOptions(undefined)).toEqual({});
  expect(stripeHostOptions('http://127.0.0.1:12111')).toEqual({ host: '127.0.0.1', port: 12111, protocol: 'http' });
  expect(stripeHostOptions('https://stripe-proxy.internal')).toEqual({ host: 'stripe-proxy.internal', port: 443, protocol: 'https' });
});
