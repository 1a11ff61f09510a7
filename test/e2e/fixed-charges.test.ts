// Lago's fixed charges end to end (real HTTP API, worker, Postgres, Temporal dev server; the periods are moved by a
// test clock): a plan with a standard fixed charge of 3 units × 10.00 in arrears and a graduated one billed in
// advance; the start invoice carries the first period's advance fixed charge, each period-end invoice the ended
// period's in-arrears fixed charge and the next period's advance one, with exact cents; a subscription units
// override applied at once changes the current period, a deferred one waits for the next period.
import { newTestClock, startSystem, eventually, advanceTestClock, type System } from './harness';

jest.setTimeout(600_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

// Graduated support: 0–10 at 1.00 + flat 5.00, then 0.50 a unit: 12 units → 5 + 10 + 1 = 16.00; 20 units → 20.00.
const SUPPORT_RANGES = [
  { from_value: 0, to_value: 10, per_unit_amount: '1', flat_amount: '5' },
  { from_value: 11, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
];

beforeAll(async () => {
  sys = await startSystem('dev-server');
  for (const code of ['fxe-seat', 'fxe-support']) {
    expect((await r('POST', '/add_ons', { add_on: { name: `Add-on ${code}`, code, amount_cents: 0, amount_currency: 'USD' } })).status).toBe(200);
  }
  expect((await r('POST', '/customers', { customer: { external_id: 'fxe-cust', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

const fixedCharges = [
  { add_on_code: 'fxe-seat', code: 'fxe-seats', charge_model: 'standard', units: 3, properties: { amount: '10' } },
  { add_on_code: 'fxe-support', code: 'fxe-support', charge_model: 'graduated', pay_in_advance: true, units: 12, properties: { graduated_ranges: SUPPORT_RANGES } },
];
const planBody = (code: string, fixed: unknown[]) => ({ plan: { name: code, code, interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false, charges: [], fixed_charges: fixed } });

it('a plan with fixed charges is stored and answered in Lago shape; a bad fixed charge is refused with 422 naming its field and writes nothing', async () => {
  const bad = await r('POST', '/plans', planBody('fxe-bad', [{ add_on_code: 'fxe-none', charge_model: 'standard', properties: { amount: '1' } }, { add_on_code: 'fxe-seat', charge_model: 'package' }]));
  expect(bad.status).toBe(422);
  expect(bad.body.error_details).toEqual({ 'fixed_charges[0].add_on_code': ['add_on_not_found'], 'fixed_charges[1].charge_model': ['value_is_invalid'] });
  expect(await sys.database.db('plans').where({ code: 'fxe-bad' })).toHaveLength(0);

  const ok = await r('POST', '/plans', planBody('fxe-shape', fixedCharges));
  expect(ok.status).toBe(200);
  expect(ok.body.plan.fixed_charges.map((f: any) => [f.code, f.add_on_code, f.charge_model, f.pay_in_advance, f.units])).toEqual([
    ['fxe-seats', 'fxe-seat', 'standard', false, 3],
    ['fxe-support', 'fxe-support', 'graduated', true, 12],
  ]);
  expect((await r('GET', '/plans/fxe-shape/fixed_charges/fxe-seats')).body.fixed_charge).toMatchObject({ code: 'fxe-seats', units: 3, properties: { amount: '10' } });
  const put = await r('PUT', '/plans/fxe-shape/fixed_charges/fxe-seats', { fixed_charge: { units: '4', invoice_display_name: 'Seats' } });
  expect(put.status).toBe(200);
  expect(put.body.fixed_charge).toMatchObject({ units: 4, invoice_display_name: 'Seats' });
  expect((await r('DELETE', '/plans/fxe-shape/fixed_charges/fxe-support')).status).toBe(200);
  expect((await r('GET', '/plans/fxe-shape')).body.plan.fixed_charges.map((f: any) => f.code)).toEqual(['fxe-seats']);
});

it('fixed charges are billed every period: in advance on the start invoice and with each close, in arrears with the ended period, with units overrides now or from the next period', async () => {
  expect((await r('POST', '/plans', planBody('fxe-plan', fixedCharges))).status).toBe(200);
  const clockId = await newTestClock(sys, 'fxe', '2025-01-01T00:00:00.000Z');
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'fxe-cust', plan_code: 'fxe-plan', external_id: 'fxe-sub', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;

  // The start invoice: January's advance support fee, 16.00 (12 units); no plan fee (billed in arrears).
  const start = await invoiceLines(subscriptionId, 1);
  expect(start[0]).toEqual({ total: 1600, lines: [['fixed_charge', 'fxe-support', 1600, '2025-01-01']] });

  // Mid-January: 5 seats from now on; 20 support units from the next period on.
  await advance(clockId, '2025-01-16T12:00:00.000Z');
  const seats = await r('PUT', '/subscriptions/fxe-sub/fixed_charges/fxe-seats', { fixed_charge: { units: '5', apply_units_immediately: true } });
  expect(seats.status).toBe(200);
  expect(seats.body.fixed_charge.units).toBe(5);
  const support = await r('PUT', '/subscriptions/fxe-sub/fixed_charges/fxe-support', { fixed_charge: { units: '20' } });
  expect(support.status).toBe(200);
  expect(support.body.fixed_charge.units).toBe(12); // deferred: still 12 until February
  const list = await r('GET', '/subscriptions/fxe-sub/fixed_charges');
  expect(list.body.fixed_charges.map((f: any) => [f.code, f.units])).toEqual([['fxe-seats', 5], ['fxe-support', 12]]);
  expect((await r('GET', '/plans/fxe-plan/fixed_charges/fxe-seats')).body.fixed_charge.units).toBe(3); // the plan's units are unchanged

  // January closes: plan fee 10.00 + 5 seats × 10.00 (units at the period end) + February's support at 20 units.
  await advance(clockId, '2025-02-02T00:00:00.000Z');
  const jan = await invoiceLines(subscriptionId, 2);
  expect(jan[1]).toEqual({
    total: 8000,
    lines: [
      ['subscription', 'fxe-plan', 1000, '2025-01-01'],
      ['fixed_charge', 'fxe-seats', 5000, '2025-01-01'],
      ['fixed_charge', 'fxe-support', 2000, '2025-02-01'],
    ],
  });

  // Back to 2 seats, deferred: February still bills 5 seats; March's advance support fee is 20.00.
  expect((await r('PUT', '/subscriptions/fxe-sub/fixed_charges/fxe-seats', { fixed_charge: { units: '2', apply_units_immediately: false } })).status).toBe(200);
  await advance(clockId, '2025-03-02T00:00:00.000Z');
  const feb = await invoiceLines(subscriptionId, 3);
  expect(feb[2]).toEqual({
    total: 8000,
    lines: [
      ['subscription', 'fxe-plan', 1000, '2025-02-01'],
      ['fixed_charge', 'fxe-seats', 5000, '2025-02-01'],
      ['fixed_charge', 'fxe-support', 2000, '2025-03-01'],
    ],
  });
  // March (not closed yet) shows 2 seats.
  expect((await r('GET', '/subscriptions/fxe-sub/fixed_charges/fxe-seats')).body.fixed_charge.units).toBe(2);
});

const advance = (clockId: string, to: string) => advanceTestClock(sys, clockId, to);

/** The subscription's finalized invoices (oldest first) once there are `n`, as [type, code, cents, from date] lines. */
async function invoiceLines(subscriptionId: string, n: number) {
  const rows = await eventually(async () => {
    const list = await sys.database.db('invoices').where({ subscription_id: subscriptionId, status: 'finalized' }).orderBy([{ column: 'period_end' }, { column: 'period_start' }]).select('id');
    return list.length === n ? list : undefined;
  }, 120_000, `${n} finalized invoices`);
  const out = [];
  for (const row of rows) {
    const inv = (await r('GET', `/invoices/${row.id}`)).body.invoice;
    out.push({ total: inv.total_amount_cents, lines: inv.fees.map((f: any) => [f.item.type, f.item.code, f.amount_cents, String(f.from_date).slice(0, 10)]) });
  }
  return out;
}
