// Issue 11 on the time-skipping test server with fake activities: a pending subscription's start moved by
// subscriptionStartUpdate (patch pending-start-move-v1), and the unused advance fee's credit on termination and
// upgrade (patch unused-fee-credit-v1): the activity's arguments, its order before the invoice workflow, and
// `on_termination_credit_note: skip`.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, stateQuery, subscriptionWorkflowId, terminateUpdate, type SubscriptionWorkflowState } from '../../workflows/messages';
import { subscriptionStartUpdate } from '../../workflows/pending-start';
import { planChangeUpdate } from '../../workflows/plan-changes';
import { eventually, fakeActivities, subscriptionState, perTestTimeSkippingServer } from './fakes';
import { fakePlanChangeActivities } from './plan-change-fakes';
import { fakeUnusedFeeCreditActivities } from './unused-fee-credit-fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;
const HOUR_MS = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
let attempt = 0;
let taskQueue: string;

perTestTimeSkippingServer('psc', (s) => {
  ({ env, workflowBundle, taskQueue, attempt } = s);
});

const sid = (name: string) => `${name}-${attempt}`;

function stateFor(subscriptionId: string, subscriptionAt: string): SubscriptionWorkflowState {
  return subscriptionState({ subscriptionId, schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } });
}

async function withWorker<T>(
  fn: (calls: ReturnType<typeof fakeActivities>['calls'], pc: ReturnType<typeof fakePlanChangeActivities>['calls'], credits: ReturnType<typeof fakeUnusedFeeCreditActivities>['calls']) => Promise<T>,
  advanceAt?: string,
): Promise<T> {
  const { activities, calls } = fakeActivities({ invoiceIdFor: (i) => `inv-${attempt}-${i + 1}`, ...(advanceAt ? { advance: { subscriptionAt: advanceAt, payInAdvance: true } } : {}) });
  const planChanges = fakePlanChangeActivities({ 'chg-up': { planCode: 'scale', interval: 'monthly' } });
  const credits = fakeUnusedFeeCreditActivities();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: { ...activities, ...planChanges.activities, ...credits.activities } });
  return worker.runUntil(fn(calls, planChanges.calls, credits.calls));
}

test("moving a pending subscription's start re-arms its start timer: not activated at the old start, activated once at the new one", async () => {
  const now = await env.currentTimeMs();
  const base = Math.floor(now / HOUR_MS) * HOUR_MS;
  const oldStart = iso(base + 48 * HOUR_MS);
  const newStart = iso(base + 96 * HOUR_MS);
  const id = sid('sub-move');
  await withWorker(async (calls, pc) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, oldStart)] });
    // In the past: refused by the validator, nothing moved.
    await expect(handle.executeUpdate(subscriptionStartUpdate, { args: [{ subscriptionAt: iso(now - 24 * HOUR_MS) }] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    expect(await handle.executeUpdate(subscriptionStartUpdate, { args: [{ subscriptionAt: newStart }] })).toEqual({ subscriptionAt: newStart });
    await eventually(async () => (await handle.query(stateQuery)).currentPeriod?.period.start === newStart, 'the next run waits for the new start');
    await env.sleep(49 * HOUR_MS);
    expect(pc.activateSubscription).toHaveLength(0);
    await env.sleep(48 * HOUR_MS);
    await eventually(() => pc.activateSubscription.length === 1, 'activated at the new start');
    expect(pc.activateSubscription).toEqual([{ organizationId: 'org-1', subscriptionId: id }]);
    expect(calls.createPeriodInvoice).toHaveLength(0);
    // Once started, the start can no longer move.
    const err = await handle.executeUpdate(subscriptionStartUpdate, { args: [{ subscriptionAt: iso(base + 200 * HOUR_MS) }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('subscription_not_pending');
  });
});

test('terminating a pay-in-advance subscription credits the unused fee at the termination instant, after the termination invoice is written and before its workflow starts', async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = iso(Math.floor((now - 3 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  const id = sid('sub-credit');
  await withWorker(async (calls, _pc, credits) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the run started its period');
    const terminatedAt = iso(Date.parse(subscriptionAt) + 24 * HOUR_MS);
    const result = await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt }] });
    expect(calls.createPeriodInvoice.map((c) => c.kind)).toEqual(['subscription', 'termination']);
    expect(credits).toEqual([{ organizationId: 'org-1', subscriptionId: id, at: terminatedAt, reason: 'termination' }]);
    expect(result.invoiceId).toBe(`inv-${attempt}-2`);
    await handle.result();
  }, subscriptionAt);
});

test('on_termination_credit_note skip issues no credit for the unused fee', async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = iso(Math.floor((now - 3 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  const id = sid('sub-skip');
  await withWorker(async (calls, _pc, credits) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the run started its period');
    await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt: iso(Date.parse(subscriptionAt) + 24 * HOUR_MS), onTerminationCreditNote: 'skip' }] });
    await handle.result();
    expect(calls.markSubscriptionTerminated).toHaveLength(1);
    expect(credits).toEqual([]);
  }, subscriptionAt);
});

test("an upgrade credits the old plan's unused fee at the change instant (reason upgrade) before the plan is applied", async () => {
  const now = await env.currentTimeMs();
  const subscriptionAt = iso(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  const id = sid('sub-upgrade-credit');
  await withWorker(async (_calls, pc, credits) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, { workflowId: subscriptionWorkflowId(id), taskQueue, args: [stateFor(id, subscriptionAt)] });
    const effectiveAt = iso(now - HOUR_MS);
    await handle.executeUpdate(planChangeUpdate, { args: [{ changeId: 'chg-up', kind: 'upgrade', planCode: 'scale', effectiveAt }] });
    expect(credits).toEqual([{ organizationId: 'org-1', subscriptionId: id, at: effectiveAt, reason: 'upgrade' }]);
    expect(pc.applyPlanChange).toHaveLength(1);
  });
});
