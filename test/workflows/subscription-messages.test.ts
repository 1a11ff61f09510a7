// Usage signals, the state query and the terminate update of one subscription run.
//
// How time passes: the subscription starts 10 days before the test server's clock (anniversary, UTC), so its
// first period is open "now" and ends in about three weeks; nothing here needs the clock to move.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { invoiceWorkflow, subscriptionWorkflow } from '../../workflows';
import {
  SUBSCRIPTION_TASK_QUEUE,
  invoiceWorkflowId,
  stateQuery,
  subscriptionWorkflowId,
  terminateUpdate,
  usageSignal,
  type SubscriptionWorkflowState,
} from '../../workflows/messages';
import { awaitStartedChildren, runUntilSettled } from '../support/workflow-leaks';
import { bundleWorkflows, createTimeSkippingEnv, eventually, fakeActivities, invalidPlan, subscriptionState, type FakeOptions } from './fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;
let subscriptionAt: string;
let periodEnd: string;

const HOUR_MS = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

let attempt = 0;
let taskQueue: string;

// The test server's clock is shared by every workflow on it and may have moved during an earlier test, so each
// test places its period around the clock as it is then, runs on a task queue of its own, and uses ids of its
// own (a retried test never meets the workflows or the worker of its failed attempt).
jest.retryTimes(2, { logErrorsBeforeRetry: true });

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
});
beforeEach(async () => {
  attempt += 1;
  taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-${attempt}`;
  const now = await env.currentTimeMs();
  subscriptionAt = iso(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  periodEnd = DateTime.fromISO(subscriptionAt, { zone: 'utc' }).plus({ months: 1 }).toUTC().toISO()!;
});

/** An id unique to this test attempt. */
const sid = (name: string) => `${name}-${attempt}`;
afterAll(async () => {
  await env?.teardown();
});

function stateFor(subscriptionId: string): SubscriptionWorkflowState {
  return subscriptionState({
    subscriptionId,
    schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' },
  });
}

async function withWorker<T>(opts: FakeOptions, fn: (calls: ReturnType<typeof fakeActivities>['calls']) => Promise<T>): Promise<T> {
  const { activities, calls } = fakeActivities(opts);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  // The leak guard: the test fails if a workflow it started (the invoice children included) still runs at its end.
  return runUntilSettled(env, worker, () => fn(calls));
}

/** Waits for the invoice workflows the subscription started: they outlive it and collect payment after finalizing. */
async function invoiceChildrenDone(subscriptionId: string): Promise<void> {
  for (const result of (await awaitStartedChildren(env.client, subscriptionWorkflowId(subscriptionId))).values()) {
    expect(result).toMatchObject({ status: 'finalized' });
  }
}

test('usage signals add decimal units exactly for buckets inside the open period and ignore buckets outside it', async () => {
  await withWorker({}, async () => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(sid('sub-usage')),
      taskQueue,
      args: [stateFor(sid('sub-usage'))],
    });
    const start = Date.parse(subscriptionAt);
    await handle.signal(usageSignal, { deltas: [{ metricCode: 'tokens', bucketStart: iso(start), eventsCount: 2, units: '0.1' }] });
    await handle.signal(usageSignal, {
      deltas: [
        { metricCode: 'tokens', bucketStart: iso(start + 5 * HOUR_MS), eventsCount: 1, units: '0.2' },
        { metricCode: 'gpu_seconds', bucketStart: iso(start + 6 * HOUR_MS), eventsCount: 1, units: '3600' },
      ],
    });
    await handle.signal(usageSignal, {
      deltas: [
        { metricCode: 'tokens', bucketStart: iso(start - HOUR_MS), eventsCount: 5, units: '100' }, // before the period
        { metricCode: 'tokens', bucketStart: periodEnd, eventsCount: 7, units: '100' }, // the period end is exclusive
        { metricCode: 'storage', bucketStart: iso(start - HOUR_MS), eventsCount: 1, units: '1' },
      ],
    });
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 3, 'three signals handled');
    const state = await handle.query(stateQuery);
    // 0.1 + 0.2 as floats would be 0.30000000000000004.
    expect(state.liveUsage).toEqual({ tokens: { eventsCount: 3, units: '0.3' }, gpu_seconds: { eventsCount: 1, units: '3600' } });
    expect(state.currentPeriod).toEqual({ period: { start: subscriptionAt, end: periodEnd }, fullPeriod: { start: subscriptionAt, end: periodEnd } });
    await handle.terminate('test done');
  });
});

test('terminate mid-period bills [period start, terminatedAt) as a termination invoice, marks the subscription terminated, and completes with the invoice id', async () => {
  await withWorker({}, async (calls) => {
    const workflowId = subscriptionWorkflowId(sid('sub-terminate'));
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue,
      args: [stateFor(sid('sub-terminate'))],
    });
    const terminatedAt = iso(Date.parse(subscriptionAt) + 5 * 24 * HOUR_MS);
    const result = await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt }] });

    expect(result).toEqual({ invoiceId: 'inv-1', totalAmountCents: 1999, terminatedAt });
    expect(calls.createPeriodInvoice).toEqual([
      {
        organizationId: 'org-1',
        subscriptionId: sid('sub-terminate'),
        kind: 'termination',
        period: { start: subscriptionAt, end: terminatedAt },
        fullPeriod: { start: subscriptionAt, end: periodEnd },
      },
    ]);
    expect(calls.markSubscriptionTerminated).toEqual([{ organizationId: 'org-1', subscriptionId: sid('sub-terminate'), terminatedAt }]);
    expect(await handle.result()).toEqual(result);
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get({ name: 'SubscriptionStatus', type: 'KEYWORD' })).toBe('terminated');
    expect((await env.client.workflow.getHandle('invoice:inv-1').describe()).parentExecution?.workflowId).toBe(workflowId);
    await eventually(() => calls.finalizeInvoice.length === 1, 'termination invoice finalized');
    await invoiceChildrenDone(sid('sub-terminate'));
  });
});

test('the terminate validator rejects a second terminate while one is in progress and a terminatedAt before the period start, without touching the subscription', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await withWorker({ createPeriodInvoiceGate: gate }, async (calls) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(sid('sub-terminate-twice')),
      taskQueue,
      args: [stateFor(sid('sub-terminate-twice'))],
    });

    const tooEarly = await handle
      .executeUpdate(terminateUpdate, { args: [{ terminatedAt: iso(Date.parse(subscriptionAt) - HOUR_MS) }] })
      .catch((err: unknown) => err);
    expect(tooEarly).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((tooEarly as WorkflowUpdateFailedError).cause).toBeInstanceOf(ApplicationFailure);
    expect(((tooEarly as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('invalid_terminated_at');
    expect(calls.createPeriodInvoice).toHaveLength(0);

    const first = await handle.startUpdate(terminateUpdate, { args: [{}], waitForStage: 'ACCEPTED' });
    await eventually(() => calls.createPeriodInvoice.length === 1, 'first termination invoicing');
    const second = await handle.executeUpdate(terminateUpdate, { args: [{}] }).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((second as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('termination_in_progress');

    release();
    const result = await first.result();
    expect(result.invoiceId).toBe('inv-1');
    expect(calls.createPeriodInvoice).toHaveLength(1);
    expect(calls.markSubscriptionTerminated).toHaveLength(1);
    expect(await handle.result()).toEqual(result);
    await invoiceChildrenDone(sid('sub-terminate-twice'));
  });
});

test('an invoice workflow that already ran for the returned invoice (a re-run close) counts as started: the termination still completes', async () => {
  await withWorker({ invoiceIdFor: () => sid('inv-existing') }, async (calls) => {
    const existing = await env.client.workflow.execute(invoiceWorkflow, {
      workflowId: invoiceWorkflowId(sid('inv-existing')),
      taskQueue,
      args: [{ version: 1, organizationId: 'org-1', invoiceId: sid('inv-existing'), gracePeriodDays: 0 }],
    });
    expect(existing.status).toBe('finalized');
    const existingRunId = (await env.client.workflow.getHandle(invoiceWorkflowId(sid('inv-existing'))).describe()).runId;

    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(sid('sub-existing-invoice')),
      taskQueue,
      args: [stateFor(sid('sub-existing-invoice'))],
    });
    const result = await handle.executeUpdate(terminateUpdate, { args: [{}] });
    expect(result.invoiceId).toBe(sid('inv-existing'));
    expect(calls.markSubscriptionTerminated).toHaveLength(1);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    // The completed invoice workflow was not run a second time (id reuse policy ALLOW_DUPLICATE_FAILED_ONLY).
    expect((await env.client.workflow.getHandle(invoiceWorkflowId(sid('inv-existing'))).describe()).runId).toBe(existingRunId);
    expect(calls.finalizeInvoice).toHaveLength(1);
  });
});

test("an 'invalid_plan' failure while invoicing a termination fails only that update: the subscription stays active and a later terminate succeeds", async () => {
  await withWorker({ createPeriodInvoiceFailure: (index) => (index === 0 ? invalidPlan() : undefined) }, async (calls) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(sid('sub-terminate-invalid-plan')),
      taskQueue,
      args: [stateFor(sid('sub-terminate-invalid-plan'))],
    });
    const failed = await handle.executeUpdate(terminateUpdate, { args: [{}] }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((failed as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('invalid_plan');
    expect(calls.createPeriodInvoice).toHaveLength(1); // not retried by the activity retry policy
    expect(calls.markSubscriptionTerminated).toHaveLength(0);
    expect(await handle.query(stateQuery)).toMatchObject({ status: 'active' });
    expect((await handle.describe()).status.name).toBe('RUNNING');

    const result = await handle.executeUpdate(terminateUpdate, { args: [{}] });
    expect(result.invoiceId).toBe('inv-2');
    expect(calls.markSubscriptionTerminated).toHaveLength(1);
    expect((await handle.result()).invoiceId).toBe('inv-2');
    await invoiceChildrenDone(sid('sub-terminate-invalid-plan'));
  });
});
