// The refund path of credit notes (issue 10): activities/credits.ts refundCreditNote on real Postgres, the real
// Stripe adapter and the stateful Stripe fake (test/support/fake-stripe.ts). The invoice is paid by a real
// provider attempt first, so the refund goes back on that charge's PaymentIntent.
import { paymentIdempotencyKey, type PaymentProvider } from '../../activities/payment-provider';
import { issueCreditNote, refundCreditNote, REFUND_SENDS } from '../../activities/credits';
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { createWebhookEndpoint } from '../../db/repositories/webhooks';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import type { RecordedRequest } from '../support/fake-stripe';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_refund');
});
afterAll(async () => {
  await t.drop();
});

const isRefundPost = (r: RecordedRequest) => r.method === 'POST' && r.path === '/v1/refunds';

/** A finalized invoice of 1999 cents paid by card through a provider attempt, and a credit note refunding `refund`. */
async function paidInvoiceWithNote(refundAmountCents: number, creditAmountCents = 0) {
  const s = await finalizedInvoiceSetup(t.db);
  await linkCard(t.db, s);
  await createWebhookEndpoint(t.db, s.ref.organizationId, { webhookUrl: 'https://app.example.test/hooks' });
  const paid = await s.payments.attemptPayment({ ...s.ref, attempt: 1, idempotencyKey: paymentIdempotencyKey(s.ref.invoiceId, 1) });
  expect(paid.status).toBe('succeeded');
  const fee = await t.db('fees').where({ invoice_id: s.ref.invoiceId }).first('id', 'amount_cents');
  const note = await issueCreditNote(t.db, {
    organizationId: s.ref.organizationId,
    invoiceId: s.ref.invoiceId,
    reason: 'other',
    description: null,
    items: [{ feeId: fee.id, amountCents: refundAmountCents + creditAmountCents }],
    split: { refundAmountCents, creditAmountCents },
    issuingDate: '2026-12-02',
  });
  const provider = new StripePaymentProvider(s.fake.client());
  return { ...s, note, provider, paymentIntentId: paid.providerPaymentId! };
}

async function refundRow(creditNoteId: string) {
  return t.db('credit_note_refunds').where({ credit_note_id: creditNoteId }).first();
}

test('a credit note refund is one Stripe refund on the charge’s PaymentIntent, in minor units, keyed by the credit note; a second call sends nothing', async () => {
  const s = await paidInvoiceWithNote(1000, 999);
  const refunded = await refundCreditNote(t.db, s.provider, s.note);
  expect(refunded.refundStatus).toBe('succeeded');
  const posts = s.fake.requests.filter(isRefundPost);
  expect(posts).toHaveLength(1);
  expect(posts[0]).toMatchObject({
    form: { payment_intent: s.paymentIntentId, amount: '1000', metadata: { lago_credit_note_id: s.note.id, lago_reference: s.note.number } },
    headers: { 'idempotency-key': `credit_note:${s.note.id}:refund` },
  });
  const [refund] = [...s.fake.refunds.values()];
  expect(refund).toMatchObject({ payment_intent: s.paymentIntentId, amount: 1000, currency: 'usd', status: 'succeeded' });
  expect(await refundRow(s.note.id)).toMatchObject({ status: 'succeeded', provider_refund_id: refund!.id, provider_payment_id: s.paymentIntentId });

  const again = await refundCreditNote(t.db, s.provider, s.note);
  expect(again.refundStatus).toBe('succeeded');
  expect(s.fake.requests.filter(isRefundPost)).toHaveLength(1);
  expect(s.fake.refunds.size).toBe(1);
});

test('a 500 before Stripe executed the refund is retried with the same key and refunds once', async () => {
  const s = await paidInvoiceWithNote(700, 1299);
  s.fake.failNext('server_error', isRefundPost);
  const refunded = await refundCreditNote(t.db, s.provider, s.note);
  expect(refunded.refundStatus).toBe('succeeded');
  const posts = s.fake.requests.filter(isRefundPost);
  expect(posts).toHaveLength(2);
  expect(new Set(posts.map((p) => p.headers['idempotency-key']))).toEqual(new Set([`credit_note:${s.note.id}:refund`]));
  expect(s.fake.refunds.size).toBe(1);
});

test('a 500 AFTER Stripe executed the refund (replayed for the key) is resolved by the metadata lookup: one refund, succeeded', async () => {
  const s = await paidInvoiceWithNote(700, 1299);
  s.fake.failNext('server_error_after_execution', isRefundPost);
  const refunded = await refundCreditNote(t.db, s.provider, s.note);
  expect(refunded.refundStatus).toBe('succeeded');
  expect(s.fake.refunds.size).toBe(1);
  expect(s.fake.requests.filter(isRefundPost)).toHaveLength(1);
  expect(await refundRow(s.note.id)).toMatchObject({ status: 'succeeded', provider_refund_id: [...s.fake.refunds.keys()][0] });
});

test('an outage longer than the sends leaves the refund pending with the error; a later call refunds once', async () => {
  const s = await paidInvoiceWithNote(500, 1499);
  for (let i = 0; i < REFUND_SENDS; i++) s.fake.failNext('server_error', isRefundPost);
  const first = await refundCreditNote(t.db, s.provider, s.note);
  expect(first.refundStatus).toBe('pending');
  expect(s.fake.refunds.size).toBe(0);
  expect((await refundRow(s.note.id)).error).toMatch(/unknown error/i);

  const later = await refundCreditNote(t.db, s.provider, s.note);
  expect(later.refundStatus).toBe('succeeded');
  expect(s.fake.refunds.size).toBe(1);
  expect([...s.fake.refunds.values()][0]).toMatchObject({ amount: 500 });
});

test('a process that dies after Stripe refunded, retried after Stripe forgot the key, refunds once (metadata lookup)', async () => {
  const s = await paidInvoiceWithNote(800, 1199);
  const dying: PaymentProvider = Object.assign(Object.create(Object.getPrototypeOf(s.provider)) as PaymentProvider, s.provider, {
    async refund(i: Parameters<PaymentProvider['refund']>[0]) {
      await s.provider.refund(i);
      throw new Error('process killed between "refund sent" and "refund recorded"');
    },
    async findRefund() {
      return null; // the lookup of the dying run happened before its send
    },
  });
  // Every send of the dying run executes at Stripe (the first) or is replayed for its key; none is recorded.
  const dead = await refundCreditNote(t.db, dying, s.note);
  expect(dead.refundStatus).toBe('pending');
  expect(s.fake.refunds.size).toBe(1);
  s.fake.forgetIdempotencyKeys();
  const recovered = await refundCreditNote(t.db, s.provider, s.note);
  expect(recovered.refundStatus).toBe('succeeded');
  expect(s.fake.refunds.size).toBe(1);
});

test('a refund larger than what is left on the charge is Stripe’s invalid request: failed, credit_note.refund_failure enqueued once, never resent', async () => {
  const s = await paidInvoiceWithNote(1000, 999);
  // 1500 of the 1999 were refunded in the Stripe dashboard: only 499 are left on the charge.
  await s.fake.client().refunds.create({ payment_intent: s.paymentIntentId, amount: 1500 });
  const refunded = await refundCreditNote(t.db, s.provider, s.note);
  expect(refunded.refundStatus).toBe('failed');
  expect(s.fake.refunds.size).toBe(1);
  const row = await refundRow(s.note.id);
  expect(row).toMatchObject({ status: 'failed', provider_refund_id: null });
  expect(row.error).toMatch(/greater than unrefunded amount/);
  const hooks = await t.db('webhooks').where({ organization_id: s.ref.organizationId, webhook_type: 'credit_note.refund_failure' });
  expect(hooks).toHaveLength(1);
  expect(hooks[0]).toMatchObject({ object_type: 'credit_note_payment_provider_refund_error', object_id: s.note.id });
  const payload = JSON.parse(hooks[0].payload);
  expect(payload).toMatchObject({
    webhook_type: 'credit_note.refund_failure',
    object_type: 'credit_note_payment_provider_refund_error',
    credit_note_payment_provider_refund_error: { lago_credit_note_id: s.note.id, payment_provider: 'stripe', provider_error: { error_code: 'amount_too_large' } },
  });

  const posts = s.fake.requests.filter(isRefundPost).length;
  expect((await refundCreditNote(t.db, s.provider, s.note)).refundStatus).toBe('failed');
  expect(s.fake.requests.filter(isRefundPost)).toHaveLength(posts);
  expect(await t.db('webhooks').where({ organization_id: s.ref.organizationId, webhook_type: 'credit_note.refund_failure' })).toHaveLength(1);
});
