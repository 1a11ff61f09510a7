// Payment activities on real Postgres, the real Stripe adapter and the stateful Stripe fake.
import { ApplicationFailure } from '@temporalio/common';
import { paymentIdempotencyKey, type PaymentProvider } from '../../activities/payment-provider';
import { getInvoice } from '../../db/repositories/invoices';
import { listPaymentEvents, listPayments } from '../../db/repositories/payments';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_pay');
});
afterAll(async () => {
  await t.drop();
});

const req = (ref: { organizationId: string; invoiceId: string }, attempt: number) => ({ ...ref, attempt, idempotencyKey: paymentIdempotencyKey(ref.invoiceId, attempt) });

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

test('a successful attempt charges the invoice total once, marks the invoice paid and writes a payment.succeeded record', async () => {
  const s = await finalizedInvoiceSetup(t.db);
  await linkCard(t.db, s);
  const plan = await s.payments.prepareCollection(s.ref);
  expect(plan).toMatchObject({ providerConfigured: true, totalAmountCents: 1999, totalDueAmountCents: 1999, currency: 'USD', dunning: null });
  expect(plan.paymentDueDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  const result = await s.payments.attemptPayment(req(s.ref, 1));
  expect(result).toMatchObject({ attempt: 1, status: 'succeeded', recovered: false });
  expect(s.fake.succeededCharges()).toHaveLength(1);
  expect(s.fake.succeededCharges()[0]).toMatchObject({ amount: 1999, currency: 'usd' });
  const inv = await t.db('invoices').where({ id: s.ref.invoiceId }).first();
  expect(inv).toMatchObject({ payment_status: 'succeeded', total_paid_amount_cents: 1999 });
  expect((await listPaymentEvents(t.db, s.ref.organizationId, s.ref.invoiceId)).map((e) => e.eventType)).toEqual(['invoice.payment_status_updated', 'payment.succeeded']); // the status change, then the payment (db/repositories/payment-webhooks.ts)
  // Repeating the activity (a replayed workflow task, a retried activity) sends nothing.
  const requests = s.fake.requests.length;
  await expect(s.payments.attemptPayment(req(s.ref, 1))).resolves.toMatchObject({ status: 'already_paid' });
  expect(s.fake.requests.length).toBe(requests);
});

test('the first attempt creates and links the Stripe customer when the customer has none', async () => {
  const s = await finalizedInvoiceSetup(t.db);
  const err = await failureOf(s.payments.attemptPayment(req(s.ref, 1)));
  expect(err).toMatchObject({ type: 'payment_method_missing', nonRetryable: true });
  const customer = await t.db('customers').where({ id: s.customer.id }).first();
  expect(customer.provider_customer_id).toMatch(/^cus_/);
  expect(s.fake.customers.get(customer.provider_customer_id)!.metadata).toMatchObject({ lago_customer_id: s.customer.id });
});

test('a decline is recorded on the payment row with its decline code, the invoice payment_status is failed, and the failure is rethrown non-retryable', async () => {
  const s = await finalizedInvoiceSetup(t.db);
  await linkCard(t.db, s, { decline: 'insufficient_funds' });
  const err = await failureOf(s.payments.attemptPayment(req(s.ref, 1)));
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'payment_declined', nonRetryable: true });
  const [payment] = await listPayments(t.db, s.ref.organizationId, s.ref.invoiceId);
  expect(payment).toMatchObject({ attempt: 1, status: 'failed', declineCode: 'insufficient_funds', failureType: 'payment_declined', idempotencyKey: `invoice:${s.ref.invoiceId}:attempt:1` });
  expect(payment!.providerPaymentId).toMatch(/^pi_/);
  expect((await getInvoice(t.db, s.ref.organizationId, s.ref.invoiceId))!.paymentStatus).toBe('failed');
});

test('an activity that dies after Stripe charged (before recording) and is retried after Stripe forgot the key charges once: the metadata lookup finds the charge', async () => {
  let crashes = 1;
  const s = await finalizedInvoiceSetup(t.db, {
    wrapProvider: (p: PaymentProvider): PaymentProvider => ({
      ...p,
      name: p.name,
      syncCustomer: (i) => p.syncCustomer(i),
      createSetupCheckoutUrl: (i) => p.createSetupCheckoutUrl(i),
      createInvoicePaymentUrl: (i) => p.createInvoicePaymentUrl(i),
      findPayment: (i) => p.findPayment(i),
      refund: (i) => p.refund(i),
      findRefund: (i) => p.findRefund(i),
      async createPayment(i) {
        const payment = await p.createPayment(i);
        if (crashes-- > 0) throw new Error('worker killed between "charge sent" and "charge recorded"');
        return payment;
      },
    }),
  });
  await linkCard(t.db, s);
  await expect(s.payments.attemptPayment(req(s.ref, 1))).rejects.toThrow('worker killed');
  expect(s.fake.succeededCharges()).toHaveLength(1);
  const [pending] = await listPayments(t.db, s.ref.organizationId, s.ref.invoiceId);
  expect(pending).toMatchObject({ status: 'pending', providerPaymentId: null });
  s.fake.forgetIdempotencyKeys(); // more than 24 h later: the key alone would not protect
  const retried = await s.payments.attemptPayment(req(s.ref, 1));
  expect(retried).toMatchObject({ status: 'succeeded', recovered: true });
  expect(s.fake.succeededCharges()).toHaveLength(1);
  expect(s.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents')).toHaveLength(1);
  expect(await listPayments(t.db, s.ref.organizationId, s.ref.invoiceId)).toHaveLength(1);
});

test('a 500 after the charge executed, retried with the same key (Stripe replays the 500), is resolved by the lookup: one charge, invoice paid', async () => {
  const s = await finalizedInvoiceSetup(t.db);
  await linkCard(t.db, s);
  s.fake.failNext('server_error_after_execution');
  await expect(s.payments.attemptPayment(req(s.ref, 1))).rejects.toThrow(/unknown error/);
  await expect(s.payments.attemptPayment(req(s.ref, 1))).resolves.toMatchObject({ status: 'succeeded', recovered: true });
  expect(s.fake.succeededCharges()).toHaveLength(1);
  expect((await getInvoice(t.db, s.ref.organizationId, s.ref.invoiceId))!.paymentStatus).toBe('succeeded');
});

test('without Stripe configured nothing is attempted: prepareCollection says so and attemptPayment refuses non-retryably', async () => {
  const s = await finalizedInvoiceSetup(t.db, { stripe: false });
  await expect(s.payments.prepareCollection(s.ref)).resolves.toMatchObject({ providerConfigured: false });
  expect(await failureOf(s.payments.attemptPayment(req(s.ref, 1)))).toMatchObject({ type: 'payment_provider_not_configured', nonRetryable: true });
  expect(s.fake.requests).toHaveLength(0);
});

test('the dunning campaign applies when the due amount reaches its currency threshold, not below it', async () => {
  const campaign = { code: 'default', maxAttempts: 3, daysBetweenAttempts: 2, thresholds: [{ currency: 'USD', amountCents: 1000 }], consequence: 'mark_uncollectible' as const };
  const above = await finalizedInvoiceSetup(t.db, { amountCents: 1999, campaign });
  await expect(above.payments.prepareCollection(above.ref)).resolves.toMatchObject({ dunning: { code: 'default', maxAttempts: 3, daysBetweenAttempts: 2, consequence: 'mark_uncollectible' } });
  const below = await finalizedInvoiceSetup(t.db, { amountCents: 999, campaign });
  await expect(below.payments.prepareCollection(below.ref)).resolves.toMatchObject({ dunning: null });
});
