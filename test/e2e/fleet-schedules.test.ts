// The fleet Schedules (worker/schedules.ts) on the real system: HTTP API, worker (with its Temporal client),
// Postgres and the Temporal dev server.
// - The sweeper: a subscription's workflow is killed (terminated); a sweep restarts it from Postgres state at the
//   period after its last invoice, counts it, and no period is invoiced twice; a second sweep heals nothing.
// - Draft finalization: drafts whose grace period is over are finalized, through their running workflow or by
//   restarting a workflow that is gone.
// - Overdue checks: an unpaid invoice past its payment_due_date gets payment_overdue once (one payment event).
// - The Schedules exist once however often they are ensured, and a triggered run's result is its workflow's result.
import { randomUUID } from 'node:crypto';
import type { FinalizeDraftsResult, OverdueCheckResult, SweepSubscriptionsResult } from '../../contracts/fleet';
import { invoiceWorkflowId, stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { FLEET_SCHEDULES, ensureSchedule } from '../../worker/schedules';
import { startSystem, eventually, type System } from './harness';

jest.setTimeout(300_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
const DAY = 86_400_000;

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/billable_metrics', { billable_metric: { name: 'Calls', code: 'calls', aggregation_type: 'count_agg' } })).status).toBe(200);
  expect((await r('POST', '/plans', { plan: {
    name: 'Fleet', code: 'fleet', interval: 'monthly', amount_cents: 1500, amount_currency: 'USD',
    charges: [{ billable_metric_code: 'calls', charge_model: 'standard', properties: { amount: '0.01' } }],
  } })).status).toBe(200);
  expect((await r('POST', '/customers', { customer: { external_id: 'fleet-now', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 0 } } })).status).toBe(200);
  expect((await r('POST', '/customers', { customer: { external_id: 'fleet-grace', currency: 'USD', timezone: 'UTC', billing_configuration: { invoice_grace_period: 3 } } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

/** Noon on the 1st of the previous month (UTC): exactly one period (to this month's 1st) has ended, the next is open. */
function lastMonth(): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1, 12)).toISOString();
}

async function subscribeBackdated(customer: string, externalId: string): Promise<string> {
  const res = await r('POST', '/subscriptions', { subscription: { external_customer_id: customer, plan_code: 'fleet', external_id: externalId, subscription_at: lastMonth() } });
  expect(res.status).toBe(200);
  return res.body.subscription.lago_id;
}

function periodInvoices(subscriptionId: string) {
  return sys.database.db('invoices').where({ subscription_id: subscriptionId, invoice_type: 'subscription' }).orderBy('period_start');
}

function sweep(): Promise<SweepSubscriptionsResult> {
  // minAgeMs 0: the subscriptions of this test are seconds old (the Schedule's runs leave new ones a minute).
  return sys.client.workflow.execute('sweepSubscriptionsWorkflow', { taskQueue: sys.taskQueue, workflowId: `sweep-test-${randomUUID()}`, args: [{ minAgeMs: 0 }] });
}

it('the sweeper restarts a killed subscription workflow from Postgres at the period after its last invoice, and nothing is invoiced twice', async () => {
  const id = await subscribeBackdated('fleet-now', 'fleet-killed');
  // The backdated first period closes at once; the workflow continues into the next period.
  const first = await eventually(async () => {
    const list = await periodInvoices(id);
    return list.length === 1 && list[0].status === 'finalized' ? list[0] : undefined;
  }, 90_000, 'the first period invoice');
  const handle = sys.client.workflow.getHandle(subscriptionWorkflowId(id));
  const before = await eventually(async () => {
    const s = await handle.query(stateQuery).catch(() => undefined);
    return s && s.closedPeriods === 1 ? s : undefined;
  }, 60_000, 'the second period to open');

  await handle.terminate('killed by the sweeper test');
  expect((await handle.describe()).status.name).toBe('TERMINATED');

  const healed = await sweep();
  expect(healed.restarted).toBe(1);
  expect(healed.healedSubscriptionIds).toEqual([id]);
  expect(healed.checked).toBe(healed.running + healed.restarted + healed.inconsistent);

  // Running again, in the period after the last invoiced one, with the count of closed periods from Postgres.
  const after = await eventually(async () => {
    const s = await sys.client.workflow.getHandle(subscriptionWorkflowId(id)).query(stateQuery).catch(() => undefined);
    return s ?? undefined;
  }, 60_000, 'the restarted workflow');
  expect(after.currentPeriod).toEqual(before.currentPeriod);
  expect(after.closedPeriods).toBe(1);
  expect((await sys.client.workflow.getHandle(subscriptionWorkflowId(id)).describe()).status.name).toBe('RUNNING');
  // Still exactly one invoice for the first period (the same row), none for the open one.
  const list = await periodInvoices(id);
  expect(list.map((i: any) => i.id)).toEqual([first.id]);

  // A second sweep finds it running: nothing to heal.
  const again = await sweep();
  expect(again.restarted).toBe(0);
  expect(again.healedSubscriptionIds).not.toContain(id);

  // The healed workflow still bills: terminating it invoices the open period once.
  expect((await r('DELETE', '/subscriptions/fleet-killed')).status).toBe(200);
  expect(await sys.database.db('invoices').where({ subscription_id: id, invoice_type: 'termination' })).toHaveLength(1);
  expect(await periodInvoices(id)).toHaveLength(1);
});

it('the sweeper restarts a subscription whose workflow and invoice are both gone at its first period, which then closes once more', async () => {
  // What the crashed API left: the row, no workflow.
  const res = await r('POST', '/subscriptions', { subscription: { external_customer_id: 'fleet-now', plan_code: 'fleet', external_id: 'fleet-orphan', subscription_at: lastMonth() } });
  const id: string = res.body.subscription.lago_id;
  await eventually(async () => ((await periodInvoices(id)).length === 1 ? true : undefined), 90_000, 'the orphan first close');
  const h = sys.client.workflow.getHandle(subscriptionWorkflowId(id));
  await h.terminate('simulate a workflow that never started');
  // Its invoice deleted too, as if the workflow had never run (fees first).
  const inv = (await periodInvoices(id))[0];
  await sys.database.db('payment_events').where({ invoice_id: inv.id }).delete();
  await sys.database.db('fees').where({ invoice_id: inv.id }).delete();
  await sys.database.db('webhooks').where({ organization_id: inv.organization_id }).delete();
  await sys.database.db('invoices').where({ id: inv.id }).delete();
  await sys.client.workflow.getHandle(invoiceWorkflowId(inv.id)).terminate('gone').catch(() => undefined);

  const healed = await sweep();
  expect(healed.healedSubscriptionIds).toContain(id);
  // Restarted from the first period: it closes again, one invoice for it.
  const again = await eventually(async () => {
    const list = await periodInvoices(id);
    return list.length === 1 ? list : undefined;
  }, 90_000, 'the first period closed by the restarted workflow');
  expect(again[0].period_start.toISOString()).toBe(inv.period_start.toISOString());
  expect(Number(again[0].total_amount_cents)).toBe(Number(inv.total_amount_cents));
});

it('draft finalization finalizes drafts whose grace period is over: through the running workflow, or by restarting a gone one', async () => {
  const a = await subscribeBackdated('fleet-grace', 'fleet-draft-a');
  const b = await subscribeBackdated('fleet-grace', 'fleet-draft-b');
  const drafts = await eventually(async () => {
    const [x] = await periodInvoices(a);
    const [y] = await periodInvoices(b);
    return x?.status === 'draft' && y?.status === 'draft' ? [x, y] : undefined;
  }, 90_000, 'two drafts in their grace period');
  // Nothing is past its grace yet: nothing to do.
  const early: FinalizeDraftsResult = await sys.client.workflow.execute('finalizeDraftsWorkflow', { taskQueue: sys.taskQueue, workflowId: `drafts-test-${randomUUID()}`, args: [{}] });
  expect(early.found).toBe(0);

  // Both drafts were created 4 days ago (their 3-day grace is over); b's invoice workflow is gone.
  await sys.database.db('invoices').whereIn('id', drafts.map((d: any) => d.id)).update({ created_at: new Date(Date.now() - 4 * DAY) });
  await eventually(async () => ((await sys.client.workflow.getHandle(invoiceWorkflowId(drafts[1].id)).describe().catch(() => null)) ? true : undefined), 30_000, "b's invoice workflow");
  await sys.client.workflow.getHandle(invoiceWorkflowId(drafts[1].id)).terminate('lost');

  const run: FinalizeDraftsResult = await sys.client.workflow.execute('finalizeDraftsWorkflow', { taskQueue: sys.taskQueue, workflowId: `drafts-test-${randomUUID()}`, args: [{}] });
  expect(run).toMatchObject({ found: 2, finalizedByUpdate: 1, restarted: 1, failed: 0 });
  expect([...run.invoiceIds].sort()).toEqual(drafts.map((d: any) => d.id).sort());
  await eventually(async () => {
    const rows = await sys.database.db('invoices').whereIn('id', drafts.map((d: any) => d.id)).select('status', 'number');
    return rows.every((x: any) => x.status === 'finalized' && x.number) ? true : undefined;
  }, 60_000, 'both drafts finalized');
  const after: FinalizeDraftsResult = await sys.client.workflow.execute('finalizeDraftsWorkflow', { taskQueue: sys.taskQueue, workflowId: `drafts-test-${randomUUID()}`, args: [{}] });
  expect(after.found).toBe(0);
});

it('the overdue check marks an unpaid invoice past its payment_due_date once (one payment event), and leaves it alone while it is not yet due', async () => {
  const id = await subscribeBackdated('fleet-now', 'fleet-overdue');
  const inv = await eventually(async () => {
    const [x] = await periodInvoices(id);
    return x?.status === 'finalized' && x.payment_due_date ? x : undefined;
  }, 90_000, 'a finalized invoice with a due date');
  const overdueCheck = (): Promise<OverdueCheckResult> =>
    sys.client.workflow.execute('overdueCheckWorkflow', { taskQueue: sys.taskQueue, workflowId: `overdue-test-${randomUUID()}` });

  // Due today: not overdue yet (overdue once the due date is over).
  expect((await overdueCheck()).invoiceIds).not.toContain(inv.id);
  await sys.database.db('invoices').where({ id: inv.id }).update({ payment_due_date: new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10) });
  const marked = await overdueCheck();
  expect(marked.invoiceIds).toContain(inv.id);
  expect((await sys.database.db('invoices').where({ id: inv.id }).first()).payment_overdue).toBe(true);
  expect((await overdueCheck()).invoiceIds).not.toContain(inv.id);
  expect(await sys.database.db('payment_events').where({ invoice_id: inv.id, event_type: 'invoice.payment_overdue' })).toHaveLength(1);
  // Its answer on the API.
  expect((await r('GET', `/invoices/${inv.id}`)).body.invoice.payment_overdue).toBe(true);
});

it('each fleet Schedule is created once however often it is ensured, and a triggered run records its counts as its result', async () => {
  const suffix = randomUUID().slice(0, 8);
  try {
    for (const def of FLEET_SCHEDULES) {
      const scheduleId = `${def.scheduleId}-${suffix}`;
      expect(await ensureSchedule(sys.client, def, { scheduleId, taskQueue: sys.taskQueue })).toBe('created');
      expect(await ensureSchedule(sys.client, def, { scheduleId, taskQueue: sys.taskQueue })).toBe('exists');
      const desc = await sys.client.schedule.getHandle(scheduleId).describe();
      expect(desc.action).toMatchObject({ type: 'startWorkflow', workflowType: def.workflowType, taskQueue: sys.taskQueue });
      expect(desc.spec.intervals?.length).toBe(1);
    }
    // The sweeper is triggered when created: its run's result is the sweep's counts.
    const sweeperId = `${FLEET_SCHEDULES[0]!.scheduleId}-${suffix}`;
    const action = await eventually(async () => (await sys.client.schedule.getHandle(sweeperId).describe()).info.recentActions[0], 60_000, "the sweeper's first run");
    const result: SweepSubscriptionsResult = await sys.client.workflow.getHandle(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId).result();
    expect(result).toEqual(expect.objectContaining({ checked: expect.any(Number), restarted: expect.any(Number), signaled: expect.any(Number) }));
  } finally {
    for (const def of FLEET_SCHEDULES) await sys.client.schedule.getHandle(`${def.scheduleId}-${suffix}`).delete().catch(() => undefined);
  }
});
