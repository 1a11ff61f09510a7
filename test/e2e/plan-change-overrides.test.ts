// plan_overrides together with a plan change (issue 11, adv11b; api/services/plan-change-overrides.ts), end to end on
// test clocks: real HTTP API, worker, Postgres and the Temporal dev server. Figures in cents, calendar billing, UTC.
// - Upgrade at once: Basic 1000 → Pro (3000) overridden to 6200 on Jun 16: June's [1, 16) on Basic = 15/30 of 1000 =
//   500; the new plan's [Jun 16, Jul 1) at the overridden amount = 15/30 of 6200 = 3100; the catalog Pro keeps 3000.
// - Downgrade at the period end: Pro 3000 → Basic (1000) overridden to 2000 on Jun 10 (2000 < 3000: a downgrade):
//   June billed 3000 on Pro, then the subscription is on Basic at 2000.
import { startSystem, eventually, newTestClock, advanceTestClock, type System } from './harness';

jest.setTimeout(600_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/plans', { plan: { name: 'CPO basic', code: 'cpo_basic', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: { name: 'CPO pro', code: 'cpo_pro', interval: 'monthly', amount_cents: 3000, amount_currency: 'USD', pay_in_advance: false } })).status).toBe(200);
  expect((await r('POST', '/customers', { customer: { external_id: 'cpo-cust', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

const newClock = (name: string, at: string) => newTestClock(sys, name, at);
const advance = (clockId: string, to: string) => advanceTestClock(sys, clockId, to);
async function finalizedInvoices(subscriptionId: string, n: number) {
  return eventually(async () => {
    const list = await sys.database.db('invoices').where({ subscription_id: subscriptionId }).orderBy('period_start').select('status', 'period_start', 'period_end', 'total_amount_cents');
    return list.length === n && list.every((i: any) => i.status === 'finalized') ? list : undefined;
  }, 120_000, `${n} finalized invoices`);
}

it('an upgrade with plan_overrides bills the new plan at the overridden amount from the change (500 then 3100 cents) and leaves the catalog plan unchanged', async () => {
  const clockId = await newClock('cpo-up', '2025-06-01T00:00:00.000Z');
  const created = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cpo-cust', plan_code: 'cpo_basic', external_id: 'cpo-up', test_clock_id: clockId } });
  expect(created.status).toBe(200);
  const subscriptionId: string = created.body.subscription.lago_id;
  await advance(clockId, '2025-06-16T00:00:00.000Z');

  const changed = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cpo-cust', plan_code: 'cpo_pro', external_id: 'cpo-up', plan_overrides: { amount_cents: 6200 } } });
  expect(changed.status).toBe(200);
  expect(changed.body.subscription).toMatchObject({ plan_code: 'cpo_pro', plan_amount_cents: 6200, previous_plan_code: 'cpo_basic' });
  expect((await r('GET', '/plans/cpo_pro')).body.plan).toMatchObject({ amount_cents: 3000 });

  await advance(clockId, '2025-07-02T00:00:00.000Z');
  const invoices = await finalizedInvoices(subscriptionId, 2);
  expect(invoices.map((i: any) => [i.period_start.toISOString(), i.period_end.toISOString(), Number(i.total_amount_cents)])).toEqual([
    ['2025-06-01T00:00:00.000Z', '2025-06-16T00:00:00.000Z', 500],
    ['2025-06-16T00:00:00.000Z', '2025-07-01T00:00:00.000Z', 3100],
  ]);
});

it('a downgrade with plan_overrides is pending until the period end (June billed 3000 cents on Pro), then the subscription is on Basic at the overridden 2000', async () => {
  const clockId = await newClock('cpo-down', '2025-06-01T00:00:00.000Z');
  const created = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cpo-cust', plan_code: 'cpo_pro', external_id: 'cpo-down', test_clock_id: clockId } });
  expect(created.status).toBe(200);
  const subscriptionId: string = created.body.subscription.lago_id;
  await advance(clockId, '2025-06-10T00:00:00.000Z');

  const body = { subscription: { external_customer_id: 'cpo-cust', plan_code: 'cpo_basic', external_id: 'cpo-down', plan_overrides: { amount_cents: 2000 } } };
  const changed = await r('POST', '/subscriptions', body);
  expect(changed.status).toBe(200);
  expect(changed.body.subscription).toMatchObject({ plan_code: 'cpo_pro', plan_amount_cents: 3000, next_plan_code: 'cpo_basic' });
  // The same request again joins the pending change (one pending change, no second child plan).
  expect((await r('POST', '/subscriptions', body)).status).toBe(200);
  expect(await sys.database.db('subscription_plan_changes').where({ subscription_id: subscriptionId, status: 'pending' }).select('id')).toHaveLength(1);

  await advance(clockId, '2025-07-02T00:00:00.000Z');
  const invoices = await finalizedInvoices(subscriptionId, 1);
  expect(Number(invoices[0]!.total_amount_cents)).toBe(3000);
  const after = await eventually(async () => {
    const s = (await r('GET', '/subscriptions/cpo-down')).body.subscription;
    return s.plan_code === 'cpo_basic' ? s : undefined;
  }, 60_000, 'the downgrade applied');
  expect(after).toMatchObject({ plan_code: 'cpo_basic', plan_amount_cents: 2000 });
  expect((await r('GET', '/plans/cpo_basic')).body.plan).toMatchObject({ amount_cents: 1000 });
});
