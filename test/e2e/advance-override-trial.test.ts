// Two pay-in-advance rules checked against Lago (issue 11, adv11c), end to end on test clocks: real HTTP API, worker,
// Postgres and the Temporal dev server. Calendar billing, UTC, figures in cents.
//
// 1. A mid-period `plan_overrides.amount_cents` (PUT /subscriptions/:external_id) of a plan billed in advance applies
//    from the NEXT period: no credit note for the paid fee, no extra prorated fee. Lago: Subscriptions::UpdateService
//    (lago-api app/services/subscriptions/update_service.rb, commit 1b1c24a6) only swaps the subscription's plan for
//    the overridden child (Plans::OverrideService / Plans::UpdateService) and enqueues no BillSubscriptionJob for an
//    active subscription (the only invoice it may enqueue there is for pay-in-advance fixed charges); credits and
//    prorated fees are issued only by a plan change (Subscriptions::PlanUpgradeService) or a termination.
//    10000/month from Jan 1, overridden to 20000 on Jan 15 → Jan 1: 10000, no credit note, Feb 1: 20000.
//
// 2. A trial of the NEW plan at a plan change counts from the subscription's original start, not from the change.
//    Lago's published figures: lago-api spec/scenarios/subscriptions/free_trial_billing_spec.rb "with a plan upgrade
//    during the trial": plan A 5,000,000 in advance with a 10-day trial and a standard charge of 10.00 per event,
//    started 2024-03-05 12:12; an event on Mar 8; an upgrade on Mar 10 12:12 to plan B 10,000,000 in advance with a
//    13-day trial and 12.00 per event; an event on Mar 11. Lago: the upgrade bills plan A's charges, 1000; B's fee
//    for the days after its trial (Mar 5 12:12 + 13 days = Mar 18): (31 − 4 − 13)/31 × 10,000,000 = 4,516,129; on
//    Apr 1: 10,000,000 + 1200. Meterline bills the same amounts; the documented difference is WHEN an advance fee
//    after a trial is invoiced: Meterline bills it on the invoice at its period's start (here the upgrade invoice,
//    and A's 17/31 × 5,000,000 = 2,741,935 on the start invoice, fully credited by the upgrade since none of its days
//    were used), Lago on an invoice at the trial's end. What the customer owes for B is the same 4,516,129.
//    A downgrade the same way (Lago's trial_end_datetime = initial_started_at + the plan's trial_period, the first
//    subscription of the external_id's start, app/models/subscription.rb): 3000 → 1000 with a 45-day trial, started
//    2025-03-01, downgraded Mar 10: the new plan applies on Apr 1 while its trial (Mar 1 + 45 days = Apr 15) still
//    runs: April's fee is 16/30 × 1000 = 533 (R1 half-up of 533.33), May's 1000.
import { advanceTestClock, newTestClock, startSystem, eventually, type System } from './harness';

jest.setTimeout(600_000);

const WAIT_MS = 180_000;
let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/plans', { plan: { name: 'AOT adv', code: 'aot_adv', interval: 'monthly', amount_cents: 10000, amount_currency: 'EUR', pay_in_advance: true } })).status).toBe(200);
  expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'AOT calls', code: 'aot_calls', aggregation_type: 'count_agg' } })).status).toBe(200);
  const charge = (amount: string) => [{ billable_metric_code: 'aot_calls', charge_model: 'standard', properties: { amount } }];
  expect((await r('POST', '/plans', { plan: { name: 'AOT trial A', code: 'aot_trial_a', interval: 'monthly', amount_cents: 5_000_000, amount_currency: 'EUR', pay_in_advance: true, trial_period: 10, charges: charge('10') } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: { name: 'AOT big', code: 'aot_big', interval: 'monthly', amount_cents: 3000, amount_currency: 'EUR', pay_in_advance: true } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: { name: 'AOT small trial', code: 'aot_small_trial', interval: 'monthly', amount_cents: 1000, amount_currency: 'EUR', pay_in_advance: true, trial_period: 45 } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: { name: 'AOT trial B', code: 'aot_trial_b', interval: 'monthly', amount_cents: 10_000_000, amount_currency: 'EUR', pay_in_advance: true, trial_period: 13, charges: charge('12') } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

const newClock = (name: string, at: string) => newTestClock(sys, name, at);
const advance = (clockId: string, to: string) => advanceTestClock(sys, clockId, to);
async function finalizedInvoices(externalCustomerId: string, n: number): Promise<any[]> {
  const list = await eventually(async () => {
    const invs = (await r('GET', `/invoices?external_customer_id=${externalCustomerId}`)).body.invoices as any[];
    return invs.length === n && invs.every((i) => i.status === 'finalized') ? invs : undefined;
  }, WAIT_MS, `${n} finalized invoices of ${externalCustomerId}`);
  return [...list].sort((a, b) => a.issuing_date.localeCompare(b.issuing_date));
}
const feeView = (inv: any) =>
  inv.fees.filter((f: any) => f.amount_cents !== 0).map((f: any) => ({ type: f.item.type, code: f.item.code, amount_cents: f.amount_cents }))
    .sort((a: any, b: any) => a.type.localeCompare(b.type));
async function customer(externalId: string) {
  expect((await r('POST', '/customers', { customer: { external_id: externalId, currency: 'EUR', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
}

it('a mid-period amount_cents override of an advance plan (10000 → 20000 on Jan 15) issues no credit note and no prorated fee, and the February fee is 20000 (Lago applies it from the next period)', async () => {
  await customer('aot-ov-cus');
  const clockId = await newClock('aot-ov', '2026-01-01T00:00:00.000Z');
  const created = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'aot-ov-cus', plan_code: 'aot_adv', external_id: 'aot-ov', test_clock_id: clockId } });
  expect(created.status).toBe(200);
  const [start] = await finalizedInvoices('aot-ov-cus', 1);
  expect(start.total_amount_cents).toBe(10000);

  await advance(clockId, '2026-01-15T00:00:00.000Z');
  const put = await r('PUT', '/subscriptions/aot-ov', { subscription: { plan_overrides: { amount_cents: 20000 } } });
  expect(put.status).toBe(200);
  expect(put.body.subscription).toMatchObject({ plan_code: 'aot_adv', plan_amount_cents: 20000 });

  await advance(clockId, '2026-02-01T00:00:00.000Z');
  const invoices = await finalizedInvoices('aot-ov-cus', 2);
  expect(invoices.map((i) => [i.issuing_date, i.total_amount_cents])).toEqual([
    ['2026-01-01', 10000],
    ['2026-02-01', 20000],
  ]);
  expect(feeView(invoices[1])).toEqual([{ type: 'subscription', code: 'aot_adv', amount_cents: 20000 }]);
  expect((await r('GET', '/credit_notes?external_customer_id=aot-ov-cus')).body.credit_notes).toEqual([]);
  expect((await r('GET', '/plans/aot_adv')).body.plan).toMatchObject({ amount_cents: 10000 });
  await r('DELETE', '/subscriptions/aot-ov?on_termination_credit_note=skip');
});

it("an upgrade during a trial to a plan with its own 13-day trial counts that trial from the original start (Mar 5 12:12 → Mar 18): the new plan's fee is Lago's 4,516,129, April bills 10,000,000 + 1200", async () => {
  await customer('aot-tr-cus');
  const clockId = await newClock('aot-tr', '2024-03-05T12:12:00.000Z');
  const created = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'aot-tr-cus', plan_code: 'aot_trial_a', external_id: 'aot-tr', test_clock_id: clockId } });
  expect(created.status).toBe(200);
  // Plan A's fee after its trial (Mar 15 12:12 → Apr 1, 17 days of 31) on the start invoice.
  const [start] = await finalizedInvoices('aot-tr-cus', 1);
  expect(feeView(start)).toEqual([{ type: 'subscription', code: 'aot_trial_a', amount_cents: 2_741_935 }]);

  await advance(clockId, '2024-03-08T00:00:00.000Z');
  expect((await r('POST', '/events', { event: { transaction_id: 'aot-tr-1', external_subscription_id: 'aot-tr', code: 'aot_calls' } })).status).toBe(200);
  await advance(clockId, '2024-03-10T12:12:00.000Z');
  const up = await eventually(async () => {
    const res = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'aot-tr-cus', plan_code: 'aot_trial_b', external_id: 'aot-tr' } });
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, 'the upgrade');
  expect(up.status).toBe(200);
  expect(up.body.subscription).toMatchObject({ plan_code: 'aot_trial_b', previous_plan_code: 'aot_trial_a' });

  const afterUpgrade = await finalizedInvoices('aot-tr-cus', 2);
  // Lago's upgrade invoice: A's charges 1000; B's fee (Mar 18 12:12 → Apr 1, 14 of 31 days) 4,516,129.
  expect(feeView(afterUpgrade[1])).toEqual([
    { type: 'charge', code: 'aot_calls', amount_cents: 1000 },
    { type: 'subscription', code: 'aot_trial_b', amount_cents: 4_516_129 },
  ]);
  const fee = afterUpgrade[1].fees.find((f: any) => f.item.type === 'subscription');
  expect([fee.from_date, fee.to_date]).toEqual(['2024-03-18T12:12:00.000Z', '2024-04-01T00:00:00.000Z']);
  // A's fee was for days none of which was used: all of it is credited.
  const notes = await eventually(async () => {
    const list = (await r('GET', '/credit_notes?external_customer_id=aot-tr-cus')).body.credit_notes as any[];
    return list.length > 0 ? list : undefined;
  }, WAIT_MS, 'the upgrade credit note');
  expect(notes.map((n) => [n.lago_invoice_id, n.total_amount_cents])).toEqual([[start.lago_id, 2_741_935]]);

  await advance(clockId, '2024-03-11T00:00:00.000Z');
  expect((await r('POST', '/events', { event: { transaction_id: 'aot-tr-2', external_subscription_id: 'aot-tr', code: 'aot_calls' } })).status).toBe(200);
  // Mar 18 (B's trial end): nothing more to bill; Apr 1: B's full fee and March's B charges.
  await advance(clockId, '2024-04-01T12:12:00.000Z');
  const all = await finalizedInvoices('aot-tr-cus', 3);
  expect(all[2].issuing_date).toBe('2024-04-01');
  expect(feeView(all[2])).toEqual([
    { type: 'charge', code: 'aot_calls', amount_cents: 1200 },
    { type: 'subscription', code: 'aot_trial_b', amount_cents: 10_000_000 },
  ]);
  await r('DELETE', '/subscriptions/aot-tr?on_termination_credit_note=skip');
});

it('a downgrade to a plan with a 45-day trial counts the trial from the original start (Mar 1 → Apr 15), not from the change: the Apr 1 invoice bills 16/30 of 1000 = 533, May 1000', async () => {
  await customer('aot-dn-cus');
  const clockId = await newClock('aot-dn', '2025-03-01T00:00:00.000Z');
  const created = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'aot-dn-cus', plan_code: 'aot_big', external_id: 'aot-dn', test_clock_id: clockId } });
  expect(created.status).toBe(200);
  const [start] = await finalizedInvoices('aot-dn-cus', 1);
  expect(start.total_amount_cents).toBe(3000);
  await advance(clockId, '2025-03-10T00:00:00.000Z');
  const down = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'aot-dn-cus', plan_code: 'aot_small_trial', external_id: 'aot-dn' } });
  expect(down.status).toBe(200);
  expect(down.body.subscription).toMatchObject({ plan_code: 'aot_big', next_plan_code: 'aot_small_trial' });

  await advance(clockId, '2025-04-02T00:00:00.000Z');
  const afterApril = await finalizedInvoices('aot-dn-cus', 2);
  expect(feeView(afterApril[1])).toEqual([{ type: 'subscription', code: 'aot_small_trial', amount_cents: 533 }]);
  const fee = afterApril[1].fees.find((f: any) => f.item.type === 'subscription');
  expect([fee.from_date, fee.to_date]).toEqual(['2025-04-15T00:00:00.000Z', '2025-05-01T00:00:00.000Z']);
  await advance(clockId, '2025-05-02T00:00:00.000Z');
  const all = await finalizedInvoices('aot-dn-cus', 3);
  expect(feeView(all[2])).toEqual([{ type: 'subscription', code: 'aot_small_trial', amount_cents: 1000 }]);
  await r('DELETE', '/subscriptions/aot-dn?on_termination_credit_note=skip');
});
