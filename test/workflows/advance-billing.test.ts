// Pay in advance in the subscription workflow (workflows/advance-billing.ts behind patched('advance-billing-v1')),
// on the time-skipping test server with the fake activities (test/workflows/fakes.ts, shaped like the real ones).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, subscriptionWorkflowId, terminateUpdate, usageSignal } from '../../workflows/messages';
import { awaitStartedChildren, runUntilSettled } from '../support/workflow-leaks';
import { eventually, fakeActivities, subscriptionState, terminateAndSettle, waitUntilContinuedRunWaitsOnTimer, sharedTimeSkippingServer } from './fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

const HOUR_MS = 3_600_000;
const p = (start: string, end: string) => ({ start, end });

test('a monthly advance plan from Aug 15: one start invoice for the partial first period, then one close per period (Aug, Sep, Oct…), each run starting its period once', async () => {
  const subscriptionAt = '2026-08-15T00:00:00.000Z';
  const { activities, calls } = fakeActivities({ advance: { subscriptionAt, payInAdvance: true } });
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: `${SUBSCRIPTION_TASK_QUEUE}-adv1`, workflowBundle, activities });
  const workflowId = subscriptionWorkflowId('sub-adv-periods');
  await runUntilSettled(env, worker, async () => {
    await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: `${SUBSCRIPTION_TASK_QUEUE}-adv1`,
      args: [subscriptionState({ subscriptionId: 'sub-adv-periods', schedule: { subscriptionAt, interval: 'monthly', billingTime: 'calendar', timezone: 'UTC' } })],
    });
    await waitUntilContinuedRunWaitsOnTimer(env, workflowId);
    const call = (period: { start: string; end: string }, fullPeriod: { start: string; end: string }) => ({
      organizationId: 'org-1', subscriptionId: 'sub-adv-periods', kind: 'subscription', period, fullPeriod,
    });
    const AUG = p('2026-08-01T00:00:00.000Z', '2026-09-01T00:00:00.000Z');
    const SEP = p(AUG.end, '2026-10-01T00:00:00.000Z');
    const OCT = p(SEP.end, '2026-11-01T00:00:00.000Z');
    expect(calls.createPeriodInvoice.slice(0, 4)).toEqual([
      // The start invoice: an empty usage period at the subscription start (the activity bills the first fee, 17/31).
      call(p(subscriptionAt, subscriptionAt), AUG),
      // Each period end: that period's usage + the next period's fee (activities/advance-boundary.ts).
      call(p(subscriptionAt, AUG.end), AUG),
      call(SEP, SEP),
      call(OCT, OCT),
    ]);
    // Exactly one start invoice, and every run asked for its own period's start once, in order.
    expect(calls.createPeriodInvoice.filter((c) => c.period.start === c.period.end)).toHaveLength(1);
    expect(calls.startAdvancePeriod.slice(0, 3).map((c) => c.period)).toEqual([p(subscriptionAt, AUG.end), SEP, OCT]);
    const closes = calls.createPeriodInvoice.length - 1;
    expect(calls.startAdvancePeriod).toHaveLength(closes + 1);
    // The start invoice has its own invoice workflow (inv-1), like every period invoice.
    expect((await env.client.workflow.getHandle('invoice:inv-1').describe()).type).toBe('invoiceWorkflow');
    await terminateAndSettle(env, workflowId);
  });
});

test('pay-in-advance charges: a usage signal for an in-advance metric bills its events (per-event invoices get their workflow), other metrics do not; termination with on_termination_invoice skip bills the last events and issues no invoice', async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = new Date(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
  const { activities, calls } = fakeActivities({
    advance: { subscriptionAt, payInAdvance: false, inAdvanceMetricCodes: ['transfers'] },
    inAdvanceInvoices: (i) => (i === 0 ? ['fee-inv-1'] : []),
  });
  const taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-adv2`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  await runUntilSettled(env, worker, async () => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId('sub-adv-events'),
      taskQueue,
      args: [subscriptionState({ subscriptionId: 'sub-adv-events', schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the run started its period');
    await handle.signal(usageSignal, { deltas: [{ metricCode: 'transfers', bucketStart: subscriptionAt, eventsCount: 1, units: '3' }] });
    await eventually(() => calls.billInAdvanceCharges.length === 1, 'events billed after the signal');
    expect(calls.billInAdvanceCharges[0]).toEqual({
      organizationId: 'org-1', subscriptionId: 'sub-adv-events', period: calls.startAdvancePeriod[0]!.period, fullPeriod: calls.startAdvancePeriod[0]!.fullPeriod,
    });
    await eventually(async () => (await env.client.workflow.getHandle('invoice:fee-inv-1').describe().then(() => true, () => false)), 'per-event invoice workflow');
    // A metric without pay-in-advance charges bills nothing per event; the next in-advance signal does.
    await handle.signal(usageSignal, { deltas: [{ metricCode: 'tokens', bucketStart: subscriptionAt, eventsCount: 1, units: '5' }] });
    await handle.signal(usageSignal, { deltas: [{ metricCode: 'transfers', bucketStart: subscriptionAt, eventsCount: 1, units: '4' }] });
    await eventually(() => calls.billInAdvanceCharges.length === 2, 'second in-advance signal billed');

    const terminatedAt = new Date(Date.parse(subscriptionAt) + 5 * 24 * HOUR_MS).toISOString();
    const result = await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt, onTerminationInvoice: 'skip' }] });
    expect(result).toEqual({ invoiceId: null, totalAmountCents: 0, terminatedAt });
    await handle.result();
    // Once more at the termination (events whose signal was lost), then no termination invoice at all.
    expect(calls.billInAdvanceCharges).toHaveLength(3);
    expect(calls.createPeriodInvoice).toEqual([]);
    expect(calls.markSubscriptionTerminated).toEqual([{ organizationId: 'org-1', subscriptionId: 'sub-adv-events', terminatedAt }]);
    await awaitStartedChildren(env.client, subscriptionWorkflowId('sub-adv-events')); // the per-event invoice's workflow
  });
});

test('a termination without on_termination_invoice still issues the termination invoice (generate is the default)', async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = new Date(Math.floor((now - 3 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
  const { activities, calls } = fakeActivities({ advance: { subscriptionAt, payInAdvance: false } });
  const taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-adv3`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  await runUntilSettled(env, worker, async () => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId('sub-adv-generate'),
      taskQueue,
      args: [subscriptionState({ subscriptionId: 'sub-adv-generate', schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    const terminatedAt = new Date(Date.parse(subscriptionAt) + 24 * HOUR_MS).toISOString();
    const result = await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt }] });
    expect(result.invoiceId).toBe('inv-1');
    expect(calls.createPeriodInvoice.map((c) => c.kind)).toEqual(['termination']);
    // No pay-in-advance charges: nothing billed per event.
    expect(calls.billInAdvanceCharges).toEqual([]);
    await handle.result();
    await awaitStartedChildren(env.client, subscriptionWorkflowId('sub-adv-generate'));
  });
});
