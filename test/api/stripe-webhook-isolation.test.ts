// Tenant isolation of POST /webhooks/stripe/:organization_id, the one route outside /api/v1 (no API key: the
// organization is named by the URL and proven by the signature with ITS webhook secret). The route-table tests
// (openapi-responses, tenant-isolation) walk /api/v1 only; this file proves the route is mounted, is excluded
// from that walk, and that one organization's signed payload does nothing at another organization's URL.
// Real HTTP API and Postgres; Stripe's side is the stateful fake (test/support/fake-stripe.ts).
import Stripe from 'stripe';
import { paymentIdempotencyKey } from '../../activities/payment-provider';
import { listPayments } from '../../db/repositories/payments';
import { finalizedInvoiceSetup, linkCard } from '../support/payment-fixtures';
import { apiRoutes, mountedRoutes } from '../support/route-table';
import { startApiHarness, type ApiHarness } from './harness';

const SECRET_A = 'whsec_org_a_isolation';
const SECRET_B = 'whsec_org_b_isolation';
const stripe = new Stripe('sk_test_x');
let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_whiso' });
});
afterAll(async () => {
  await h?.stop();
});

async function post(organizationId: string, event: unknown, secret: string) {
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
  const res = await fetch(`${h.api.url}/webhooks/stripe/${organizationId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
  return { status: res.status, body: await res.json() };
}

/** An organization with a Stripe connection (its own webhook secret) and an invoice whose first attempt was declined. */
async function declinedInvoice(secret: string) {
  const s = await finalizedInvoiceSetup(h.database.db, { webhookSecret: secret });
  await linkCard(h.database.db, s, { decline: 'insufficient_funds' });
  await s.payments.attemptPayment({ ...s.ref, attempt: 1, idempotencyKey: paymentIdempotencyKey(s.ref.invoiceId, 1) }).catch(() => undefined);
  const [payment] = await listPayments(h.database.db, s.ref.organizationId, s.ref.invoiceId);
  return { s, pi: s.fake.paymentIntents.get(payment!.providerPaymentId!)! };
}

async function stateOf(organizationId: string, invoiceId: string) {
  const invoice = await h.database.db('invoices').where({ id: invoiceId }).first('payment_status', 'total_paid_amount_cents');
  const payments = await h.database.db('payments').where({ organization_id: organizationId }).orderBy('id').select('id', 'status', 'amount_cents');
  const events = await h.database.db('stripe_webhook_events').where({ organization_id: organizationId }).select('event_id');
  return { invoice, payments, events };
}

test('the Stripe webhook route is mounted outside /api/v1 and the route-table walk of /api/v1 excludes it', () => {
  const all = mountedRoutes(h.api.app).map((r) => `${r.method} ${r.template}`);
  expect(all).toContain('POST /webhooks/stripe/{organization_id}');
  const v1 = apiRoutes(h.api.app).map((r) => `${r.method} ${r.template}`);
  expect(v1.length).toBeGreaterThan(20);
  expect(v1.filter((r) => r.includes('webhooks/stripe'))).toEqual([]);
  // The authenticated webhook routes of /api/v1 are walked (the exclusion is by mount point, not by name).
  expect(v1).toEqual(expect.arrayContaining(['GET /webhooks', 'POST /webhooks/{lago_id}/retry']));
});

test("a payload signed with organization A's webhook secret, posted to organization B's URL, is refused 400 and changes nothing of either", async () => {
  const a = await declinedInvoice(SECRET_A);
  const b = await declinedInvoice(SECRET_B);
  const event = a.s.fake.event('payment_intent.succeeded', { ...a.pi, status: 'succeeded' });
  const beforeA = await stateOf(a.s.ref.organizationId, a.s.ref.invoiceId);
  const beforeB = await stateOf(b.s.ref.organizationId, b.s.ref.invoiceId);
  expect(beforeA.invoice.payment_status).toBe('failed');

  const refused = await post(b.s.ref.organizationId, event, SECRET_A);
  expect(refused).toMatchObject({ status: 400, body: { status: 400, code: 'invalid_signature' } });
  expect(await stateOf(a.s.ref.organizationId, a.s.ref.invoiceId)).toEqual(beforeA);
  expect(await stateOf(b.s.ref.organizationId, b.s.ref.invoiceId)).toEqual(beforeB);

  // Signed with B's own secret, the same event (A's PaymentIntent, A's invoice id in its metadata) is B's to
  // acknowledge, but it finds nothing of B and touches nothing of A.
  const acknowledged = await post(b.s.ref.organizationId, event, SECRET_B);
  expect(acknowledged).toMatchObject({ status: 200, body: { received: true, handled: false } });
  expect(await stateOf(a.s.ref.organizationId, a.s.ref.invoiceId)).toEqual(beforeA);
  expect((await stateOf(b.s.ref.organizationId, b.s.ref.invoiceId)).payments).toEqual(beforeB.payments);

  // The check can fail: the same payload at A's own URL, signed with A's secret, pays A's invoice.
  await expect(post(a.s.ref.organizationId, event, SECRET_A)).resolves.toMatchObject({ status: 200, body: { handled: true } });
  expect((await stateOf(a.s.ref.organizationId, a.s.ref.invoiceId)).invoice.payment_status).toBe('succeeded');
});
