// The upgrade credit end to end (real API, real worker, Postgres, Temporal dev server) on a test clock, with Lago's
// upgrade figures (billing/README "Plan changes": a Jan 15 upgrade of 100 → 200 EUR/month, UTC, calendar billing;
// lago-api's published 45.16 + 109.68). Both plans bill their fee in advance, so the old plan's January fee was paid
// on Jan 1 (100.00) and the upgrade credits its unused part. Hand-computed (integer cents):
//   - start invoice, Jan 1: the full month 10000;
//   - credit note at the upgrade (the change day belongs to the new plan, so it is credited): 17 days (Jan 15..31) of
//     31 → 10000 × 17 / 31 = 5483.87…, rounded DOWN (rounding point A1) → 5483, reason order_change, on the start
//     invoice's subscription fee, issued 2026-01-15;
//   - the upgrade invoice, Jan 15 (Lago groups the old subscription's closing invoice and the new one's first advance
//     invoice into one, lago-api PR 1712): the old plan's in-arrears usage (none here: no charges, and its fee was
//     paid in advance, so it is NOT billed again) + the new plan's first advance fee over [Jan 15, Feb 1):
//     20000 × 17 / 31 = 10967.74… → 10968 (R1 half-up), labelled adv-pro; the 5483 credit note is consumed by it at
//     finalization: total 10968 − 5483 = 5485. Total charged: 10000 + 5485 = 15485 (Lago's 100.00 + 109.68 − 54.83).
//   - the Feb 1 invoice: the new plan's February fee in advance, 20000 over [Feb 1, Mar 1), labelled adv-pro.
//   - every fee keeps the plan it was billed under: the Jan 1 fee stays adv-basic after the upgrade.
import { advanceTestClock, newTestClock, startSystem, eventually, type System } from './harness';

jest.setTimeout(600_000);

const WAIT_MS = 180_000;
let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  for (const [code, amount] of [['adv-basic', 10000], ['adv-pro', 20000]] as const) {
    expect((await r('POST', '/plans', { plan: { name: code, code, interval: 'monthly', amount_cents: amount, amount_currency: 'EUR', pay_in_advance: true } })).status).toBe(200);
  }
});
afterAll(async () => {
  await sys?.stop();
});

const subscriptionFeeInvoices = async (externalCustomerId: string) =>
  ((await r('GET', `/invoices?external_customer_id=${externalCustomerId}`)).body.invoices as any[]).filter((i) => i.fees?.some((f: any) => f.item.type === 'subscription' && f.amount_cents > 0));

it("upgrading a paid-in-advance plan mid-month credits the old plan's unused 17/31 (5483 of 10000) on the start invoice's fee, bills the new plan's 17/31 (10968) once in advance on the upgrade invoice less that credit (5485), keeps each fee's own plan code, and bills February once at 20000", async () => {
  const clockId = await newTestClock(sys, 'upgrade', '2026-01-01T00:00:00.000Z');
  expect((await r('POST', '/customers', { customer: { external_id: 'up-cus', currency: 'EUR', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'up-cus', plan_code: 'adv-basic', external_id: 'up-sub', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const [start] = await eventually(async () => {
    const invs = await subscriptionFeeInvoices('up-cus');
    return invs.length === 1 && invs[0].status === 'finalized' ? invs : undefined;
  }, WAIT_MS, 'the finalized start invoice');
  expect(start.total_amount_cents).toBe(10000);

  await advanceTestClock(sys, clockId, '2026-01-15T00:00:00.000Z');
  const up = await eventually(async () => {
    const res = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'up-cus', plan_code: 'adv-pro', external_id: 'up-sub' } });
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, 'the upgrade');
  expect(up.status).toBe(200);
  expect(up.body.subscription).toMatchObject({ plan_code: 'adv-pro', previous_plan_code: 'adv-basic' });

  const notes = await eventually(async () => {
    const list = (await r('GET', '/credit_notes?external_customer_id=up-cus')).body.credit_notes;
    return list.length > 0 ? list : undefined;
  }, WAIT_MS, 'the upgrade credit note');
  const oldFee = start.fees.find((f: any) => f.item.type === 'subscription');
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatchObject({ lago_invoice_id: start.lago_id, reason: 'order_change', issuing_date: '2026-01-15', total_amount_cents: 5483, credit_amount_cents: 5483, refund_amount_cents: 0 });
  expect(notes[0].items).toEqual([expect.objectContaining({ lago_fee_id: oldFee.lago_id, amount_cents: 5483 })]);


  // Every invoice of the customer after the upgrade: amounts, each fee's plan code and dates.
  const feeView = (inv: any) => inv.fees.filter((f: any) => f.amount_cents !== 0).map((f: any) => ({ type: f.item.type, code: f.item.code, amount_cents: f.amount_cents, from_date: f.from_date, to_date: f.to_date }));
  const afterUpgrade = await eventually(async () => {
    const invs = (await r('GET', '/invoices?external_customer_id=up-cus')).body.invoices as any[];
    return invs.length === 2 && invs.every((i) => i.status === 'finalized') ? invs : undefined;
  }, WAIT_MS, 'the finalized upgrade invoice');
  const byIssuing = [...afterUpgrade].sort((a, b) => a.issuing_date.localeCompare(b.issuing_date));
  expect(byIssuing.map((i) => [i.issuing_date, i.fees_amount_cents, i.credit_notes_amount_cents, i.total_amount_cents])).toEqual([
    ['2026-01-01', 10000, 0, 10000],
    ['2026-01-15', 10968, 5483, 5485],
  ]);
  expect(feeView(byIssuing[0])).toEqual([{ type: 'subscription', code: 'adv-basic', amount_cents: 10000, from_date: '2026-01-01T00:00:00.000Z', to_date: '2026-02-01T00:00:00.000Z' }]);
  expect(feeView(byIssuing[1])).toEqual([{ type: 'subscription', code: 'adv-pro', amount_cents: 10968, from_date: '2026-01-15T00:00:00.000Z', to_date: '2026-02-01T00:00:00.000Z' }]);
  expect(byIssuing.reduce((a, i) => a + i.total_amount_cents, 0)).toBe(15485);

  // The new plan's next period is billed in advance at its start, once.
  await advanceTestClock(sys, clockId, '2026-02-01T00:00:00.000Z');
  const withFebruary = await eventually(async () => {
    const invs = (await r('GET', '/invoices?external_customer_id=up-cus')).body.invoices as any[];
    return invs.length === 3 && invs.every((i) => i.status === 'finalized') ? invs : undefined;
  }, WAIT_MS, 'the finalized February invoice');
  const feb = withFebruary.find((i) => i.issuing_date === '2026-02-01');
  expect(feb.total_amount_cents).toBe(20000);
  expect(feeView(feb)).toEqual([{ type: 'subscription', code: 'adv-pro', amount_cents: 20000, from_date: '2026-02-01T00:00:00.000Z', to_date: '2026-03-01T00:00:00.000Z' }]);

  await r('DELETE', '/subscriptions/up-sub?on_termination_credit_note=skip');
});
