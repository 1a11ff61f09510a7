// The webhook delivery workflow on the time-skipping test server with a scripted deliverPendingWebhooks: it
// sleeps until the next webhook is due (at most the poll interval), loops at once after a full batch, wakes on
// webhooksEnqueuedSignal, continues as new after maxIterations, and its history replays on the current code.
import { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DeliverPendingWebhooksResult, WebhookActivities } from '../../activities/webhooks';
import { webhookDeliveryWorkflow, webhooksEnqueuedSignal } from '../../workflows/webhook-delivery';
import { assertNoRunningWorkflows } from '../support/workflow-leaks';
import { bundleWorkflows, createTimeSkippingEnv, eventually } from './fakes';

const TASK_QUEUE = 'webhook-delivery-test';
const NOTHING: DeliverPendingWebhooksResult = { claimed: 0, succeeded: 0, retrying: 0, failed: 0, batchSize: 20, nextDueInMs: null };

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let worker: Worker;
let running: Promise<void>;
/** Per workflow id: the test server's time of each activity call, and the scripted answers. */
const calls = new Map<string, { atMs: number[]; runIds: string[] }>();
const scripts = new Map<string, DeliverPendingWebhooksResult[]>();

const activities: WebhookActivities = {
  async deliverPendingWebhooks() {
    const info = Context.current().info;
    const id = info.workflowExecution?.workflowId ?? 'unknown';
    const c = calls.get(id) ?? { atMs: [], runIds: [] };
    calls.set(id, c);
    c.atMs.push(await env.currentTimeMs());
    c.runIds.push(info.workflowExecution?.runId ?? 'unknown');
    return scripts.get(id)?.shift() ?? NOTHING;
  },
};

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  bundle = await bundleWorkflows();
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle: bundle, activities });
  running = worker.run();
});
// The leak guard: every test ends with its delivery workflow terminated (the worker is shared and stops only after
// the suite; a run left sleeping would wake with no worker). The guard terminates what a failed test left, too.
afterEach(async () => {
  await assertNoRunningWorkflows(env);
});
afterAll(async () => {
  worker.shutdown();
  await running;
  await env.teardown();
});

async function start(workflowId: string, input: { pollIntervalMs: number; maxIterations: number }, script: DeliverPendingWebhooksResult[] = []) {
  scripts.set(workflowId, script);
  return env.client.workflow.start(webhookDeliveryWorkflow, { workflowId, taskQueue: TASK_QUEUE, args: [input] });
}

const callCount = (id: string) => calls.get(id)?.atMs.length ?? 0;

describe('webhookDeliveryWorkflow', () => {
  it('sleeps until the next webhook is due, at most the poll interval, then continues as new after maxIterations; the run replays', async () => {
    const id = 'wh-delivery-sleeps';
    const handle = await start(id, { pollIntervalMs: 60_000, maxIterations: 3 }, [{ ...NOTHING, claimed: 1, retrying: 1, nextDueInMs: 30_000 }]);
    await eventually(() => callCount(id) >= 1, 'first delivery run');
    await env.sleep(30_000);
    await eventually(() => callCount(id) >= 2, 'second run, when the retry is due');
    await env.sleep(60_000);
    await eventually(() => callCount(id) >= 3, 'third run after the poll interval');
    // The third iteration sleeps its poll interval too, then the run continues as new.
    await env.sleep(60_000);
    await eventually(() => callCount(id) >= 4, 'the first run of the continued workflow');
    const c = calls.get(id)!;
    expect(c.atMs[1]! - c.atMs[0]!).toBeGreaterThanOrEqual(30_000);
    expect(c.atMs[1]! - c.atMs[0]!).toBeLessThan(60_000);
    expect(c.atMs[2]! - c.atMs[1]!).toBeGreaterThanOrEqual(60_000);
    // Three iterations in the first run, the fourth in a new run (continue-as-new).
    expect(new Set(c.runIds.slice(0, 3)).size).toBe(1);
    expect(c.runIds[3]).not.toBe(c.runIds[0]);

    const firstRun = await env.client.workflow.getHandle(id, c.runIds[0]).fetchHistory();
    expect(firstRun.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, firstRun, id)).resolves.toBeUndefined();
    await handle.terminate('done');
  });

  it('runs again at once after a full batch (more may be due), without a timer', async () => {
    const id = 'wh-delivery-full-batch';
    const handle = await start(id, { pollIntervalMs: 3_600_000, maxIterations: 10 }, [{ ...NOTHING, claimed: 20, succeeded: 20, nextDueInMs: 0 }]);
    await eventually(() => callCount(id) >= 2, 'the second run right after a full batch');
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.map((e, i) => (e.activityTaskScheduledEventAttributes ? i : -1)).filter((i) => i >= 0);
    const timerBetween = events.slice(scheduled[0], scheduled[1]).some((e) => e.timerStartedEventAttributes);
    expect(timerBetween).toBe(false);
    await handle.terminate('done');
  });

  it('webhooksEnqueuedSignal wakes the loop before its poll interval ends', async () => {
    const id = 'wh-delivery-signal';
    const handle = await start(id, { pollIntervalMs: 3_600_000, maxIterations: 10 });
    await eventually(() => callCount(id) >= 1, 'first run');
    // The test server's clock does not move here (nobody waits on a result): only the signal can wake it.
    await handle.signal(webhooksEnqueuedSignal);
    await eventually(() => callCount(id) >= 2, 'a run right after the signal');
    const c = calls.get(id)!;
    expect(c.atMs[1]! - c.atMs[0]!).toBeLessThan(3_600_000);
    await handle.terminate('done');
  });
});
