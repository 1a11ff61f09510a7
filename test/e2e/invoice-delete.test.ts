// DELETE /invoices/:lago_id end to end (real HTTP API, worker, Postgres, Temporal dev server, a test clock): January's
// draft, deleted in its 2-day grace period, stays a tombstone through everything that could bring it back — a late
// January event, a refresh, the grace-period end (its invoice workflow ends as deleted, nothing collected), the
// subscription workflow lost and healed by the fleet sweeper (it restarts after the deleted period, never in it), and
// February's close. February is billed normally and takes the organization's first number: no gap.
import { randomUUID } from 'node:crypto';
import { advanceTestClock, eventually, newTestClock, startSystem, type System } from './harness';
import { createClockSandbox } from './clock-sandbox';
import { restartStateOf } from '../../activities/fleet';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { invoiceStateQuery, invoiceWorkflowId, subscriptionWorkflowId } from '../../workflows/messages';

jest.setTimeout(600_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
const JAN = new Date(Date.UTC(2025, 0, 1));
const FEB = new Date(Date.UTC(2025, 1, 1));
const MAR = new Date(Date.UTC(2025, 2, 1));
const plusDays = (d: Date, n: number) => new Date(d.getTime() + n * 86_400_000);

beforeAll(async () => {
  sys = await startSystem('dev-server');
  await createClockSandbox(sys, 'del');
});
afterAll(async () => {
  await sys?.stop();
});

function periodInvoices(subscriptionId: string) {
  return sys.database.db('invoices')
    .where({ subscription_id: subscriptionId, invoice_type: 'subscription' })
    .orderBy('period_start')
    .select('id', 'status', 'number', 'period_start', 'total_amount_cents', 'payment_due_date');
}

async function advance(clockId: string, to: Date) {
  expect((await advanceTestClock(sys, clockId, to)).frozen_time).toBe(to.toISOString());
}

const events = (prefix: string, n: number) => ({ events: Array.from({ length: n }, (_, k) => ({ transaction_id: `${prefix}-${k}`, external_subscription_id: 'del-main', code: 'calls' })) });

it('a draft deleted in its grace period is never finalized, re-created, refreshed or healed; the next period bills normally with number 1', async () => {
  const clockId = await newTestClock(sys, 'delete', JAN);
  const sub = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'del', plan_code: 'sandbox', external_id: 'del-main', test_clock_id: clockId } });
  expect(sub.status).toBe(200);
  const subscriptionId: string = sub.body.subscription.lago_id;

  // January: 3 calls; the period end closes it into a draft that waits 2 days (on the clock).
  expect((await r('POST', '/events/batch', events('jan', 3))).status).toBe(200);
  await advance(clockId, FEB);
  const jan = await eventually(async () => (await periodInvoices(subscriptionId))[0], 120_000, "January's draft");
  expect(jan).toMatchObject({ status: 'draft', total_amount_cents: 1003 });
  await eventually(async () => ((await sys.client.workflow.getHandle(invoiceWorkflowId(jan.id)).describe().catch(() => null))?.status.name === 'RUNNING' ? true : undefined), 60_000, "the draft's invoice workflow");

  const deleted = await r('DELETE', `/invoices/${jan.id}`);
  expect(deleted.status).toBe(200);
  expect(deleted.body.invoice).toMatchObject({ lago_id: jan.id, status: 'deleted', total_amount_cents: 1003 });
  expect((await r('GET', `/invoices/${jan.id}`)).status).toBe(404);

  // A late January event (what would refresh a draft) and an explicit refresh: the tombstone stays as it is.
  const late = await r('POST', '/events', { event: { transaction_id: 'jan-late', external_subscription_id: 'del-main', code: 'calls', timestamp: Math.floor(plusDays(FEB, -1).getTime() / 1000) } });
  expect(late.status).toBe(200);
  expect((await r('PUT', `/invoices/${jan.id}/refresh`)).status).toBe(404);

  // Past the grace period: the invoice workflow's finalization finds the tombstone; the workflow ends as deleted.
  await advance(clockId, plusDays(FEB, 3));
  const ended = await eventually(async () => {
    const h = sys.client.workflow.getHandle(invoiceWorkflowId(jan.id));
    return (await h.describe()).status.name === 'COMPLETED' ? h.result() : undefined;
  }, 120_000, "the deleted draft's invoice workflow to end");
  expect(ended).toMatchObject({ invoiceId: jan.id, status: 'deleted' });
  expect(await sys.client.workflow.getHandle(invoiceWorkflowId(jan.id)).query(invoiceStateQuery)).toMatchObject({ status: 'deleted' });
  expect(await periodInvoices(subscriptionId)).toEqual([{ ...jan, status: 'deleted', number: null, payment_due_date: null }]);

  // The subscription's workflow is lost and the fleet sweeper heals it: it restarts AFTER the deleted period
  // (the tombstone counts as billed), so January is not closed again.
  const { organization_id: organizationId } = await sys.database.db('subscriptions').where({ id: subscriptionId }).first('organization_id');
  const [record] = await getSubscriptionsByIds(sys.database.db, organizationId, [subscriptionId]);
  expect(await restartStateOf(sys.database.db, record!)).toMatchObject({ closedPeriods: 1, current: { period: { start: FEB.toISOString() } } });
  await sys.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).terminate('lost, for the sweeper to heal');
  const swept: any = await sys.client.workflow.execute('sweepSubscriptionsWorkflow', { taskQueue: sys.taskQueue, workflowId: `sweep-del-${randomUUID()}`, args: [{ minAgeMs: 0 }] });
  expect(swept).toMatchObject({ restarted: 1, healedSubscriptionIds: [subscriptionId] });
  await eventually(async () => ((await sys.client.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).describe()).status.name === 'RUNNING' ? true : undefined), 60_000, 'the healed workflow');

  // February: 5 calls, closed and finalized on the clock. Billed normally (the late January call is billed by no one:
  // its period was deleted), and numbered first.
  expect((await r('POST', '/events/batch', events('feb', 5))).status).toBe(200);
  await advance(clockId, MAR);
  await eventually(async () => ((await periodInvoices(subscriptionId)).length === 2 ? true : undefined), 120_000, "February's draft");
  await advance(clockId, plusDays(MAR, 3));
  const feb = await eventually(async () => {
    const list = await periodInvoices(subscriptionId);
    return list[1]?.status === 'finalized' && list[1].payment_due_date !== null ? list[1] : undefined;
  }, 120_000, 'February finalized');
  expect(feb).toMatchObject({ period_start: FEB, total_amount_cents: 1005, number: expect.stringMatching(/-000001$/) });

  const all = await periodInvoices(subscriptionId);
  expect(all.map((i) => [i.period_start.toISOString(), i.status])).toEqual([[JAN.toISOString(), 'deleted'], [FEB.toISOString(), 'finalized']]);
  const listed = (await r('GET', '/invoices?external_customer_id=del')).body.invoices;
  expect(listed.map((i: any) => i.lago_id)).toEqual([feb.id]);
});
