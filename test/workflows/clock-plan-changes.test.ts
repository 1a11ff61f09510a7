// Test clocks on the plan-change paths (patch test-clock-plan-changes-v1, workflows/plan-changes.ts followClock and
// workflows/clock-close-retry.ts), on the time-skipping test server with fake activities:
// - a close blocked by a business failure on a clock retries when the clock passes the backoff (1 h on the clock
//   from the clock's time at the failure), not when the server's time does;
// (The pending start on a clock is proven end to end: test/e2e/clock-plan-changes.test.ts.)
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, stateQuery, subscriptionWorkflowId } from '../../workflows/messages';
import { testClockAdvancedSignal } from '../../workflows/test-clock';
import { eventually, fakeActivities, invalidPlan, subscriptionState, sharedTimeSkippingServer } from './fakes';
import { fakePlanChangeActivities } from './plan-change-fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;
const HOUR_MS = 3_600_000;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

function worker(activities: object) {
  return Worker.create({ connection: env.nativeConnection, taskQueue: SUBSCRIPTION_TASK_QUEUE, workflowBundle, activities });
}

test("a close that failed with 'invalid_plan' on a test clock retries only when the clock passes its 1 h backoff (retry at 01:00 on the clock), never on the server's time", async () => {
  const { activities, calls } = fakeActivities({ createPeriodInvoiceFailure: (index) => (index === 0 ? invalidPlan() : undefined) });
  const w = await worker({ ...activities, ...fakePlanChangeActivities().activities, readTestClock: async () => ({ frozenTime: '2026-01-01T00:00:00.000Z' }) });
  const workflowId = subscriptionWorkflowId('sub-clock-retry');
  await w.runUntil(async () => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-clock-retry', testClockId: 'clock-retry', schedule: { subscriptionAt: '2026-01-01T00:00:00.000Z', interval: 'monthly', billingTime: 'calendar', timezone: 'UTC' } })],
    });
    await eventually(async () => (await handle.query(stateQuery)).currentPeriod !== null, 'clock read');
    await handle.signal(testClockAdvancedSignal, { testClockId: 'clock-retry', frozenTime: '2026-02-01T00:00:00.000Z' });
    await eventually(async () => (await handle.query(stateQuery)).billingFailure !== null, 'first close failed');
    // The retry instant is on the clock: 1 h after the clock's time at the failure.
    expect((await handle.query(stateQuery)).billingFailure).toMatchObject({ type: 'invalid_plan', attempts: 1, nextRetryAt: '2026-02-01T01:00:00.000Z' });

    // Three hours of the server's time: no retry (the real-time backoff would have retried after one).
    await env.sleep(3 * HOUR_MS);
    expect(calls.createPeriodInvoice).toHaveLength(1);
    // The clock short of the retry instant: still none.
    await handle.signal(testClockAdvancedSignal, { testClockId: 'clock-retry', frozenTime: '2026-02-01T00:30:00.000Z' });
    await env.sleep(1_000);
    expect(calls.createPeriodInvoice).toHaveLength(1);
    // Past it: the close is retried, succeeds, and the run continues into February.
    await handle.signal(testClockAdvancedSignal, { testClockId: 'clock-retry', frozenTime: '2026-02-01T01:00:00.000Z' });
    await eventually(async () => (await env.client.workflow.getHandle(workflowId).query(stateQuery)).closedPeriods === 1, 'January closed on the retry');
    expect(calls.createPeriodInvoice).toHaveLength(2);
    expect(calls.createPeriodInvoice[1]).toMatchObject({ kind: 'subscription', period: { start: '2026-01-01T00:00:00.000Z', end: '2026-02-01T00:00:00.000Z' } });
    expect((await env.client.workflow.getHandle(workflowId).query(stateQuery)).billingFailure).toBeNull();
    await env.client.workflow.getHandle(workflowId).terminate('test done');
  });
});
