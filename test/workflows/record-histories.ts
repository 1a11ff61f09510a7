// Records real workflow histories for test/workflows/replay.test.ts.
//
//   npx tsx test/workflows/record-histories.ts                                  (every group)
//   npx tsx test/workflows/record-histories.ts subscription-usage-thresholds    (only the named groups)
//
// Runs the current workflows on the time-skipping test server (search attributes registered) with the fake
// activities, and saves each run's `handle.fetchHistory()` as JSON (`historyToJSON`, the format Temporal's
// CLI and Web UI export). Re-record only on purpose: the point of the replay test is that histories recorded
// by an older version still replay on the new code.
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { invoiceWorkflow, subscriptionWorkflow } from '../../workflows';
import {
  SUBSCRIPTION_TASK_QUEUE,
  fixedChargeUnitsChangedSignal,
  invoicePaymentQuery,
  invoicePaymentSignal,
  invoiceStateQuery,
  invoiceWorkflowId,
  refreshInvoiceSignal,
  retryInvoiceUpdate,
  retryPeriodCloseSignal,
  stateQuery,
  subscriptionSuspensionSignal,
  subscriptionWorkflowId,
  terminateUpdate,
  usageSignal,
} from '../../workflows/messages';
import { bundleWorkflows, createTimeSkippingEnv, eventually, fakeActivities, invalidPlan, subscriptionState, type FakeOptions } from './fakes';
import { THRESHOLD_RULES, postgresLikeEvaluation } from './threshold-fakes';
import { fakePaymentActivities, type PaymentFakeOptions } from './payment-fakes';
import { MIN_CHECK_SPACING_MS } from '../../workflows/subscription';
import { testClockAdvancedSignal } from '../../workflows/test-clock';
import { planChangeUpdate, subscriptionTermsUpdate } from '../../workflows/plan-changes';
import { fakePlanChangeActivities } from './plan-change-fakes';
import { fakeUnusedFeeCreditActivities } from './unused-fee-credit-fakes';
import { subscriptionStartUpdate } from '../../workflows/pending-start';
import type { InvoiceLiveState } from '../../contracts/workflows';

/** Plan changes the recorder's fake applyPlanChange knows (patch plan-changes-v1). */
const REC_PLAN_CHANGES = { 'chg-rec-up': { planCode: 'scale', interval: 'yearly' as const }, 'chg-rec-adv-up': { planCode: 'pro', interval: 'monthly' as const } };

const OUT = path.join(__dirname, 'histories');
const HOUR_MS = 3_600_000;
const MONTHLY_NY = { interval: 'monthly', billingTime: 'calendar', timezone: 'America/New_York' } as const;
const TEST_CLOCK_START = '2026-01-01T00:00:00.000Z';

type Save = (name: string, workflowId: string, runId: string) => Promise<void>;

/** 'sub-rec-adv-early' (advance-early-usage-v1): its startAdvancePeriod waits until the recorder has signalled usage. */
const recEarly: { release: () => void; gate: Promise<void> } = { release: () => undefined, gate: Promise.resolve() };

/** What the recorder's fake syncSubscriptionSuspension answers (dunning-suspend-v1). */
const recSuspension = { paid: false };

/** One time-skipping server per group: time skipping stalls after a child start + continue-as-new (fakes.ts). */
async function withServer(fn: (env: TestWorkflowEnvironment, save: Save) => Promise<void>, fakes: FakeOptions = {}, payments?: PaymentFakeOptions): Promise<void> {
  const env = await createTimeSkippingEnv();
  try {
    const failedOnce = new Set<string>();
    const { activities } = fakeActivities({
      ...fakes,
      // 'sub-rec-failure' fails its first close with a business failure.
      createPeriodInvoiceFailure: (_index, input) => {
        // 'sub-rec-clock-failure' too (on a test clock, patch test-clock-plan-changes-v1).
        if (!['sub-rec-failure', 'sub-rec-clock-failure'].includes(input.subscriptionId) || failedOnce.has(input.subscriptionId)) return undefined;
        failedOnce.add(input.subscriptionId);
        return invalidPlan();
      },
    });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      workflowBundle: await bundleWorkflows(),
      activities: {
        ...(payments ? { ...activities, ...fakePaymentActivities(payments).activities } : activities),
        ...fakePlanChangeActivities(REC_PLAN_CHANGES).activities,
        ...fakeUnusedFeeCreditActivities().activities,
        startAdvancePeriod: async (input: Parameters<typeof activities.startAdvancePeriod>[0]) => {
          if (input.subscriptionId === 'sub-rec-adv-early') await recEarly.gate;
          return activities.startAdvancePeriod(input);
        },
        // Test clocks: the clock's time as Postgres holds it (workflows on a clock read it when they start).
        readTestClock: async () => ({ frozenTime: TEST_CLOCK_START }),
        // Dunning suspension (patch dunning-suspend-v1): suspended until the recorder marks the invoice paid.
        syncSubscriptionSuspension: async () =>
          recSuspension.paid
            ? { invoiceIds: [], since: null, resumedInvoiceIds: ['inv-rec-suspending'] }
            : { invoiceIds: ['inv-rec-suspending'], since: '2026-01-01T00:00:00.000Z', resumedInvoiceIds: [] },
      },
    });
    const save: Save = async (name, workflowId, runId) => {
      const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
      fs.writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history) + '\n');
      console.log(`saved ${name}.json (${history.events?.length} events)`);
    };
    await worker.runUntil(fn(env, save));
  } finally {
    await env.teardown();
  }
}

const only = process.argv.slice(2);
const wanted = (group: string) => only.length === 0 || only.includes(group);

/** An invoice workflow with a 2-day grace period, refreshed one day in (until `refreshed`), run to its end, saved. */
async function recordGraceRefresh(env: TestWorkflowEnvironment, save: Save, invoiceId: string, name: string, refreshed: (s: InvoiceLiveState) => boolean): Promise<void> {
  const invoice = await env.client.workflow.start(invoiceWorkflow, {
    workflowId: invoiceWorkflowId(invoiceId),
    taskQueue: SUBSCRIPTION_TASK_QUEUE,
    args: [{ version: 1, organizationId: 'org-1', invoiceId, gracePeriodDays: 2 }],
  });
  await env.sleep(24 * HOUR_MS);
  await invoice.signal(refreshInvoiceSignal);
  await eventually(async () => refreshed(await invoice.query(invoiceStateQuery)), 'refreshed');
  await invoice.result();
  await save(name, invoice.workflowId, invoice.firstExecutionRunId);
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });

  // An invoice with a 2-day grace period and one refresh during it, then finalized.
  if (wanted('invoice-grace-refresh-finalize')) await withServer((env, save) => recordGraceRefresh(env, save, 'inv-rec-grace', 'invoice-grace-refresh-finalize', (s) => s.refreshes === 1));

  // Payment collection (patched 'payments-v1'): attempt 1 and dunning attempt 1 decline, a 3-D Secure attempt
  // fails by webhook, the 4th attempt succeeds.
  if (wanted('invoice-dunning-paid')) await withServer(async (env, save) => {
    const invoice = await env.client.workflow.start(invoiceWorkflow, {
      workflowId: invoiceWorkflowId('inv-rec-dunning'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [{ version: 1, organizationId: 'org-1', invoiceId: 'inv-rec-dunning', gracePeriodDays: 0 }],
    });
    for (let day = 0; day < 10 && (await invoice.query(invoicePaymentQuery))?.status !== 'requires_action'; day++) await env.sleep(24 * HOUR_MS);
    await eventually(async () => (await invoice.query(invoicePaymentQuery))?.status === 'requires_action', 'requires_action');
    await invoice.signal(invoicePaymentSignal, { source: 'webhook', eventId: 'evt_rec_1', kind: 'failed', invoicePaymentStatus: 'failed', providerPaymentId: 'pi_3' });
    await invoice.result();
    await save('invoice-dunning-paid', invoice.workflowId, invoice.firstExecutionRunId);
  }, {}, {
    plan: { providerConfigured: true, paymentDueDate: '2000-01-01', dunning: { code: 'default', maxAttempts: 3, daysBetweenAttempts: 2, consequence: 'mark_uncollectible' } },
    attempts: (n) => (n <= 2 ? { decline: 'insufficient_funds' } : n === 3 ? 'requires_action' : 'succeeds'),
  });

  // A subscription that closed two periods: run 1 (usage signal, close, continue-as-new) and run 2 (close,
  // continue-as-new). Its periods ended in the past, so each run closes at once.
  if (wanted('subscriptions')) await withServer(async (env, save) => {
    const workflowId = subscriptionWorkflowId('sub-rec-periods');
    const handle = await env.client.workflow.signalWithStart(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-periods', schedule: { subscriptionAt: '2026-01-15T10:00:00Z', ...MONTHLY_NY } })],
      signal: usageSignal,
      signalArgs: [{ deltas: [{ metricCode: 'tokens', bucketStart: '2026-01-20T00:00:00.000Z', eventsCount: 2, units: '0.5' }] }],
    });
    await eventually(async () => (await env.client.workflow.getHandle(workflowId).query(stateQuery)).closedPeriods >= 3, 'three closes');
    const run1 = handle.signaledRunId;
    const run1History = await env.client.workflow.getHandle(workflowId, run1).fetchHistory();
    const run2 = run1History.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!run2) throw new Error('run 1 did not continue as new');
    await save('subscription-closed-period-run1', workflowId, run1);
    await save('subscription-closed-period-run2', workflowId, run2);
    await env.client.workflow.getHandle(workflowId).terminate('recorded');

    // A subscription whose first close fails with 'invalid_plan', then succeeds on the operator's retry signal.
    const failureId = subscriptionWorkflowId('sub-rec-failure');
    const failing = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: failureId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-failure', schedule: { subscriptionAt: '2026-01-15T10:00:00Z', ...MONTHLY_NY } })],
    });
    await eventually(async () => (await failing.query(stateQuery)).billingFailure !== null, 'close failed');
    await failing.signal(retryPeriodCloseSignal);
    await eventually(async () => (await env.client.workflow.getHandle(failureId).query(stateQuery)).closedPeriods >= 1, 'closed after retry');
    await save('subscription-close-failed-then-retried', failureId, failing.firstExecutionRunId);
    await env.client.workflow.getHandle(failureId).terminate('recorded');

    // A subscription in its open period: usage, then terminated mid-period through the update.
    const now = await env.currentTimeMs();
    const subscriptionAt = new Date(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    const terminated = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId('sub-rec-terminated'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [
        subscriptionState({
          subscriptionId: 'sub-rec-terminated',
          schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' },
        }),
      ],
    });
    await terminated.signal(usageSignal, { deltas: [{ metricCode: 'tokens', bucketStart: subscriptionAt, eventsCount: 1, units: '3' }] });
    const terminatedAt = new Date(Date.parse(subscriptionAt) + 5 * 24 * HOUR_MS).toISOString();
    await terminated.executeUpdate(terminateUpdate, { args: [{ terminatedAt }] });
    await terminated.result();
    await save('subscription-terminated', terminated.workflowId, terminated.firstExecutionRunId);
  });

  // Usage thresholds (patch usage-thresholds-v1): rules loaded, a first-usage check, a signal whose estimate
  // crosses the 1000-cent threshold, the crossing check issuing a progressive invoice (its invoice workflow is
  // started), then terminated mid-period through the update. Fakes as in thresholds.test.ts.
  const db = { amountCents: 0 };
  if (wanted('subscription-usage-thresholds')) await withServer(async (env, save) => {
    const now = await env.currentTimeMs();
    const subscriptionAt = new Date(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId('sub-rec-thresholds'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-thresholds', schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    const tokens = (units: number) => ({ deltas: [{ metricCode: 'tokens', bucketStart: subscriptionAt, eventsCount: 1, units: String(units) }] });
    db.amountCents = 500;
    await handle.signal(usageSignal, tokens(500));
    await eventually(async () => (await handle.query(stateQuery)).usageChecks?.checks === 1, 'first-usage check');
    db.amountCents = 1100;
    await handle.signal(usageSignal, tokens(600));
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 2, 'second signal');
    await env.sleep(MIN_CHECK_SPACING_MS);
    await eventually(async () => (await handle.query(stateQuery)).usageChecks?.progressiveInvoiceIds.length === 1, 'progressive invoice started');
    const terminatedAt = new Date(Date.parse(subscriptionAt) + 5 * 24 * HOUR_MS).toISOString();
    await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt }] });
    await handle.result();
    await save('subscription-usage-thresholds', handle.workflowId, handle.firstExecutionRunId);
  }, { billingRules: THRESHOLD_RULES, evaluateUsageThresholds: postgresLikeEvaluation(db) });

  // Pay in advance (patched 'advance-billing-v1'): an advance plan with a pay-in-advance charge, started 40 days
  // ago. Run 1: the start invoice, the in-advance events billed before the close, the close, continue-as-new.
  // Run 2: a usage signal for the in-advance metric (a per-event invoice), then a termination with
  // on_termination_invoice skip (events billed once more, no termination invoice).
  if (wanted('subscription-pay-in-advance')) {
    const advanceAt = new Date(Math.floor((Date.now() - 40 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    await withServer(async (env, save) => {
      const workflowId = subscriptionWorkflowId('sub-rec-advance');
      const handle = await env.client.workflow.start(subscriptionWorkflow, {
        workflowId,
        taskQueue: SUBSCRIPTION_TASK_QUEUE,
        args: [subscriptionState({ subscriptionId: 'sub-rec-advance', schedule: { subscriptionAt: advanceAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
      });
      await eventually(async () => {
        const events = (await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory()).events ?? [];
        return Boolean(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes);
      }, 'run 1 continued as new');
      const run1History = await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory();
      const run2 = run1History.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (!run2) throw new Error('run 1 did not continue as new');
      const latest = env.client.workflow.getHandle(workflowId, run2);
      await eventually(async () => ((await latest.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), 'run 2 waits on its timer');
      await latest.signal(usageSignal, { deltas: [{ metricCode: 'transfers', bucketStart: new Date(Date.parse(advanceAt) + 35 * 24 * HOUR_MS).toISOString(), eventsCount: 1, units: '3' }] });
      await eventually(async () => ((await latest.fetchHistory()).events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length >= 1, 'per-event invoice started');
      const terminatedAt = new Date((await env.currentTimeMs()) - HOUR_MS).toISOString();
      await latest.executeUpdate(terminateUpdate, { args: [{ terminatedAt, onTerminationInvoice: 'skip' }] });
      await latest.result();
      await save('subscription-pay-in-advance-run1', workflowId, handle.firstExecutionRunId);
      await save('subscription-pay-in-advance-run2', workflowId, run2);
    }, {
      advance: { subscriptionAt: advanceAt, payInAdvance: true, inAdvanceMetricCodes: ['transfers'] },
      inAdvanceInvoices: (_i, input) => (Date.parse(input.period.start) > Date.parse(advanceAt) ? [`inv-rec-adv-fee-${input.period.start}`] : []),
    });
  }
  // Test clocks (patch test-clocks-v1): a subscription on a clock reads the clock, closes January when the clock is
  // advanced to Feb 1 (its invoice workflow started on the clock), continues as new; run 2 is terminated at the
  // clock's time. An invoice with a 2-day grace period on a clock is finalized when the clock passes its end.
  if (wanted('test-clocks')) await withServer(async (env, save) => {
    const workflowId = subscriptionWorkflowId('sub-rec-clock');
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-clock', testClockId: 'clock-rec', schedule: { subscriptionAt: TEST_CLOCK_START, interval: 'monthly', billingTime: 'calendar', timezone: 'UTC' } })],
    });
    await eventually(async () => (await handle.query(stateQuery)).currentPeriod !== null, 'clock read');
    await handle.signal(testClockAdvancedSignal, { testClockId: 'clock-rec', frozenTime: '2026-02-01T00:00:00.000Z' });
    await eventually(async () => (await env.client.workflow.getHandle(workflowId).query(stateQuery)).closedPeriods === 1, 'January closed on the clock');
    const run1History = await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory();
    const run2 = run1History.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!run2) throw new Error('run 1 did not continue as new');
    await save('subscription-test-clock-run1', workflowId, handle.firstExecutionRunId);
    await env.client.workflow.getHandle(workflowId).signal(testClockAdvancedSignal, { testClockId: 'clock-rec', frozenTime: '2026-02-10T00:00:00.000Z' });
    await env.client.workflow.getHandle(workflowId).executeUpdate(terminateUpdate, { args: [{}] });
    await env.client.workflow.getHandle(workflowId).result();
    await save('subscription-test-clock-terminated', workflowId, run2);

    const invoice = await env.client.workflow.start(invoiceWorkflow, {
      workflowId: invoiceWorkflowId('inv-rec-clock'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [{ version: 1, organizationId: 'org-1', invoiceId: 'inv-rec-clock', gracePeriodDays: 2, testClockId: 'clock-rec', testClockNow: '2026-01-05T00:00:00.000Z' }],
    });
    await eventually(async () => (await invoice.query(invoiceStateQuery)).graceEndsAt !== null, 'grace started');
    await invoice.signal(testClockAdvancedSignal, { testClockId: 'clock-rec', frozenTime: '2026-01-08T00:00:00.000Z' });
    await invoice.result();
    await save('invoice-test-clock-grace', invoice.workflowId, invoice.firstExecutionRunId);
  });
  // regroup_paid_fees (patch regroup-paid-fees-v1): a past period closes at once, then regroupPaidFees runs after its
  // invoice, and the run continues as new (run 1 saved).
  if (wanted('regroup-paid-fees')) await withServer(async (env, save) => {
    const workflowId = subscriptionWorkflowId('sub-rec-regroup');
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-regroup', schedule: { subscriptionAt: '2026-01-15T10:00:00Z', ...MONTHLY_NY } })],
    });
    await eventually(async () => (await env.client.workflow.getHandle(workflowId).query(stateQuery)).closedPeriods >= 1, 'one close');
    await save('subscription-regroup-paid-fees-close', workflowId, handle.firstExecutionRunId);
    await env.client.workflow.getHandle(workflowId).terminate('recorded');
  });
  // Test-clock coverage (patch test-clock-coverage-v1): a subscription on a clock with a progressive threshold and
  // an ending_at set through the terms update (validated against the clock). Usage crossing the threshold on the
  // frozen clock; the clock advanced to Jan 10 runs one check as of the clock (a progressive invoice on the clock);
  // advanced to Jan 25, past ending_at (Jan 20): the subscription is terminated at ending_at.
  const clockDb = { amountCents: 0 };
  if (wanted('test-clock-coverage')) await withServer(async (env, save) => {
    const workflowId = subscriptionWorkflowId('sub-rec-clock-cov');
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-clock-cov', testClockId: 'clock-rec', schedule: { subscriptionAt: TEST_CLOCK_START, interval: 'monthly', billingTime: 'calendar', timezone: 'UTC' } })],
    });
    await eventually(async () => (await handle.query(stateQuery)).usageChecks !== null, 'rules loaded on the clock');
    await handle.executeUpdate(subscriptionTermsUpdate, { args: [{ endingAt: '2026-01-20T00:00:00.000Z' }] });
    clockDb.amountCents = 1100;
    await handle.signal(usageSignal, { deltas: [{ metricCode: 'tokens', bucketStart: TEST_CLOCK_START, eventsCount: 1, units: '1100' }] });
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 1, 'usage signal');
    await handle.signal(testClockAdvancedSignal, { testClockId: 'clock-rec', frozenTime: '2026-01-10T00:00:00.000Z' });
    await eventually(async () => (await handle.query(stateQuery)).usageChecks?.progressiveInvoiceIds.length === 1, 'progressive invoice on the clock');
    await handle.signal(testClockAdvancedSignal, { testClockId: 'clock-rec', frozenTime: '2026-01-25T00:00:00.000Z' });
    await handle.result();
    await save('subscription-test-clock-thresholds-ending', workflowId, handle.firstExecutionRunId);
  }, { billingRules: THRESHOLD_RULES, evaluateUsageThresholds: postgresLikeEvaluation(clockDb) });
  // Dunning suspension (patched 'dunning-suspend-v1'): a subscription suspended by an unpaid invoice (carried in its
  // state) whose period ended: the close is held (the suspension re-read), the invoice is paid, the wake-up signal
  // re-reads it, the held close runs and the run continues as new (run 1 of the subscription).
  if (wanted('subscription-suspended-then-resumed')) await withServer(async (env, save) => {
    recSuspension.paid = false;
    const now = await env.currentTimeMs();
    const subscriptionAt = new Date(Math.floor((now - 40 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId('sub-rec-suspended'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-suspended', suspension: { invoiceIds: ['inv-rec-suspending'], since: subscriptionAt }, schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await eventually(async () => (await handle.query(stateQuery)).suspension?.heldPeriodEnd != null, 'close held');
    recSuspension.paid = true;
    await handle.signal(subscriptionSuspensionSignal, { reason: 'invoice_paid', invoiceId: 'inv-rec-suspending' });
    await eventually(async () => (await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe()).status.name === 'CONTINUED_AS_NEW', 'held close ran');
    await save('subscription-suspended-then-resumed', handle.workflowId, handle.firstExecutionRunId);
    await env.client.workflow.getHandle(handle.workflowId).terminate('recorded');
  });
  // Plan changes (patched 'plan-changes-v1'): an upgrade mid-period — the old plan's partial period invoiced, the
  // change applied, continue-as-new on the new plan and interval (run 1 of the subscription).
  if (wanted('subscription-plan-change-upgrade')) await withServer(async (env, save) => {
    const now = await env.currentTimeMs();
    const subscriptionAt = new Date(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId('sub-rec-upgrade'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-upgrade', schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await handle.executeUpdate(planChangeUpdate, { args: [{ changeId: 'chg-rec-up', kind: 'upgrade', planCode: 'scale', effectiveAt: new Date(now - HOUR_MS).toISOString() }] });
    await eventually(async () => (await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe()).status.name === 'CONTINUED_AS_NEW', 'continued as new');
    await save('subscription-plan-change-upgrade', handle.workflowId, handle.firstExecutionRunId);
    await env.client.workflow.getHandle(handle.workflowId).terminate('recorded');
  });
}

async function issue11Groups(): Promise<void> {
  // The unused advance fee's credit (patched 'unused-fee-credit-v1'): an advance plan started 3 days ago, terminated
  // an hour ago: the termination invoice, the credit activity, then the invoice workflow and the termination mark.
  if (wanted('subscription-unused-fee-credit')) {
    const advanceAt = new Date(Math.floor((Date.now() - 3 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    await withServer(async (env, save) => {
      const handle = await env.client.workflow.start(subscriptionWorkflow, {
        workflowId: subscriptionWorkflowId('sub-rec-credit'),
        taskQueue: SUBSCRIPTION_TASK_QUEUE,
        args: [subscriptionState({ subscriptionId: 'sub-rec-credit', schedule: { subscriptionAt: advanceAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
      });
      await eventually(async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), 'the run waits on its timer');
      await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt: new Date((await env.currentTimeMs()) - HOUR_MS).toISOString() }] });
      await handle.result();
      await save('subscription-unused-fee-credit', handle.workflowId, handle.firstExecutionRunId);
    }, { advance: { subscriptionAt: advanceAt, payInAdvance: true } });
  }
  // A pending subscription's start moved (patched 'pending-start-move-v1'): the run waiting for its start gets
  // subscriptionStartUpdate and continues as new with the moved start (run 1 saved).
  if (wanted('subscription-pending-start-moved')) await withServer(async (env, save) => {
    const now = await env.currentTimeMs();
    const start = Math.floor(now / HOUR_MS) * HOUR_MS + 48 * HOUR_MS;
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId('sub-rec-pending'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-pending', schedule: { subscriptionAt: new Date(start).toISOString(), interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await eventually(async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), 'the run waits for its start');
    await handle.executeUpdate(subscriptionStartUpdate, { args: [{ subscriptionAt: new Date(start + 48 * HOUR_MS).toISOString() }] });
    await eventually(async () => (await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe()).status.name === 'CONTINUED_AS_NEW', 'continued as new');
    await save('subscription-pending-start-moved', handle.workflowId, handle.firstExecutionRunId);
    await env.client.workflow.getHandle(handle.workflowId).terminate('recorded');
  });
}

async function terminationGroups(): Promise<void> {
  // on_termination_credit_note=refund (patched 'unused-fee-refund-v1'): the termination invoice, the refund activity,
  // the invoice workflow, the termination mark; the stored options read first (patched 'termination-options-v1').
  if (wanted('subscription-termination-refund')) {
    const advanceAt = new Date(Math.floor((Date.now() - 3 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    await withServer(async (env, save) => {
      const handle = await env.client.workflow.start(subscriptionWorkflow, {
        workflowId: subscriptionWorkflowId('sub-rec-refund'),
        taskQueue: SUBSCRIPTION_TASK_QUEUE,
        args: [subscriptionState({ subscriptionId: 'sub-rec-refund', schedule: { subscriptionAt: advanceAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
      });
      await eventually(async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), 'the run waits on its timer');
      await handle.executeUpdate(terminateUpdate, { args: [{ terminatedAt: new Date((await env.currentTimeMs()) - HOUR_MS).toISOString(), onTerminationCreditNote: 'refund' }] });
      await handle.result();
      await save('subscription-termination-refund', handle.workflowId, handle.firstExecutionRunId);
    }, { advance: { subscriptionAt: advanceAt, payInAdvance: true } });
  }
  // ending_at reached with options stored on the subscription (patched 'termination-options-v1'): skip / skip, so
  // no termination invoice and no credit note.
  if (wanted('subscription-ending-stored-options')) {
    const advanceAt = new Date(Math.floor((Date.now() - 3 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    await withServer(async (env, save) => {
      const endingAt = new Date(Date.parse(advanceAt) + 4 * 24 * HOUR_MS).toISOString();
      const handle = await env.client.workflow.start(subscriptionWorkflow, {
        workflowId: subscriptionWorkflowId('sub-rec-ending-options'),
        taskQueue: SUBSCRIPTION_TASK_QUEUE,
        args: [subscriptionState({ subscriptionId: 'sub-rec-ending-options', schedule: { subscriptionAt: advanceAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' }, endingAt })],
      });
      await handle.result();
      await save('subscription-ending-stored-options', handle.workflowId, handle.firstExecutionRunId);
    }, { advance: { subscriptionAt: advanceAt, payInAdvance: true }, terminationOptions: { onTerminationInvoice: 'skip', onTerminationCreditNote: 'skip' } });
  }
}

async function planChangeAdvanceGroups(): Promise<void> {
  // An upgrade of a pay-in-advance plan (adv11): run 1 = the start invoice, the upgrade's close (the invoice that
  // carries the new plan's first advance fee: activities/plan-change-boundary.ts), the unused fee's credit, the
  // plan applied, continue-as-new; run 2 = the new plan's first period (no start invoice), waiting on its timer.
  if (wanted('subscription-advance-upgrade')) {
    const advanceAt = new Date(Math.floor((Date.now() - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    await withServer(async (env, save) => {
      const handle = await env.client.workflow.start(subscriptionWorkflow, {
        workflowId: subscriptionWorkflowId('sub-rec-adv-upgrade'),
        taskQueue: SUBSCRIPTION_TASK_QUEUE,
        args: [subscriptionState({ subscriptionId: 'sub-rec-adv-upgrade', schedule: { subscriptionAt: advanceAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
      });
      await eventually(async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), 'the run waits on its timer');
      const now = await env.currentTimeMs();
      await handle.executeUpdate(planChangeUpdate, { args: [{ changeId: 'chg-rec-adv-up', kind: 'upgrade', planCode: 'pro', effectiveAt: new Date(now - HOUR_MS).toISOString() }] });
      await eventually(async () => (await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe()).status.name === 'CONTINUED_AS_NEW', 'continued as new');
      const second = env.client.workflow.getHandle(handle.workflowId);
      await eventually(async () => ((await second.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), 'the new plan\'s run waits on its timer');
      const secondRunId = (await second.describe()).runId;
      await save('subscription-advance-upgrade-run1', handle.workflowId, handle.firstExecutionRunId);
      await save('subscription-advance-upgrade-run2', handle.workflowId, secondRunId);
      await second.terminate('recorded');
    }, { advance: { subscriptionAt: advanceAt, payInAdvance: true } });
  }
}

async function clockPlanChangeGroups(): Promise<void> {
  // Test clocks on the plan-change paths (patch test-clock-plan-changes-v1, adv11b). A pending subscription on a clock
  // (start Jan 10, clock Jan 1) waits on the clock, not on a timer: advanced to Jan 12 it is activated, then the run
  // waits for the period end on the clock (saved there). A close blocked by a business failure on the clock: January
  // fails once at Feb 1, its backoff counts on the clock, the clock advanced to 01:00 retries it, the run continues.
  if (wanted('test-clock-plan-changes')) await withServer(async (env, save) => {
    const pendingId = subscriptionWorkflowId('sub-rec-clock-pending');
    const pending = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: pendingId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-clock-pending', testClockId: 'clock-rec', schedule: { subscriptionAt: '2026-01-10T00:00:00.000Z', interval: 'monthly', billingTime: 'calendar', timezone: 'UTC' } })],
    });
    await eventually(async () => (await pending.query(stateQuery)).currentPeriod !== null, 'clock read');
    await pending.signal(testClockAdvancedSignal, { testClockId: 'clock-rec', frozenTime: '2026-01-12T00:00:00.000Z' });
    await eventually(async () => {
      const events = (await pending.fetchHistory()).events ?? [];
      return events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'activateSubscription') && events.filter((e) => e.activityTaskCompletedEventAttributes).length >= 2;
    }, 'activated on the clock');
    await env.sleep(1_000);
    await save('subscription-test-clock-pending-start', pendingId, pending.firstExecutionRunId);
    await pending.terminate('recorded');

    const failureId = subscriptionWorkflowId('sub-rec-clock-failure');
    const failing = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: failureId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-clock-failure', testClockId: 'clock-rec', schedule: { subscriptionAt: TEST_CLOCK_START, interval: 'monthly', billingTime: 'calendar', timezone: 'UTC' } })],
    });
    await eventually(async () => (await failing.query(stateQuery)).currentPeriod !== null, 'clock read');
    await failing.signal(testClockAdvancedSignal, { testClockId: 'clock-rec', frozenTime: '2026-02-01T00:00:00.000Z' });
    await eventually(async () => (await failing.query(stateQuery)).billingFailure?.nextRetryAt === '2026-02-01T01:00:00.000Z', 'failed, retry on the clock');
    await failing.signal(testClockAdvancedSignal, { testClockId: 'clock-rec', frozenTime: '2026-02-01T01:00:00.000Z' });
    await eventually(async () => (await env.client.workflow.getHandle(failureId, failing.firstExecutionRunId).describe()).status.name === 'CONTINUED_AS_NEW', 'retried and continued');
    await save('subscription-test-clock-close-retry', failureId, failing.firstExecutionRunId);
    await env.client.workflow.getHandle(failureId).terminate('recorded');
  });
}

async function advanceEarlyUsageGroup(): Promise<void> {
  // Usage signalled before startAdvancePeriod answered (patch advance-early-usage-v1, adv11b): the start is held until
  // the signal is in, then the events are billed right after the start (billInAdvanceCharges); saved while the run
  // waits on its period timer.
  if (!wanted('advance-early-usage')) return;
  const advanceAt = new Date(Math.floor((Date.now() - 2 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
  recEarly.gate = new Promise<void>((resolve) => {
    recEarly.release = resolve;
  });
  await withServer(async (env, save) => {
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId: subscriptionWorkflowId('sub-rec-adv-early'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-adv-early', schedule: { subscriptionAt: advanceAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    await handle.signal(usageSignal, { deltas: [{ metricCode: 'transfers', bucketStart: advanceAt, eventsCount: 1, units: '1' }] });
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 1, 'signal before the start');
    recEarly.release();
    await eventually(async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), 'the run waits on its timer');
    await save('subscription-advance-early-usage', handle.workflowId, handle.firstExecutionRunId);
    await handle.terminate('recorded');
  }, { advance: { subscriptionAt: advanceAt, payInAdvance: true, inAdvanceMetricCodes: ['transfers'] } });
}

async function closeFoldGroup(): Promise<void> {
  // Issue 14 (patch close14-fold-v1): a period close by one local activity (closePeriodInvoice, no grace period:
  // finalized in the close's transaction) and the invoice workflow it starts with finalizedAtClose (no
  // finalizeInvoice), saved when the run continued as new and the invoice workflow completed.
  if (!wanted('close14-fold')) return;
  await withServer(async (env, save) => {
    const workflowId = subscriptionWorkflowId('sub-rec-close-fold');
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-close-fold', schedule: { subscriptionAt: '2026-01-15T10:00:00Z', ...MONTHLY_NY } })],
    });
    await eventually(async () => (await env.client.workflow.getHandle(workflowId).query(stateQuery)).closedPeriods >= 1, 'one close');
    await save('subscription-close-fold-run1', workflowId, handle.firstExecutionRunId);
    await env.client.workflow.getHandle(workflowId).terminate('recorded');
    const invoice = await env.client.workflow.start(invoiceWorkflow, {
      workflowId: invoiceWorkflowId('inv-rec-finalized-at-close'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [{ version: 1, organizationId: 'org-1', invoiceId: 'inv-rec-finalized-at-close', gracePeriodDays: 0, finalizedAtClose: true }],
    });
    await invoice.result();
    await save('invoice-finalized-at-close', invoice.workflowId, invoice.firstExecutionRunId);
  });
}

async function invoiceDeletedGroup(): Promise<void> {
  // del13 (patch invoice-deleted-v1): a draft deleted during its 2-day grace period (DELETE /invoices/:lago_id):
  // a refresh during the grace period and the finalization at its end find the tombstone; the workflow ends as
  // deleted without collection.
  if (!wanted('invoice-deleted')) return;
  await withServer((env, save) => recordGraceRefresh(env, save, 'inv-rec-deleted', 'invoice-deleted-in-grace', (s) => s.status === 'deleted'), { deletedInvoiceIds: ['inv-rec-deleted'] });
}


async function failedInvoiceRetryGroup(): Promise<void> {
  // failed13 (patch failed13-invoice-retry-v1): finalizeInvoice answers `failed` (a tax engine refused it), a first
  // retry fails again, a second one finalizes it; then collection runs as for any invoice.
  if (!wanted('invoice-failed-retried')) return;
  await withServer(async (env, save) => {
    const invoice = await env.client.workflow.start(invoiceWorkflow, {
      workflowId: invoiceWorkflowId('inv-rec-failed'),
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [{ version: 1, organizationId: 'org-1', invoiceId: 'inv-rec-failed', gracePeriodDays: 0 }],
    });
    await eventually(async () => (await invoice.query(invoiceStateQuery)).status === 'failed', 'failed');
    expect((await invoice.executeUpdate(retryInvoiceUpdate)).status).toBe('failed');
    expect((await invoice.executeUpdate(retryInvoiceUpdate)).status).toBe('finalized');
    await invoice.result();
    await save('invoice-failed-retried', invoice.workflowId, invoice.firstExecutionRunId);
  }, { finalizeInvoiceStatus: (n) => (n < 2 ? 'failed' : 'finalized') });
}

function expect(actual: unknown): { toBe(expected: unknown): void } {
  return { toBe: (expected) => { if (actual !== expected) throw new Error(`expected ${String(expected)}, got ${String(actual)}`); } };
}

async function fixedChargeUnitsGroup(): Promise<void> {
  // units11 (patch fixed-charge-units-v1): a units change signalled mid-period billed by billFixedChargeUnitsChanges
  // with its invoice workflow started, then the close billing once more before the period invoice; saved when the run
  // continued as new.
  if (!wanted('fixed-charge-units')) return;
  const at = new Date(Math.floor((Date.now() - 2 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
  await withServer(async (env, save) => {
    const workflowId = subscriptionWorkflowId('sub-rec-units');
    const handle = await env.client.workflow.start(subscriptionWorkflow, {
      workflowId,
      taskQueue: SUBSCRIPTION_TASK_QUEUE,
      args: [subscriptionState({ subscriptionId: 'sub-rec-units', schedule: { subscriptionAt: at, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
    });
    const first = env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId);
    await eventually(async () => ((await first.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), 'the run waits on its timer');
    await handle.signal(fixedChargeUnitsChangedSignal);
    await eventually(async () => ((await first.fetchHistory()).events ?? []).some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId === invoiceWorkflowId('inv-rec-units')), 'the units invoice');
    await env.sleep(32 * 24 * HOUR_MS);
    await eventually(async () => ((await first.fetchHistory()).events ?? []).some((e) => e.workflowExecutionContinuedAsNewEventAttributes), 'the close continued as new');
    await save('subscription-fixed-charge-units', workflowId, handle.firstExecutionRunId);
    await env.client.workflow.getHandle(workflowId).terminate('recorded');
  }, { advance: { subscriptionAt: at, payInAdvance: false, advanceFixedCharges: true }, unitsInvoices: () => ['inv-rec-units'] });
}

main().then(issue11Groups).then(terminationGroups).then(planChangeAdvanceGroups).then(clockPlanChangeGroups).then(advanceEarlyUsageGroup).then(closeFoldGroup).then(invoiceDeletedGroup).then(failedInvoiceRetryGroup).then(fixedChargeUnitsGroup).catch((err) => {
  console.error(err);
  process.exit(1);
});
