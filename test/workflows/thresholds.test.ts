// Usage thresholds and alerts in the subscription workflow (time-skipping server, mocked activities).
//
// The fake evaluateUsageThresholds (threshold-fakes.ts) plays Postgres: it answers from `db.amountCents`, whatever
// the workflow's live totals say. The plan: tokens at 1 cent each, usage_thresholds [{amount_cents: 1000}].
//
// How time passes: the subscription starts 10 days before the test server's clock (anniversary, UTC), so its
// period is open for about three weeks. Checks after a crossing are at least MIN_CHECK_SPACING_MS apart and the
// periodic check comes USAGE_CHECK_INTERVAL_MS after the last one: env.sleep moves the clock there. No test
// closes a period (env.sleep would stall after a child start + continue-as-new, see test/support/time-skipping.ts).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { subscriptionWorkflow } from '../../workflows';
import {
  SUBSCRIPTION_TASK_QUEUE,
  billingRulesChangedSignal,
  invoiceWorkflowId,
  stateQuery,
  subscriptionWorkflowId,
  usageSignal,
} from '../../workflows/messages';
import { MIN_CHECK_SPACING_MS, USAGE_CHECK_INTERVAL_MS } from '../../workflows/subscription';
import { bundleWorkflows, createTimeSkippingEnv, eventually, fakeActivities, subscriptionState } from './fakes';
import { THRESHOLD_RULES, postgresLikeEvaluation } from './threshold-fakes';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;
let subscriptionAt: string;
let periodEnd: string;

const HOUR_MS = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

// One test server per test: terminating a workflow while the server has a task of it outstanding can leave the
// server's time-skipping lock held, and every later env.sleep on that server would then stall. A fresh server per
// test keeps one test's leftovers out of the next test's clock.
beforeAll(async () => {
  workflowBundle = await bundleWorkflows();
});
beforeEach(async () => {
  env = await createTimeSkippingEnv();
  const now = await env.currentTimeMs();
  subscriptionAt = iso(Math.floor((now - 10 * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  periodEnd = DateTime.fromISO(subscriptionAt, { zone: 'utc' }).plus({ months: 1 }).toUTC().toISO()!;
});
afterEach(async () => {
  await env?.teardown();
});

// Each test runs its worker on a task queue of its own, with ids unique to the attempt, and a failed test is retried
// once on a fresh server: the retry re-runs every assertion, so a real failure fails both attempts.
jest.retryTimes(1, { logErrorsBeforeRetry: true });
let taskQueue = SUBSCRIPTION_TASK_QUEUE;
let attempt = 0;

async function withThresholdWorker<T>(db: { amountCents: number }, fn: (calls: ReturnType<typeof fakeActivities>['calls']) => Promise<T>): Promise<T> {
  attempt += 1;
  taskQueue = `${SUBSCRIPTION_TASK_QUEUE}-thresholds-${attempt}`;
  const { activities, calls } = fakeActivities({ billingRules: THRESHOLD_RULES, evaluateUsageThresholds: postgresLikeEvaluation(db) });
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  return worker.runUntil(fn(calls));
}

/**
 * Waits until the progressive invoice's child workflow has completed. A test must not stop its worker while the
 * child still has work queued (its payment collection runs after finalizeInvoice): the test server does not skip
 * time while a task is outstanding, so a child stranded on a queue without a worker stalls every later env.sleep
 * on the same server. Polls describe() rather than awaiting result(): waiting for a result unlocks time skipping,
 * and the server would jump to the parent's period-end timer (weeks ahead), past every later test's period.
 */
async function progressiveInvoiceDone(id: string): Promise<void> {
  const child = env.client.workflow.getHandle(invoiceWorkflowId(`prog-${id}`));
  await eventually(async () => (await child.describe()).status.name === 'COMPLETED', 'progressive invoice workflow completed');
}

/** A subscription id unique to this attempt (a retried test never meets the stalled attempt's workflows). */
function uid(base: string): string {
  return `${base}-${attempt}`;
}

async function startSubscription(id: string) {
  const handle = await env.client.workflow.start(subscriptionWorkflow, {
    workflowId: subscriptionWorkflowId(id),
    taskQueue,
    args: [subscriptionState({ subscriptionId: id, schedule: { subscriptionAt, interval: 'monthly', billingTime: 'anniversary', timezone: 'UTC' } })],
  });
  return handle;
}

function tokens(units: number) {
  return { deltas: [{ metricCode: 'tokens', bucketStart: iso(Date.parse(subscriptionAt) + HOUR_MS), eventsCount: 1, units: String(units) }] };
}

/** The only input a check may carry: business ids and the period, identical on every call of the period. */
function expectedCheckInput(id: string) {
  return { organizationId: 'org-1', subscriptionId: id, period: { start: subscriptionAt, end: periodEnd }, fullPeriod: { start: subscriptionAt, end: periodEnd } };
}

test('the rules are loaded once for the open period, and a subscription without usage makes no check', async () => {
  await withThresholdWorker({ amountCents: 0 }, async (calls) => {
    const id = uid('sub-th-idle');
    const handle = await startSubscription(id);
    await eventually(() => calls.loadBillingRules.length === 1, 'rules loaded');
    await env.sleep(2 * USAGE_CHECK_INTERVAL_MS);
    expect(calls.loadBillingRules).toEqual([{ organizationId: 'org-1', subscriptionId: id, period: { start: subscriptionAt, end: periodEnd } }]);
    expect(calls.evaluateUsageThresholds).toHaveLength(0);
    await handle.terminate('test done');
  });
});

test('an estimate crossing the 1000-cent threshold triggers evaluateUsageThresholds at once, and the progressive invoice gets its own invoice workflow', async () => {
  const db = { amountCents: 0 };
  await withThresholdWorker(db, async (calls) => {
    const id = uid('sub-th-cross');
    const handle = await startSubscription(id);
    // First usage of the period: checked at once (no check ran yet). 500 tokens = 500 cents: below the threshold.
    db.amountCents = 500;
    await handle.signal(usageSignal, tokens(500));
    await eventually(() => calls.evaluateUsageThresholds.length === 1, 'first-usage check');
    await eventually(async () => (await handle.query(stateQuery)).usageChecks?.confirmedAmountCents === 500, 'confirmed 500');

    // 600 more tokens: the estimate (1100) crosses 1000 → a check is due MIN_CHECK_SPACING_MS after the last one,
    // long before the periodic USAGE_CHECK_INTERVAL_MS.
    db.amountCents = 1100;
    await handle.signal(usageSignal, tokens(600));
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 2, 'second signal handled');
    await env.sleep(MIN_CHECK_SPACING_MS);
    await eventually(() => calls.evaluateUsageThresholds.length === 2, 'crossing check');
    expect(calls.evaluateUsageThresholds).toEqual([expectedCheckInput(id), expectedCheckInput(id)]);

    await eventually(() => calls.finalizeInvoice.some((r) => r.invoiceId === `prog-${id}`), 'progressive invoice finalized');
    const child = await env.client.workflow.getHandle(invoiceWorkflowId(`prog-${id}`)).describe();
    expect(child.parentExecution?.workflowId).toBe(subscriptionWorkflowId(id));
    const state = await handle.query(stateQuery);
    expect(state.usageChecks).toMatchObject({ rulesActive: true, checks: 2, confirmedAmountCents: 1100, progressiveInvoiceIds: [`prog-${id}`] });
    expect(calls.createPeriodInvoice).toHaveLength(0); // nothing else was invoiced
    await progressiveInvoiceDone(id);
    await handle.terminate('test done');
  });
});

test('a LOST usage signal cannot skip the threshold: the periodic check armed by the next signal confirms 1100 from Postgres and invoices it', async () => {
  const db = { amountCents: 0 };
  await withThresholdWorker(db, async (calls) => {
    const id = uid('sub-th-lost');
    const handle = await startSubscription(id);
    db.amountCents = 500;
    await handle.signal(usageSignal, tokens(500));
    await eventually(() => calls.evaluateUsageThresholds.length === 1, 'first-usage check');
    await eventually(async () => (await handle.query(stateQuery)).usageChecks?.confirmedAmountCents === 500, 'confirmed 500');

    // 600 tokens reach Postgres but their signal is lost; the next signal carries 10 tokens only.
    db.amountCents = 1110;
    await handle.signal(usageSignal, tokens(10));
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 2, 'signal handled');
    // The estimate (510) crosses nothing: no crossing check, even after the crossing spacing.
    await env.sleep(MIN_CHECK_SPACING_MS);
    expect(calls.evaluateUsageThresholds).toHaveLength(1);
    expect((await handle.query(stateQuery)).liveUsage.tokens?.units).toBe('510');

    // The periodic check (armed by that signal) runs USAGE_CHECK_INTERVAL_MS after the last check.
    await env.sleep(USAGE_CHECK_INTERVAL_MS);
    await eventually(() => calls.evaluateUsageThresholds.length === 2, 'periodic check');
    await eventually(() => calls.finalizeInvoice.some((r) => r.invoiceId === `prog-${id}`), 'progressive invoice finalized');
    const state = await handle.query(stateQuery);
    // The confirmed totals replaced the live ones: the lost 600 tokens are back.
    expect(state.liveUsage.tokens?.units).toBe('1110');
    expect(state.usageChecks).toMatchObject({ confirmedAmountCents: 1110, progressiveInvoiceIds: [`prog-${id}`] });
    expect(calls.evaluateUsageThresholds).toEqual([expectedCheckInput(id), expectedCheckInput(id)]);
    await progressiveInvoiceDone(id);
    await handle.terminate('test done');
  });
});

test('a REPEATED usage signal does not double the threshold: checks carry the same business key, and the one progressive invoice gets one invoice workflow', async () => {
  const db = { amountCents: 0 };
  await withThresholdWorker(db, async (calls) => {
    const id = uid('sub-th-repeat');
    const handle = await startSubscription(id);
    db.amountCents = 500;
    await handle.signal(usageSignal, tokens(500));
    await eventually(() => calls.evaluateUsageThresholds.length === 1, 'first-usage check');
    await eventually(async () => (await handle.query(stateQuery)).usageChecks?.confirmedAmountCents === 500, 'confirmed 500');

    db.amountCents = 1100;
    await handle.signal(usageSignal, tokens(600));
    await env.sleep(MIN_CHECK_SPACING_MS);
    await eventually(() => calls.evaluateUsageThresholds.length === 2, 'crossing check');
    await eventually(async () => (await handle.query(stateQuery)).usageChecks?.confirmedAmountCents === 1100, 'confirmed 1100');

    // The same coalesced signal delivered again: the live total over-counts (1700) but crosses no new level.
    await handle.signal(usageSignal, tokens(600));
    await eventually(async () => (await handle.query(stateQuery)).usageSignalsReceived === 3, 'repeated signal handled');
    expect((await handle.query(stateQuery)).liveUsage.tokens?.units).toBe('1700');
    await env.sleep(MIN_CHECK_SPACING_MS);
    expect(calls.evaluateUsageThresholds).toHaveLength(2);

    // The periodic check heals the live total from Postgres and finds the same single progressive invoice.
    await env.sleep(USAGE_CHECK_INTERVAL_MS);
    await eventually(() => calls.evaluateUsageThresholds.length === 3, 'periodic check');
    await eventually(async () => (await handle.query(stateQuery)).liveUsage.tokens?.units === '1100', 'live total healed');
    expect(calls.evaluateUsageThresholds).toEqual([expectedCheckInput(id), expectedCheckInput(id), expectedCheckInput(id)]);
    expect(calls.finalizeInvoice.filter((r) => r.invoiceId === `prog-${id}`)).toHaveLength(1);
    expect((await handle.query(stateQuery)).usageChecks?.progressiveInvoiceIds).toEqual([`prog-${id}`]);
    await progressiveInvoiceDone(id);
    await handle.terminate('test done');
  });
});

test('billingRulesChangedSignal (an alert was created) reloads the rules and checks at once', async () => {
  await withThresholdWorker({ amountCents: 0 }, async (calls) => {
    const id = uid('sub-th-rules');
    const handle = await startSubscription(id);
    await eventually(() => calls.loadBillingRules.length === 1, 'rules loaded');
    await handle.signal(billingRulesChangedSignal);
    await eventually(() => calls.loadBillingRules.length === 2, 'rules reloaded');
    await eventually(() => calls.evaluateUsageThresholds.length === 1, 'check after reload');
    await handle.terminate('test done');
  });
});
