// A usage signal that reaches the subscription workflow before its run's startAdvancePeriod answered (the metrics
// with pay-in-advance charges are not known yet; patch advance-early-usage-v1, workflows/advance-billing.ts): the
// events are billed per event right after the start, not only at the period close, and billed once.
// startAdvancePeriod is held until the signal has been delivered, so the order is certain.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, stateQuery, subscriptionWorkflowId, usageSignal } from '../../workflows/messages';
import { eventually, fakeActivities, subscriptionState, sharedTimeSkippingServer } from './fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

test('usage of a pay-in-advance metric signalled while startAdvancePeriod is still running is billed right after the start (billInAdvanceCharges once, for the open period), with no close and no second billing', async () => {
  const subscriptionAt = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
  const { activities, calls } = fakeActivities({ advance: { subscriptionAt, payInAdvance: true, inAdvanceMetricCodes: ['transfers'] } });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held = {
    ...activities,
    async startAdvancePeriod(input: Parameters<typeof activities.startAdvancePeriod>[0]) {
      await gate;
      return activities.startAdvancePeriod(input);
    },
  };
  const taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-early`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: held });
  const workflowId = subscriptionWorkflowId('sub-adv-early');
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue,
      args: [subscriptionState({ subscriptionId: 'sub-adv-early', schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await handle.signal(usageSignal, { deltas: [{ metricCode: 'transfers', bucketStart: subscriptionAt, eventsCount: 1, units: '1' }] });
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 1, 'the signal delivered before the start');
    expect(calls.billInAdvanceCharges).toHaveLength(0);
    release();
    await eventually(async () => calls.billInAdvanceCharges.length === 1, 'the early events billed after the start');
    expect(calls.startAdvancePeriod).toHaveLength(1);
    expect(calls.billInAdvanceCharges[0]).toMatchObject({ subscriptionId: 'sub-adv-early', period: calls.startAdvancePeriod[0]!.period });
    // No period close happened (the period is open for a month), and nothing billed a second time.
    expect(calls.createPeriodInvoice.filter((c) => c.period.start !== c.period.end)).toHaveLength(0);
    expect(calls.billInAdvanceCharges).toHaveLength(1);
    await handle.terminate('test done');
  });
});
