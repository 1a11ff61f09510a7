// Issue 11 on the time-skipping test server with fake activities: on_termination_credit_note=refund (patch
// unused-fee-refund-v1: the refund activity instead of the credit one) and the termination options stored on the
// subscription (patch termination-options-v1: used when ending_at ends it; a request's own options win).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, subscriptionWorkflowId, terminateUpdate, type SubscriptionWorkflowState } from '../../workflows/messages';
import type { StoredTerminationOptions } from '../../db/repositories/termination-options';
import { eventually, fakeActivities, subscriptionState, perTestTimeSkippingServer } from './fakes';
import { fakePlanChangeActivities } from './plan-change-fakes';
import { fakeUnusedFeeCreditActivities } from './unused-fee-credit-fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;
const HOUR_MS = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
let attempt = 0;
let taskQueue: string;

perTestTimeSkippingServer('term', (s) => {
  ({ env, workflowBundle, taskQueue, attempt } = s);
});

const sid = (name: string) => `${name}-${attempt}`;

function stateFor(subscriptionId: string, subscriptionAt: string, extra: Partial<SubscriptionWorkflowState> = {}): SubscriptionWorkflowState {
  return subscriptionState({ subscriptionId, schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' }, ...extra });
}

async function withWorker<T>(subscriptionAt: string, stored: StoredTerminationOptions | undefined, fn: (calls: ReturnType<typeof fakeActivities>['calls'], credits: ReturnType<typeof fakeUnusedFeeCreditActivities>) => Promise<T>): Promise<T> {
  const { activities, calls } = fakeActivities({ invoiceIdFor: (i) => `inv-${attempt}-${i + 1}`, advance: { subscriptionAt, payInAdvance: true }, ...(stored ? { terminationOptions: stored } : {}) });
  const credits = fakeUnusedFeeCreditActivities();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: { ...activities, ...fakePlanChangeActivities({}).activities, ...credits.activities } });
  return worker.runUntil(fn(calls, credits));
}

async function startedDaysAgo(days: number): Promise<string> {
  const now = await env.currentTimeMs();
  return iso(Math.floor((now - days * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
}

test('on_termination_credit_note refund calls the refund activity (not the credit one) at the termination instant, before the termination is marked', async () => {
  const subscriptionAt = await startedDaysAgo(3);
  const id = sid('sub-refund');
  await withWorker(subscriptionAt, undefined, async (calls, credits) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the run started its period');
    const terminatedAt = iso(Date.parse(subscriptionAt) + 24 * HOUR_MS);
    await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt, onTerminationCreditNote: 'refund' }] });
    await handle.result();
    expect(credits.refunds).toEqual([{ organizationId: 'org-1', subscriptionId: id, at: terminatedAt, reason: 'termination' }]);
    expect(credits.calls).toEqual([]);
    expect(calls.createPeriodInvoice.map((c) => c.kind)).toEqual(['subscription', 'termination']);
  });
});

test('ending_at reached uses the options stored on the subscription: skip and skip issue no termination invoice and no credit', async () => {
  const subscriptionAt = await startedDaysAgo(3);
  const id = sid('sub-ending-stored');
  const endingAt = iso(Date.parse(subscriptionAt) + 4 * 24 * HOUR_MS);
  await withWorker(subscriptionAt, { onTerminationInvoice: 'skip', onTerminationCreditNote: 'skip' }, async (calls, credits) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt, { endingAt })] });
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the run started its period');
    await env.sleep(2 * 24 * HOUR_MS);
    await handle.result();
    expect(calls.markSubscriptionTerminated).toEqual([expect.objectContaining({ subscriptionId: id, terminatedAt: endingAt })]);
    expect(calls.createPeriodInvoice.map((c) => c.kind)).toEqual(['subscription']);
    expect(credits.calls).toEqual([]);
    expect(credits.refunds).toEqual([]);
  });
});

test('ending_at reached with refund stored (and no invoice option) issues the termination invoice and refunds the unused fee', async () => {
  const subscriptionAt = await startedDaysAgo(3);
  const endingAt = iso(Date.parse(subscriptionAt) + 4 * 24 * HOUR_MS);
  const id = sid('sub-ending-refund');
  await withWorker(subscriptionAt, { onTerminationInvoice: null, onTerminationCreditNote: 'refund' }, async (calls, credits) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt, { endingAt })] });
    // Waiting on the result lets the server skip to ending_at.
    await handle.result();
    expect(calls.createPeriodInvoice.map((c) => c.kind)).toEqual(['subscription', 'termination']);
    expect(credits.refunds).toEqual([{ organizationId: 'org-1', subscriptionId: id, at: endingAt, reason: 'termination' }]);
    expect(credits.calls).toEqual([]);
  });
});

test('a termination request’s own options win over the stored ones', async () => {
  const subscriptionAt = await startedDaysAgo(3);
  const id = sid('sub-override');
  await withWorker(subscriptionAt, { onTerminationInvoice: 'skip', onTerminationCreditNote: 'skip' }, async (calls, credits) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the run started its period');
    const terminatedAt = iso(Date.parse(subscriptionAt) + 24 * HOUR_MS);
    const result = await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt, onTerminationInvoice: 'generate', onTerminationCreditNote: 'credit' }] });
    await handle.result();
    expect(result.invoiceId).toBe(`inv-${attempt}-2`);
    expect(calls.createPeriodInvoice.map((c) => c.kind)).toEqual(['subscription', 'termination']);
    expect(credits.calls).toEqual([{ organizationId: 'org-1', subscriptionId: id, at: terminatedAt, reason: 'termination' }]);
  });
});
