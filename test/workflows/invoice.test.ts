// The invoice workflow: grace period as a timer, refreshes while draft, then one finalization.
//
// How time passes: env.sleep moves the test server's clock over the grace-period timer; handle.result()
// lets the server skip the rest of the time on its own.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { invoiceWorkflow } from '../../workflows';
import { SUBSCRIPTION_TASK_QUEUE, invoiceStateQuery, invoiceWorkflowId, refreshInvoiceSignal } from '../../workflows/messages';
import { runUntilSettled } from '../support/workflow-leaks';
import { eventually, fakeActivities, sharedTimeSkippingServer } from './fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

const DAY_MS = 86_400_000;
const ref = (invoiceId: string) => ({ organizationId: 'org-1', invoiceId });

test('a 2-day grace period keeps the invoice a draft, a refresh signal during it recomputes the draft, and the invoice is finalized once when it ends', async () => {
  const { activities, calls } = fakeActivities();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: SUBSCRIPTION_TASK_QUEUE, workflowBundle, activities });
  await runUntilSettled(env, worker, async () => {
    const startMs = await env.currentTimeMs();
    const handle = await env.client.workflow.start(invoiceWorkflow, {
      workflowId: invoiceWorkflowId('inv-grace'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [{ version: 1, organizationId: 'org-1', invoiceId: 'inv-grace', gracePeriodDays: 2 }],
    });
    const draft = await handle.query(invoiceStateQuery);
    expect(draft).toMatchObject({ invoiceId: 'inv-grace', status: 'draft', refreshes: 0 });
    expect(Date.parse(draft.graceEndsAt!) - startMs).toBeGreaterThanOrEqual(2 * DAY_MS);
    expect(Date.parse(draft.graceEndsAt!) - startMs).toBeLessThan(2 * DAY_MS + 60_000);

    await env.sleep(DAY_MS);
    await handle.signal(refreshInvoiceSignal);
    // The workflow counts the refresh before its activity runs: wait for the activity itself, not the counter.
    await eventually(() => calls.refreshDraftInvoice.length === 1, 'refresh done');
    expect((await handle.query(invoiceStateQuery)).refreshes).toBe(1);
    expect(calls.refreshDraftInvoice).toEqual([ref('inv-grace')]);
    expect(await handle.query(invoiceStateQuery)).toMatchObject({ status: 'draft' });
    expect(calls.finalizeInvoice).toHaveLength(0); // one day in: still in grace

    const final = await handle.result(); // the server skips the remaining day
    expect(final).toMatchObject({ status: 'finalized', refreshes: 1 });
    expect(calls.finalizeInvoice).toEqual([ref('inv-grace')]);
    expect(calls.refreshDraftInvoice).toHaveLength(1);
    expect((await env.currentTimeMs()) - startMs).toBeGreaterThanOrEqual(2 * DAY_MS);
  });
});

test('without a grace period the invoice is finalized at once and never refreshed', async () => {
  const { activities, calls } = fakeActivities();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: SUBSCRIPTION_TASK_QUEUE, workflowBundle, activities });
  await runUntilSettled(env, worker, async () => {
    const handle = await env.client.workflow.start(invoiceWorkflow, {
      workflowId: invoiceWorkflowId('inv-no-grace'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [{ version: 1, organizationId: 'org-1', invoiceId: 'inv-no-grace', gracePeriodDays: 0 }],
    });
    const result = await handle.result();
    expect(result).toEqual({ invoiceId: 'inv-no-grace', status: 'finalized', graceEndsAt: null, refreshes: 0 });
    expect(calls.finalizeInvoice).toEqual([ref('inv-no-grace')]);
    expect(calls.refreshDraftInvoice).toHaveLength(0);
    const history = await handle.fetchHistory();
    expect(history.events?.some((e) => e.timerStartedEventAttributes)).toBe(false); // no grace timer at all
  });
});

test('a draft deleted during its grace period (invoice-deleted-v1): the refresh and the finalization find the tombstone, the workflow ends as deleted and never prepares collection', async () => {
  const { activities, calls } = fakeActivities({ deletedInvoiceIds: ['inv-deleted'] });
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: SUBSCRIPTION_TASK_QUEUE, workflowBundle, activities });
  await runUntilSettled(env, worker, async () => {
    const handle = await env.client.workflow.start(invoiceWorkflow, {
      workflowId: invoiceWorkflowId('inv-deleted'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [{ version: 1, organizationId: 'org-1', invoiceId: 'inv-deleted', gracePeriodDays: 2 }],
    });
    await env.sleep(DAY_MS);
    await handle.signal(refreshInvoiceSignal);
    await eventually(() => calls.refreshDraftInvoice.length === 1, 'refresh done');
    await eventually(async () => (await handle.query(invoiceStateQuery)).status === 'deleted', 'the tombstone seen by the refresh');
    const final = await handle.result();
    expect(final).toMatchObject({ invoiceId: 'inv-deleted', status: 'deleted', refreshes: 1 });
    expect(calls.finalizeInvoice).toEqual([ref('inv-deleted')]);
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((n): n is string => !!n);
    expect(scheduled).toEqual(['refreshDraftInvoice', 'finalizeInvoice']);
    expect(scheduled).not.toContain('prepareCollection');
    const patchIds = (history.events ?? []).flatMap((e) => {
      const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
      return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
    });
    // Its own marker, and no payments-v1 marker: the collection branch is never reached.
    expect(patchIds).toEqual(['invoice-deleted-v1']);
  });
});
