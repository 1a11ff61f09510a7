// Test clocks on the plan-change paths (issue 11, adv11b; workflows/plan-changes.ts followClock, patch
// test-clock-plan-changes-v1), end to end: real HTTP API, worker (real activities), Postgres and the Temporal dev
// server in real time.
// - A pending subscription on a clock (subscription_at after the clock's time, but long before the server's) stays
//   pending until the clock is advanced past subscription_at, then becomes active and its advance fee is billed on
//   the clock (before this change its workflow compared the start with the server's time and activated at once).
// - An upgrade on a clock that is ahead of the server's time is accepted at the clock's time (before: refused
//   subscription_pending, the period's start being after the server's time).
import { TEST_CLOCK_ADVANCED_SIGNAL } from '../../contracts/fleet';
import { subscriptionWorkflowId } from '../../workflows/messages';
import { startSystem, eventually, newTestClock, advanceTestClock, type System } from './harness';

jest.setTimeout(600_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/plans', { plan: { name: 'CPC advance', code: 'cpc_advance', interval: 'monthly', amount_cents: 3100, amount_currency: 'USD', pay_in_advance: true } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: { name: 'CPC basic', code: 'cpc_basic', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: { name: 'CPC pro', code: 'cpc_pro', interval: 'monthly', amount_cents: 3100, amount_currency: 'USD', pay_in_advance: false } })).status).toBe(200);
  expect((await r('POST', '/customers', { customer: { external_id: 'cpc-cust', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

const newClock = (name: string, at: string) => newTestClock(sys, name, at);
const advance = (clockId: string, to: string) => advanceTestClock(sys, clockId, to);


async function invoicesOf(subscriptionId: string) {
  return sys.database.db('invoices').where({ subscription_id: subscriptionId }).orderBy('created_at').select('id', 'invoice_type', 'status', 'period_start', 'period_end', 'total_amount_cents');
}

/** The names of the activities the workflow's history scheduled, and whether it handled `signals` clock signals. */
async function historyOf(subscriptionId: string) {
  const history = await sys.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).fetchHistory();
  const events = history.events ?? [];
  const activities = events.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
  const lastSignal = events.map((e, i) => (e.workflowExecutionSignaledEventAttributes?.signalName === TEST_CLOCK_ADVANCED_SIGNAL ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
  const completedAfterSignal = lastSignal >= 0 && events.slice(lastSignal + 1).some((e) => e.workflowTaskCompletedEventAttributes);
  return { activities, completedAfterSignal };
}

it('a pending subscription on a test clock stays pending when the clock is advanced short of subscription_at, becomes active when it passes it, and its start moves on the clock, and its advance fee (24/31 of 3100 = 2400 cents, from the moved start) is billed then', async () => {
  const clockId = await newClock('cpc-pending', '2025-05-01T00:00:00.000Z');
  // subscription_at 2025-05-10: after the clock's time, long before the server's.
  const created = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cpc-cust', plan_code: 'cpc_advance', external_id: 'cpc-pending', test_clock_id: clockId, subscription_at: '2025-05-10T00:00:00Z' } });
  expect(created.status).toBe(200);
  expect(created.body.subscription).toMatchObject({ status: 'pending' });
  const subscriptionId: string = created.body.subscription.lago_id;

  // Advanced to May 5: the workflow takes the signal and still waits (no activation, no invoice).
  await advance(clockId, '2025-05-05T00:00:00.000Z');
  const waited = await eventually(async () => {
    const h = await historyOf(subscriptionId);
    return h.completedAfterSignal ? h : undefined;
  }, 60_000, 'the May 5 advance handled');
  expect(waited.activities).not.toContain('activateSubscription');
  expect((await r('GET', '/subscriptions/cpc-pending')).body.subscription).toMatchObject({ status: 'pending', started_at: null });
  expect(await invoicesOf(subscriptionId)).toHaveLength(0);

  // Moving the start is judged against the clock too: May 3 is before the clock's May 5 (refused), May 8 after it
  // (accepted, though long before the server's time).
  const moveBack = await r('PUT', '/subscriptions/cpc-pending', { subscription: { subscription_at: '2025-05-03T00:00:00Z' } });
  expect(moveBack.status).toBe(422);
  const moved = await r('PUT', '/subscriptions/cpc-pending', { subscription: { subscription_at: '2025-05-08T00:00:00Z' } });
  expect(moved.status).toBe(200);
  expect(moved.body.subscription).toMatchObject({ status: 'pending', subscription_at: '2025-05-08T00:00:00.000Z' });

  // Past subscription_at on the clock: active, started at subscription_at, the advance fee of [May 8, Jun 1).
  await advance(clockId, '2025-05-12T00:00:00.000Z');
  const active = await eventually(async () => {
    const s = (await r('GET', '/subscriptions/cpc-pending')).body.subscription;
    return s.status === 'active' ? s : undefined;
  }, 60_000, 'activation on the clock');
  expect(new Date(active.started_at).toISOString()).toBe('2025-05-08T00:00:00.000Z');
  const first = await eventually(async () => {
    const list = await invoicesOf(subscriptionId);
    return list.length === 1 && list[0]!.status === 'finalized' ? list[0] : undefined;
  }, 60_000, 'the advance invoice');
  expect(first!.period_start.toISOString()).toBe('2025-05-08T00:00:00.000Z');
  expect(Number(first!.total_amount_cents)).toBe(2400);
  const fee = (await r('GET', `/invoices/${first!.id}`)).body.invoice.fees.find((f: any) => f.item.type === 'subscription');
  expect(fee).toMatchObject({ amount_cents: 2400 });
  expect([fee.from_date.slice(0, 10), fee.to_date.slice(0, 10)]).toEqual(['2025-05-08', '2025-06-01']);
});

it('an upgrade of a subscription on a test clock ahead of the server time is accepted at the clock time: the old plan billed for [Mar 1, Mar 16) = 15/31 of 1000 = 484 cents, the new plan from Mar 16', async () => {
  // 2027-03: after the server's time (the workflow's real clock), so only the test clock says the period has started.
  const clockId = await newClock('cpc-upgrade', '2027-03-01T00:00:00.000Z');
  const created = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cpc-cust', plan_code: 'cpc_basic', external_id: 'cpc-upgrade', test_clock_id: clockId } });
  expect(created.status).toBe(200);
  expect(created.body.subscription).toMatchObject({ status: 'active' });
  const subscriptionId: string = created.body.subscription.lago_id;
  await advance(clockId, '2027-03-16T00:00:00.000Z');

  const upgraded = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cpc-cust', plan_code: 'cpc_pro', external_id: 'cpc-upgrade' } });
  expect(upgraded.status).toBe(200);
  expect(upgraded.body.subscription).toMatchObject({ plan_code: 'cpc_pro', status: 'active' });
  const closed = await eventually(async () => {
    const list = await invoicesOf(subscriptionId);
    return list.length === 1 && list[0]!.status === 'finalized' ? list[0] : undefined;
  }, 60_000, 'the old plan invoice');
  expect(closed!.period_start.toISOString()).toBe('2027-03-01T00:00:00.000Z');
  expect(closed!.period_end.toISOString()).toBe('2027-03-16T00:00:00.000Z');
  expect(Number(closed!.total_amount_cents)).toBe(484);

  // The new plan's first period [Mar 16, Apr 1) closes on the clock: 16/31 of 3100 = 1600 cents.
  await advance(clockId, '2027-04-02T00:00:00.000Z');
  const next = await eventually(async () => {
    const list = await invoicesOf(subscriptionId);
    return list.length === 2 && list[1]!.status === 'finalized' ? list[1] : undefined;
  }, 60_000, 'the new plan invoice');
  expect(next!.period_start.toISOString()).toBe('2027-03-16T00:00:00.000Z');
  expect(Number(next!.total_amount_cents)).toBe(1600);
});
