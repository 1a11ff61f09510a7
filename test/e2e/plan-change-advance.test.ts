// Plan changes around pay-in-advance plans end to end (real API, real worker, Postgres, Temporal dev server) on test
// clocks, UTC, calendar billing, from 2026-01-01. The neighbours of test/e2e/upgrade-credit.test.ts (advance → advance
// upgrade). Rules: billing/README "Plan changes" and "Pay in advance across a plan change". Hand-computed (cents):
//   - downgrade advance 100 → advance 50 EUR/month requested Jan 15: effective Feb 1 (Lago: at the period end). Jan 1:
//     10000 (old). Feb 1: the NEW plan's February fee in advance, 5000 [Feb 1, Mar 1); the old plan's February fee
//     is not billed. No credit note (the old plan's January was used whole). Mar 1: 5000 (new).
//   - upgrade arrears 100 → advance 200 on Jan 15 (Lago's published example, 45.16 + 109.68): Jan 15: the old fee
//     14/31 × 10000 = 4516 [Jan 1, Jan 15) + the new fee 17/31 × 20000 = 10968 [Jan 15, Feb 1) on one invoice
//     (lago-api PR 1712), 15484; no credit note (nothing was paid in advance). Feb 1: 20000 (February, in advance).
//   - upgrade advance 100 → arrears 200 on Jan 15: Jan 1: 10000; credit note 17/31 × 10000 → 5483 (A1, rounded down);
//     Jan 15: nothing to bill (no usage, the old fee was paid, the new plan bills in arrears); Feb 1: the new plan's
//     [Jan 15, Feb 1) in arrears, 10968, less the 5483 credit = 5485. Total 10000 + 5485 = 15485.
//   - upgrade advance 100 EUR/month → advance 1500 EUR/year (150000 ≥ 12 × 10000: an upgrade) on Jan 15, calendar:
//     the new period [Jan 15, 2027-01-01) over the calendar year 2026 (convention: the new schedule's period that
//     contains the change, billing/plan-change.ts periodAfterChange; Lago publishes no figure for it): 351/365 ×
//     150000 = 144246.57… → 144247, less the 5483 credit = 138764. Feb 1: nothing (the year is paid).
import { advanceTestClock, newTestClock, startSystem, eventually, type System } from './harness';

jest.setTimeout(600_000);

const WAIT_MS = 180_000;
let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

const PLANS: Array<[code: string, interval: string, amount: number, payInAdvance: boolean]> = [
  ['pca-adv-100', 'monthly', 10000, true],
  ['pca-adv-50', 'monthly', 5000, true],
  ['pca-adv-200', 'monthly', 20000, true],
  ['pca-arr-100', 'monthly', 10000, false],
  ['pca-arr-200', 'monthly', 20000, false],
  ['pca-adv-year', 'yearly', 150000, true],
];

beforeAll(async () => {
  sys = await startSystem('dev-server');
  for (const [code, interval, amount, payInAdvance] of PLANS) {
    expect((await r('POST', '/plans', { plan: { name: code, code, interval, amount_cents: amount, amount_currency: 'EUR', pay_in_advance: payInAdvance } })).status).toBe(200);
  }
});
afterAll(async () => {
  await sys?.stop();
});

interface FeeView { code: string; amount_cents: number; from_date: string; to_date: string }
const day = (d: string) => `${d}T00:00:00.000Z`;
const feeView = (inv: any): FeeView[] =>
  inv.fees.filter((f: any) => f.item.type === 'subscription' && f.amount_cents !== 0).map((f: any) => ({ code: f.item.code, amount_cents: f.amount_cents, from_date: f.from_date, to_date: f.to_date }));

/** The customer's finalized invoices that bill something, by issuing date, once `count` of them exist. */
async function billedInvoices(cus: string, count: number, what: string): Promise<any[]> {
  return eventually(async () => {
    const invs = ((await r('GET', `/invoices?external_customer_id=${cus}`)).body.invoices as any[]).filter((i) => i.fees_amount_cents > 0);
    if (invs.length !== count || invs.some((i) => i.status !== 'finalized')) return undefined;
    return [...invs].sort((a, b) => a.issuing_date.localeCompare(b.issuing_date));
  }, WAIT_MS, what);
}

async function creditNotes(cus: string): Promise<any[]> {
  return (await r('GET', `/credit_notes?external_customer_id=${cus}`)).body.credit_notes as any[];
}

/** A subscription on its own test clock from Jan 1, the clock moved to `changeOn`, then the plan changed. */
async function subscribeThenChange(tag: string, fromPlan: string, toPlan: string, changeOn: string): Promise<{ clockId: string; change: any }> {
  const clockId = await newTestClock(sys, tag, day('2026-01-01'));
  expect((await r('POST', '/customers', { customer: { external_id: `${tag}-cus`, currency: 'EUR', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
  expect((await r('POST', '/subscriptions', { subscription: { external_customer_id: `${tag}-cus`, plan_code: fromPlan, external_id: `${tag}-sub`, test_clock_id: clockId } })).status).toBe(200);
  if (PLANS.find((p) => p[0] === fromPlan)![3]) await billedInvoices(`${tag}-cus`, 1, `${tag}: the start invoice`);
  await advanceTestClock(sys, clockId, day(changeOn));
  const change = await eventually(async () => {
    const res = await r('POST', '/subscriptions', { subscription: { external_customer_id: `${tag}-cus`, plan_code: toPlan, external_id: `${tag}-sub` } });
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, `${tag}: the plan change`);
  expect(change.status).toBe(200);
  return { clockId, change: change.body.subscription };
}

async function advance(clockId: string, to: string): Promise<void> {
  await advanceTestClock(sys, clockId, day(to));
}

it('a downgrade of a pay-in-advance plan takes effect at the period end: the Feb 1 invoice bills the new plan\'s February (5000) in advance and never the old plan\'s, with no credit note', async () => {
  const { clockId, change } = await subscribeThenChange('pca-down', 'pca-adv-100', 'pca-adv-50', '2026-01-15');
  expect(change).toMatchObject({ plan_code: 'pca-adv-100', next_plan_code: 'pca-adv-50', downgrade_plan_date: '2026-02-01' });
  await advance(clockId, '2026-02-01');
  const invs = await billedInvoices('pca-down-cus', 2, 'the Feb 1 invoice');
  expect(invs.map((i) => [i.issuing_date, i.total_amount_cents])).toEqual([['2026-01-01', 10000], ['2026-02-01', 5000]]);
  expect(feeView(invs[0])).toEqual([{ code: 'pca-adv-100', amount_cents: 10000, from_date: day('2026-01-01'), to_date: day('2026-02-01') }]);
  expect(feeView(invs[1])).toEqual([{ code: 'pca-adv-50', amount_cents: 5000, from_date: day('2026-02-01'), to_date: day('2026-03-01') }]);
  await advance(clockId, '2026-03-01');
  const withMarch = await billedInvoices('pca-down-cus', 3, 'the Mar 1 invoice');
  expect(feeView(withMarch[2])).toEqual([{ code: 'pca-adv-50', amount_cents: 5000, from_date: day('2026-03-01'), to_date: day('2026-04-01') }]);
  expect(await creditNotes('pca-down-cus')).toEqual([]);
  await r('DELETE', '/subscriptions/pca-down-sub?on_termination_credit_note=skip');
});

it("an upgrade from in arrears to pay in advance bills Lago's 45.16 (old, 14/31) + 109.68 (new, 17/31, in advance) on one Jan 15 invoice, no credit note, then February in advance", async () => {
  const { clockId } = await subscribeThenChange('pca-a2v', 'pca-arr-100', 'pca-adv-200', '2026-01-15');
  const invs = await billedInvoices('pca-a2v-cus', 1, 'the upgrade invoice');
  expect(invs.map((i) => [i.issuing_date, i.total_amount_cents])).toEqual([['2026-01-15', 15484]]);
  expect(feeView(invs[0])).toEqual([
    { code: 'pca-arr-100', amount_cents: 4516, from_date: day('2026-01-01'), to_date: day('2026-01-15') },
    { code: 'pca-adv-200', amount_cents: 10968, from_date: day('2026-01-15'), to_date: day('2026-02-01') },
  ]);
  await advance(clockId, '2026-02-01');
  const withFeb = await billedInvoices('pca-a2v-cus', 2, 'the Feb 1 invoice');
  expect(withFeb[1].total_amount_cents).toBe(20000);
  expect(feeView(withFeb[1])).toEqual([{ code: 'pca-adv-200', amount_cents: 20000, from_date: day('2026-02-01'), to_date: day('2026-03-01') }]);
  expect(await creditNotes('pca-a2v-cus')).toEqual([]);
  await r('DELETE', '/subscriptions/pca-a2v-sub?on_termination_credit_note=skip');
});

it('an upgrade from pay in advance to in arrears credits 5483 of the paid January, bills nothing more on Jan 15, and bills the new plan\'s 17/31 (10968) in arrears on Feb 1 less the credit (5485)', async () => {
  const { clockId } = await subscribeThenChange('pca-v2a', 'pca-adv-100', 'pca-arr-200', '2026-01-15');
  const notes = await eventually(async () => {
    const list = await creditNotes('pca-v2a-cus');
    return list.length > 0 ? list : undefined;
  }, WAIT_MS, 'the upgrade credit note');
  expect(notes.map((n) => [n.reason, n.issuing_date, n.credit_amount_cents])).toEqual([['order_change', '2026-01-15', 5483]]);
  await advance(clockId, '2026-02-01');
  const invs = await billedInvoices('pca-v2a-cus', 2, 'the Feb 1 invoice');
  expect(invs.map((i) => [i.issuing_date, i.fees_amount_cents, i.credit_notes_amount_cents, i.total_amount_cents])).toEqual([
    ['2026-01-01', 10000, 0, 10000],
    ['2026-02-01', 10968, 5483, 5485],
  ]);
  expect(feeView(invs[0])).toEqual([{ code: 'pca-adv-100', amount_cents: 10000, from_date: day('2026-01-01'), to_date: day('2026-02-01') }]);
  expect(feeView(invs[1])).toEqual([{ code: 'pca-arr-200', amount_cents: 10968, from_date: day('2026-01-15'), to_date: day('2026-02-01') }]);
  await r('DELETE', '/subscriptions/pca-v2a-sub?on_termination_credit_note=skip');
});

it('a monthly → yearly upgrade of a pay-in-advance plan on Jan 15 bills 351/365 of the yearly fee (144247) in advance over [Jan 15, 2027-01-01) less the 5483 credit, and nothing on Feb 1', async () => {
  const { clockId } = await subscribeThenChange('pca-m2y', 'pca-adv-100', 'pca-adv-year', '2026-01-15');
  const invs = await billedInvoices('pca-m2y-cus', 2, 'the upgrade invoice');
  expect(invs.map((i) => [i.issuing_date, i.fees_amount_cents, i.credit_notes_amount_cents, i.total_amount_cents])).toEqual([
    ['2026-01-01', 10000, 0, 10000],
    ['2026-01-15', 144247, 5483, 138764],
  ]);
  expect(feeView(invs[1])).toEqual([{ code: 'pca-adv-year', amount_cents: 144247, from_date: day('2026-01-15'), to_date: day('2027-01-01') }]);
  await advance(clockId, '2026-02-01');
  // The yearly period runs to 2027-01-01: Feb 1 is no boundary, so no invoice appears (checked after the clock moved).
  const sub = (await r('GET', '/subscriptions/pca-m2y-sub')).body.subscription;
  expect(sub).toMatchObject({ plan_code: 'pca-adv-year', previous_plan_code: 'pca-adv-100' });
  expect((await billedInvoices('pca-m2y-cus', 2, 'still two invoices')).length).toBe(2);
  await r('DELETE', '/subscriptions/pca-m2y-sub?on_termination_credit_note=skip');
});

// Jan 20 credits 10968 × 11/17 → 7096, more than the 5485 the upgrade invoice's total shows after the 5483 credit note
// paid part of it: the creditable amount counts applied credit notes (as it counts prepaid credits), as Lago's does.
it("a termination after an advance → advance upgrade credits the NEW plan's fee (the one paying on Jan 20): 10968 × 11/17 → 7096, beyond the invoice's total after the 5483 applied credit, beside the upgrade's 5483 on the old fee", async () => {
  const { clockId } = await subscribeThenChange('pca-term', 'pca-adv-100', 'pca-adv-200', '2026-01-15');
  const [, upgradeInvoice] = await billedInvoices('pca-term-cus', 2, 'the upgrade invoice');
  const newFee = upgradeInvoice.fees.find((f: any) => f.item.type === 'subscription' && f.item.code === 'pca-adv-200');
  expect(newFee.amount_cents).toBe(10968);
  await advance(clockId, '2026-01-20');
  // A termination refused as retryable (`period_closing`: the workflow is still on a boundary's close) is retried, as
  // the API's answer asks; any other refusal fails the test with its body.
  let del = await r('DELETE', '/subscriptions/pca-term-sub');
  for (let i = 0; i < 20 && del.status === 422 && JSON.stringify(del.body).includes('period_closing'); i += 1) {
    await new Promise((ok) => setTimeout(ok, 500));
    del = await r('DELETE', '/subscriptions/pca-term-sub');
  }
  expect([del.status, del.status === 200 ? null : del.body]).toEqual([200, null]);
  const notes = await eventually(async () => {
    const list = await creditNotes('pca-term-cus');
    return list.length === 2 ? [...list].sort((a, b) => a.total_amount_cents - b.total_amount_cents) : undefined;
  }, WAIT_MS, 'the termination credit note');
  expect(notes.map((n) => [n.reason, n.total_amount_cents, n.items.map((i: any) => i.lago_fee_id)])).toEqual([
    ['order_change', 5483, [expect.any(String)]],
    ['order_change', 7096, [newFee.lago_id]],
  ]);
  expect(notes[0].items[0].lago_fee_id).not.toBe(newFee.lago_id);
});
