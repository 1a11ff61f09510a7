// A lost payment dispute (POST /invoices/:id/lose_dispute, db/repositories/invoice-disputes.ts) stops collection: on
// real Postgres and the Stripe fake, the payment activity refuses the invoice (invoice_not_payable, the invoice
// workflow's stopping failure) and charges nothing; the overdue check no longer flags it.
import { paymentIdempotencyKey } from '../../activities/payment-provider';
import { markInvoiceDisputeLost } from '../../db/repositories/invoice-disputes';
import { markPaymentOverdue } from '../../db/repositories/payments';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_dispute');
});
afterAll(async () => {
  await t.drop();
});

test('after lose_dispute the payment attempt is refused non-retryably as invoice_not_payable, Stripe is not called, and the invoice is never flagged overdue', async () => {
  const s = await finalizedInvoiceSetup(t.db);
  await linkCard(t.db, s);
  expect(await t.db.transaction((trx) => markInvoiceDisputeLost(trx, s.ref.organizationId, s.ref.invoiceId, new Date('2026-12-01T10:00:00Z')))).toBe('lost');
  expect(await t.db.transaction((trx) => markInvoiceDisputeLost(trx, s.ref.organizationId, s.ref.invoiceId, new Date('2026-12-02T10:00:00Z')))).toBe('already_lost');
  const before = s.fake.requests.length;
  await expect(s.payments.attemptPayment({ ...s.ref, attempt: 1, idempotencyKey: paymentIdempotencyKey(s.ref.invoiceId, 1) })).rejects.toMatchObject({ type: 'invoice_not_payable', nonRetryable: true });
  expect(s.fake.requests.length).toBe(before);
  expect(s.fake.succeededCharges()).toHaveLength(0);
  expect(await markPaymentOverdue(t.db, s.ref.organizationId, s.ref.invoiceId)).toBe(false);
  const row = await t.db('invoices').where({ id: s.ref.invoiceId }).first('payment_dispute_lost_at', 'payment_overdue');
  expect(row).toEqual({ payment_dispute_lost_at: new Date('2026-12-01T10:00:00Z'), payment_overdue: false });
});

test('a draft cannot lose a dispute (not_disputable) and nothing is written', async () => {
  const s = await finalizedInvoiceSetup(t.db);
  await t.db('invoices').where({ id: s.ref.invoiceId }).update({ status: 'draft' });
  expect(await t.db.transaction((trx) => markInvoiceDisputeLost(trx, s.ref.organizationId, s.ref.invoiceId, new Date()))).toBe('not_disputable');
  expect((await t.db('invoices').where({ id: s.ref.invoiceId }).first('payment_dispute_lost_at')).payment_dispute_lost_at).toBeNull();
  expect(await t.db('payment_events').where({ invoice_id: s.ref.invoiceId, event_type: 'invoice.payment_dispute_lost' })).toHaveLength(0);
});
