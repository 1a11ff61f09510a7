// A burst of 10,000 events for one subscription with the real workflows running: every event is in Postgres
// exactly once, the usage signals are coalesced (bounded by the 1 signal/s/subscription rule), and the
// workflow's live usage equals Postgres' totals. Then the subscription is terminated through the API and
// its invoice is read back through the invoice routes.
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createBillingWorker } from '../../worker/worker';
import { stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { temporalTestAddress } from '../support/services';
import { startApiHarness, seedSubscription, type ApiHarness } from './harness';

let h: ApiHarness;
let worker: Worker;
let workerRun: Promise<void>;
let nativeConnection: NativeConnection;

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_burst' });
  nativeConnection = await NativeConnection.connect({ address: temporalTestAddress() });
  worker = await createBillingWorker({ connection: nativeConnection, namespace: 'default', db: h.database.db, taskQueue: h.taskQueue });
  workerRun = worker.run();
});

afterAll(async () => {
  if (worker && worker.getState() === 'RUNNING') worker.shutdown();
  await workerRun;
  await nativeConnection?.close();
  await h?.stop();
});

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('10,000 events in concurrent batches: stored exactly once, few signals, live usage = Postgres', async () => {
  // Starts now, i.e. inside an hour: the first hour bucket is clamped to subscription_at so the workflow counts it.
  const sub = await seedSubscription(h, { suffix: 'burst', aggregation: 'sum_agg', fieldName: 'tokens' });
  const handle = h.client.workflow.getHandle(subscriptionWorkflowId(sub.lagoSubscriptionId));
  await h.runtime.signaller.flush();
  const before = { ...h.runtime.signaller.counters };
  const nowSeconds = Math.ceil(Date.now() / 1000);

  const batches = Array.from({ length: 100 }, (_, b) =>
    Array.from({ length: 100 }, (_, i) => ({
      transaction_id: `burst-${b}-${i}`,
      external_subscription_id: sub.subscriptionId,
      code: sub.metricCode,
      timestamp: nowSeconds,
      // decimal units, summed exactly: 0.001 … 0.1
      properties: { tokens: `0.${String(((b * 100 + i) % 100) + 1).padStart(3, '0')}` },
    })),
  );
  const started = Date.now();
  // Send the first 10 batches twice: replays must not be stored or signalled twice.
  const responses = await Promise.all([...batches, ...batches.slice(0, 10)].map((events) => h.request('POST', '/events/batch', { events })));
  expect(responses.every((r) => r.status === 200)).toBe(true);
  await h.runtime.signaller.flush();
  const elapsedSeconds = (Date.now() - started) / 1000;

  const [{ n, total }] = (
    await h.database.db.raw(
      `SELECT count(*)::int AS n, count(DISTINCT transaction_id)::int AS distinct_n, sum((properties->>'tokens')::numeric)::text AS total
       FROM events WHERE subscription_id = ?`,
      [sub.lagoSubscriptionId],
    )
  ).rows;
  expect(n).toBe(10_000);
  expect(total).toBe('505.000'); // 100 × (0.001 + … + 0.100)

  // The same group-commit transactions maintained the hourly rollups (new events only).
  const [rollup] = (
    await h.database.db.raw(`SELECT sum(events_count)::int AS n, sum(sum)::text AS total FROM usage_rollups WHERE subscription_id = ?`, [sub.lagoSubscriptionId])
  ).rows;
  expect(rollup.n).toBe(10_000);
  expect(Number(rollup.total)).toBe(505);

  const signals = h.runtime.signaller.counters.signalsSent - before.signalsSent;
  expect(h.runtime.signaller.counters.eventsSignalled - before.eventsSignalled).toBe(10_000);
  expect(signals).toBeGreaterThanOrEqual(1);
  expect(signals).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 2);

  const state = await until(
    () => handle.query(stateQuery),
    (s) => s.liveUsage[sub.metricCode]?.eventsCount === 10_000,
  );
  expect(state.liveUsage[sub.metricCode].eventsCount).toBe(10_000);
  expect(Number(state.liveUsage[sub.metricCode].units)).toBe(505); // decimal string "505" / "505.000"
  expect(state.liveUsage[sub.metricCode].units.replace(/\.?0+$/, '')).toBe('505');
  expect(state.usageSignalsReceived).toBe(signals);
});

test('DELETE terminates through the workflow, then the invoice is readable; a second DELETE answers the same (idempotent)', async () => {
  const sub = await seedSubscription(h, { suffix: 'term', aggregation: 'sum_agg', fieldName: 'tokens', subscriptionAt: new Date(Date.now() - 60_000).toISOString() });
  const ts = Math.floor(Date.now() / 1000) - 5;
  const sent = await h.request('POST', '/events/batch', {
    events: [
      { transaction_id: 't-1', external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp: ts, properties: { tokens: 1000 } },
      { transaction_id: 't-2', external_subscription_id: sub.subscriptionId, code: sub.metricCode, timestamp: ts, properties: { tokens: 500 } },
    ],
  });
  expect(sent.status).toBe(200);

  const del = await h.request('DELETE', `/subscriptions/${sub.subscriptionId}`);
  expect(del.status).toBe(200);
  expect(del.body.subscription).toMatchObject({ external_id: sub.subscriptionId, status: 'terminated', terminated_at: expect.any(String) });
  const again = await h.request('DELETE', `/subscriptions/${sub.subscriptionId}`);
  // Issue 8: a retried DELETE gets the first call's result, not Lago's 404.
  expect(again.status).toBe(200);
  expect(again.body.subscription).toMatchObject({ status: 'terminated', terminated_at: del.body.subscription.terminated_at });

  const list = await until(
    () => h.request('GET', `/invoices?external_customer_id=${sub.customerId}`),
    (r) => r.body.invoices?.length === 1,
  );
  expect(list.status).toBe(200);
  expect(list.body.meta).toMatchObject({ current_page: 1, total_count: 1, total_pages: 1, next_page: null, prev_page: null });
  const summary = list.body.invoices[0];
  const one = await h.request('GET', `/invoices/${summary.lago_id}`);
  expect(one.status).toBe(200);
  const inv = one.body.invoice;
  expect(inv).toMatchObject({ lago_id: summary.lago_id, currency: 'USD', invoice_type: 'subscription' });
  expect(Number.isSafeInteger(inv.total_amount_cents)).toBe(true);
  expect(inv.fees_amount_cents).toBe(inv.fees.reduce((s: number, f: any) => s + f.amount_cents, 0));
  const chargeFee = inv.fees.find((f: any) => f.item.type === 'charge');
  expect(chargeFee).toMatchObject({ item: { code: sub.metricCode, item_type: 'BillableMetric' }, events_count: 2 });
  expect(Number(chargeFee.units)).toBe(1500);
  expect(inv.subscriptions.map((s: any) => s.external_id)).toEqual([sub.subscriptionId]);
  expect(inv.customer.external_id).toBe(sub.customerId);
});
