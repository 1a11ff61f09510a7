// Dunning consequence `suspend_subscription` end to end: the real HTTP API, the real worker (real activities),
// Postgres, the Temporal dev server, the real Stripe adapter on the stateful fake (declining card), and a test
// clock so the dunning ladder's days and the billing periods pass in seconds.
//
// January is invoiced on Feb 1, its card declines on attempt 1 and both dunning attempts (1 day apart): the
// campaign's consequence suspends the subscription (a suspension row, a `subscription.suspended` record, the
// workflow's state query). At Mar 1 February's close is HELD (no invoice). A manual payment of January's invoice
// resumes it: `subscription.resumed`, the held close runs and February is invoiced once.
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { StripePaymentProvider } from '../../adapters/stripe/provider';
import { startApi, type RunningApi } from '../../api/server';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { upsertDunningCampaign, upsertProviderConfig } from '../../db/repositories/payments';
import { createBillingWorker } from '../../worker/worker';
import { invoicePaymentQuery, invoiceWorkflowId, stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { FakeStripe } from '../support/fake-stripe';
import { createTestDatabase, temporalTestAddress, type TestDatabase } from '../support/services';
import { testWorkflowBundle } from '../support/workflow-bundle';
import { eventually } from './harness';

jest.setTimeout(900_000);

const WAIT_MS = 240_000;
let database: TestDatabase;
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;
let worker: Worker;
let workerRun: Promise<void>;
let api: RunningApi;
let apiKey: string;
let orgId: string;
const fake = new FakeStripe();

async function r(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  database = await createTestDatabase('e2e_suspend');
  const org = await ensureOrganization(database.db, 'e2e-suspend', 'Suspend organization');
  orgId = org.id;
  apiKey = await createApiKey(database.db, org.id);
  const address = temporalTestAddress();
  connection = await Connection.connect({ address });
  client = new Client({ connection, namespace: 'default' });
  nativeConnection = await NativeConnection.connect({ address });
  // Our own task queue: no other test file's worker (another database) may run these workflows.
  const taskQueue = `suspend-e2e-${crypto.randomBytes(6).toString('hex')}`;
  const providerFor = () => new StripePaymentProvider(fake.client());
  worker = await createBillingWorker({ connection: nativeConnection, namespace: 'default', db: database.db, client, taskQueue, paymentProviderFor: providerFor, workflowBundle: await testWorkflowBundle() });
  workerRun = worker.run();
  api = await startApi({ db: database.db, temporal: client, subscriptionTaskQueue: taskQueue, paymentProviderFor: providerFor }, 0);
});

afterAll(async () => {
  await api?.close();
  worker?.shutdown();
  await workerRun;
  await nativeConnection?.close();
  await connection?.close();
  await database?.drop();
});

async function advance(clockId: string, iso: string): Promise<void> {
  const res = await r('POST', `/test_clocks/${clockId}/advance`, { test_clock: { frozen_time: iso } });
  expect(res.status).toBe(200);
}

const subscriptionInvoices = (subscriptionId: string) =>
  database.db('invoices').where({ subscription_id: subscriptionId, invoice_type: 'subscription' }).orderBy('period_start').select('id', 'status', 'payment_status', 'total_amount_cents', 'period_start');
const providerAttempts = (invoiceId: string) => database.db('payments').where({ invoice_id: invoiceId, payment_type: 'provider' }).count<{ n: string }[]>({ n: '*' }).first();
const events = (type: string) => database.db('payment_events').where({ organization_id: orgId, event_type: type }).select('invoice_id', 'dedupe_key', 'payload');

test('dunning exhausted with suspend_subscription holds the next period close until the overdue invoice is paid, then bills it once', async () => {
  await upsertProviderConfig(database.db, { organizationId: orgId, code: 'stripe-test', secretKey: 'sk_test_fake', webhookSecret: 'whsec_test', successRedirectUrl: 'https://example.test/thanks' });
  await upsertDunningCampaign(database.db, orgId, { code: 'suspend-2', maxAttempts: 2, daysBetweenAttempts: 1, thresholds: [{ currency: 'USD', amountCents: 1 }], consequence: 'suspend_subscription', appliedToOrganization: true });
  expect((await r('POST', '/plans', { plan: { name: 'Base', code: 'base', interval: 'monthly', amount_cents: 1000, amount_currency: 'USD', pay_in_advance: false } })).status).toBe(200);
  const stripeCustomer = await fake.client().customers.create({ name: 'Late payer' });
  fake.addCard(stripeCustomer.id, { decline: 'insufficient_funds' });
  const customer = await r('POST', '/customers', {
    customer: { external_id: 'late', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0, payment_provider: 'stripe', provider_customer_id: stripeCustomer.id } },
  });
  expect(customer.status).toBe(200);
  const clock = await r('POST', '/test_clocks', { test_clock: { name: 'dunning', frozen_time: '2025-01-01T00:00:00.000Z' } });
  const clockId: string = clock.body.test_clock.lago_id;
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'late', plan_code: 'base', external_id: 'late-main', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;
  const handle = () => client.workflow.getHandle(subscriptionWorkflowId(subscriptionId));

  // Feb 1: January is invoiced and attempt 1 declines; Feb 2 and Feb 3: the two dunning attempts decline. The clock
  // moves only once the ladder waits for the next attempt (its timer counts from the clock's time then).
  const dunningWaits = (invoiceId: string, attempts: number) =>
    eventually(async () => {
      const q = await client.workflow.getHandle(invoiceWorkflowId(invoiceId)).query(invoicePaymentQuery).catch(() => null);
      return q?.status === 'dunning' && q.attempts === attempts ? q : undefined;
    }, WAIT_MS, `dunning waits after attempt ${attempts}`);
  await advance(clockId, '2025-02-01T00:00:00.000Z');
  const [january] = await eventually(async () => {
    const invs = await subscriptionInvoices(subscriptionId);
    return invs.length === 1 ? invs : undefined;
  }, WAIT_MS, 'January invoiced');
  await dunningWaits(january.id, 1);
  await advance(clockId, '2025-02-02T00:00:00.000Z');
  await dunningWaits(january.id, 2);
  await advance(clockId, '2025-02-03T00:00:00.000Z');
  const suspended = await eventually(async () => {
    const q = await handle().query(stateQuery);
    return q.suspension ? q : undefined;
  }, WAIT_MS, 'the subscription suspended');
  expect(Number((await providerAttempts(january.id))?.n)).toBe(3);
  expect(fake.succeededCharges()).toHaveLength(0);
  expect(suspended.status).toBe('active');
  expect(suspended.suspension).toMatchObject({ invoiceIds: [january.id], heldPeriodEnd: null });
  expect(await database.db('subscription_suspensions').where({ subscription_id: subscriptionId }).select('invoice_id', 'resumed_at')).toEqual([{ invoice_id: january.id, resumed_at: null }]);
  expect(await events('subscription.suspended')).toEqual([expect.objectContaining({ invoice_id: january.id, dedupe_key: `subscription:${subscriptionId}:suspended:${january.id}` })]);
  expect((await events('dunning.exhausted'))[0].payload).toMatchObject({ consequence: 'suspend_subscription', attempts: 3 });
  expect((await r('GET', `/invoices/${january.id}`)).body.invoice.payment_status).toBe('failed');
  // Lago clients still see an active subscription (Lago has no suspended status).
  expect((await r('GET', '/subscriptions/late-main')).body.subscription.status).toBe('active');

  // Mar 1: February ends while suspended: its close is held, nothing is invoiced.
  await advance(clockId, '2025-03-01T00:00:00.000Z');
  const held = await eventually(async () => {
    const q = await handle().query(stateQuery);
    return q.suspension?.heldPeriodEnd ? q : undefined;
  }, WAIT_MS, 'the February close held');
  expect(held.suspension!.heldPeriodEnd).toBe('2025-03-01T00:00:00.000Z');
  expect(held.closedPeriods).toBe(1);
  expect(await subscriptionInvoices(subscriptionId)).toHaveLength(1);

  // January is paid by hand: the subscription resumes and February is invoiced, once.
  const pay = await r('POST', '/payments', { payment: { invoice_id: january.id, amount_cents: Number(january.total_amount_cents), reference: 'wire-late' } });
  expect(pay.status).toBe(200);
  const after = await eventually(async () => {
    const invs = await subscriptionInvoices(subscriptionId);
    return invs.length === 2 ? invs : undefined;
  }, WAIT_MS, 'February invoiced after the payment');
  expect(new Date(after[1].period_start).toISOString()).toBe('2025-02-01T00:00:00.000Z');
  expect(await events('subscription.resumed')).toEqual([expect.objectContaining({ invoice_id: january.id, payload: expect.objectContaining({ reason: 'invoice_paid' }) })]);
  expect((await database.db('subscription_suspensions').where({ subscription_id: subscriptionId }).first()).resumed_at).not.toBeNull();
  const resumed = await eventually(async () => {
    const q = await handle().query(stateQuery);
    return q.closedPeriods === 2 ? q : undefined;
  }, WAIT_MS, 'the next run');
  expect(resumed.suspension ?? null).toBeNull();
  expect(await subscriptionInvoices(subscriptionId)).toHaveLength(2);
});
