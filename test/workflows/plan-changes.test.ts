// Plan changes, ending_at and scheduled starts of the subscription workflow (workflows/plan-changes.ts), on the
// time-skipping test server with fake activities.
//
// How time passes: each test places its period around the test server's clock as it is then. Only timers that
// fire BEFORE any invoice child was started are skipped to (test/support/time-skipping.ts): a downgrade due in
// 2 h, an ending_at in 2 h, a start in 2 days.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { invoiceWorkflow, subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, invoiceWorkflowId, stateQuery, subscriptionWorkflowId, type SubscriptionWorkflowState } from '../../workflows/messages';
import { planChangeUpdate, subscriptionTermsUpdate } from '../../workflows/plan-changes';
import { awaitStartedChildren, runUntilSettled } from '../support/workflow-leaks';
import { eventually, fakeActivities, subscriptionState, terminateAndSettle, waitUntilContinuedRunWaitsOnTimer, perTestTimeSkippingServer } from './fakes';
import { fakePlanChangeActivities } from './plan-change-fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;
const HOUR_MS = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
let attempt = 0;
let taskQueue: string;

// One time-skipping server per test: once a workflow on a server has started a child and continued as new, that
// server's time skipping may stall (test/support/time-skipping.ts), and these tests do both.
perTestTimeSkippingServer('pc', (s) => {
  ({ env, workflowBundle, taskQueue, attempt } = s);
});

const sid = (name: string) => `${name}-${attempt}`;
const CHANGES = { 'chg-up': { planCode: 'scale', interval: 'yearly' as const }, 'chg-down': { planCode: 'hobby', interval: 'monthly' as const } };

function stateFor(subscriptionId: string, subscriptionAt: string): SubscriptionWorkflowState {
  return subscriptionState({ subscriptionId, schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } });
}

/**
 * Test-server limitation (test/support/time-skipping.ts): a child started while env.sleep skips time stalls the
 * skip. Tests whose close happens during env.sleep first run the invoice workflow of the id the fake answers to
 * completion, so the subscription's startChild finds it done (WorkflowExecutionAlreadyStarted, handled) and no
 * child runs during the skip. The subscription workflow's own commands are unchanged.
 */
async function preRunInvoice(invoiceId: string): Promise<void> {
  await env.client.workflow.execute(invoiceWorkflow, {
    workflowId: invoiceWorkflowId(invoiceId),
    taskQueue,
    args: [{ version: 1, organizationId: 'org-1', invoiceId, gracePeriodDays: 0 }],
  });
}

/** Runs `fn` with a worker; invoice ids are unique to the attempt (`inv-<attempt>-<n>`). */
async function withWorker<T>(fn: (calls: ReturnType<typeof fakeActivities>['calls'], pc: ReturnType<typeof fakePlanChangeActivities>['calls']) => Promise<T>): Promise<T> {
  const { activities, calls } = fakeActivities({ invoiceIdFor: (i) => `inv-${attempt}-${i + 1}` });
  const planChanges = fakePlanChangeActivities(CHANGES);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: { ...activities, ...planChanges.activities } });
  return runUntilSettled(env, worker, () => fn(calls, planChanges.calls));
}

test('a subscription starting in the future waits for its start, then is activated once (pending → active), and bills nothing before', async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = iso(Math.floor(now / HOUR_MS) * HOUR_MS + 48 * HOUR_MS);
  const id = sid('sub-pending');
  await withWorker(async (calls, pc) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 0, 'the workflow answers');
    expect(pc.activateSubscription).toHaveLength(0);
    await env.sleep(49 * HOUR_MS);
    await eventually(() => pc.activateSubscription.length === 1, 'the subscription activated');
    expect(pc.activateSubscription).toEqual([{ organizationId: 'org-1', subscriptionId: id }]);
    expect(calls.createPeriodInvoice).toHaveLength(0);
    const state = await handle.query(stateQuery);
    expect(state.currentPeriod?.period.start).toBe(subscriptionAt);
    await terminateAndSettle(env, subscriptionWorkflowId(id));
  });
});

test('an upgrade mid-period invoices the old plan up to the change, applies it, and the same workflow continues on the new plan and interval', async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = iso(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  const id = sid('sub-upgrade');
  await withWorker(async (calls, pc) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    const effectiveAt = iso(now - HOUR_MS);
    const result = await handle.executeUpdate(planChangeUpdate, { args: [{ changeId: 'chg-up', kind: 'upgrade', planCode: 'scale', effectiveAt }] });
    expect(result).toEqual({ changeId: 'chg-up', kind: 'upgrade', effectiveAt, invoiceId: `inv-${attempt}-1` });
    // The old plan's partial period, billed as a subscription invoice ending at the change instant.
    expect(calls.createPeriodInvoice).toEqual([
      {
        organizationId: 'org-1',
        subscriptionId: id,
        kind: 'subscription',
        period: { start: subscriptionAt, end: effectiveAt },
        fullPeriod: { start: subscriptionAt, end: DateTime.fromISO(subscriptionAt, { zone: 'utc' }).plus({ months: 1 }).toUTC().toISO() },
      },
    ]);
    expect(pc.applyPlanChange).toEqual([{ organizationId: 'org-1', subscriptionId: id, changeId: 'chg-up' }]);
    await waitUntilContinuedRunWaitsOnTimer(env, subscriptionWorkflowId(id));
    const state = await handle.query(stateQuery);
    expect(state.planCode).toBe('scale');
    // Yearly from the change instant to the next anniversary of the (kept) anchor.
    const yearEnd = DateTime.fromISO(subscriptionAt, { zone: 'utc' }).plus({ years: 1 }).toUTC().toISO();
    expect(state.currentPeriod).toEqual({ period: { start: effectiveAt, end: yearEnd }, fullPeriod: { start: subscriptionAt, end: yearEnd } });
    expect(state.closedPeriods).toBe(1);
    expect(calls.markSubscriptionTerminated).toHaveLength(0);
    await terminateAndSettle(env, subscriptionWorkflowId(id));
  });
});

test('an upgrade dated before the open period is refused by the validator and changes nothing', async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = iso(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  const id = sid('sub-upgrade-bad');
  await withWorker(async (calls, pc) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    const err = await handle
      .executeUpdate(planChangeUpdate, { args: [{ changeId: 'chg-up', kind: 'upgrade', planCode: 'scale', effectiveAt: iso(Date.parse(subscriptionAt) - HOUR_MS) }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('invalid_plan_change');
    expect(calls.createPeriodInvoice).toHaveLength(0);
    expect(pc.applyPlanChange).toHaveLength(0);
    expect((await handle.query(stateQuery)).planCode).toBe('startup');
    await terminateAndSettle(env, subscriptionWorkflowId(id));
  });
});

test('a downgrade is accepted for the period end; at the boundary the old period is invoiced, then the new plan applies', async () => {
  const now = await env.currentTimeMs();
  // The open period ends in about 2 hours.
  const subscriptionAt = DateTime.fromMillis(Math.floor(now / HOUR_MS) * HOUR_MS, { zone: 'utc' }).minus({ months: 1 }).plus({ hours: 2 }).toUTC().toISO()!;
  const periodEnd = DateTime.fromISO(subscriptionAt, { zone: 'utc' }).plus({ months: 1 }).toUTC().toISO()!;
  const id = sid('sub-downgrade');
  await withWorker(async (calls, pc) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    const result = await handle.executeUpdate(planChangeUpdate, { args: [{ changeId: 'chg-down', kind: 'downgrade', planCode: 'hobby' }] });
    expect(result).toEqual({ changeId: 'chg-down', kind: 'downgrade', effectiveAt: periodEnd, invoiceId: null });
    expect(calls.createPeriodInvoice).toHaveLength(0);
    expect(pc.applyPlanChange).toHaveLength(0);
    await preRunInvoice(`inv-${attempt}-1`);
    await env.sleep(3 * HOUR_MS);
    await waitUntilContinuedRunWaitsOnTimer(env, subscriptionWorkflowId(id));
    expect(calls.createPeriodInvoice.map((c) => [c.kind, c.period])).toEqual([['subscription', { start: subscriptionAt, end: periodEnd }]]);
    expect(pc.applyPlanChange).toEqual([{ organizationId: 'org-1', subscriptionId: id, changeId: 'chg-down' }]);
    const state = await handle.query(stateQuery);
    expect(state.planCode).toBe('hobby');
    expect(state.currentPeriod?.period.start).toBe(periodEnd);
    await terminateAndSettle(env, subscriptionWorkflowId(id));
  });
});

test('ending_at set through the update terminates the subscription at that instant: the period billed up to it, the workflow completes', async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = iso(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  const id = sid('sub-ending');
  await withWorker(async (calls) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    const refused = await handle.executeUpdate(subscriptionTermsUpdate, { args: [{ endingAt: iso(now - 24 * HOUR_MS) }] }).catch((e: unknown) => e);
    expect(((refused as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('invalid_ending_at');
    const endingAt = iso(Math.floor(now / HOUR_MS) * HOUR_MS + 2 * HOUR_MS);
    expect(await handle.executeUpdate(subscriptionTermsUpdate, { args: [{ endingAt }] })).toEqual({ endingAt });
    expect(calls.createPeriodInvoice).toHaveLength(0);
    await preRunInvoice(`inv-${attempt}-1`);
    await env.sleep(3 * HOUR_MS);
    const result = await handle.result();
    expect(result).toEqual({ invoiceId: `inv-${attempt}-1`, totalAmountCents: 1999, terminatedAt: endingAt });
    expect(calls.createPeriodInvoice.map((c) => [c.kind, c.period])).toEqual([['termination', { start: subscriptionAt, end: endingAt }]]);
    expect(calls.markSubscriptionTerminated).toEqual([{ organizationId: 'org-1', subscriptionId: id, terminatedAt: endingAt }]);
    await awaitStartedChildren(env.client, subscriptionWorkflowId(id));
  });
});
