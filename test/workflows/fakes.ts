export { createTimeSkippingEnv } from '../support/time-skipping';
// Test doubles for the workflow tests and the history recorder: the real `SubscriptionActivities` type,
// implemented by an object literal that records every call.
import type { FixedChargeUnitsActivities } from '../../activities/fixed-charge-units-types';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type {
  AdvancePeriodInput,
  BillingRules,
  BillingRulesInput,
  CreatePeriodInvoiceInput,
  EvaluateThresholdsInput,
  EvaluateThresholdsResult,
  InvoiceRef,
  MarkTerminatedInput,
  PeriodInvoiceResult,
  SubscriptionActivities,
} from '../../activities/types';
import { SUBSCRIPTION_TASK_QUEUE, type SubscriptionWorkflowState } from '../../workflows/messages';
import type { PaymentActivities } from '../../activities/payment-types';
import { testWorkflowBundle } from '../support/workflow-bundle';
import { createTimeSkippingEnv as startTimeSkippingEnv } from '../support/time-skipping';
import { fakeUnusedFeeCreditActivities } from './unused-fee-credit-fakes';
import type { TerminationOptionsActivities } from '../../activities/termination-options';
import type { RegroupPaidFeesActivities } from '../../activities/regroup-paid-fees';
import type { PeriodCloseActivities } from '../../activities/period-close';
import type { StoredTerminationOptions } from '../../db/repositories/termination-options';
import { fakePaymentActivities } from './payment-fakes';
import { awaitStartedChildren } from '../support/workflow-leaks';

export interface RecordedCalls {
  createPeriodInvoice: CreatePeriodInvoiceInput[];
  refreshDraftInvoice: InvoiceRef[];
  finalizeInvoice: InvoiceRef[];
  markSubscriptionTerminated: MarkTerminatedInput[];
  loadBillingRules: BillingRulesInput[];
  evaluateUsageThresholds: EvaluateThresholdsInput[];
  startAdvancePeriod: AdvancePeriodInput[];
  billInAdvanceCharges: AdvancePeriodInput[];
  billFixedChargeUnitsChanges: AdvancePeriodInput[];
}

/** No usage thresholds and no alerts (the default: the workflow watches nothing). */
export const NO_BILLING_RULES: BillingRules = { active: false, amountLadders: [], unitLadders: {}, periodicOnly: false, plan: null, countMetricCodes: [] };

export interface FakeOptions {
  /** gracePeriodDays returned for every invoice (0: invoice workflows finalize at once). */
  gracePeriodDays?: number;
  /** Throw this from the n-th createPeriodInvoice call (0-based) instead of answering. */
  createPeriodInvoiceFailure?: (callIndex: number, input: CreatePeriodInvoiceInput) => Error | undefined;
  /** createPeriodInvoice waits for this before answering (to hold a termination in progress). */
  createPeriodInvoiceGate?: Promise<void>;
  /** Invoice id answered by the n-th createPeriodInvoice call (0-based); `inv-<n+1>` by default. */
  invoiceIdFor?: (callIndex: number) => string;
  /** Answer of loadBillingRules (NO_BILLING_RULES by default). */
  billingRules?: BillingRules;
  /** Answer of the n-th evaluateUsageThresholds call (0-based); nothing confirmed, no invoice by default. */
  evaluateUsageThresholds?: (callIndex: number, input: EvaluateThresholdsInput) => EvaluateThresholdsResult;
  /**
   * Pay in advance (like activities/advance-billing.ts): with `payInAdvance`, startAdvancePeriod issues the start
   * invoice (createPeriodInvoice with the empty period [subscriptionAt, subscriptionAt)) when the period starts at
   * `subscriptionAt`. `inAdvanceMetricCodes` are answered as the metrics billed per event.
   */
  advance?: { subscriptionAt: string; payInAdvance: boolean; inAdvanceMetricCodes?: string[]; advanceFixedCharges?: boolean };
  /** Units-change invoices answered by the n-th billFixedChargeUnitsChanges call (0-based, units11); none by default. */
  unitsInvoices?: (callIndex: number, input: AdvancePeriodInput) => string[];
  /** Per-event invoices answered by the n-th billInAdvanceCharges call (0-based); none by default. */
  inAdvanceInvoices?: (callIndex: number, input: AdvancePeriodInput) => string[];
  /** What loadTerminationOptions answers (termination-options-v1); nothing stored by default. */
  terminationOptions?: StoredTerminationOptions;
  /** Invoices deleted as drafts (DELETE /invoices/:lago_id): refreshDraftInvoice and finalizeInvoice find the tombstone. */
  deletedInvoiceIds?: string[];
  /** failed13: status answered by the n-th finalizeInvoice call (0-based) of an invoice; `finalized` by default. */
  finalizeInvoiceStatus?: (callIndex: number, ref: InvoiceRef) => PeriodInvoiceResult['status'];
}

export function fakeActivities(opts: FakeOptions = {}): { activities: SubscriptionActivities & PaymentActivities; calls: RecordedCalls } {
  const calls: RecordedCalls = {
    createPeriodInvoice: [],
    refreshDraftInvoice: [],
    finalizeInvoice: [],
    markSubscriptionTerminated: [],
    loadBillingRules: [],
    evaluateUsageThresholds: [],
    startAdvancePeriod: [],
    billInAdvanceCharges: [],
    billFixedChargeUnitsChanges: [],
  };
  const result = (invoiceId: string, status: PeriodInvoiceResult['status']): PeriodInvoiceResult => ({
    invoiceId,
    status,
    totalAmountCents: 1999,
    currency: 'USD',
    created: true,
    gracePeriodDays: opts.gracePeriodDays ?? 0,
  });
  const activities: SubscriptionActivities = {
    async createPeriodInvoice(input) {
      const index = calls.createPeriodInvoice.length;
      calls.createPeriodInvoice.push(input);
      const failure = opts.createPeriodInvoiceFailure?.(index, input);
      if (failure) throw failure;
      await opts.createPeriodInvoiceGate;
      return result(opts.invoiceIdFor?.(index) ?? `inv-${index + 1}`, 'draft');
    },
    async refreshDraftInvoice(input) {
      calls.refreshDraftInvoice.push(input);
      return result(input.invoiceId, opts.deletedInvoiceIds?.includes(input.invoiceId) ? 'deleted' : 'draft');
    },
    async finalizeInvoice(input) {
      const index = calls.finalizeInvoice.filter((c) => c.invoiceId === input.invoiceId).length;
      calls.finalizeInvoice.push(input);
      return result(input.invoiceId, opts.deletedInvoiceIds?.includes(input.invoiceId) ? 'deleted' : (opts.finalizeInvoiceStatus?.(index, input) ?? 'finalized'));
    },
    async markSubscriptionTerminated(input) {
      calls.markSubscriptionTerminated.push(input);
    },
    async loadBillingRules(input) {
      calls.loadBillingRules.push(input);
      return opts.billingRules ?? NO_BILLING_RULES;
    },
    async evaluateUsageThresholds(input) {
      const index = calls.evaluateUsageThresholds.length;
      calls.evaluateUsageThresholds.push(input);
      const rules = opts.billingRules ?? NO_BILLING_RULES;
      return (
        opts.evaluateUsageThresholds?.(index, input) ?? {
          asOf: input.period.start,
          amountCents: 0,
          metrics: {},
          progressiveInvoices: [],
          alertTriggersRecorded: 0,
          rules,
        }
      );
    },
    async startAdvancePeriod(input) {
      calls.startAdvancePeriod.push(input);
      const adv = opts.advance;
      const inAdvanceMetricCodes = adv?.inAdvanceMetricCodes ?? [];
      const fixed = adv?.advanceFixedCharges ? { advanceFixedCharges: true } : {};
      if (!adv?.payInAdvance || Date.parse(input.period.start) !== Date.parse(adv.subscriptionAt)) return { startInvoice: null, inAdvanceMetricCodes, ...fixed };
      const startInvoice = await activities.createPeriodInvoice({
        organizationId: input.organizationId,
        subscriptionId: input.subscriptionId,
        kind: 'subscription',
        period: { start: adv.subscriptionAt, end: adv.subscriptionAt },
        fullPeriod: input.fullPeriod,
      });
      return { startInvoice, inAdvanceMetricCodes, ...fixed };
    },
    async billInAdvanceCharges(input) {
      const index = calls.billInAdvanceCharges.length;
      calls.billInAdvanceCharges.push(input);
      const ids = opts.inAdvanceInvoices?.(index, input) ?? [];
      return { feesCreated: ids.length, invoices: ids.map((id) => ({ ...result(id, 'finalized'), gracePeriodDays: 0 })) };
    },
  };
  // Payment collection: no provider configured (invoice workflows attempt nothing and end after finalizing).
  // The unused advance fee's credit (issue 11, patch unused-fee-credit-v1): answered like the real activity.
  // Termination options stored on the subscription (patch termination-options-v1): as opts say, none by default.
  const terminationOptions: TerminationOptionsActivities = {
    async loadTerminationOptions() {
      return opts.terminationOptions ?? { onTerminationInvoice: null, onTerminationCreditNote: null };
    },
  };
  // regroup_paid_fees (patch regroup-paid-fees-v1): answered like the real activity for a plan without such fees.
  const regroup: RegroupPaidFeesActivities = {
    async regroupPaidFees() {
      return { invoiceId: null, feesRegrouped: 0 };
    },
  };
  // Units of advance fixed charges raised mid-period (units11, activities/fixed-charge-units.ts): the period's units
  // invoices as opts say (every call answers all of them, as the real activity does).
  const fixedChargeUnits: FixedChargeUnitsActivities = {
    async billFixedChargeUnitsChanges(input) {
      const index = calls.billFixedChargeUnitsChanges.length;
      calls.billFixedChargeUnitsChanges.push(input);
      const ids = opts.unitsInvoices?.(index, input) ?? [];
      return { invoices: ids.map((id) => ({ ...result(id, 'finalized'), gracePeriodDays: 0 })) };
    },
  };
  // The close in one transaction (issue 14, activities/period-close.ts): createPeriodInvoice, then without a grace
  // period finalizeInvoice, as the real activity does (recorded as both calls; a failure injected into
  // createPeriodInvoice fails it the same way).
  const periodClose: PeriodCloseActivities = {
    async closePeriodInvoice(input) {
      const draft = await activities.createPeriodInvoice(input);
      return draft.gracePeriodDays > 0 ? draft : activities.finalizeInvoice({ organizationId: input.organizationId, invoiceId: draft.invoiceId });
    },
  };
  return { activities: { ...activities, ...fakePaymentActivities().activities, ...fakeUnusedFeeCreditActivities().activities, ...terminationOptions, ...regroup, ...periodClose, ...fixedChargeUnits }, calls };
}

export const invalidPlan = (): ApplicationFailure =>
  ApplicationFailure.nonRetryable('Invalid plan: charges[0].properties.amount: must be a decimal', 'invalid_plan');

export function subscriptionState(overrides: Partial<SubscriptionWorkflowState> & Pick<SubscriptionWorkflowState, 'schedule'>): SubscriptionWorkflowState {
  return {
    version: 1,
    organizationId: 'org-1',
    subscriptionId: 'sub-1',
    externalSubscriptionId: 'ext-sub-1',
    externalCustomerId: 'ext-cus-1',
    planCode: 'startup',
    liveUsage: {},
    closedPeriods: 0,
    usageSignalsReceived: 0,
    ...overrides,
  };
}

/** The run's one workflow bundle (test/support/workflow-bundle.ts: built once by the global setup). */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return testWorkflowBundle();
}

/** Polls `predicate` (real time) until it holds; the test server's clock only moves with env.sleep. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Advances the test server's clock to `iso` (no-op when already past it). */
export async function sleepUntil(env: TestWorkflowEnvironment, iso: string): Promise<void> {
  const ms = Date.parse(iso) - (await env.currentTimeMs());
  if (ms > 0) await env.sleep(ms);
}

/**
 * Waits until the latest run of `workflowId` is a continued run idle on its period timer, reading only the
 * history. (A query sent while the test server is completing a continue-as-new can hang for about 90 s, so
 * the tests query a subscription only once it has settled.)
 */
export async function waitUntilContinuedRunWaitsOnTimer(env: TestWorkflowEnvironment, workflowId: string): Promise<void> {
  await eventually(async () => {
    const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    if (!events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId) return false;
    const last = events.filter((e) => !String(e.eventType).includes('WORKFLOW_TASK')).at(-1);
    return Boolean(last?.timerStartedEventAttributes);
  }, `${workflowId}: a continued run waiting on its timer`);
}

/**
 * Ends a test's subscription without leaving work behind (test/support/workflow-leaks.ts): terminates its latest
 * run, then waits for every invoice workflow any of its runs started (they outlive it, parent-close ABANDON, and
 * collect payment after finalizing).
 */
export async function terminateAndSettle(env: TestWorkflowEnvironment, workflowId: string): Promise<void> {
  await env.client.workflow.getHandle(workflowId).terminate('test done');
  await awaitStartedChildren(env.client, workflowId);
}

/** The state one time-skipping test keeps: its own server, the run's workflow bundle, its task queue and attempt. */
export interface PerTestServer {
  env: TestWorkflowEnvironment;
  workflowBundle: WorkflowBundleWithSourceMap;
  taskQueue: string;
  attempt: number;
}

/**
 * Registers the hooks of a suite that gives every test (and every retry of it) a time-skipping server of its own
 * and a task queue `meterline-billing-<label>-<attempt>`, and hands each test's state to `use`. One server per
 * test: a workflow that started a child and continued as new may stall its server's time skipping
 * (test/support/time-skipping.ts).
 */
export function perTestTimeSkippingServer(label: string, use: (s: PerTestServer) => void): void {
  let workflowBundle: WorkflowBundleWithSourceMap;
  let attempt = 0;
  let env: TestWorkflowEnvironment | undefined;
  jest.retryTimes(2, { logErrorsBeforeRetry: true });
  beforeAll(async () => {
    workflowBundle = await bundleWorkflows();
  });
  beforeEach(async () => {
    attempt += 1;
    const started = await startTimeSkippingEnv();
    env = started;
    use({ env: started, workflowBundle, taskQueue: `${SUBSCRIPTION_TASK_QUEUE}-${label}-${attempt}`, attempt });
  });
  afterEach(async () => {
    await env?.teardown();
  });
}

/**
 * Registers the hooks of a suite whose tests share one time-skipping server and the run's workflow bundle
 * (beforeAll / afterAll), and hands both to `use` once they are up.
 */
export function sharedTimeSkippingServer(use: (env: TestWorkflowEnvironment, workflowBundle: WorkflowBundleWithSourceMap) => void): void {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    const [started, workflowBundle] = await Promise.all([startTimeSkippingEnv(), bundleWorkflows()]);
    env = started;
    use(started, workflowBundle);
  });
  afterAll(async () => {
    await env?.teardown();
  });
}
