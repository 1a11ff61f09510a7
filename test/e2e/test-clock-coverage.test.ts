// Test clocks beyond the period loop (issue 11, workflows/clock-coverage.ts, patch test-clock-coverage-v1), end to
// end: real HTTP API, worker (real activities), Postgres and the Temporal dev server in real time.
// - Progressive billing and usage alerts: usage that crosses a threshold on a frozen clock is checked when the
//   clock moves; the progressive invoice covers [period start, clock time), the alert is triggered at the clock's
//   time, each once, and the period-end invoice deducts the progressive amount (never billed twice).
// - Current, projected and past usage answer the clock's open period, not the server's.
// - ending_at set over PUT /subscriptions and reached by advancing the clock terminates the subscription at
//   ending_at (a termination invoice for [period start, ending_at)).
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { startSystem, eventually, newTestClock, advanceTestClock, type System } from './harness';

jest.setTimeout(600_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Cov calls', code: 'cov_calls', aggregation_type: 'count_agg' } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: {
    name: 'Cov thresholds', code: 'cov_thresholds', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false,
    usage_thresholds: [{ amount_cents: 500, threshold_display_name: 'First 5 USD' }],
    charges: [{ billable_metric_code: 'cov_calls', charge_model: 'standard', properties: { amount: '1' } }],
  } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: {
    name: 'Cov plain', code: 'cov_plain', interval: 'monthly', amount_cents: 3100, amount_currency: 'USD', pay_in_advance: false,
    charges: [{ billable_metric_code: 'cov_calls', charge_model: 'standard', properties: { amount: '1' } }],
  } })).status).toBe(200);
  expect((await r('POST', '/customers', { customer: { external_id: 'cov-cust', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

const newClock = (name: string, at: string) => newTestClock(sys, name, at);
const advance = (clockId: string, to: string) => advanceTestClock(sys, clockId, to);


async function invoicesOf(subscriptionId: string, type: string) {
  return sys.database.db('invoices').where({ subscription_id: subscriptionId, invoice_type: type }).orderBy('period_start').select('id', 'status', 'period_start', 'period_end', 'total_amount_cents');
}

it('on a test clock, calls worth 6 USD against a 5 USD threshold are checked when the clock advances: one progressive invoice up to the clock time, one alert at the clock time, deducted at the period end', async () => {
  const clockId = await newClock('cov-thresholds', '2025-01-01T00:00:00.000Z');
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cov-cust', plan_code: 'cov_thresholds', external_id: 'cov-thr', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;
  expect((await r('POST', '/subscriptions/cov-thr/alerts', { alert: { alert_type: 'current_usage_amount', code: 'cov-spend', name: 'Spend', thresholds: [{ code: 'warn', value: 300 }] } })).status).toBe(200);

  // Six calls at 1 USD at the clock's time (2025-01-01T00:00Z, no timestamp).
  const events = Array.from({ length: 6 }, (_, k) => ({ transaction_id: `cov-thr-${k}`, external_subscription_id: 'cov-thr', code: 'cov_calls' }));
  expect((await r('POST', '/events/batch', { events })).status).toBe(200);
  const handle = sys.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId));
  // The workflow has counted the usage and watches the rules; with the clock frozen it has not checked yet.
  const before = await eventually(async () => {
    const s = await handle.query(stateQuery);
    return s.liveUsage.cov_calls?.eventsCount === 6 && s.usageChecks !== null ? s : undefined;
  }, 60_000, 'the usage signal');
  expect(before.usageChecks).toMatchObject({ rulesActive: true, checks: 0, progressiveInvoiceIds: [] });
  expect(await invoicesOf(subscriptionId, 'progressive_billing')).toHaveLength(0);

  // The clock moves to Jan 10: one check, as of the clock's time.
  await advance(clockId, '2025-01-10T00:00:00.000Z');
  const progressive = await eventually(async () => {
    const list = await invoicesOf(subscriptionId, 'progressive_billing');
    return list.length > 0 && list[0]!.status === 'finalized' ? list : undefined;
  }, 60_000, 'the progressive invoice');
  expect(progressive).toHaveLength(1);
  expect(progressive[0]!.period_start.toISOString()).toBe('2025-01-01T00:00:00.000Z');
  expect(progressive[0]!.period_end.toISOString()).toBe('2025-01-10T00:00:00.000Z');
  expect(Number(progressive[0]!.total_amount_cents)).toBe(600);
  const state = await handle.query(stateQuery);
  expect(state.usageChecks).toMatchObject({ checks: 1, confirmedAmountCents: 600, lastCheckAt: '2025-01-10T00:00:00.000Z', progressiveInvoiceIds: [progressive[0]!.id] });
  const triggered = await eventually(async () => {
    const list = await r('GET', '/subscriptions/cov-thr/alerts/triggered');
    return list.body.triggered_alerts.length > 0 ? list.body.triggered_alerts : undefined;
  }, 30_000, 'the alert trigger');
  expect(triggered).toHaveLength(1);
  expect(triggered[0]).toMatchObject({ alert_code: 'cov-spend', threshold_value: '300', current_value: '600' });
  expect(new Date(triggered[0].triggered_at).toISOString()).toBe('2025-01-10T00:00:00.000Z');

  // Past the period end: the January invoice bills 10 USD + 6 USD usage − 6 USD already billed progressively.
  await advance(clockId, '2025-02-03T00:00:00.000Z');
  const january = await eventually(async () => {
    const list = await invoicesOf(subscriptionId, 'subscription');
    return list.length === 1 && list[0]!.status === 'finalized' ? list[0] : undefined;
  }, 120_000, 'the January invoice');
  expect(january!.period_end.toISOString()).toBe('2025-02-01T00:00:00.000Z');
  expect(Number(january!.total_amount_cents)).toBe(1000);
  // Still one progressive invoice and one alert trigger after the advances.
  expect(await invoicesOf(subscriptionId, 'progressive_billing')).toHaveLength(1);
  expect((await r('GET', '/subscriptions/cov-thr/alerts/triggered')).body.triggered_alerts).toHaveLength(1);
});

it('a threshold crossed on the clock and passed by one advance beyond the period end is invoiced progressively before the period closes', async () => {
  const clockId = await newClock('cov-jump', '2025-03-01T00:00:00.000Z');
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cov-cust', plan_code: 'cov_thresholds', external_id: 'cov-jump', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;
  const handle = sys.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId));
  const events = Array.from({ length: 7 }, (_, k) => ({ transaction_id: `cov-jump-${k}`, external_subscription_id: 'cov-jump', code: 'cov_calls' }));
  expect((await r('POST', '/events/batch', { events })).status).toBe(200);
  // The run watches its rules before the clock moves (known gap: an advance that reaches a run before its first watch
  // is taken as the run's starting time, so that run checks at its next advance only).
  await eventually(async () => {
    const st = await handle.query(stateQuery);
    return st.liveUsage.cov_calls?.eventsCount === 7 && st.usageChecks !== null ? true : undefined;
  }, 60_000, 'the usage signal');

  // One jump to April 2: the March crossing is checked as of March's last millisecond, then March closes.
  await advance(clockId, '2025-04-02T00:00:00.000Z');
  const march = await eventually(async () => {
    const list = await invoicesOf(subscriptionId, 'subscription');
    return list.length === 1 ? list[0] : undefined;
  }, 120_000, 'the March invoice');
  const progressive = await invoicesOf(subscriptionId, 'progressive_billing');
  expect(progressive).toHaveLength(1);
  expect(progressive[0]!.period_end.toISOString()).toBe('2025-03-31T23:59:59.999Z');
  expect(Number(progressive[0]!.total_amount_cents)).toBe(700);
  const final = await eventually(async () => {
    const list = await invoicesOf(subscriptionId, 'subscription');
    return list[0]!.status === 'finalized' ? list[0] : undefined;
  }, 60_000, 'the March invoice finalized');
  expect(march!.period_end.toISOString()).toBe('2025-04-01T00:00:00.000Z');
  expect(Number(final!.total_amount_cents)).toBe(1000);
});

it('current, projected and past usage of a subscription on a test clock answer the clock period, and follow the clock when it advances', async () => {
  const clockId = await newClock('cov-usage', '2025-05-11T00:00:00.000Z');
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cov-cust', plan_code: 'cov_plain', external_id: 'cov-usage', test_clock_id: clockId, subscription_at: '2025-05-01T00:00:00.000Z' } });
  expect(sub.status).toBe(200);
  const events = Array.from({ length: 3 }, (_, k) => ({ transaction_id: `cov-usage-${k}`, external_subscription_id: 'cov-usage', code: 'cov_calls' }));
  expect((await r('POST', '/events/batch', { events })).status).toBe(200);

  const usage = await eventually(async () => {
    const res = await r('GET', '/customers/cov-cust/current_usage?external_subscription_id=cov-usage');
    return res.status === 200 && res.body.customer_usage.amount_cents === 300 ? res.body.customer_usage : undefined;
  }, 30_000, 'the current usage');
  expect(usage).toMatchObject({ from_datetime: '2025-05-01T00:00:00.000Z', to_datetime: '2025-06-01T00:00:00.000Z' });
  // The subscription object's current billing period is the clock's too (the server's time would give this month).
  expect((await r('GET', '/subscriptions/cov-usage')).body.subscription).toMatchObject({ current_billing_period_started_at: '2025-05-01T00:00:00.000Z', current_billing_period_ending_at: '2025-06-01T00:00:00.000Z' });
  // Projected from the clock: 10 of 31 days elapsed → 3 calls project to 9.3 (count: linear).
  const projected = await r('GET', '/customers/cov-cust/projected_usage?external_subscription_id=cov-usage');
  expect(projected.status).toBe(200);
  expect(projected.body.customer_projected_usage).toMatchObject({ from_datetime: '2025-05-01T00:00:00.000Z', amount_cents: 300, projected_amount_cents: 930 });
  // Past usage: one period started by the clock's time (the server's time would list every month since May 2025).
  const past = await r('GET', '/customers/cov-cust/past_usage?external_subscription_id=cov-usage');
  expect(past.status).toBe(200);
  expect(past.body.usage_periods.map((p: any) => p.from_datetime)).toEqual(['2025-05-01T00:00:00.000Z']);

  await advance(clockId, '2025-06-05T00:00:00.000Z');
  const june = await eventually(async () => {
    const res = await r('GET', '/customers/cov-cust/current_usage?external_subscription_id=cov-usage');
    return res.status === 200 && res.body.customer_usage.from_datetime === '2025-06-01T00:00:00.000Z' ? res.body.customer_usage : undefined;
  }, 30_000, 'the June usage');
  expect(june).toMatchObject({ to_datetime: '2025-07-01T00:00:00.000Z', amount_cents: 0 });
  const listed = (await r('GET', '/subscriptions?external_customer_id=cov-cust')).body.subscriptions.find((x: any) => x.external_id === 'cov-usage');
  expect(listed).toMatchObject({ current_billing_period_started_at: '2025-06-01T00:00:00.000Z', current_billing_period_ending_at: '2025-07-01T00:00:00.000Z' });
  // The customer's subscriptions answer the same clock period (they were on the server's time before).
  const nested = (await r('GET', '/customers/cov-cust/subscriptions')).body.subscriptions.find((x: any) => x.external_id === 'cov-usage');
  expect(nested).toMatchObject({ current_billing_period_started_at: '2025-06-01T00:00:00.000Z', current_billing_period_ending_at: '2025-07-01T00:00:00.000Z' });
  const pastAfter = await r('GET', '/customers/cov-cust/past_usage?external_subscription_id=cov-usage');
  expect(pastAfter.body.usage_periods.map((p: any) => p.from_datetime)).toEqual(['2025-06-01T00:00:00.000Z', '2025-05-01T00:00:00.000Z']);
});

it('ending_at set on a test-clock subscription is judged against the clock and, reached by advancing the clock, terminates the subscription at ending_at', async () => {
  const clockId = await newClock('cov-ending', '2025-07-01T00:00:00.000Z');
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'cov-cust', plan_code: 'cov_plain', external_id: 'cov-ending', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;
  // Before the clock's time: refused (the server's time is more than a year later).
  const past = await r('PUT', '/subscriptions/cov-ending', { subscription: { ending_at: '2025-06-30T00:00:00.000Z' } });
  expect(past.status).toBe(422);
  expect(past.body.error_details).toEqual({ ending_at: ['invalid_date'] });
  // After the clock's time, long before the server's: accepted, and the workflow holds it.
  const put = await eventually(async () => {
    const res = await r('PUT', '/subscriptions/cov-ending', { subscription: { ending_at: '2025-07-20T00:00:00.000Z' } });
    return res.status === 200 ? res : undefined;
  }, 60_000, 'the ending_at update');
  expect(put.body.subscription).toMatchObject({ ending_at: '2025-07-20T00:00:00.000Z', status: 'active' });
  // Three calls on July 1; still active while the clock is before ending_at.
  const events = Array.from({ length: 3 }, (_, k) => ({ transaction_id: `cov-ending-${k}`, external_subscription_id: 'cov-ending', code: 'cov_calls' }));
  expect((await r('POST', '/events/batch', { events })).status).toBe(200);
  await advance(clockId, '2025-07-15T00:00:00.000Z');
  expect((await r('GET', '/subscriptions/cov-ending')).body.subscription.status).toBe('active');

  await advance(clockId, '2025-07-25T00:00:00.000Z');
  const ended = await eventually(async () => {
    const res = await r('GET', '/subscriptions/cov-ending');
    return res.body.subscription?.status === 'terminated' ? res.body.subscription : undefined;
  }, 60_000, 'the termination at ending_at');
  expect(ended.terminated_at).toBe('2025-07-20T00:00:00.000Z');
  const termination = await invoicesOf(subscriptionId, 'termination');
  expect(termination).toHaveLength(1);
  expect(termination[0]!.period_end.toISOString()).toBe('2025-07-20T00:00:00.000Z');
  // 19 of 31 days of 31 USD (19 USD) + 3 calls (3 USD).
  const final = await eventually(async () => {
    const [t] = await invoicesOf(subscriptionId, 'termination');
    return t?.status === 'finalized' ? t : undefined;
  }, 60_000, 'the termination invoice finalized');
  expect(Number(final!.total_amount_cents)).toBe(2200);
  expect(await invoicesOf(subscriptionId, 'subscription')).toHaveLength(0);
});
