// Payment collection and the dunning ladder of the invoice workflow on the time-skipping server: the payment
// activities are scripted doubles of the real type; every attempt's arguments (idempotency keys included),
// timers between attempts, the search attributes and the consequence are asserted.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { invoiceWorkflow } from '../../workflows';
import {
  SEARCH_ATTRIBUTE_KEYS,
  SUBSCRIPTION_TASK_QUEUE,
  finalizeInvoiceUpdate,
  invoicePaymentQuery,
  invoicePaymentSignal,
  invoiceWorkflowId,
  retryPaymentUpdate,
  voidInvoiceUpdate,
} from '../../workflows/messages';
import { runUntilSettled } from '../support/workflow-leaks';
import { eventually, fakeActivities, sharedTimeSkippingServer } from './fakes';
import { fakePaymentActivities, type PaymentFakeOptions } from './payment-fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

sharedTimeSkippingServer((started, bundle) => {
  [env, workflowBundle] = [started, bundle];
});

const DAY_MS = 86_400_000;
const CAMPAIGN = { code: 'default', maxAttempts: 3, daysBetweenAttempts: 2, consequence: 'mark_uncollectible' as const };
const STRIPE = { providerConfigured: true, dunning: CAMPAIGN };

async function run(invoiceId: string, opts: PaymentFakeOptions, body: (handle: Awaited<ReturnType<typeof env.client.workflow.start<typeof invoiceWorkflow>>>, startMs: number) => Promise<void>) {
  const payments = fakePaymentActivities(opts);
  const billing = fakeActivities();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: SUBSCRIPTION_TASK_QUEUE,
    workflowBundle,
    activities: { ...billing.activities, ...payments.activities },
  });
  await runUntilSettled(env, worker, async () => {
    const startMs = await env.currentTimeMs();
    const handle = await env.client.workflow.start(invoiceWorkflow, {
      workflowId: invoiceWorkflowId(invoiceId),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [{ version: 1, organizationId: 'org-1', invoiceId, gracePeriodDays: 0 }],
    });
    await body(handle, startMs);
  });
  return payments.calls;
}

const key = (invoiceId: string, n: number) => ({ organizationId: 'org-1', invoiceId, attempt: n, idempotencyKey: `invoice:${invoiceId}:attempt:${n}` });

async function searchAttributes(handle: { describe(): Promise<{ typedSearchAttributes: { get(k: unknown): unknown } }> }) {
  const d = await handle.describe();
  return { status: d.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.PaymentStatus), dunningAttempt: d.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.DunningAttempt) };
}

test('success on attempt 1: one payment attempt keyed invoice:<id>:attempt:1, no timer, PaymentStatus succeeded and DunningAttempt 0', async () => {
  const calls = await run('inv-pay-1', { plan: STRIPE }, async (handle) => {
    await handle.result();
    expect(await handle.query(invoicePaymentQuery)).toMatchObject({ status: 'succeeded', attempts: 1, maxAttempts: 4, nextAttemptAt: null, consequence: null });
    expect(await searchAttributes(handle)).toEqual({ status: 'succeeded', dunningAttempt: 0 });
    const history = await handle.fetchHistory();
    expect(history.events?.some((e) => e.timerStartedEventAttributes)).toBe(false);
  });
  expect(calls.prepareCollection).toEqual([{ organizationId: 'org-1', invoiceId: 'inv-pay-1' }]);
  expect(calls.attemptPayment).toEqual([key('inv-pay-1', 1)]);
  expect(calls.applyDunningConsequence).toEqual([]);
});

test('success on attempt 3: two declines, each followed by a 2-day timer, then a charge; keys 1..3 and the last decline code kept', async () => {
  const calls = await run('inv-pay-3', { plan: STRIPE, attempts: (n) => (n < 3 ? { decline: n === 1 ? 'insufficient_funds' : 'do_not_honor' } : 'succeeds') }, async (handle, startMs) => {
    await handle.result();
    expect((await env.currentTimeMs()) - startMs).toBeGreaterThanOrEqual(4 * DAY_MS);
    expect(await handle.query(invoicePaymentQuery)).toMatchObject({ status: 'succeeded', attempts: 3, lastDeclineCode: 'do_not_honor', lastFailureType: 'payment_declined' });
    expect(await searchAttributes(handle)).toEqual({ status: 'succeeded', dunningAttempt: 2 });
    const timers = (await handle.fetchHistory()).events?.filter((e) => e.timerStartedEventAttributes) ?? [];
    expect(timers).toHaveLength(2);
  });
  expect(calls.attemptPayment).toEqual([key('inv-pay-3', 1), key('inv-pay-3', 2), key('inv-pay-3', 3)]);
  expect(calls.applyDunningConsequence).toEqual([]);
});

test('exhausted: attempt 1 and all 3 dunning attempts decline, then the campaign consequence is applied once and PaymentStatus is uncollectible', async () => {
  const calls = await run('inv-pay-x', { plan: { ...STRIPE, dunning: { ...CAMPAIGN, consequence: 'terminate_subscription' as never } }, attempts: () => ({ decline: 'card_declined' }) }, async (handle, startMs) => {
    await handle.result();
    expect((await env.currentTimeMs()) - startMs).toBeGreaterThanOrEqual(6 * DAY_MS);
    expect(await handle.query(invoicePaymentQuery)).toMatchObject({ status: 'uncollectible', attempts: 4, consequence: 'terminate_subscription' });
    expect(await searchAttributes(handle)).toEqual({ status: 'uncollectible', dunningAttempt: 3 });
  });
  expect(calls.attemptPayment.map((c) => c.idempotencyKey)).toEqual([1, 2, 3, 4].map((n) => `invoice:inv-pay-x:attempt:${n}`));
  expect(calls.applyDunningConsequence).toEqual([{ organizationId: 'org-1', invoiceId: 'inv-pay-x', subscriptionId: 'sub-1', consequence: 'terminate_subscription', attempts: 4 }]);
});

test('a payment webhook signal during dunning stops the ladder: no further attempt and no consequence', async () => {
  const calls = await run('inv-pay-hook', { plan: STRIPE, attempts: () => ({ decline: 'insufficient_funds' }) }, async (handle) => {
    await eventually(async () => (await handle.query(invoicePaymentQuery))?.status === 'dunning', 'dunning after attempt 1');
    await handle.signal(invoicePaymentSignal, { source: 'webhook', eventId: 'evt_1', kind: 'succeeded', invoicePaymentStatus: 'succeeded', providerPaymentId: 'pi_x' });
    await handle.result();
    expect(await handle.query(invoicePaymentQuery)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });
  expect(calls.attemptPayment).toEqual([key('inv-pay-hook', 1)]);
  expect(calls.applyDunningConsequence).toEqual([]);
});

test('3-D Secure: the attempt waits for the customer; a failed webhook moves on to the next attempt at its time', async () => {
  const calls = await run('inv-pay-3ds', { plan: STRIPE, attempts: (n) => (n === 1 ? 'requires_action' : 'succeeds') }, async (handle) => {
    await eventually(async () => (await handle.query(invoicePaymentQuery))?.status === 'requires_action', 'waiting for the customer');
    expect(await searchAttributes(handle)).toEqual({ status: 'requires_action', dunningAttempt: 0 });
    await handle.signal(invoicePaymentSignal, { source: 'webhook', eventId: 'evt_f', kind: 'failed', invoicePaymentStatus: 'failed', providerPaymentId: 'pi_1' });
    await handle.result();
    expect(await handle.query(invoicePaymentQuery)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });
  expect(calls.attemptPayment).toEqual([key('inv-pay-3ds', 1), key('inv-pay-3ds', 2)]);
});

test('without a provider nothing is attempted; past the due date the unpaid invoice is marked overdue by the timer', async () => {
  const calls = await run('inv-pay-none', { plan: { providerConfigured: false, paymentDueDate: '2000-01-01' } }, async (handle) => {
    await handle.result();
    expect(await handle.query(invoicePaymentQuery)).toMatchObject({ status: 'not_collected', providerConfigured: false, attempts: 0, overdue: true });
  });
  expect(calls.attemptPayment).toEqual([]);
  expect(calls.markInvoiceOverdue).toEqual([{ organizationId: 'org-1', invoiceId: 'inv-pay-none' }]);
});

describe('invoice actions through workflow updates', () => {
  async function start(invoiceId: string, opts: PaymentFakeOptions, gracePeriodDays: number, body: (h: Awaited<ReturnType<typeof env.client.workflow.start<typeof invoiceWorkflow>>>, startMs: number) => Promise<void>) {
    const payments = fakePaymentActivities(opts);
    const billing = fakeActivities();
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: SUBSCRIPTION_TASK_QUEUE, workflowBundle, activities: { ...billing.activities, ...payments.activities } });
    await runUntilSettled(env, worker, async () => {
      const startMs = await env.currentTimeMs();
      const handle = await env.client.workflow.start(invoiceWorkflow, {
        workflowId: invoiceWorkflowId(invoiceId),
        taskQueue: SUBSCRIPTION_TASK_QUEUE,
        args: [{ version: 1, organizationId: 'org-1', invoiceId, gracePeriodDays }],
      });
      await body(handle, startMs);
    });
    return { payments: payments.calls, billing: billing.calls };
  }

  test('finalizeInvoiceUpdate ends a 5-day grace period at once and answers the finalized state; a second finalize is rejected is_not_draft', async () => {
    // A due date keeps the workflow open after finalization (its overdue watch), so the second update meets a running
    // workflow and its validator; without one the workflow may complete first and the update finds no workflow.
    const calls = await start('inv-act-fin', { plan: { paymentDueDate: '2099-12-31' } }, 5, async (handle, startMs) => {
      const state = await handle.executeUpdate(finalizeInvoiceUpdate);
      expect(state).toMatchObject({ status: 'finalized' });
      expect((await env.currentTimeMs()) - startMs).toBeLessThan(DAY_MS);
      await expect(handle.executeUpdate(finalizeInvoiceUpdate)).rejects.toMatchObject({ cause: { type: 'is_not_draft' } });
      await handle.terminate('test done'); // only the overdue watch's timer is left
    });
    expect(calls.billing.finalizeInvoice).toHaveLength(1);
  });

  test('voidInvoiceUpdate during dunning voids the invoice and stops the ladder: no second attempt, no consequence', async () => {
    const calls = await start('inv-act-void', { plan: STRIPE, attempts: () => ({ decline: 'insufficient_funds' }) }, 0, async (handle) => {
      await eventually(async () => (await handle.query(invoicePaymentQuery))?.status === 'dunning', 'dunning');
      const state = await handle.executeUpdate(voidInvoiceUpdate);
      expect(state).toMatchObject({ status: 'voided', nextAttemptAt: null });
      await handle.result();
      expect(await searchAttributes(handle)).toEqual({ status: 'voided', dunningAttempt: 0 });
      await expect(handle.query(invoicePaymentQuery)).resolves.toMatchObject({ status: 'voided' });
    });
    expect(calls.payments.voidInvoice).toEqual([{ organizationId: 'org-1', invoiceId: 'inv-act-void' }]);
    expect(calls.payments.attemptPayment).toHaveLength(1);
    expect(calls.payments.applyDunningConsequence).toEqual([]);
  });

  test('retryPaymentUpdate during dunning runs the next attempt now, without waiting for the 2-day timer', async () => {
    const calls = await start('inv-act-retry', { plan: STRIPE, attempts: (n) => (n === 1 ? { decline: 'insufficient_funds' } : 'succeeds') }, 0, async (handle, startMs) => {
      await eventually(async () => (await handle.query(invoicePaymentQuery))?.status === 'dunning', 'dunning');
      await handle.executeUpdate(retryPaymentUpdate);
      await eventually(async () => (await handle.query(invoicePaymentQuery))?.status === 'succeeded', 'paid by the retry');
      expect((await env.currentTimeMs()) - startMs).toBeLessThan(DAY_MS);
      await handle.result();
    });
    expect(calls.payments.attemptPayment).toEqual([key('inv-act-retry', 1), key('inv-act-retry', 2)]);
    expect(calls.payments.voidInvoice).toEqual([]);
  });

  test('without a provider retry_payment is rejected payment_not_retryable; void stops the overdue wait and ends the workflow', async () => {
    const calls = await start('inv-act-none', { plan: { providerConfigured: false, paymentDueDate: '2999-01-01' } }, 0, async (handle) => {
      await eventually(async () => (await handle.query(invoicePaymentQuery)) !== null, 'collection prepared');
      await expect(handle.executeUpdate(retryPaymentUpdate)).rejects.toMatchObject({ cause: { type: 'payment_not_retryable' } });
      await expect(handle.executeUpdate(voidInvoiceUpdate)).resolves.toMatchObject({ status: 'voided' });
      await handle.result(); // voided: nothing left to wait for (a later void is answered from Postgres by the API)
    });
    expect(calls.payments.attemptPayment).toEqual([]);
    expect(calls.payments.markInvoiceOverdue).toEqual([]);
  });
});
