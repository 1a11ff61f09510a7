// Issue 11 (units11) end to end — the real HTTP API, the real worker, Postgres, the Temporal dev server, periods moved
// by test clocks (dates fixed, never today's):
// 1. A pay-in-advance fixed charge's units raised mid-period with `apply_units_immediately: true` bill the units not
//    paid yet for the rest of the period on an immediate invoice; a decrease bills nothing (Lago refunds no paid
//    units); without it the new units wait for the next period. Lago's numbers: spec/scenarios/fixed_charges/
//    pay_in_advance_units_change_spec.rb (monthly plan of 0.00 in advance from 2024-03-01, calendar, a fixed charge of
//    10 units × 10.00 in advance: start 100.00; 10 → 5 → 15: 0 then 50.00; 10 → 15 → 20: 50.00 twice; two fixed
//    charges changed by one plan update, 10 → 15 × 10.00 and 5 → 10 × 20.00: ONE invoice of 50.00 + 100.00) and
//    spec/services/fees/build_pay_in_advance_fixed_charge_service_spec.rb (prorated, 10 → 15 on Mar 20: 5 × 10.00 ×
//    12/31 = 19.35).
// 2. on_termination_credit_note for the unused part of an advance fixed-charge fee: refund (paid by card: refunded
//    through the provider), credit, skip.
// 3. A downgrade with fixed charges (spec/scenarios/subscriptions/downgrade_spec.rb "when there are fixed charges",
//    in advance, prorated): effective at the period end, no credit note, the new plan's fixed charges from then on.
import { billFixedChargeUnitsChanges } from '../../activities/fixed-charge-units';
import { FakeStripe } from '../support/fake-stripe';
import { startSystemWithStripeFake } from '../support/stripe-system';
import { advanceTestClock, newTestClock, eventually, type System } from './harness';

jest.setTimeout(900_000);

const WAIT_MS = 180_000;
const fake = new FakeStripe();
let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystemWithStripeFake(fake);
  for (const code of ['fcu-seat', 'fcu-support', 'fcu-extra']) {
    expect((await r('POST', '/add_ons', { add_on: { name: `Add-on ${code}`, code, amount_cents: 0, amount_currency: 'USD' } })).status).toBe(200);
  }
});
afterAll(async () => {
  await sys?.stop();
});

const plan = (code: string, fixed: unknown[], over: Record<string, unknown> = {}) =>
  r('POST', '/plans', { plan: { name: code, code, interval: 'monthly', amount_cents: 0, amount_currency: 'USD', pay_in_advance: true, charges: [], fixed_charges: fixed, ...over } });

async function customer(id: string, card = false) {
  let billing: Record<string, unknown> = { invoice_grace_period: 0 };
  if (card) {
    const stripeCustomer = await fake.client().customers.create({ name: id });
    fake.addCard(stripeCustomer.id);
    billing = { ...billing, payment_provider: 'stripe', provider_customer_id: stripeCustomer.id };
  }
  expect((await r('POST', '/customers', { customer: { external_id: id, currency: 'USD', timezone: 'UTC', billing_configuration: billing } })).status).toBe(200);
}

async function subscribe(id: string, planCode: string, at: string) {
  await customer(id);
  const clockId = await newTestClock(sys, id, at);
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: id, plan_code: planCode, external_id: id, test_clock_id: clockId, billing_time: 'calendar' } });
  expect(sub.status).toBe(200);
  return { clockId, subscriptionId: sub.body.subscription.lago_id as string };
}

/** The subscription's finalized invoices (by creation) once there are `n`, as their fixed-charge lines [code, units, cents, from]. */
async function fixedLines(subscriptionId: string, n: number) {
  const rows = await eventually(async () => {
    const list = await sys.database.db('invoices').where({ subscription_id: subscriptionId, status: 'finalized' }).orderBy([{ column: 'created_at' }, { column: 'period_end' }]).select('id');
    return list.length === n ? list : undefined;
  }, WAIT_MS, `${n} finalized invoices`);
  const out = [];
  for (const row of rows) {
    const inv = (await r('GET', `/invoices/${row.id}`)).body.invoice;
    out.push({
      type: inv.invoice_type,
      issued: inv.issuing_date,
      total: inv.total_amount_cents,
      lines: inv.fees.filter((f: any) => f.item.type === 'fixed_charge').map((f: any) => [f.item.code, Number(f.units), f.amount_cents, String(f.from_date).slice(0, 10)]),
    });
  }
  return out;
}

const setUnits = (sub: string, code: string, units: number, immediately = true) =>
  r('PUT', `/subscriptions/${sub}/fixed_charges/${code}`, { fixed_charge: { units, apply_units_immediately: immediately } });

/** Leaves time for a signal the workflow could still be handling (an invoice that must NOT appear). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 3_000));

it('subscription units raised with apply_units_immediately bill the delta at once (10 → 5: nothing; → 15: 5 units 50.00; → 20: 50.00), once per change, and the next period bills the 20 units in advance', async () => {
  expect((await plan('fcu-seats', [{ add_on_code: 'fcu-seat', code: 'fcu-seats', charge_model: 'standard', pay_in_advance: true, units: 10, properties: { amount: '10' } }])).status).toBe(200);
  const { clockId, subscriptionId } = await subscribe('fcu-sub', 'fcu-seats', '2024-03-01T00:00:00.000Z');
  expect((await fixedLines(subscriptionId, 1))[0]!.lines).toEqual([['fcu-seats', 10, 10_000, '2024-03-01']]);

  await advanceTestClock(sys, clockId, '2024-03-06T00:00:00.000Z');
  expect((await setUnits('fcu-sub', 'fcu-seats', 5)).body.fixed_charge.units).toBe(5);
  await settle();
  expect(await fixedLines(subscriptionId, 1)).toHaveLength(1); // a decrease is not refunded: no invoice

  await advanceTestClock(sys, clockId, '2024-03-11T00:00:00.000Z');
  expect((await setUnits('fcu-sub', 'fcu-seats', 15)).status).toBe(200);
  // Delta from the units PAID (10), not from the 5 in force: 15 − 10 = 5 units × 10.00.
  const afterRaise = await fixedLines(subscriptionId, 2);
  expect(afterRaise[1]).toEqual({ type: 'subscription', issued: '2024-03-11', total: 5_000, lines: [['fcu-seats', 5, 5_000, '2024-03-11']] });
  // The same request again at the same instant: nothing more (15 are paid).
  expect((await setUnits('fcu-sub', 'fcu-seats', 15)).status).toBe(200);
  await advanceTestClock(sys, clockId, '2024-03-16T00:00:00.000Z');
  expect((await setUnits('fcu-sub', 'fcu-seats', 20)).status).toBe(200);
  expect((await fixedLines(subscriptionId, 3))[2]).toMatchObject({ total: 5_000, lines: [['fcu-seats', 5, 5_000, '2024-03-16']] });

  // A retried activity (its commit done, its answer lost) bills nothing again and answers the period's units invoices.
  const org = await sys.database.db('organizations').first('id');
  const again = await billFixedChargeUnitsChanges(sys.database.db, {
    organizationId: org.id, subscriptionId,
    period: { start: '2024-03-01T00:00:00.000Z', end: '2024-04-01T00:00:00.000Z' }, fullPeriod: { start: '2024-03-01T00:00:00.000Z', end: '2024-04-01T00:00:00.000Z' },
  });
  expect(again.invoices.map((i) => [i.totalAmountCents, i.created])).toEqual([[5_000, false], [5_000, false]]);

  // April: the 20 units in advance (100.00 + 50.00 + 50.00 paid for March; nothing re-billed for March).
  await advanceTestClock(sys, clockId, '2024-04-02T00:00:00.000Z');
  const all = await fixedLines(subscriptionId, 4);
  expect(all[3]!.lines).toEqual([['fcu-seats', 20, 20_000, '2024-04-01']]);
  expect(all.map((i) => i.total)).toEqual([10_000, 5_000, 5_000, 20_000]);
});

it('a plan update with apply_units_immediately on two advance fixed charges bills ONE invoice of both deltas (5 × 10.00 + 5 × 20.00 = 150.00); without it nothing mid-period and the next period bills the new units', async () => {
  const created = await plan('fcu-multi', [
    { add_on_code: 'fcu-seat', code: 'fcu-m-seats', charge_model: 'standard', pay_in_advance: true, units: 10, properties: { amount: '10' } },
    { add_on_code: 'fcu-support', code: 'fcu-m-support', charge_model: 'standard', pay_in_advance: true, units: 5, properties: { amount: '20' } },
  ]);
  expect(created.status).toBe(200);
  const [seats, support] = created.body.plan.fixed_charges.map((f: any) => f.lago_id);
  const { clockId, subscriptionId } = await subscribe('fcu-multi-sub', 'fcu-multi', '2024-03-01T00:00:00.000Z');
  expect((await fixedLines(subscriptionId, 1))[0]!.total).toBe(20_000);

  await advanceTestClock(sys, clockId, '2024-03-06T00:00:00.000Z');
  // Lago's update names the stored fixed charges by id.
  const put = await r('PUT', '/plans/fcu-multi', { plan: { fixed_charges: [
    { id: seats, units: 15, apply_units_immediately: true, properties: { amount: '10' } },
    { id: support, units: 10, apply_units_immediately: true, properties: { amount: '20' } },
  ] } });
  expect(put.status).toBe(200);
  expect(put.body.plan.fixed_charges.map((f: any) => [f.lago_id, f.units])).toEqual([[seats, 15], [support, 10]]);
  const batched = (await fixedLines(subscriptionId, 2))[1]!;
  expect(batched).toEqual({ type: 'subscription', issued: '2024-03-06', total: 15_000, lines: [['fcu-m-seats', 5, 5_000, '2024-03-06'], ['fcu-m-support', 5, 10_000, '2024-03-06']] });

  // The plan-scoped route, deferred: 20 seats from April, no invoice now.
  expect((await r('PUT', '/plans/fcu-multi/fixed_charges/fcu-m-seats', { fixed_charge: { units: 20 } })).status).toBe(200);
  await settle();
  expect(await fixedLines(subscriptionId, 2)).toHaveLength(2);
  await advanceTestClock(sys, clockId, '2024-04-02T00:00:00.000Z');
  expect((await fixedLines(subscriptionId, 3))[2]!.lines).toEqual([['fcu-m-seats', 20, 20_000, '2024-04-01'], ['fcu-m-support', 10, 20_000, '2024-04-01']]);
});

it('a prorated advance fixed charge raised on Mar 20 bills 5 × 10.00 × 12/31 = 19.35 (the change day counted)', async () => {
  expect((await plan('fcu-prorated', [{ add_on_code: 'fcu-extra', code: 'fcu-p-seats', charge_model: 'standard', pay_in_advance: true, prorated: true, units: 10, properties: { amount: '10' } }])).status).toBe(200);
  const { clockId, subscriptionId } = await subscribe('fcu-p-sub', 'fcu-prorated', '2024-03-01T00:00:00.000Z');
  expect((await fixedLines(subscriptionId, 1))[0]!.total).toBe(10_000);
  await advanceTestClock(sys, clockId, '2024-03-20T09:00:00.000Z');
  expect((await r('PUT', '/plans/fcu-prorated/fixed_charges/fcu-p-seats', { fixed_charge: { units: 15, apply_units_immediately: true } })).status).toBe(200);
  expect((await fixedLines(subscriptionId, 2))[1]).toMatchObject({ total: 1_935, lines: [['fcu-p-seats', 5, 1_935, '2024-03-20']] });
});

/** A customer on its own clock at `at`, subscribed to `planCode`, its start invoice finalized (and paid when `card`). */
async function subscribedWithCard(id: string, planCode: string, at: string, card: boolean) {
  await customer(id, card);
  const clockId = await newTestClock(sys, id, at);
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: id, plan_code: planCode, external_id: id, test_clock_id: clockId, billing_time: 'calendar' } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;
  await eventually(async () => {
    const invs = (await r('GET', `/invoices?external_customer_id=${id}`)).body.invoices as any[];
    return invs.length === 1 && invs[0].status === 'finalized' && (!card || invs[0].payment_status === 'succeeded') ? invs : undefined;
  }, WAIT_MS, `${id}: the start invoice${card ? ' paid' : ''}`);
  return { clockId, subscriptionId };
}

async function terminate(path: string) {
  return eventually(async () => {
    const res = await r('DELETE', path);
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, 'the termination');
}

const notesOf = async (cus: string) => ((await r('GET', `/credit_notes?external_customer_id=${cus}`)).body.credit_notes as any[]).sort((a, b) => a.total_amount_cents - b.total_amount_cents);

it('on_termination_credit_note for advance fixed charges: refund refunds each paid fee\'s unused part through the provider (the start fee 31.00 × 11/31 = 11.00, the units raised on Jan 10: 31.00 × 11/22 = 15.50), credit credits it, skip issues nothing', async () => {
  expect((await plan('fcu-term', [{ add_on_code: 'fcu-support', code: 'fcu-t-support', charge_model: 'standard', pay_in_advance: true, units: 1, properties: { amount: '31' } }], { amount_cents: 1000, pay_in_advance: false })).status).toBe(200);

  // refund, paid by card: the start invoice (31.00) and the Jan 10 units invoice (1 → 2 units: 31.00) are paid.
  const paid = await subscribedWithCard('fcu-refund', 'fcu-term', '2025-01-01T00:00:00.000Z', true);
  await advanceTestClock(sys, paid.clockId, '2025-01-10T00:00:00.000Z');
  expect((await setUnits('fcu-refund', 'fcu-t-support', 2)).status).toBe(200);
  const raised = await eventually(async () => {
    const invs = ((await r('GET', '/invoices?external_customer_id=fcu-refund')).body.invoices as any[]).filter((i) => i.issuing_date === '2025-01-10');
    return invs.length === 1 && invs[0].payment_status === 'succeeded' ? invs[0] : undefined;
  }, WAIT_MS, 'the units invoice paid');
  expect(raised.total_amount_cents).toBe(3_100);
  await advanceTestClock(sys, paid.clockId, '2025-01-20T12:00:00.000Z');
  expect((await terminate('/subscriptions/fcu-refund?on_termination_credit_note=refund')).status).toBe(200);
  const refunded = await eventually(async () => {
    const list = await notesOf('fcu-refund');
    return list.length === 2 && list.every((n) => n.refund_status !== 'pending') ? list : undefined;
  }, 30_000, 'two credit notes with their refunds done');
  expect(refunded.map((n) => n.refund_status)).toEqual(['succeeded', 'succeeded']);
  expect(refunded.map((n) => [n.reason, n.total_amount_cents, n.refund_amount_cents, n.credit_amount_cents])).toEqual([
    ['order_change', 1_100, 1_100, 0],
    ['order_change', 1_550, 1_550, 0],
  ]);
  const stripeRefunds = [...fake.refunds.values()].filter((x: any) => refunded.some((n) => x.metadata?.lago_credit_note_id === n.lago_id));
  expect(stripeRefunds.map((x: any) => x.amount).sort((a: number, b: number) => a - b)).toEqual([1_100, 1_550]);
  // The termination repeated issues nothing more (one note per fee, one refund per note).
  await r('DELETE', '/subscriptions/fcu-refund?on_termination_credit_note=refund');
  expect(await notesOf('fcu-refund')).toHaveLength(2);

  // credit: the unused 11.00 on the customer's credit-note balance, nothing refunded.
  const credited = await subscribedWithCard('fcu-credit', 'fcu-term', '2025-01-01T00:00:00.000Z', false);
  await advanceTestClock(sys, credited.clockId, '2025-01-20T12:00:00.000Z');
  expect((await terminate('/subscriptions/fcu-credit?on_termination_credit_note=credit')).status).toBe(200);
  const creditNotes = await eventually(async () => ((await notesOf('fcu-credit')).length === 1 ? notesOf('fcu-credit') : undefined), WAIT_MS, 'the credit note');
  expect(creditNotes[0]).toMatchObject({ total_amount_cents: 1_100, credit_amount_cents: 1_100, refund_amount_cents: 0 });

  // skip: no credit note.
  const skipped = await subscribedWithCard('fcu-skip', 'fcu-term', '2025-01-01T00:00:00.000Z', false);
  await advanceTestClock(sys, skipped.clockId, '2025-01-20T12:00:00.000Z');
  const ended = await terminate('/subscriptions/fcu-skip?on_termination_credit_note=skip');
  expect(ended.status).toBe(200);
  await eventually(async () => ((await r('GET', '/subscriptions/fcu-skip')).body.subscription.status === 'terminated' ? true : undefined), WAIT_MS, 'terminated');
  await settle();
  expect(await notesOf('fcu-skip')).toEqual([]);
});

it('a downgrade with advance prorated fixed charges (Lago downgrade_spec): requested Aug 21, effective Sep 1 (next_plan_code), no credit note for the old plan\'s August fixed charges, and Sep 1 bills the old plan\'s August fee with the NEW plan\'s September fixed charges (100.00 and 20.00), never the old ones', async () => {
  expect((await plan('fcu-dg-big', [
    { add_on_code: 'fcu-seat', code: 'fcu-big-seat', charge_model: 'standard', pay_in_advance: true, prorated: true, units: 10, properties: { amount: '1' } },
    { add_on_code: 'fcu-support', code: 'fcu-big-support', charge_model: 'standard', pay_in_advance: true, prorated: true, units: 5, properties: { amount: '3' } },
  ], { amount_cents: 10_000, pay_in_advance: false })).status).toBe(200);
  expect((await plan('fcu-dg-small', [
    { add_on_code: 'fcu-support', code: 'fcu-small-support', charge_model: 'standard', pay_in_advance: true, prorated: true, units: 10, properties: { amount: '10' } },
    { add_on_code: 'fcu-extra', code: 'fcu-small-extra', charge_model: 'standard', pay_in_advance: true, prorated: true, units: 1, properties: { amount: '20' } },
  ], { amount_cents: 1_000, pay_in_advance: false })).status).toBe(200);
  const { clockId, subscriptionId } = await subscribedWithCard('fcu-dg', 'fcu-dg-big', '2023-07-19T12:12:00.000Z', false);
  // The start invoice: 10.00 × 13/31 = 4.19 and 15.00 × 13/31 = 6.29 (Lago: 1000 * 13 / 31, 1500 * 13 / 31).
  expect((await fixedLines(subscriptionId, 1))[0]!.lines).toEqual([['fcu-big-seat', 10, 419, '2023-07-19'], ['fcu-big-support', 5, 629, '2023-07-19']]);
  await advanceTestClock(sys, clockId, '2023-08-01T00:00:00.000Z');
  expect((await fixedLines(subscriptionId, 2))[1]!.lines).toEqual([['fcu-big-seat', 10, 1_000, '2023-08-01'], ['fcu-big-support', 5, 1_500, '2023-08-01']]);

  await advanceTestClock(sys, clockId, '2023-08-21T23:59:59.000Z');
  const down = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'fcu-dg', plan_code: 'fcu-dg-small', external_id: 'fcu-dg' } });
  expect(down.status).toBe(200);
  expect(down.body.subscription).toMatchObject({ plan_code: 'fcu-dg-big', next_plan_code: 'fcu-dg-small', downgrade_plan_date: '2023-09-01' });
  await settle();
  expect(await fixedLines(subscriptionId, 2)).toHaveLength(2); // nothing billed at the request
  expect(await notesOf('fcu-dg')).toEqual([]); // the old plan's advance fixed charges are not credited

  await advanceTestClock(sys, clockId, '2023-09-02T00:00:00.000Z');
  const sep = (await fixedLines(subscriptionId, 3))[2]!;
  expect(sep.lines).toEqual([['fcu-small-support', 10, 10_000, '2023-09-01'], ['fcu-small-extra', 1, 2_000, '2023-09-01']]);
  const sepInvoice = await sys.database.db('invoices').where({ subscription_id: subscriptionId, status: 'finalized' }).orderBy('created_at', 'desc').first('id');
  const fees = (await r('GET', `/invoices/${sepInvoice.id}`)).body.invoice.fees as any[];
  // The old plan's August fee in arrears (Lago: "we still need to charge subscription fee for the old plan").
  expect(fees.filter((f) => f.item.type === 'subscription').map((f) => [f.item.code, f.amount_cents, String(f.from_date).slice(0, 10)])).toEqual([['fcu-dg-big', 10_000, '2023-08-01']]);
  expect((await r('GET', '/subscriptions/fcu-dg')).body.subscription).toMatchObject({ plan_code: 'fcu-dg-small', status: 'active' });
  expect(await notesOf('fcu-dg')).toEqual([]);
});

it('PUT /subscriptions with units-only plan_overrides and apply_units_immediately bills the delta at once (Lago: 10 → 15 = 5 units, 50.00), no child plan written', async () => {
  const created = await plan('fcu-ovr', [{ add_on_code: 'fcu-seat', code: 'fcu-o-seats', charge_model: 'standard', pay_in_advance: true, units: 10, properties: { amount: '10' } }]);
  expect(created.status).toBe(200);
  const fixedChargeId: string = created.body.plan.fixed_charges[0].lago_id;
  const { clockId, subscriptionId } = await subscribe('fcu-ovr-sub', 'fcu-ovr', '2024-12-01T00:00:00.000Z');
  expect((await fixedLines(subscriptionId, 1))[0]!.total).toBe(10_000);
  await advanceTestClock(sys, clockId, '2024-12-01T01:00:00.000Z');
  const children = async () => Number((await sys.database.db('plans').whereNotNull('parent_id').count<{ n: string }[]>({ n: '*' }).first())?.n);
  const before = await children();
  const put = await r('PUT', '/subscriptions/fcu-ovr-sub', { subscription: { plan_overrides: { fixed_charges: [{ id: fixedChargeId, units: 15, apply_units_immediately: true }] } } });
  expect(put.status).toBe(200);
  expect(put.body.subscription.plan_code).toBe('fcu-ovr');
  expect(await children()).toBe(before); // fixed11's units-only form: the subscription's units, no child plan
  expect((await fixedLines(subscriptionId, 2))[1]).toMatchObject({ issued: '2024-12-01', total: 5_000, lines: [['fcu-o-seats', 5, 5_000, '2024-12-01']] });
});
