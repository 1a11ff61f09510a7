// One subscription through consecutive calendar-monthly periods on the time-skipping test server.
//
// How time passes: the test server's clock starts at the real current time. The subscription starts on
// 2026-01-15, so every period up to the current month has already ended: each run finds its period end in the
// past, closes it at once and continues as new, until the run whose period contains "now" arms its timer.
// No env.sleep is needed (see fakes.ts for why the test never sleeps after a close).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, stateQuery, subscriptionWorkflowId, usageSignal } from '../../workflows/messages';
import { runUntilSettled } from '../support/workflow-leaks';
import { eventually, fakeActivities, subscriptionState, terminateAndSettle, waitUntilContinuedRunWaitsOnTimer, sharedTimeSkippingServer } from './fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

const period = (start: string, end: string) => ({ start, end });

test('closes consecutive New York calendar months from a mid-month start (partial first, DST shift in March), one run per period with counters carried and an invoice child per period', async () => {
  const { activities, calls } = fakeActivities();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: SUBSCRIPTION_TASK_QUEUE, workflowBundle, activities });
  const workflowId = subscriptionWorkflowId('sub-periods');

  await runUntilSettled(env, worker, async () => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [
        subscriptionState({
          subscriptionId: 'sub-periods',
          // Counters come from a previous life of the workflow: every continue-as-new must carry them.
          usageSignalsReceived: 5,
          schedule: { subscriptionAt: '2026-01-15T10:00:00Z', interval: 'monthly', billingTime: 'calendar', timezone: 'America/New_York' },
        }),
      ],
    });
    const firstRunId = handle.firstExecutionRunId;
    const latest = () => env.client.workflow.getHandle(workflowId);
    await handle.signal(usageSignal, { deltas: [] });

    const nowMs = await env.currentTimeMs();
    await waitUntilContinuedRunWaitsOnTimer(env, workflowId);
    expect(Date.parse((await latest().query(stateQuery)).currentPeriod!.period.end)).toBeGreaterThan(nowMs); // caught up

    const subscriptionCall = (p: { start: string; end: string }, full: { start: string; end: string }) => ({
      organizationId: 'org-1',
      subscriptionId: 'sub-periods',
      kind: 'subscription',
      period: p,
      fullPeriod: full,
    });
    expect(calls.createPeriodInvoice.slice(0, 3)).toEqual([
      // Jan 15 10:00Z to midnight Feb 1 in New York (EST, UTC-5); the full January is the proration base.
      subscriptionCall(period('2026-01-15T10:00:00.000Z', '2026-02-01T05:00:00.000Z'), period('2026-01-01T05:00:00.000Z', '2026-02-01T05:00:00.000Z')),
      subscriptionCall(period('2026-02-01T05:00:00.000Z', '2026-03-01T05:00:00.000Z'), period('2026-02-01T05:00:00.000Z', '2026-03-01T05:00:00.000Z')),
      // DST starts on March 8: April 1 midnight is 04:00Z (EDT, UTC-4).
      subscriptionCall(period('2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z'), period('2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z')),
    ]);
    // Every later close is the next consecutive period, and every period that ended before now was closed.
    for (let i = 1; i < calls.createPeriodInvoice.length; i++) {
      expect(calls.createPeriodInvoice[i]!.period.start).toBe(calls.createPeriodInvoice[i - 1]!.period.end);
      expect(Date.parse(calls.createPeriodInvoice[i]!.period.end)).toBeLessThanOrEqual(nowMs);
    }
    const state = await latest().query(stateQuery);
    const closed = calls.createPeriodInvoice.length;
    expect(closed).toBeGreaterThanOrEqual(3);
    expect(state.currentPeriod!.period.start).toBe(calls.createPeriodInvoice[closed - 1]!.period.end);
    expect(state).toMatchObject({ status: 'active', closedPeriods: closed, usageSignalsReceived: 6, liveUsage: {}, billingFailure: null });

    // One run per period: the first run continued as new, the latest one waits on its period-end timer.
    expect((await env.client.workflow.getHandle(workflowId, firstRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');
    const description = await latest().describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get({ name: 'SubscriptionStatus', type: 'KEYWORD' })).toBe('active');
    expect(description.typedSearchAttributes.get({ name: 'PlanCode', type: 'KEYWORD' })).toBe('startup');
    expect(description.typedSearchAttributes.get({ name: 'CurrentPeriodEnd', type: 'DATETIME' })?.toISOString()).toBe(state.currentPeriod!.period.end);

    // Each closed period started its invoice workflow `invoice:<id>`, which outlived the run that started it.
    for (const invoiceId of ['inv-1', 'inv-2', 'inv-3']) {
      const child = await env.client.workflow.getHandle(`invoice:${invoiceId}`).describe();
      expect(child.type).toBe('invoiceWorkflow');
      expect(child.parentExecution?.workflowId).toBe(workflowId);
    }
    await eventually(() => calls.finalizeInvoice.length === closed, 'every invoice finalized');
    expect(calls.finalizeInvoice.map((c) => c.invoiceId).sort()).toEqual(
      Array.from({ length: closed }, (_, i) => `inv-${i + 1}`).sort(),
    );
    await terminateAndSettle(env, workflowId);
  });
});
