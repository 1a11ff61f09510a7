// The leak guard (test/support/workflow-leaks.ts) on the time-skipping test server: a test that ends while a
// workflow it started (here: the invoice child of a terminated subscription, its payment collection still in
// flight) is RUNNING fails at once, naming that workflow, instead of stalling a later env.sleep for minutes.
//
// One server for the suite; the last test uses a server of its own (it locks that server's time skipping).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { InvoiceRef } from '../../activities/types';
import { subscriptionWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, invoiceWorkflowId, subscriptionWorkflowId, terminateUpdate } from '../../workflows/messages';
import { awaitStartedChildren, runUntilSettled, setDrainTimeout } from '../support/workflow-leaks';
import { createTimeSkippingEnv, eventually, fakeActivities, subscriptionState, sharedTimeSkippingServer } from './fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

async function startSubscription(id: string, taskQueue: string) {
  const now = await env.currentTimeMs();
  const subscriptionAt = new Date(Math.floor((now - 10 * DAY_MS) / HOUR_MS) * HOUR_MS).toISOString();
  return env.client.workflow.start(subscriptionWorkflow, {
    workflowId: subscriptionWorkflowId(id),
    taskQueue,
    args: [subscriptionState({ subscriptionId: id, schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
  });
}

test('a test that terminates its subscription and awaits the termination invoice child passes the guard', async () => {
  const taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-guard-clean`;
  const { activities } = fakeActivities({ invoiceIdFor: () => 'inv-guard-clean' });
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  await runUntilSettled(env, worker, async () => {
    const handle = await startSubscription('sub-guard-clean', taskQueue);
    await handle.executeUpdate(terminateUpdate, { args: [{}] });
    await handle.result();
    const children = await awaitStartedChildren(env.client, subscriptionWorkflowId('sub-guard-clean'));
    expect([...children.keys()]).toEqual([invoiceWorkflowId('inv-guard-clean')]);
    expect(children.get(invoiceWorkflowId('inv-guard-clean'))).toMatchObject({ status: 'finalized' });
  });
});

/** A subscription terminated through the update, whose termination invoice `invoiceId` collects payment slowly. */
async function leakInvoiceChild(testEnv: TestWorkflowEnvironment, name: string, collect: (ref: InvoiceRef) => Promise<void>) {
  const taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-${name}`;
  const { activities } = fakeActivities({ invoiceIdFor: () => `inv-${name}` });
  const collecting: InvoiceRef[] = [];
  const prepareCollection = async (ref: InvoiceRef) => {
    collecting.push(ref);
    await collect(ref);
    return activities.prepareCollection(ref);
  };
  const worker = await Worker.create({ connection: testEnv.nativeConnection, taskQueue, workflowBundle, activities: { ...activities, prepareCollection } });
  return runUntilSettled(testEnv, worker, async () => {
    const now = await testEnv.currentTimeMs();
    const subscriptionAt = new Date(Math.floor((now - 10 * DAY_MS) / HOUR_MS) * HOUR_MS).toISOString();
    const handle = await testEnv.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId(`sub-${name}`),
      taskQueue,
      args: [subscriptionState({ subscriptionId: `sub-${name}`, schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await handle.executeUpdate(terminateUpdate, { args: [{}] });
    await handle.result(); // the parent is done; its ABANDON child is not
    await eventually(() => collecting.length === 1, 'the child started collecting');
  }).then(
    () => null,
    (err: unknown) => err as Error,
  );
}

test("the guard fails a test that ends while its invoice child's payment collection is in flight, naming the child and its activity, and lets that activity finish before the worker stops", async () => {
  // The collection answers a few seconds after it started: still in flight when the test body returns.
  const outcome = await leakInvoiceChild(env, 'guard-leak', () => new Promise((r) => setTimeout(r, 3_000)));
  expect(outcome).toBeInstanceOf(Error);
  const message = outcome!.message;
  expect(message).toMatch(/^Workflow leak: 1 workflow\(s\)/);
  expect(message).toContain(`${invoiceWorkflowId('inv-guard-leak')} (invoiceWorkflow`);
  expect(message).toContain('activity prepareCollection');
  expect(message).not.toContain(subscriptionWorkflowId('sub-guard-leak')); // the completed parent is not blamed
  expect((await env.client.workflow.getHandle(invoiceWorkflowId('inv-guard-leak')).describe()).status.name).not.toBe('RUNNING');
});

test('a failing test keeps its own error, and the guard terminates what it left running before the worker stops', async () => {
  const taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-guard-fail`;
  const { activities, calls } = fakeActivities();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  const outcome = await runUntilSettled(env, worker, async () => {
    await startSubscription('sub-guard-fail', taskQueue);
    await eventually(() => calls.startAdvancePeriod.length === 1, 'the subscription started its period');
    throw new Error('the assertion that failed');
  }).then(
    () => null,
    (err: unknown) => err,
  );
  expect((outcome as Error).message).toBe('the assertion that failed');
  expect((await env.client.workflow.getHandle(subscriptionWorkflowId('sub-guard-fail')).describe()).status.name).toBe('TERMINATED');
});

test('a leak whose activity never finishes marks its server: a later env.sleep there fails at once, naming the leak, instead of stalling', async () => {
  const lockedEnv = await createTimeSkippingEnv();
  // Its collection never answers: the guard's drain can only time out, so a short one (not the default 30 s).
  setDrainTimeout(lockedEnv, 2_000);
  try {
    const childId = invoiceWorkflowId('inv-guard-stuck');
    // The collection does not answer while the child runs: the guard's drain gives up and terminates it in flight.
    const outcome = await leakInvoiceChild(lockedEnv, 'guard-stuck', () =>
      eventually(async () => (await lockedEnv.client.workflow.getHandle(childId).describe()).status.name !== 'RUNNING', 'the child closed', 120_000),
    );
    expect(outcome?.message).toContain(`${childId} (invoiceWorkflow`);
    expect((await lockedEnv.client.workflow.getHandle(childId).describe()).status.name).toBe('TERMINATED');
    await expect(lockedEnv.sleep(1_000)).rejects.toThrow(/time skipping on this server is locked by an earlier leak:\s+terminated with an activity still in flight:\s+invoice:inv-guard-stuck/);
  } finally {
    await lockedEnv.teardown();
  }
});
