// The fixed-charge gaps of issue 11 (fixed11) end to end: the real HTTP API, the real worker, Postgres and the
// Temporal dev server, periods moved by test clocks (dates fixed in 2025, never today's).
// Plan fxg-plan: 10.00 a month in arrears, a 100.00 minimum commitment, 3 seats × 10.00 in arrears and a support
// package of 1 × 25.00 billed in advance.
import { advanceTestClock, newTestClock, startSystem, eventually, type System } from './harness';

jest.setTimeout(900_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
let seatsId: string;

beforeAll(async () => {
  sys = await startSystem('dev-server');
  for (const code of ['fxg-seat', 'fxg-support']) {
    expect((await r('POST', '/add_ons', { add_on: { name: `Add-on ${code}`, code, amount_cents: 0, amount_currency: 'USD' } })).status).toBe(200);
  }
  expect((await r('POST', '/customers', { customer: { external_id: 'fxg-cust', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
  const plan = await r('POST', '/plans', {
    plan: {
      name: 'fxg-plan', code: 'fxg-plan', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false, charges: [],
      minimum_commitment: { amount_cents: 10000 },
      fixed_charges: [
        { add_on_code: 'fxg-seat', code: 'fxg-seats', charge_model: 'standard', units: 3, properties: { amount: '10' } },
        { add_on_code: 'fxg-support', code: 'fxg-support', charge_model: 'standard', pay_in_advance: true, units: 1, properties: { amount: '25' } },
      ],
    },
  });
  expect(plan.status).toBe(200);
  seatsId = plan.body.plan.fixed_charges.find((f: any) => f.code === 'fxg-seats').lago_id;
});
afterAll(async () => {
  await sys?.stop();
});

const newClock = (name: string, at: string) => newTestClock(sys, name, at);
const advance = (clockId: string, to: string) => advanceTestClock(sys, clockId, to);
async function childPlans(): Promise<number> {
  const [{ n }] = await sys.database.db('plans').whereNotNull('parent_id').count('* as n');
  return Number(n);
}

/** The subscription's finalized invoices (oldest first) once there are `n`, as [type, code, cents, from date] lines. */
async function invoiceLines(subscriptionId: string, n: number) {
  const rows = await eventually(async () => {
    const list = await sys.database.db('invoices').where({ subscription_id: subscriptionId, status: 'finalized' }).orderBy([{ column: 'period_end' }, { column: 'period_start' }, { column: 'created_at' }]).select('id');
    return list.length === n ? list : undefined;
  }, 180_000, `${n} finalized invoices`);
  const out = [];
  for (const row of rows) {
    const inv = (await r('GET', `/invoices/${row.id}`)).body.invoice;
    out.push({ total: inv.total_amount_cents, lines: inv.fees.map((f: any) => [f.item.type, f.item.code, f.amount_cents, String(f.from_date).slice(0, 10)]) });
  }
  return out;
}

it('plan_overrides.fixed_charges: an unknown id is 422 naming the entry, nothing written', async () => {
  const before = await childPlans();
  const bad = await r('POST', '/subscriptions', {
    subscription: { external_customer_id: 'fxg-cust', plan_code: 'fxg-plan', external_id: 'fxg-bad', plan_overrides: { fixed_charges: [{ id: seatsId, units: 2 }, { id: '00000000-0000-4000-8000-000000000000', units: 1 }] } },
  });
  expect(bad.status).toBe(422);
  expect(bad.body.error_details).toEqual({ 'plan_overrides.fixed_charges[1].id': ['value_is_invalid'] });
  const neg = await r('POST', '/subscriptions', {
    subscription: { external_customer_id: 'fxg-cust', plan_code: 'fxg-plan', external_id: 'fxg-bad', plan_overrides: { fixed_charges: [{ id: seatsId, units: -1 }] } },
  });
  expect(neg.status).toBe(422);
  expect(neg.body.error_details).toEqual({ 'plan_overrides.fixed_charges[0].units': ['value_is_invalid'] });
  expect(await sys.database.db('subscriptions').where({ external_id: 'fxg-bad' })).toHaveLength(0);
  expect(await childPlans()).toBe(before);
});

it('fixed charges in plan_overrides (full form: a child plan with its own seat price; units-only form: the subscription\'s units, no child) and the minimum commitment counting fixed-charge fees, at the January close', async () => {
  const clockId = await newClock('fxg-ovr', '2025-01-01T00:00:00.000Z');
  const before = await childPlans();
  // Full form: the seats at 12.00 for this customer.
  const full = await r('POST', '/subscriptions', {
    subscription: { external_customer_id: 'fxg-cust', plan_code: 'fxg-plan', external_id: 'fxg-full', test_clock_id: clockId, plan_overrides: { fixed_charges: [{ id: seatsId, properties: { amount: '12' }, invoice_display_name: 'Seats (Acme)' }] } },
  });
  expect(full.status).toBe(200);
  expect(await childPlans()).toBe(before + 1);
  // Units-only form: 5 seats from the start, no plan override.
  const units = await r('POST', '/subscriptions', {
    subscription: { external_customer_id: 'fxg-cust', plan_code: 'fxg-plan', external_id: 'fxg-units', test_clock_id: clockId, plan_overrides: { fixed_charges: [{ id: seatsId, units: 5 }] } },
  });
  expect(units.status).toBe(200);
  expect(await childPlans()).toBe(before + 1);
  expect((await r('GET', '/subscriptions/fxg-units/fixed_charges/fxg-seats')).body.fixed_charge.units).toBe(5);
  const fullSeats = (await r('GET', '/subscriptions/fxg-full/fixed_charges/fxg-seats')).body.fixed_charge;
  expect(fullSeats).toMatchObject({ units: 3, properties: { amount: '12' }, invoice_display_name: 'Seats (Acme)' });
  // The catalog plan is untouched.
  expect((await r('GET', '/plans/fxg-plan/fixed_charges/fxg-seats')).body.fixed_charge).toMatchObject({ units: 3, properties: { amount: '10' } });

  await advance(clockId, '2025-02-02T00:00:00.000Z');
  // Full form: start invoice = January's support 25.00. January: fee 10 + seats 3 × 12 = 36 + February's support 25;
  // the commitment's base is 10 + 36 + January's support paid at the start (25) = 71 → true-up 29.00.
  expect(await invoiceLines(full.body.subscription.lago_id, 2)).toEqual([
    { total: 2500, lines: [['fixed_charge', 'fxg-support', 2500, '2025-01-01']] },
    {
      total: 10000,
      lines: [
        ['subscription', 'fxg-plan', 1000, '2025-01-01'],
        ['commitment', 'minimum_commitment', 2900, '2025-01-01'],
        ['fixed_charge', 'fxg-seats', 3600, '2025-01-01'],
        ['fixed_charge', 'fxg-support', 2500, '2025-02-01'],
      ],
    },
  ]);
  // Units-only form: 5 seats × 10 = 50; base 10 + 50 + 25 = 85 → true-up 15.00.
  expect((await invoiceLines(units.body.subscription.lago_id, 2))[1]).toEqual({
    total: 10000,
    lines: [
      ['subscription', 'fxg-plan', 1000, '2025-01-01'],
      ['commitment', 'minimum_commitment', 1500, '2025-01-01'],
      ['fixed_charge', 'fxg-seats', 5000, '2025-01-01'],
      ['fixed_charge', 'fxg-support', 2500, '2025-02-01'],
    ],
  });
});

it('an upgrade bills the new plan\'s advance fixed charges at the change (prorated 16/31 × 62.00 = 32.00, not prorated 20.00) and credits the old plan\'s unused advance fixed charge (16/31 × 31.00 = 16.00); a termination credits the unused days of the new ones (11/16)', async () => {
  for (const [code, fixed] of [
    ['fxg-small', [{ add_on_code: 'fxg-support', code: 'fxg-s-support', charge_model: 'standard', pay_in_advance: true, units: 1, properties: { amount: '31' } }]],
    ['fxg-large', [
      { add_on_code: 'fxg-support', code: 'fxg-l-support', charge_model: 'standard', pay_in_advance: true, prorated: true, units: 1, properties: { amount: '62' } },
      { add_on_code: 'fxg-seat', code: 'fxg-l-platform', charge_model: 'standard', pay_in_advance: true, units: 1, properties: { amount: '20' } },
    ]],
  ] as const) {
    const amount = code === 'fxg-small' ? 1000 : 5000;
    expect((await r('POST', '/plans', { plan: { name: code, code, interval: 'monthly', amount_cents: amount, amount_currency: 'USD', pay_in_advance: false, charges: [], fixed_charges: fixed } })).status).toBe(200);
  }
  expect((await r('POST', '/customers', { customer: { external_id: 'fxg-up-cust', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
  const clockId = await newClock('fxg-up', '2025-01-01T00:00:00.000Z');
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'fxg-up-cust', plan_code: 'fxg-small', external_id: 'fxg-up', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;
  const [start] = await invoiceLines(subscriptionId, 1);
  expect(start).toEqual({ total: 3100, lines: [['fixed_charge', 'fxg-s-support', 3100, '2025-01-01']] });

  await advance(clockId, '2025-01-16T00:00:00.000Z');
  const up = await eventually(async () => {
    const res = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'fxg-up-cust', plan_code: 'fxg-large', external_id: 'fxg-up' } });
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, 'the upgrade');
  expect(up.status).toBe(200);
  expect(up.body.subscription).toMatchObject({ plan_code: 'fxg-large', previous_plan_code: 'fxg-small' });

  // The upgrade invoice: the old plan's fee for Jan 1–15 and the new plan's advance fixed charges from Jan 16.
  const invoices = await invoiceLines(subscriptionId, 2);
  const fixedAtChange = invoices[1]!.lines.filter((l: any[]) => l[0] === 'fixed_charge');
  expect(fixedAtChange).toEqual([
    ['fixed_charge', 'fxg-l-support', 3200, '2025-01-16'],
    ['fixed_charge', 'fxg-l-platform', 2000, '2025-01-16'],
  ]);
  // The old plan's advance fixed charge: Jan 16..31 unused (the upgrade day credited), 16/31 × 31.00 = 16.00.
  const notes = await eventually(async () => {
    const list = (await r('GET', '/credit_notes?external_customer_id=fxg-up-cust')).body.credit_notes as any[];
    return list.length >= 1 ? list : undefined;
  }, 120_000, 'the upgrade credit note');
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatchObject({ reason: 'order_change', issuing_date: '2025-01-16', total_amount_cents: 1600, credit_amount_cents: 1600 });

  // Termination on Jan 20: the termination day is used, Jan 21..31 = 11 of the fees' 16 days are credited.
  await advance(clockId, '2025-01-20T12:00:00.000Z');
  const ended = await eventually(async () => {
    const res = await r('DELETE', '/subscriptions/fxg-up');
    return res.status === 422 && JSON.stringify(res.body).includes('period_closing') ? undefined : res;
  }, 60_000, 'the termination');
  expect(ended.status).toBe(200);
  const all = await eventually(async () => {
    const list = (await r('GET', '/credit_notes?external_customer_id=fxg-up-cust')).body.credit_notes as any[];
    return list.length >= 3 ? list : undefined;
  }, 120_000, 'the termination credit notes');
  expect(all.map((n) => n.total_amount_cents).sort((a, b) => a - b)).toEqual([1375, 1600, 2200]); // 2000 × 11/16, 3200 × 11/16
  // Repeating the termination request issues nothing more (one credit note per fee).
  await r('DELETE', '/subscriptions/fxg-up');
  expect((await r('GET', '/credit_notes?external_customer_id=fxg-up-cust')).body.credit_notes).toHaveLength(3);
});
