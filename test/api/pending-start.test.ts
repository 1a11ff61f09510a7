// PUT /subscriptions/:external_id with subscription_at through the real API, a real worker and the Temporal dev
// server: a pending subscription's start moves (row and workflow), an active one's is refused with nothing written.
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { startHarnessWorker, waitFor, type HarnessWorker } from '../support/harness-worker';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let worker: HarnessWorker;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_pendingstart' });
  worker = await startHarnessWorker(h);
  await h.request('POST', '/customers', { customer: { external_id: 'ps-cus', currency: 'USD', timezone: 'UTC' } });
  expect((await h.request('POST', '/plans', { plan: { name: 'basic', code: 'basic', interval: 'monthly', amount_cents: 10000, amount_currency: 'USD', pay_in_advance: false } })).status).toBe(200);
});
afterAll(async () => {
  await worker?.stop();
  await h?.stop();
});

/** Polls until truthy (test/support/harness-worker.ts). */
const until = waitFor;

test("PUT subscription_at moves a pending subscription's start in Postgres and in its workflow; an active subscription's start is refused and unchanged", async () => {
  const day = 86_400_000;
  const first = new Date(Math.floor(Date.now() / day) * day + 10 * day).toISOString();
  const moved = new Date(Math.floor(Date.now() / day) * day + 20 * day).toISOString();
  const sub = await h.request('POST', '/subscriptions', { subscription: { external_customer_id: 'ps-cus', plan_code: 'basic', external_id: 'ps-1', billing_time: 'anniversary', subscription_at: first } });
  expect(sub.status).toBe(200);
  expect(sub.body.subscription.status).toBe('pending');
  const handle = h.client.workflow.getHandle(subscriptionWorkflowId(sub.body.subscription.lago_id));
  await until(async () => (await handle.query(stateQuery).catch(() => null))?.currentPeriod?.period.start === first, 'the workflow waits for the first start');

  const past = await h.request('PUT', '/subscriptions/ps-1', { subscription: { subscription_at: '2020-01-01T00:00:00Z' } });
  expect(past.status).toBe(422);
  expect(past.body.error_details).toEqual({ subscription_at: ['invalid_date'] });

  const res = await h.request('PUT', '/subscriptions/ps-1', { subscription: { subscription_at: moved } });
  expect(res.status).toBe(200);
  expect(res.body.subscription).toMatchObject({ status: 'pending', subscription_at: moved });
  await until(async () => (await handle.query(stateQuery).catch(() => null))?.currentPeriod?.period.start === moved, 'the workflow waits for the moved start');

  const active = await h.request('POST', '/subscriptions', { subscription: { external_customer_id: 'ps-cus', plan_code: 'basic', external_id: 'ps-2' } });
  expect(active.body.subscription.status).toBe('active');
  const refused = await h.request('PUT', '/subscriptions/ps-2', { subscription: { subscription_at: moved, name: 'renamed' } });
  expect(refused.status).toBe(422);
  expect(refused.body.error_details).toEqual({ subscription_at: ['subscription_not_pending'] });
  const after = await h.request('GET', '/subscriptions/ps-2');
  expect(after.body.subscription).toMatchObject({ subscription_at: active.body.subscription.subscription_at, name: active.body.subscription.name });
});
