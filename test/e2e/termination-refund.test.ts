// Lago's on_termination_credit_note=refund and the termination options stored on the subscription, end to end: the
// real API, the real worker, Postgres, the Temporal dev server, the real Stripe adapter on the stateful Stripe fake,
// on a test clock. Lago's figures (spec/scenarios/subscriptions/terminate_manually_spec.rb, as in
// unused-fee-credit.test.ts, without its 20 % tax): pay-in-advance plan of 100.00 subscribed 2025-02-08 → start
// invoice 21/28 × 100.00 = 75.00, paid by card; terminated 2025-02-21 → 7 unused days / 28 × 100.00 = 25.00.
// - refund, paid start invoice: the credit note refunds 25.00 (refund_amount 2500, credit 0), sent as ONE Stripe
//   refund on the start invoice's PaymentIntent, keyed by the credit note;
// - refund, unpaid start invoice (no payment provider for the customer): nothing was paid, so the 25.00 is credited;
// - options given on POST /subscriptions are returned on the Subscription and used by a DELETE without a query.
import { FakeStripe } from '../support/fake-stripe';
import { startSystemWithStripeFake } from '../support/stripe-system';
import { advanceTestClock, newTestClock, eventually, type System } from './harness';

jest.setTimeout(600_000);

const WAIT_MS = 180_000;
const fake = new FakeStripe();
let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystemWithStripeFake(fake);
  expect((await r('POST', '/plans', { plan: { name: 'Advance 100', code: 'adv100', interval: 'monthly', amount_cents: 10000, amount_currency: 'EUR', pay_in_advance: true } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: { name: 'Arrears 100', code: 'arr100', interval: 'monthly', amount_cents: 10000, amount_currency: 'EUR', pay_in_advance: false } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

/** A customer on a fresh test clock at 2025-02-08 (paying by card when `card`), subscribed, its start invoice finalized. */
async function subscribedOnClock(name: string, card: boolean, options: Record<string, string> = {}) {
  const clockId = await newTestClock(sys, name, '2025-02-08T00:00:00.000Z');
  let billing: Record<string, unknown> = { invoice_grace_period: 0 };
  if (card) {
    const stripeCustomer = await fake.client().customers.create({ name });
    fake.addCard(stripeCustomer.id);
    billing = { ...billing, payment_provider: 'stripe', provider_customer_id: stripeCustomer.id };
  }
  expect((await r('POST', '/customers', { customer: { external_id: name, currency: 'EUR', timezone: 'UTC', billing_configuration: billing } })).status).toBe(200);
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: name, plan_code: 'adv100', external_id: name, test_clock_id: clockId, ...options } });
  expect(sub.status).toBe(200);
  const start = await eventually(async () => {
    const inv = (await r('GET', `/invoices?external_customer_id=${name}`)).body.invoices.find((i: any) => i.fees?.some((f: any) => f.item.type === 'subscription'));
    if (inv?.status !== 'finalized') return undefined;
    return !card || inv.payment_status === 'succeeded' ? inv : undefined;
  }, WAIT_MS, card ? 'the start invoice paid' : 'the start invoice finalized');
  expect(start.total_amount_cents).toBe(7500);
  await advanceTestClock(sys, clockId, '2025-02-21T00:00:00.000Z');
  return { subscription: sub.body.subscription, start };
}

async function terminate(path: string) {
  return eventually(async () => {
    const res = await r('DELETE', path);
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, 'the termination');
}

it("on_termination_credit_note=refund refunds the paid unused part (25.00 of a paid 75.00) through the provider, once, and credits nothing", async () => {
  const { start } = await subscribedOnClock('refund-paid', true);
  // The first paid invoice of this file: the start invoice's PaymentIntent of 75.00.
  const paid = fake.succeededCharges();
  expect(paid.map((pi: any) => Number(pi.amount))).toEqual([7500]);
  const paymentIntent = paid[0]!.id;
  const ended = await terminate('/subscriptions/refund-paid?on_termination_credit_note=refund');
  expect(ended.status).toBe(200);
  expect(ended.body.subscription).toMatchObject({ status: 'terminated', on_termination_credit_note: 'refund', on_termination_invoice: 'generate' });

  const notes = (await r('GET', '/credit_notes?external_customer_id=refund-paid')).body.credit_notes;
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatchObject({ lago_invoice_id: start.lago_id, reason: 'order_change', total_amount_cents: 2500, refund_amount_cents: 2500, credit_amount_cents: 0, balance_amount_cents: 0, refund_status: 'succeeded' });
  const refunds = [...fake.refunds.values()].filter((x: any) => x.payment_intent === paymentIntent);
  expect(refunds).toEqual([expect.objectContaining({ amount: 2500, status: 'succeeded', metadata: expect.objectContaining({ lago_credit_note_id: notes[0].lago_id }) })]);
});

it('on_termination_credit_note=refund with nothing paid credits the unused 25.00 instead (Lago: the unpaid unused amount is credited)', async () => {
  await subscribedOnClock('refund-unpaid', false);
  const ended = await terminate('/subscriptions/refund-unpaid?on_termination_credit_note=refund');
  expect(ended.status).toBe(200);
  const notes = (await r('GET', '/credit_notes?external_customer_id=refund-unpaid')).body.credit_notes;
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatchObject({ total_amount_cents: 2500, refund_amount_cents: 0, credit_amount_cents: 2500 });
});

it('termination options given on POST /subscriptions are shown on the Subscription and used by a DELETE without a query (skip: no invoice; refund)', async () => {
  const { subscription } = await subscribedOnClock('stored-opts', true, { on_termination_invoice: 'skip', on_termination_credit_note: 'refund' });
  expect(subscription).toMatchObject({ on_termination_invoice: 'skip', on_termination_credit_note: 'refund' });
  expect((await r('GET', '/subscriptions/stored-opts')).body.subscription).toMatchObject({ on_termination_invoice: 'skip', on_termination_credit_note: 'refund' });
  const ended = await terminate('/subscriptions/stored-opts');
  expect(ended.status).toBe(200);
  const notes = (await r('GET', '/credit_notes?external_customer_id=stored-opts')).body.credit_notes;
  expect(notes).toEqual([expect.objectContaining({ total_amount_cents: 2500, refund_amount_cents: 2500, credit_amount_cents: 0 })]);
  expect(await sys.database.db('invoices').where({ subscription_id: subscription.lago_id, invoice_type: 'termination' }).count<{ n: string }[]>({ n: '*' }).first().then((c) => Number(c?.n))).toBe(0);
});

it('the Subscription object: Lago’s defaults (generate, credit) when nothing is stored; PUT sets the options; an unknown value is refused with the field named', async () => {
  expect((await r('POST', '/customers', { customer: { external_id: 'arrears-opts', currency: 'EUR' } })).status).toBe(200);
  const created = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'arrears-opts', plan_code: 'arr100', external_id: 'arrears-opts' } });
  expect(created.body.subscription).toMatchObject({ on_termination_invoice: 'generate', on_termination_credit_note: 'credit' });
  const put = await r('PUT', '/subscriptions/arrears-opts', { subscription: { on_termination_invoice: 'skip' } });
  expect(put.status).toBe(200);
  expect(put.body.subscription.on_termination_invoice).toBe('skip');
  const bad = await r('PUT', '/subscriptions/arrears-opts', { subscription: { on_termination_credit_note: 'offset' } });
  expect(bad.status).toBe(422);
  expect(Object.keys(bad.body.error_details)).toEqual(['on_termination_credit_note']);
  expect((await r('GET', '/subscriptions/arrears-opts')).body.subscription.on_termination_invoice).toBe('skip');
  await terminate('/subscriptions/arrears-opts');
});
