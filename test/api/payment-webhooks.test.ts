// Payment and dunning steps announced to apps (Lago's webhooks), through the real payment activities, the real
// Stripe webhook route and Postgres' outbox (the `webhooks` table the delivery workflow sends from).
import Stripe from 'stripe';
import { paymentIdempotencyKey } from '../../activities/payment-provider';
import { createWebhookEndpoint } from '../../db/repositories/webhooks';
import { insertPaymentEvent, listPayments, voidInvoiceRow } from '../../db/repositories/payments';
import { renderWebhookObject } from '../../api/serializers/webhook-objects';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import { startApiHarness, type ApiHarness } from './harness';

const SECRET = 'whsec_test_meterline';
const stripe = new Stripe('sk_test_x');
let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_paywh' });
});
afterAll(async () => {
  await h?.stop();
});

async function postStripe(organizationId: string, event: unknown): Promise<number> {
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
  const res = await fetch(`${h.api.url}/webhooks/stripe/${organizationId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
  await res.arrayBuffer();
  return res.status;
}

async function outbox(organizationId: string): Promise<{ webhook_type: string; object_type: string; object_id: string | null; unique_key: string; payload: string | null }[]> {
  return h.database.db('webhooks').where({ organization_id: organizationId }).orderBy('created_at').orderBy('id').select('webhook_type', 'object_type', 'object_id', 'unique_key', 'payload');
}

const types = (rows: { webhook_type: string }[]) => rows.map((r) => r.webhook_type);

/** A finalized invoice of an organization with one webhook endpoint and a card that declines. */
async function declinedSetup() {
  const s = await finalizedInvoiceSetup(h.database.db, { webhookSecret: SECRET, campaign: { code: 'dun-1', maxAttempts: 2, daysBetweenAttempts: 1, thresholds: [{ currency: 'USD', amountCents: 100 }], consequence: 'mark_uncollectible' } });
  await createWebhookEndpoint(h.database.db, s.ref.organizationId, { webhookUrl: 'http://127.0.0.1:9/hook' });
  await linkCard(h.database.db, s, { decline: 'insufficient_funds' });
  await expect(s.payments.attemptPayment({ ...s.ref, attempt: 1, idempotencyKey: paymentIdempotencyKey(s.ref.invoiceId, 1) })).rejects.toThrow();
  return s;
}

test('a declined attempt announces invoice.payment_failure (Lago\'s payment_provider_invoice_payment_error) and the status change, once', async () => {
  const s = await declinedSetup();
  const rows = await outbox(s.ref.organizationId);
  expect(types(rows).sort()).toEqual(['invoice.payment_failure', 'invoice.payment_status_updated']);
  const failure = rows.find((r) => r.webhook_type === 'invoice.payment_failure')!;
  expect(failure.object_type).toBe('payment_provider_invoice_payment_error');
  const body = JSON.parse(failure.payload!);
  expect(body).toMatchObject({
    webhook_type: 'invoice.payment_failure',
    object_type: 'payment_provider_invoice_payment_error',
    organization_id: s.ref.organizationId,
    payment_provider_invoice_payment_error: {
      lago_invoice_id: s.ref.invoiceId,
      lago_customer_id: s.customer.id,
      payment_provider: 'stripe',
      payment_provider_code: 'stripe-test',
      provider_error: { error_code: 'insufficient_funds' },
    },
  });
  const statusUpdate = rows.find((r) => r.webhook_type === 'invoice.payment_status_updated')!;
  expect([statusUpdate.object_type, statusUpdate.object_id, statusUpdate.payload]).toEqual(['invoice', s.ref.invoiceId, null]); // rendered at delivery
  // The same attempt retried by the activity (the row exists) announces nothing new.
  await s.payments.attemptPayment({ ...s.ref, attempt: 1, idempotencyKey: paymentIdempotencyKey(s.ref.invoiceId, 1) }).catch(() => undefined);
  expect(await outbox(s.ref.organizationId)).toHaveLength(2);
});

test('a success seen by a Stripe webhook and again by the payment activity is announced once as payment.succeeded', async () => {
  const s = await declinedSetup();
  const [payment] = await listPayments(h.database.db, s.ref.organizationId, s.ref.invoiceId);
  const pi = s.fake.paymentIntents.get(payment!.providerPaymentId!)!;
  expect(await postStripe(s.ref.organizationId, s.fake.event('payment_intent.succeeded', { ...pi, status: 'succeeded', last_payment_error: null }))).toBe(200);
  // The activity's own record of the same success (another dedupe key, the same payment).
  await insertPaymentEvent(h.database.db, { organizationId: s.ref.organizationId, invoiceId: s.ref.invoiceId, eventType: 'payment.succeeded', dedupeKey: `payment:${payment!.id}:succeeded`, paymentId: payment!.id, payload: {} });
  const rows = await outbox(s.ref.organizationId);
  expect(types(rows).filter((t) => t === 'payment.succeeded')).toHaveLength(1);
  expect(rows.find((r) => r.webhook_type === 'payment.succeeded')).toMatchObject({ object_type: 'payment', object_id: payment!.id });
  // Delivery renders it as Lago's PaymentObject (as POST /payments answers).
  await expect(renderWebhookObject(h.database.db, s.ref.organizationId, 'payment', payment!.id)).resolves.toMatchObject({
    lago_id: payment!.id,
    lago_customer_id: s.customer.id,
    invoice_ids: [s.ref.invoiceId],
    amount_cents: 1999,
    amount_currency: 'USD',
    status: 'succeeded',
    payment_status: 'succeeded',
    provider_payment_id: pi.id,
  });
  // pending → failed, then failed → succeeded: two status updates.
  expect(types(rows).filter((t) => t === 'invoice.payment_status_updated')).toHaveLength(2);
});

test('voiding announces invoice.voided once; a second void is refused and announces nothing', async () => {
  const s = await declinedSetup();
  await expect(voidInvoiceRow(h.database.db, s.ref.organizationId, s.ref.invoiceId)).resolves.toBe('voided');
  await expect(voidInvoiceRow(h.database.db, s.ref.organizationId, s.ref.invoiceId)).resolves.toBe('not_voidable');
  const rows = await outbox(s.ref.organizationId);
  expect(rows.filter((r) => r.webhook_type === 'invoice.voided')).toEqual([expect.objectContaining({ object_type: 'invoice', object_id: s.ref.invoiceId })]);
});

test('an exhausted dunning campaign announces dunning_campaign.finished with the overdue balance per currency; overdue announces invoice.payment_overdue', async () => {
  const s = await declinedSetup();
  await s.payments.markInvoiceOverdue(s.ref);
  await s.payments.markInvoiceOverdue(s.ref);
  await s.payments.applyDunningConsequence({ ...s.ref, subscriptionId: s.sub.id, consequence: 'mark_uncollectible', attempts: 2 });
  await s.payments.applyDunningConsequence({ ...s.ref, subscriptionId: s.sub.id, consequence: 'mark_uncollectible', attempts: 2 });
  const rows = await outbox(s.ref.organizationId);
  expect(types(rows).filter((t) => t === 'invoice.payment_overdue')).toHaveLength(1);
  const finished = rows.filter((r) => r.webhook_type === 'dunning_campaign.finished');
  expect(finished).toHaveLength(1);
  expect(JSON.parse(finished[0]!.payload!)).toEqual({
    webhook_type: 'dunning_campaign.finished',
    object_type: 'dunning_campaign',
    organization_id: s.ref.organizationId,
    dunning_campaign: {
      external_customer_id: s.customer.externalId,
      dunning_campaign_code: 'dun-1',
      overdue_balance_cents: 1999,
      overdue_balance_currency: 'USD',
      overdue_balances: [{ currency: 'USD', amount_cents: 1999 }],
    },
  });
});

test('an organization without webhook endpoints records the steps and enqueues nothing', async () => {
  const s = await finalizedInvoiceSetup(h.database.db, { webhookSecret: SECRET });
  await linkCard(h.database.db, s, { decline: 'card_declined' });
  await s.payments.attemptPayment({ ...s.ref, attempt: 1, idempotencyKey: paymentIdempotencyKey(s.ref.invoiceId, 1) }).catch(() => undefined);
  expect(await h.database.db('payment_events').where({ organization_id: s.ref.organizationId }).pluck('event_type')).toContain('payment.failed');
  expect(await outbox(s.ref.organizationId)).toEqual([]);
});
