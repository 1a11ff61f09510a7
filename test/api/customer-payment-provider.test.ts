// Customers' billing_configuration payment fields (Lago's shape) through the real HTTP API and Postgres, with the
// Stripe fake behind the payment-provider port: link an existing Stripe customer, or create one on the spot.
import { ApplicationFailure } from '@temporalio/common';
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { upsertProviderConfig } from '../../db/repositories/payments';
import { createWebhookEndpoint } from '../../db/repositories/webhooks';
import { FakeStripe } from '../support/fake-stripe';
import { startApiHarness, type ApiHarness } from './harness';

const fake = new FakeStripe();
let failNext = false;
let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness({
    prefix: 'api_custpp',
    paymentProviderFor: (cfg) => {
      const real = new StripePaymentProvider(fake.client(cfg.secretKey));
      return Object.assign(Object.create(real) as StripePaymentProvider, {
        syncCustomer: async (input: Parameters<StripePaymentProvider['syncCustomer']>[0]) => {
          if (failNext) {
            failNext = false;
            throw ApplicationFailure.create({ message: 'Invalid email address', type: 'provider_invalid_request', nonRetryable: true, details: [{ code: 'email_invalid' }] });
          }
          return real.syncCustomer(input);
        },
      });
    },
  });
  await createWebhookEndpoint(h.database.db, h.org.id, { webhookUrl: 'http://127.0.0.1:9/hook' });
});
afterAll(async () => {
  await h?.stop();
});

const outbox = (type: string) => h.database.db('webhooks').where({ organization_id: h.org.id, webhook_type: type }).select('payload', 'object_id');

test('without a Stripe connection, payment_provider and a linked provider_customer_id are stored and served; nothing is called', async () => {
  const res = await h.request('POST', '/customers', { customer: { external_id: 'linked', billing_configuration: { payment_provider: 'stripe', provider_customer_id: 'cus_existing1' } } });
  expect(res.status).toBe(200);
  expect(res.body.customer.billing_configuration).toMatchObject({ payment_provider: 'stripe', provider_customer_id: 'cus_existing1' });
  const row = await h.database.db('customers').where({ organization_id: h.org.id, external_id: 'linked' }).first('payment_provider', 'provider_customer_id');
  expect(row).toEqual({ payment_provider: 'stripe', provider_customer_id: 'cus_existing1' });
  expect((await h.request('GET', '/customers/linked')).body.customer.billing_configuration.provider_customer_id).toBe('cus_existing1');
  // payment_provider: null unlinks.
  const unlinked = await h.request('POST', '/customers', { customer: { external_id: 'linked', billing_configuration: { payment_provider: null } } });
  expect(unlinked.body.customer.billing_configuration).not.toHaveProperty('provider_customer_id');
  expect(await h.database.db('customers').where({ organization_id: h.org.id, external_id: 'linked' }).first('provider_customer_id')).toEqual({ provider_customer_id: null });
  // Without a connection, sync_with_provider waits for the first payment.
  const waiting = await h.request('POST', '/customers', { customer: { external_id: 'waits', billing_configuration: { payment_provider: 'stripe', sync_with_provider: true } } });
  expect(waiting.body.customer.billing_configuration).toMatchObject({ payment_provider: 'stripe', provider_customer_id: null });
});

test('with Stripe connected, sync_with_provider creates the Stripe customer once and announces customer.payment_provider_created', async () => {
  await upsertProviderConfig(h.database.db, { organizationId: h.org.id, code: 'stripe-main', secretKey: 'sk_test_fake', webhookSecret: null, successRedirectUrl: null });
  const body = { customer: { external_id: 'synced', name: 'Acme', email: 'billing@acme.test', billing_configuration: { payment_provider: 'stripe', sync_with_provider: true } } };
  const res = await h.request('POST', '/customers', body);
  const id = res.body.customer.billing_configuration.provider_customer_id;
  expect(id).toMatch(/^cus_/);
  expect(fake.customers.get(id)).toMatchObject({ email: 'billing@acme.test', name: 'Acme' });
  // Written again: already linked, nothing created.
  const before = fake.customers.size;
  expect((await h.request('POST', '/customers', body)).body.customer.billing_configuration.provider_customer_id).toBe(id);
  expect(fake.customers.size).toBe(before);
  const created = await outbox('customer.payment_provider_created');
  expect(created).toHaveLength(1);
  expect(JSON.parse(created[0].payload).customer).toMatchObject({ external_id: 'synced', billing_configuration: { payment_provider: 'stripe', payment_provider_code: 'stripe-main', provider_customer_id: id } });
});

test('a Stripe refusal never fails the request: the customer is saved unlinked and customer.payment_provider_error is announced', async () => {
  failNext = true;
  const res = await h.request('POST', '/customers', { customer: { external_id: 'refused', email: 'not-an-email', billing_configuration: { payment_provider: 'stripe', sync_with_provider: true } } });
  expect(res.status).toBe(200);
  expect(res.body.customer.billing_configuration).toMatchObject({ payment_provider: 'stripe', provider_customer_id: null });
  const errors = await outbox('customer.payment_provider_error');
  expect(errors).toHaveLength(1);
  expect(JSON.parse(errors[0].payload)).toMatchObject({
    webhook_type: 'customer.payment_provider_error',
    object_type: 'payment_provider_customer_error',
    payment_provider_customer_error: { external_customer_id: 'refused', payment_provider: 'stripe', provider_error: { message: 'Invalid email address', error_code: 'email_invalid' } },
  });
});

test('a provider_customer_id that is not a Stripe id, or another provider, is 422 naming the field', async () => {
  const bad = await h.request('POST', '/customers', { customer: { external_id: 'bad', billing_configuration: { payment_provider: 'adyen', provider_customer_id: 'x' } } });
  expect(bad.status).toBe(422);
  expect(Object.keys(bad.body.error_details).sort()).toEqual(['billing_configuration.payment_provider', 'billing_configuration.provider_customer_id']);
  expect(await h.database.db('customers').where({ organization_id: h.org.id, external_id: 'bad' }).first()).toBeUndefined();
});
