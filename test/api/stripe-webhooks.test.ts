// POST /webhooks/stripe/:organization_id through the real HTTP API and Postgres: signatures on the raw body
// (headers from stripe.webhooks.generateTestHeaderString), exactly-once per event id, forward-only transitions.
import { defaultPayloadConverter } from '@temporalio/common';
import Stripe from 'stripe';
import { invoiceWorkflowId, type InvoicePaymentSignalPayload } from '../../workflows/messages';
import { paymentIdempotencyKey } from '../../activities/payment-provider';
import { listPaymentEvents, listPayments } from '../../db/repositories/payments';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import { startApiHarness, type ApiHarness } from './harness';

const SECRET = 'whsec_test_meterline';
const stripe = new Stripe('sk_test_x');
let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_whk' });
});
afterAll(async () => {
  await h?.stop();
});

async function post(organizationId: string, event: unknown, signature?: string) {
  const payload = JSON.stringify(event);
  const header = signature ?? stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
  const res = await fetch(`${h.api.url}/webhooks/stripe/${organizationId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
  return { status: res.status, body: await res.json() };
}

/** An invoice whose first attempt was declined (a PaymentIntent in requires_payment_method exists at the fake). */
async function declinedInvoice() {
  const s = await finalizedInvoiceSetup(h.database.db, { webhookSecret: SECRET });
  await linkCard(h.database.db, s, { decline: 'insufficient_funds' });
  await s.payments.attemptPayment({ ...s.ref, attempt: 1, idempotencyKey: paymentIdempotencyKey(s.ref.invoiceId, 1) }).catch(() => undefined);
  const [payment] = await listPayments(h.database.db, s.ref.organizationId, s.ref.invoiceId);
  const pi = s.fake.paymentIntents.get(payment!.providerPaymentId!)!;
  return { s, pi };
}

const invoiceRow = (id: string) => h.database.db('invoices').where({ id }).first();

test('a bad or missing signature is rejected with 400 invalid_signature and changes nothing', async () => {
  const { s, pi } = await declinedInvoice();
  const event = s.fake.event('payment_intent.succeeded', { ...pi, status: 'succeeded' });
  const forged = stripe.webhooks.generateTestHeaderString({ payload: JSON.stringify(event), secret: 'whsec_other' });
  await expect(post(s.ref.organizationId, event, forged)).resolves.toMatchObject({ status: 400, body: { status: 400, code: 'invalid_signature' } });
  await expect(post(s.ref.organizationId, event, '')).resolves.toMatchObject({ status: 400, body: { code: 'invalid_signature' } });
  // A body altered after signing fails too: the signature covers the raw bytes.
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
  const res = await fetch(`${h.api.url}/webhooks/stripe/${s.ref.organizationId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload.replace('"succeeded"', '"succeeded" ') });
  expect(res.status).toBe(400);
  expect((await invoiceRow(s.ref.invoiceId)).payment_status).toBe('failed');
  expect(await h.database.db('stripe_webhook_events').where({ organization_id: s.ref.organizationId })).toHaveLength(0);
});

test('an organization without a Stripe connection gets 400', async () => {
  await expect(post(h.org.id, { id: 'evt_x', type: 'payment_intent.succeeded', data: { object: {} } })).resolves.toMatchObject({ status: 400, body: { code: 'webhook_not_configured' } });
});

test('payment_intent.succeeded marks the payment and the invoice paid once; the same event delivered again changes nothing', async () => {
  const { s, pi } = await declinedInvoice();
  const event = s.fake.event('payment_intent.succeeded', { ...pi, status: 'succeeded', last_payment_error: null });
  await expect(post(s.ref.organizationId, event)).resolves.toMatchObject({ status: 200, body: { received: true, duplicate: false, handled: true } });
  expect(await invoiceRow(s.ref.invoiceId)).toMatchObject({ payment_status: 'succeeded', total_paid_amount_cents: 1999 });
  const events = await listPaymentEvents(h.database.db, s.ref.organizationId, s.ref.invoiceId);
  await expect(post(s.ref.organizationId, event)).resolves.toMatchObject({ status: 200, body: { duplicate: true, handled: false } });
  expect(await listPaymentEvents(h.database.db, s.ref.organizationId, s.ref.invoiceId)).toEqual(events);
  expect(await listPayments(h.database.db, s.ref.organizationId, s.ref.invoiceId)).toHaveLength(1);
});

test('a payment_failed event arriving after succeeded (reordered) does not move the payment back', async () => {
  const { s, pi } = await declinedInvoice();
  await post(s.ref.organizationId, s.fake.event('payment_intent.succeeded', { ...pi, status: 'succeeded' }));
  const late = await post(s.ref.organizationId, s.fake.event('payment_intent.payment_failed', { ...pi, status: 'requires_payment_method' }));
  expect(late.status).toBe(200);
  const [payment] = await listPayments(h.database.db, s.ref.organizationId, s.ref.invoiceId);
  expect(payment!.status).toBe('succeeded');
  expect((await invoiceRow(s.ref.invoiceId)).payment_status).toBe('succeeded');
});

test('charge.refunded records the cumulative refunded amount once: a redelivery under a new event id does not refund twice', async () => {
  const { s, pi } = await declinedInvoice();
  await post(s.ref.organizationId, s.fake.event('payment_intent.succeeded', { ...pi, status: 'succeeded' }));
  const charge = { id: 'ch_1', object: 'charge', payment_intent: pi.id, currency: 'usd', amount: 1999, amount_refunded: 500 };
  await post(s.ref.organizationId, s.fake.event('charge.refunded', charge));
  await post(s.ref.organizationId, s.fake.event('charge.refunded', charge));
  expect(await invoiceRow(s.ref.invoiceId)).toMatchObject({ total_paid_amount_cents: 1499, payment_status: 'pending' });
  const [payment] = await listPayments(h.database.db, s.ref.organizationId, s.ref.invoiceId);
  expect(payment!.refundedAmountCents).toBe(500);
});

test('charge.dispute.created flags the payment and writes a payment.dispute_opened record; unknown event types are acknowledged and change nothing', async () => {
  const { s, pi } = await declinedInvoice();
  await post(s.ref.organizationId, s.fake.event('payment_intent.succeeded', { ...pi, status: 'succeeded' }));
  await post(s.ref.organizationId, s.fake.event('charge.dispute.created', { id: 'dp_1', object: 'dispute', payment_intent: pi.id, amount: 1999, currency: 'usd' }));
  const [payment] = await listPayments(h.database.db, s.ref.organizationId, s.ref.invoiceId);
  expect(payment!.disputed).toBe(true);
  expect((await listPaymentEvents(h.database.db, s.ref.organizationId, s.ref.invoiceId)).map((e) => e.eventType)).toContain('payment.dispute_opened');
  const before = await invoiceRow(s.ref.invoiceId);
  await expect(post(s.ref.organizationId, s.fake.event('customer.updated', { id: 'cus_1', object: 'customer' }))).resolves.toMatchObject({ status: 200, body: { handled: false } });
  expect(await invoiceRow(s.ref.invoiceId)).toEqual(before);
});

test('a handled webhook signals the invoice workflow (invoicePaymentSignal with the event id and the invoice payment status)', async () => {
  const { s, pi } = await declinedInvoice();
  const handle = await h.client.workflow.start('invoiceWorkflow', {
    workflowId: invoiceWorkflowId(s.ref.invoiceId),
    taskQueue: h.taskQueue, // no worker polls it: the signal is only recorded in the history
    args: [{ version: 1, organizationId: s.ref.organizationId, invoiceId: s.ref.invoiceId, gracePeriodDays: 0 }],
  });
  try {
    const event = s.fake.event('payment_intent.succeeded', { ...pi, status: 'succeeded' });
    await post(s.ref.organizationId, event);
    const history = await handle.fetchHistory();
    const signaled = history.events?.find((e) => e.workflowExecutionSignaledEventAttributes)?.workflowExecutionSignaledEventAttributes;
    expect(signaled?.signalName).toBe('invoicePaymentSignal');
    const payload = defaultPayloadConverter.fromPayload<InvoicePaymentSignalPayload>(signaled!.input!.payloads![0]! as never);
    expect(payload).toEqual({ source: 'webhook', eventId: event.id, kind: 'succeeded', invoicePaymentStatus: 'succeeded', providerPaymentId: pi.id });
  } finally {
    await handle.terminate('test cleanup');
  }
});
