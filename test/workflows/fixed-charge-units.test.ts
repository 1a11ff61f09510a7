// Units of a pay-in-advance fixed charge raised mid-period with apply_units_immediately (units11, patch
// fixed-charge-units-v1, workflows/fixed-charge-units.ts): the API's fixedChargeUnitsChangedSignal makes the open
// loop call billFixedChargeUnitsChanges for the open period and start each answered invoice's workflow (once per
// invoice id, however often the activity answers it); the close calls it once more before invoicing the period.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, fixedChargeUnitsChangedSignal, invoiceWorkflowId, subscriptionWorkflowId } from '../../workflows/messages';
import { eventually, fakeActivities, sleepUntil, subscriptionState, sharedTimeSkippingServer } from './fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

test('a units-change signal bills the open period once (the invoice workflow started for the answered invoice, not again when a second call answers it too), and the close bills once more before the period invoice', async () => {
  const subscriptionAt = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
  // Every call answers the period's units invoices so far: the first change's, then both.
  const { activities, calls } = fakeActivities({
    advance: { subscriptionAt, payInAdvance: false, advanceFixedCharges: true },
    unitsInvoices: (n) => (n === 0 ? ['inv-units-1'] : ['inv-units-1', 'inv-units-2']),
  });
  const taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-units`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  const workflowId = subscriptionWorkflowId('sub-units');
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue,
      args: [subscriptionState({ subscriptionId: 'sub-units', schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the run started');
    expect(calls.billFixedChargeUnitsChanges).toHaveLength(0); // nothing before a change
    await handle.signal(fixedChargeUnitsChangedSignal);
    await eventually(() => calls.billFixedChargeUnitsChanges.length === 1, 'the change billed');
    expect(calls.billFixedChargeUnitsChanges[0]).toMatchObject({ organizationId: 'org-1', subscriptionId: 'sub-units', period: calls.startAdvancePeriod[0]!.period });
    await eventually(async () => (await env.client.workflow.getHandle(invoiceWorkflowId('inv-units-1')).describe().then(() => true, () => false)), 'its invoice workflow');
    const firstRun = (await env.client.workflow.getHandle(invoiceWorkflowId('inv-units-1')).describe()).runId;
    await handle.signal(fixedChargeUnitsChangedSignal);
    await eventually(() => calls.billFixedChargeUnitsChanges.length === 2, 'the second change billed');
    await eventually(async () => (await env.client.workflow.getHandle(invoiceWorkflowId('inv-units-2')).describe().then(() => true, () => false)), 'the second invoice workflow');
    // inv-units-1's workflow was started once: its latest run is still the first (the second start was refused).
    expect((await env.client.workflow.getHandle(invoiceWorkflowId('inv-units-1')).describe()).runId).toBe(firstRun);
    // The period close: billFixedChargeUnitsChanges once more (the plan bills fixed charges in advance), then the close.
    await sleepUntil(env, calls.startAdvancePeriod[0]!.period.end);
    await eventually(() => calls.createPeriodInvoice.some((c) => c.period.start !== c.period.end), 'the period close');
    expect(calls.billFixedChargeUnitsChanges).toHaveLength(3);
    expect(calls.billFixedChargeUnitsChanges[2]!.period).toEqual(calls.startAdvancePeriod[0]!.period);
    await env.client.workflow.getHandle(workflowId).terminate('test done');
  });
});

test('without a change and without advance fixed charges the run never calls billFixedChargeUnitsChanges, the close included', async () => {
  const subscriptionAt = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
  const { activities, calls } = fakeActivities({ advance: { subscriptionAt, payInAdvance: false } });
  const taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-units-none`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  const workflowId = subscriptionWorkflowId('sub-units-none');
  await worker.runUntil(async () => {
    await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue,
      args: [subscriptionState({ subscriptionId: 'sub-units-none', schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the run started');
    await sleepUntil(env, calls.startAdvancePeriod[0]!.period.end);
    await eventually(() => calls.createPeriodInvoice.some((c) => c.period.start !== c.period.end), 'the period close');
    expect(calls.billFixedChargeUnitsChanges).toHaveLength(0);
    await env.client.workflow.getHandle(workflowId).terminate('test done');
  });
});
