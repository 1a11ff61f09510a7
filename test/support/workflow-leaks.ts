// Leak guard for the time-skipping test server.
//
// The Java test server never skips time while a workflow task, an activity task or a fired timer's task is
// outstanding. A workflow left RUNNING when a test's worker stops (an invoice child whose payment collection is
// still queued, a subscription whose period timer fires later, …) therefore strands work on a task queue nobody
// polls, and every later env.sleep on the same server stalls: minutes later, in another test, with no hint why.
//
// The guard turns that into an immediate failure of the test that leaked. Every time-skipping env made by
// createTimeSkippingEnv records the workflow ids its client starts (client interceptor: start, signalWithStart,
// updateWithStart; that includes the API's and the activities' starts in the e2e harness, which share the
// client). At the end of a test, before its worker stops, the guard walks from those ids through the histories
// of every run (continue-as-new chains) to every child they started, describes each one (the test server
// supports describe and history, not visibility/list) and fails if any is still RUNNING, naming it and its
// queued work. It then cleans up, best effort: it lets the leftovers' in-flight activities finish (the worker
// still runs), then terminates them. (Not proven to restore time skipping: in leak-guard.test.ts's suite, whose
// subscriptions start ABANDON invoice children, env.sleep still stalled after a drained leak; see
// sdk-typescript#1101. The guard's job is to name the leaking test.) Terminating a workflow while one of its
// activities is in flight leaves the test server's time-skipping lock held for good (observed with the .venv test
// server: every later env.sleep stalls); when activities do not drain, the guard terminates anyway and marks the
// env, and its env.sleep then fails at once naming the leak instead of stalling.
import type { Client, WorkflowClientInterceptor } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';

/** The ids of the workflows a client started, in start order, since the last take(). */
export class StartedWorkflows {
  private ids = new Set<string>();

  readonly interceptor: WorkflowClientInterceptor = {
    startWithDetails: (input, next) => {
      this.ids.add(input.options.workflowId);
      return next(input);
    },
    signalWithStart: (input, next) => {
      this.ids.add(input.options.workflowId);
      return next(input);
    },
    startUpdateWithStart: (input, next) => {
      this.ids.add(input.workflowStartOptions.workflowId);
      return next(input);
    },
  };

  /** Returns the ids recorded since the previous call and forgets them. */
  take(): string[] {
    const ids = [...this.ids];
    this.ids = new Set();
    return ids;
  }
}

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

const trackers = new WeakMap<TestWorkflowEnvironment, StartedWorkflows>();
/** Envs whose time skipping a leak has locked for good: why. */
const lockedBy = new WeakMap<TestWorkflowEnvironment, string>();

/** Called by createTimeSkippingEnv: records the client's starts and makes env.sleep fail fast once locked. */
export function registerStartedWorkflows(env: TestWorkflowEnvironment, tracker: StartedWorkflows): void {
  trackers.set(env, tracker);
  const sleep = env.sleep;
  env.sleep = async (duration) => {
    const why = lockedBy.get(env);
    if (why) throw new Error(`env.sleep would stall: time skipping on this server is locked by an earlier leak:\n${why}`);
    return sleep(duration);
  };
}

function trackerOf(env: TestWorkflowEnvironment): StartedWorkflows {
  const tracker = trackers.get(env);
  if (!tracker) throw new Error('this TestWorkflowEnvironment was not made by createTimeSkippingEnv (test/support/time-skipping.ts): no start tracking');
  return tracker;
}

export interface LeftoverWorkflow {
  workflowId: string;
  runId: string;
  type: string;
  /** What the test server still has queued or armed for it. */
  pending: string[];
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'WorkflowNotFoundError' || name === 'NotFoundError';
}

/** The ids of every child started by any run of `workflowId` (the latest run and the runs it continued from). */
async function childIdsOf(client: Client, workflowId: string, latestRunId: string): Promise<string[]> {
  const children: string[] = [];
  let runId: string | undefined = latestRunId;
  const seenRuns = new Set<string>();
  while (runId && !seenRuns.has(runId)) {
    seenRuns.add(runId);
    const events: HistoryEvent[] = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    for (const e of events) {
      const childId = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (childId) children.push(childId);
    }
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return children;
}

/** Every workflow reachable from `rootIds` (roots and their descendants) that is still RUNNING. */
export async function findRunningWorkflows(client: Client, rootIds: readonly string[]): Promise<LeftoverWorkflow[]> {
  const leftovers: LeftoverWorkflow[] = [];
  const queue = [...rootIds];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const workflowId = queue.shift()!;
    if (seen.has(workflowId)) continue;
    seen.add(workflowId);
    let description;
    try {
      description = await client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (isNotFound(err)) continue; // a start that was refused (already started elsewhere) left nothing
      throw err;
    }
    queue.push(...(await childIdsOf(client, workflowId, description.runId)));
    if (description.status.name !== 'RUNNING') continue;
    const raw = description.raw;
    const pending = [
      ...(raw.pendingWorkflowTask ? ['a workflow task'] : []),
      ...(raw.pendingActivities ?? []).map((a) => `activity ${a.activityType?.name ?? '?'}`),
      ...(raw.pendingChildren ?? []).map((c) => `child ${c.workflowId ?? '?'}`),
    ];
    // The test server leaves pendingWorkflowTask empty: a RUNNING workflow with nothing listed may still have a
    // workflow task or a timer outstanding.
    leftovers.push({ workflowId, runId: description.runId, type: description.type, pending: pending.length > 0 ? pending : ['no pending activity listed'] });
  }
  return leftovers;
}

/**
 * Waits for every child that any run of `workflowId` started (and their children) to close, returning their
 * results by workflow id. For a test that ends after its subscription started invoice workflows (parent-close
 * ABANDON: they outlive the parent and collect payment after finalizing).
 */
export async function awaitStartedChildren(client: Client, workflowId: string): Promise<Map<string, unknown>> {
  const results = new Map<string, unknown>();
  const queue = await childIdsOf(client, workflowId, (await client.workflow.getHandle(workflowId).describe()).runId);
  while (queue.length > 0) {
    const childId = queue.shift()!;
    if (results.has(childId)) continue;
    const handle = client.workflow.getHandle(childId);
    results.set(childId, await handle.result());
    queue.push(...(await childIdsOf(client, childId, (await handle.describe()).runId)));
  }
  return results;
}

const DRAIN_TIMEOUT_MS = 30_000;
/** Envs whose drain gives up sooner than DRAIN_TIMEOUT_MS (setDrainTimeout). */
const drainTimeouts = new WeakMap<TestWorkflowEnvironment, number>();

/**
 * How long (real time) the guard waits for a leftover's in-flight activities before terminating it anyway, on
 * this env. For a test whose leftover activity is known never to finish (its wait would only burn wall time).
 */
export function setDrainTimeout(env: TestWorkflowEnvironment, ms: number): void {
  drainTimeouts.set(env, ms);
}

/** Waits (real time, bounded) until the workflow has no activity in flight or has closed; false on timeout. */
async function drained(client: Client, workflowId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name !== 'RUNNING' || (d.raw.pendingActivities ?? []).length === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function terminateAll(env: TestWorkflowEnvironment, leftovers: readonly LeftoverWorkflow[], reason: string): Promise<void> {
  const client = env.client;
  const stuck: LeftoverWorkflow[] = [];
  for (const w of leftovers) {
    if (!(await drained(client, w.workflowId, drainTimeouts.get(env) ?? DRAIN_TIMEOUT_MS))) stuck.push(w);
    await client.workflow
      .getHandle(w.workflowId)
      .terminate(reason)
      .catch((err: unknown) => {
        if (!isNotFound(err) && (err as { name?: string }).name !== 'WorkflowExecutionAlreadyCompletedError') throw err;
      });
  }
  if (stuck.length > 0 && !lockedBy.has(env)) lockedBy.set(env, `terminated with an activity still in flight:\n${describeLeftovers(stuck)}`);
}

export function describeLeftovers(leftovers: readonly LeftoverWorkflow[]): string {
  return leftovers.map((w) => `  ${w.workflowId} (${w.type}, run ${w.runId}): ${w.pending.join(', ')}`).join('\n');
}

/**
 * Fails when a workflow the test started (or a child of one) is still RUNNING; terminates those first. Call it
 * at the very end of a test, while its worker still runs. Consumes the ids recorded so far.
 */
export async function assertNoRunningWorkflows(env: TestWorkflowEnvironment): Promise<void> {
  const leftovers = await findRunningWorkflows(env.client, trackerOf(env).take());
  if (leftovers.length === 0) return;
  await terminateAll(env, leftovers, 'leak guard: still running when the test ended');
  throw new Error(
    `Workflow leak: ${leftovers.length} workflow(s) this test started are still RUNNING as its worker stops. On the ` +
      `time-skipping server their queued work would stall every later env.sleep. Await their results, or terminate ` +
      `them while nothing of theirs is in flight, before the test ends (test/support/workflow-leaks.ts). They were drained and terminated:\n${describeLeftovers(leftovers)}`,
  );
}

/** Terminates whatever the test started that still runs, without failing (after a test already failed). */
export async function terminateRunningWorkflows(env: TestWorkflowEnvironment): Promise<void> {
  const leftovers = await findRunningWorkflows(env.client, trackerOf(env).take());
  await terminateAll(env, leftovers, 'leak guard: the test failed');
}

/**
 * worker.runUntil(fn) with the leak guard: when fn returns, the test fails if anything it started still runs;
 * when fn throws, everything it started is terminated before the worker stops (its error is the one reported).
 */
export async function runUntilSettled<T>(env: TestWorkflowEnvironment, worker: Worker, fn: () => Promise<T>): Promise<T> {
  return worker.runUntil(async () => {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await terminateRunningWorkflows(env).catch(() => undefined);
      throw err;
    }
    await assertNoRunningWorkflows(env);
    return result;
  });
}
