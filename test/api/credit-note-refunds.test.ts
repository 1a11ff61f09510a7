// POST /credit_notes with refund_amount_cents through the real HTTP API and Postgres: the refund goes back on
// the invoice's Stripe charge (the real adapter on the stateful fake, test/support/fake-stripe.ts).
import { paymentIdempotencyKey } from '../../activities/payment-provider';
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { createApiKey } from '../../db/repositories/organizations';
import { createWebhookEndpoint } from '../../db/repositories/webhooks';
import type { FakeStripe, RecordedRequest } from '../support/fake-stripe';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let fake: FakeStripe | null = null;

beforeAll(async () => {
  h = await startApiHarness({
    prefix: 'api_refund',
    paymentProviderFor: () => {
      if (!fake) throw new Error('no fake Stripe for this test');
      return new StripePaymentProvider(fake.client());
    },
  });
});
afterAll(async () => {
  await h?.stop();
});

const isRefundPost = (r: RecordedRequest) => r.method === 'POST' && r.path === '/v1/refunds';

/** A 1999-cent invoice paid by card (a provider attempt), an API key and a webhook endpoint of its organization. */
async function paidInvoice() {
  const s = await finalizedInvoiceSetup(h.database.db);
  fake = s.fake;
  await linkCard(h.database.db, s);
  await createWebhookEndpoint(h.database.db, s.ref.organizationId, { webhookUrl: 'https://app.example.test/hooks' });
  const paid = await s.payments.attemptPayment({ ...s.ref, attempt: 1, idempotencyKey: paymentIdempotencyKey(s.ref.invoiceId, 1) });
  expect(paid.status).toBe('succeeded');
  const key = await createApiKey(h.database.db, s.org.id);
  const call = (method: string, path: string, body?: unknown) =>
    h.raw(method, path, body === undefined ? undefined : JSON.stringify(body), { authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const fee = await h.database.db('fees').where({ invoice_id: s.ref.invoiceId }).first('id');
  return { s, call, feeId: fee.id as string, paymentIntentId: paid.providerPaymentId! };
}

test('POST /credit_notes with refund_amount_cents on a card-paid invoice refunds on its PaymentIntent: refund_status succeeded, the refund recorded once', async () => {
  const { s, call, feeId, paymentIntentId } = await paidInvoice();
  const res = await call('POST', '/credit_notes', { credit_note: { invoice_id: s.ref.invoiceId, reason: 'order_cancellation', refund_amount_cents: 1200, credit_amount_cents: 799, items: [{ fee_id: feeId, amount_cents: 1999 }] } });
  expect(res.status).toBe(200);
  expect(res.body.credit_note).toMatchObject({ lago_invoice_id: s.ref.invoiceId, refund_amount_cents: 1200, credit_amount_cents: 799, refund_status: 'succeeded', credit_status: 'available' });
  const noteId = res.body.credit_note.lago_id as string;
  const posts = s.fake.requests.filter(isRefundPost);
  expect(posts).toHaveLength(1);
  expect(posts[0]).toMatchObject({ form: { payment_intent: paymentIntentId, amount: '1200' }, headers: { 'idempotency-key': `credit_note:${noteId}:refund` } });
  expect([...s.fake.refunds.values()]).toEqual([expect.objectContaining({ payment_intent: paymentIntentId, amount: 1200, status: 'succeeded' })]);
  expect(await h.database.db('credit_note_refunds').where({ credit_note_id: noteId }).first()).toMatchObject({ status: 'succeeded', amount_cents: 1200, provider_payment_id: paymentIntentId });
  expect((await call('GET', `/credit_notes/${noteId}`)).body.credit_note.refund_status).toBe('succeeded');
  expect(await h.database.db('webhooks').where({ organization_id: s.ref.organizationId, webhook_type: 'credit_note.refund_failure' })).toHaveLength(0);
});

test('POST /credit_notes whose refund Stripe refuses (the charge was partly refunded in Stripe): refund_status failed and credit_note.refund_failure enqueued', async () => {
  const { s, call, feeId, paymentIntentId } = await paidInvoice();
  await s.fake.client().refunds.create({ payment_intent: paymentIntentId, amount: 1900 });
  const res = await call('POST', '/credit_notes', { credit_note: { invoice_id: s.ref.invoiceId, reason: 'other', refund_amount_cents: 500, items: [{ fee_id: feeId, amount_cents: 500 }] } });
  expect(res.status).toBe(200);
  expect(res.body.credit_note).toMatchObject({ refund_amount_cents: 500, refund_status: 'failed' });
  expect(s.fake.refunds.size).toBe(1);
  const hooks = await h.database.db('webhooks').where({ organization_id: s.ref.organizationId, webhook_type: 'credit_note.refund_failure' });
  expect(hooks).toHaveLength(1);
  expect(JSON.parse(hooks[0].payload).credit_note_payment_provider_refund_error).toMatchObject({
    lago_credit_note_id: res.body.credit_note.lago_id,
    lago_customer_id: s.customer.id,
    payment_provider: 'stripe',
    provider_error: { error_code: 'amount_too_large' },
  });
});

test('POST /credit_notes when Stripe answers one 500 still refunds exactly once (same key retried)', async () => {
  const { s, call, feeId } = await paidInvoice();
  s.fake.failNext('server_error', isRefundPost);
  const res = await call('POST', '/credit_notes', { credit_note: { invoice_id: s.ref.invoiceId, reason: 'other', refund_amount_cents: 300, credit_amount_cents: 0, items: [{ fee_id: feeId, amount_cents: 300 }] } });
  expect(res.body.credit_note).toMatchObject({ refund_status: 'succeeded' });
  expect(s.fake.requests.filter(isRefundPost)).toHaveLength(2);
  expect(s.fake.refunds.size).toBe(1);
});
