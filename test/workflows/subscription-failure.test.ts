// Business-failure policy: a non-retryable activity failure while closing a period must not kill the
// subscription. The period stays open, the failure is visible (state query, SubscriptionStatus=billing_failed),
// the close is retried on a backoff timer or at once on retryPeriodCloseSignal, and billing then resumes.
//
// How time passes: the subscription started on 2026-01-15, so its first period ended long before the test
// server's clock and the workflow tries to close it at once. env.sleep moves the clock over the 1 hour retry
// timer (no child workflow exists yet, so time skipping works; see fakes.ts).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../workflows';
import {
  SUBSCRIPTION_TASK_QUEUE,
  retryPeriodCloseSignal,
  stateQuery,
  subscriptionWorkflowId,
  usageSignal,
} from '../../workflows/messages';
import { runUntilSettled } from '../support/workflow-leaks';
import { eventually, fakeActivities, invalidPlan, subscriptionState, terminateAndSettle, waitUntilContinuedRunWaitsOnTimer, sharedTimeSkippingServer } from './fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

test("an 'invalid_plan' failure while closing a period is not retried by the activity, keeps the workflow running with the failure visible, and the close succeeds after the timer and an operator retry", async () => {
  const { activities, calls } = fakeActivities({ createPeriodInvoiceFailure: (index) => (index < 2 ? invalidPlan() : undefined) });
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: SUBSCRIPTION_TASK_QUEUE, workflowBundle, activities });
  const workflowId = subscriptionWorkflowId('sub-invalid-plan');

  await runUntilSettled(env, worker, async () => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [
        subscriptionState({
          subscriptionId: 'sub-invalid-plan',
          schedule: { subscriptionAt: '2026-01-15T10:00:00Z', interval: 'monthly', billingTime: 'calendar', timezone: 'America/New_York' },
        }),
      ],
    });
    const janPeriod = { start: '2026-01-15T10:00:00.000Z', end: '2026-02-01T05:00:00.000Z' };

    await eventually(async () => (await handle.query(stateQuery)).billingFailure !== null, 'first close failed');
    const failed = await handle.query(stateQuery);
    expect(failed.billingFailure).toMatchObject({ type: 'invalid_plan', attempts: 1 });
    expect(failed).toMatchObject({ status: 'active', closedPeriods: 0, currentPeriod: { period: janPeriod } });
    expect(calls.createPeriodInvoice).toHaveLength(1); // non-retryable: the activity was not retried
    const described = await handle.describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.typedSearchAttributes.get({ name: 'SubscriptionStatus', type: 'KEYWORD' })).toBe('billing_failed');

    // Usage of the blocked period is still counted while it waits.
    await handle.signal(usageSignal, { deltas: [{ metricCode: 'tokens', bucketStart: '2026-01-20T00:00:00.000Z', eventsCount: 1, units: '7' }] });

    // The backoff timer (1 hour) retries on its own; that attempt fails again and doubles the wait.
    await env.sleep(3_600_000 + 1_000);
    await eventually(async () => (await handle.query(stateQuery)).billingFailure?.attempts === 2, 'timer retry failed');
    const second = await handle.query(stateQuery);
    expect(calls.createPeriodInvoice).toHaveLength(2);
    // The second attempt ran at the first retry time at the earliest, and waits 2 hours more.
    expect(Date.parse(second.billingFailure!.nextRetryAt) - Date.parse(failed.billingFailure!.nextRetryAt)).toBeGreaterThanOrEqual(2 * 3_600_000);
    expect(second.liveUsage).toEqual({ tokens: { eventsCount: 1, units: '7' } });

    // The operator fixed the plan: retry now. The January period closes and billing catches up.
    await handle.signal(retryPeriodCloseSignal);
    const nowMs = await env.currentTimeMs();
    const latest = () => env.client.workflow.getHandle(workflowId);
    await waitUntilContinuedRunWaitsOnTimer(env, workflowId);
    expect(Date.parse((await latest().query(stateQuery)).currentPeriod!.period.end)).toBeGreaterThan(nowMs); // caught up
    expect(calls.createPeriodInvoice[2]).toMatchObject({ kind: 'subscription', period: janPeriod });
    const state = await latest().query(stateQuery);
    expect(state).toMatchObject({ billingFailure: null, closedPeriods: calls.createPeriodInvoice.length - 2, usageSignalsReceived: 1 });
    expect((await latest().describe()).typedSearchAttributes.get({ name: 'SubscriptionStatus', type: 'KEYWORD' })).toBe('active');
    await terminateAndSettle(env, workflowId);
  });
});
