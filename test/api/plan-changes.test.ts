// Plan changes, PUT /subscriptions and the migration start through the real API, a real worker (real activities,
// Postgres) and the Temporal dev server (real time).
import { DateTime } from 'luxon';
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { startHarnessWorker, waitFor, type HarnessWorker } from '../support/harness-worker';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let worker: HarnessWorker;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_planchange' });
  worker = await startHarnessWorker(h);
  await h.request('POST', '/customers', { customer: { external_id: 'pc-cus', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } });
  for (const [code, amount, interval] of [['basic', 10000, 'monthly'], ['pro', 20000, 'monthly'], ['cheap', 5000, 'monthly'], ['pro_yearly', 300000, 'yearly']] as const) {
    const res = await h.request('POST', '/plans', { plan: { name: code, code, interval, amount_cents: amount, amount_currency: 'USD', pay_in_advance: false } });
    expect(res.status).toBe(200);
  }
});
afterAll(async () => {
  await worker?.stop();
  await h?.stop();
});

/** Polls until truthy (test/support/harness-worker.ts). */
const until = waitFor;

const subscribe = (externalId: string, planCode: string, extra: Record<string, unknown> = {}) =>
  h.request('POST', '/subscriptions', { subscription: { external_customer_id: 'pc-cus', plan_code: planCode, external_id: externalId, billing_time: 'anniversary', ...extra } });

test('an upgrade (POST with a dearer plan) invoices the old plan up to the change day at once and the same workflow continues on the new plan', async () => {
  const start = DateTime.utc().minus({ days: 10 }).startOf('second');
  expect((await subscribe('pc-up', 'basic', { subscription_at: start.toISO() })).status).toBe(200);
  const up = await subscribe('pc-up', 'pro');
  expect(up.status).toBe(200);
  expect(up.body.subscription).toMatchObject({ external_id: 'pc-up', plan_code: 'pro', previous_plan_code: 'basic', next_plan_code: null, status: 'active' });
  const sub = await h.database.db('subscriptions').where({ organization_id: h.org.id, external_id: 'pc-up' }).first();
  const invoice = await until(() => h.database.db('invoices').where({ subscription_id: sub.id }).first(), 'the old plan invoice');
  // The old plan's fee: the 10 local days before the change day, over the anniversary month (half-up, integer math).
  const monthDays = BigInt(Math.round(start.plus({ months: 1 }).diff(start, 'days').days));
  const expected = Number((2n * 10000n * 10n + monthDays) / (2n * monthDays));
  const fee = await h.database.db('fees').where({ invoice_id: invoice.id, fee_type: 'subscription' }).first();
  expect(Number(fee.amount_cents)).toBe(expected);
  expect(new Date(invoice.period_start).toISOString()).toBe(start.toJSDate().toISOString());
  const state = await until(async () => {
    const s = await h.client.workflow.getHandle(subscriptionWorkflowId(sub.id)).query(stateQuery).catch(() => null);
    return s?.planCode === 'pro' ? s : null;
  }, 'the continued run on the new plan');
  expect(state.currentPeriod?.period.start).toBe(new Date(invoice.period_end).toISOString());
  // A retry of the same request changes nothing more.
  expect((await subscribe('pc-up', 'pro')).body.subscription.plan_code).toBe('pro');
  expect(await h.database.db('invoices').where({ subscription_id: sub.id }).count('* as n')).toEqual([{ n: 1 }]);
});

test('a downgrade (cheaper plan) waits for the period end: next_plan_code and downgrade_plan_date, plan unchanged, nothing invoiced', async () => {
  const start = DateTime.utc().minus({ days: 3 }).startOf('second');
  await subscribe('pc-down', 'basic', { subscription_at: start.toISO() });
  const down = await subscribe('pc-down', 'cheap');
  expect(down.status).toBe(200);
  expect(down.body.subscription).toMatchObject({
    plan_code: 'basic',
    next_plan_code: 'cheap',
    downgrade_plan_date: start.plus({ months: 1 }).toISODate(),
  });
  const sub = await h.database.db('subscriptions').where({ organization_id: h.org.id, external_id: 'pc-down' }).first();
  expect(await h.database.db('invoices').where({ subscription_id: sub.id }).count('* as n')).toEqual([{ n: 0 }]);
  // The current plan again cancels the downgrade.
  const back = await subscribe('pc-down', 'basic');
  expect(back.body.subscription).toMatchObject({ plan_code: 'basic', next_plan_code: null, downgrade_plan_date: null });
  // Monthly → yearly at a higher yearly amount is an upgrade (interval change).
  const yearly = await subscribe('pc-down', 'pro_yearly');
  expect(yearly.body.subscription).toMatchObject({ plan_code: 'pro_yearly', previous_plan_code: 'basic' });
});

test('PUT /subscriptions/:external_id sets name and ending_at (shown, held by the workflow); a past ending_at is a 422; unknown is 404', async () => {
  await subscribe('pc-put', 'basic');
  const endingAt = DateTime.utc().plus({ days: 200 }).startOf('second').toISO()!;
  const put = await h.request('PUT', '/subscriptions/pc-put', { subscription: { name: 'Renamed', ending_at: endingAt } });
  expect(put.status).toBe(200);
  expect(put.body.subscription).toMatchObject({ name: 'Renamed', ending_at: new Date(endingAt).toISOString() });
  const bad = await h.request('PUT', '/subscriptions/pc-put', { subscription: { ending_at: DateTime.utc().minus({ days: 1 }).toISO() } });
  expect(bad.status).toBe(422);
  expect(bad.body.error_details).toEqual({ ending_at: ['invalid_date'] });
  expect((await h.request('GET', '/subscriptions/pc-put')).body.subscription.ending_at).toBe(new Date(endingAt).toISOString());
  expect((await h.request('PUT', '/subscriptions/nope', { subscription: { name: 'x' } })).status).toBe(404);
  // Plan overrides are test/api/plan-overrides.test.ts's; one in another currency than the plan's is refused.
  const overrides = await h.request('PUT', '/subscriptions/pc-put', { subscription: { plan_overrides: { amount_currency: 'EUR' } } });
  expect(overrides.status).toBe(422);
});

test('billing_starts_at (migration): no invoice for the periods before it, while the same backdated subscription without it bills them', async () => {
  const start = DateTime.utc().minus({ days: 70 }).startOf('second');
  const billingStartsAt = DateTime.utc().minus({ hours: 1 }).startOf('second');
  const migrated = await subscribe('pc-migrated', 'basic', { subscription_at: start.toISO(), billing_starts_at: billingStartsAt.toISO() });
  expect(migrated.status).toBe(200);
  expect(migrated.body.subscription.current_billing_period_started_at).toBe(billingStartsAt.toJSDate().toISOString());
  await subscribe('pc-control', 'basic', { subscription_at: start.toISO() });
  const [m, c] = await Promise.all(['pc-migrated', 'pc-control'].map((e) => h.database.db('subscriptions').where({ organization_id: h.org.id, external_id: e }).first()));
  await until(async () => Number((await h.database.db('invoices').where({ subscription_id: c.id }).count('* as n'))[0].n) >= 2, 'the control bills its two past periods');
  const state = await h.client.workflow.getHandle(subscriptionWorkflowId(m.id)).query(stateQuery);
  expect(state.currentPeriod?.period.start).toBe(billingStartsAt.toJSDate().toISOString());
  expect(await h.database.db('invoices').where({ subscription_id: m.id }).count('* as n')).toEqual([{ n: 0 }]);
  const refused = await subscribe('pc-bad', 'basic', { subscription_at: billingStartsAt.toISO(), billing_starts_at: start.toISO() });
  expect(refused.body.error_details).toEqual({ billing_starts_at: ['before_subscription_at'] });
});
