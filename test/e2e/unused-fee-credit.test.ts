// The unused advance fee's credit note on termination, end to end (real API, worker, Postgres, Temporal dev server)
// on a test clock, with Lago's numbers: lago-api spec/scenarios/subscriptions/terminate_manually_spec.rb ("Subscription
// manual termination", pay-in-advance plan of 100.00, subscribed 2025-02-08, terminated 2025-02-21, UTC, 5 events of
// 10 units at 1.00). Lago's figures carry a 20 % tax; this test has none, so its amounts are Lago's before taxes:
// start invoice 21/28 × 100.00 = 75.00; credit note 7 unused days / 28 × 100.00 = 25.00 (the termination day is
// used); termination invoice 50.00 of usage lowered by the 25.00 credit note to 25.00. `on_termination_credit_note=skip`
// issues none, and an unknown value is refused with nothing done.
import { advanceTestClock, newTestClock, startSystem, eventually, type System } from './harness';

jest.setTimeout(600_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Items', code: 'items', aggregation_type: 'sum_agg', field_name: 'item_count' } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: {
    name: 'Advance 100', code: 'adv100', interval: 'monthly', amount_cents: 10000, amount_currency: 'EUR', pay_in_advance: true,
    charges: [{ billable_metric_code: 'items', charge_model: 'standard', properties: { amount: '1' } }],
  } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

/** A customer on a fresh test clock at Lago's subscription date, subscribed, its start invoice finalized. */
async function subscribedOnClock(name: string) {
  const clockId = await newTestClock(sys, name, '2025-02-08T00:00:00.000Z');
  expect((await r('POST', '/customers', { customer: { external_id: name, currency: 'EUR', timezone: 'UTC' } })).status).toBe(200);
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: name, plan_code: 'adv100', external_id: name, test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const start = await eventually(async () => {
    const list = await r('GET', `/invoices?external_customer_id=${name}`);
    const inv = list.body.invoices.find((i: any) => i.fees?.some((f: any) => f.item.type === 'subscription'));
    return inv?.status === 'finalized' ? inv : undefined;
  }, 120_000, 'the finalized start invoice');
  return { clockId, subscriptionId: sub.body.subscription.lago_id as string, start };
}

async function usageAndAdvance(name: string, clockId: string) {
  await advanceTestClock(sys, clockId, '2025-02-10T00:00:00.000Z');
  const events = Array.from({ length: 5 }, (_, k) => ({ transaction_id: `${name}-ev-${k}`, external_subscription_id: name, code: 'items', properties: { item_count: 10 } }));
  expect((await r('POST', '/events/batch', { events })).status).toBe(200);
  await advanceTestClock(sys, clockId, '2025-02-21T00:00:00.000Z');
}

it("terminating a pay-in-advance subscription mid-period issues Lago's credit note for the unused days (25.00 of 75.00), consumed by the termination invoice", async () => {
  const { clockId, subscriptionId, start } = await subscribedOnClock('cn-credit');
  // 21 of February's 28 days: 75.00 (Lago: 90.00 with its 20 % tax).
  expect(start.total_amount_cents).toBe(7500);
  await usageAndAdvance('cn-credit', clockId);

  const ended = await eventually(async () => {
    const res = await r('DELETE', '/subscriptions/cn-credit');
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, 'the termination');
  expect(ended.status).toBe(200);
  expect(ended.body.subscription.terminated_at).toBe('2025-02-21T00:00:00.000Z');

  const notes = (await r('GET', '/credit_notes?external_customer_id=cn-credit')).body.credit_notes;
  expect(notes).toHaveLength(1);
  const fee = start.fees.find((f: any) => f.item.type === 'subscription');
  expect(notes[0]).toMatchObject({
    lago_invoice_id: start.lago_id,
    reason: 'order_change',
    issuing_date: '2025-02-21',
    total_amount_cents: 2500, // Lago: 30.00 = 25.00 + 20 %
    credit_amount_cents: 2500,
    refund_amount_cents: 0,
  });
  expect(notes[0].items).toEqual([expect.objectContaining({ lago_fee_id: fee.lago_id, amount_cents: 2500 })]);

  // The termination invoice: 50.00 of usage, lowered by the credit note (Lago: 60.00 − 30.00).
  const termination = await eventually(async () => {
    const row = await sys.database.db('invoices').where({ subscription_id: subscriptionId, invoice_type: 'termination' }).first('id');
    if (!row) return undefined;
    const inv = (await r('GET', `/invoices/${row.id}`)).body.invoice;
    return inv.status === 'finalized' ? inv : undefined;
  }, 120_000, 'the finalized termination invoice');
  expect(termination.fees_amount_cents).toBe(5000);
  expect(termination.credit_notes_amount_cents).toBe(2500);
  expect(termination.total_amount_cents).toBe(2500);
  const after = (await r('GET', `/credit_notes/${notes[0].lago_id}`)).body.credit_note;
  expect(after.balance_amount_cents).toBe(0);
});

it('on_termination_credit_note=skip issues no credit note, and an unknown value is refused before anything is terminated (refund: test/e2e/termination-refund.test.ts)', async () => {
  const { clockId } = await subscribedOnClock('cn-skip');
  await usageAndAdvance('cn-skip', clockId);
  expect((await r('DELETE', '/subscriptions/cn-skip?on_termination_credit_note=maybe')).body.error_details).toEqual({ on_termination_credit_note: ['value_is_invalid'] });
  expect((await r('GET', '/subscriptions/cn-skip')).body.subscription.status).toBe('active');

  const ended = await eventually(async () => {
    const res = await r('DELETE', '/subscriptions/cn-skip?on_termination_credit_note=skip');
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, 'the termination');
  expect(ended.status).toBe(200);
  expect(ended.body.subscription.status).toBe('terminated');
  expect((await r('GET', '/credit_notes?external_customer_id=cn-skip')).body.credit_notes).toEqual([]);
});
