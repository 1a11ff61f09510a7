// The subscription workflow: one run per billing period, continue-as-new into the next.
//
// Thin wiring over `SubscriptionEntity` (the Temporal samples' entity pattern): the entity holds the state and
// the rules (usage accounting, termination validation, the next run's state); the workflow function registers
// the handlers and runs the period loop. The main loop owns every activity call; the terminate update only
// hands a request to the loop and waits for its outcome, so nothing runs concurrently with a period close.
//
// Business-failure policy (DESIGN: business failures are non-retryable ApplicationFailures with a stable type):
// an activity that fails with a business failure (e.g. `invalid_plan` while invoicing the period) must NOT
// kill the subscription: a dead workflow loses its timers and live usage and bills nothing ever again. The
// period stays open (not continued-as-new), the failure is exposed on the state query and the
// `SubscriptionStatus=billing_failed` search attribute, and the close is retried on a backoff timer (1 h,
// doubling, at most 24 h) or at once on `retryPeriodCloseSignal` after an operator fixed the cause. Usage
// signals keep being counted, and the workflow can still be terminated. A business failure while invoicing a
// termination rejects that terminate update (the caller gets the failure type), and the subscription stays
// active. Transient faults never reach the workflow: activities retry them without an attempt limit.
//
// Usage thresholds and alerts (behind `patched('usage-thresholds-v1')`: runs started before it keep their old
// commands). Once per period the workflow loads the billing rules (loadBillingRules: the plan's progressive
// billing thresholds and the subscription's alert levels). Every usage signal updates a cheap ESTIMATE (live
// units; the amount priced by billing/ratePeriod on live totals, one bucket per charge: filters and pricing groups are
// approximated). Nothing is ever billed from the estimate: when it crosses a level above the last confirmed
// value, or — against lost signals — at most every USAGE_CHECK_INTERVAL_MS while usage keeps arriving (a usage
// signal arms a check when none ran in the interval; the first usage of a period checks at once), the workflow
// calls ONE activity, evaluateUsageThresholds, which confirms usage from Postgres, issues the progressive
// invoice and records the alert triggers idempotently (unique per subscription, period and threshold), and
// returns the confirmed totals. Those REPLACE the live totals (self-healing after a lost or repeated signal).
// Each progressive invoice gets its own invoice workflow. Checks are at least MIN_CHECK_SPACING_MS apart.
// `billingRulesChangedSignal` (an alert was created) reloads the rules and checks at once.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BillingRules, EvaluateThresholdsResult, PeriodInvoiceResult, SubscriptionActivities } from '../activities/types';
import { BillingError } from '../billing/errors';
import { ratePeriod } from '../billing/rate-period';
import { crossesLevel } from '../billing/threshold-ladder';
import { addDecimalStrings, isDecimalString } from '../billing/money';
import { nextPeriod, periodContaining, type PeriodPair } from '../billing/period';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';
import { PlanChanges } from './plan-changes';
import type { invoiceWorkflow } from './invoice';
import { ADVANCE_BILLING_PATCH, AdvanceBilling, billPendingInAdvance, finishAdvancePeriod, startAdvanceRun } from './advance-billing';
import { invoiceClockFields, subscriptionTestClock } from './test-clock';
import { ClockCloseRetry } from './clock-close-retry';
import { ClockCoverage } from './clock-coverage';
import { regroupPaidFeesAtClose } from './regroup-paid-fees';
import { DUNNING_SUSPEND_PATCH, SubscriptionSuspension, carrySuspension } from './suspension';
import { invoicePeriod } from './period-invoice';
import { CLOSE_FOLD_PATCH, closeAndFinalizePeriod } from './period-close';
import { creditUnusedAdvanceFee, type OnTerminationCreditNote } from './unused-fee-credit';
import { terminationOptions } from './termination-options';
import { FIXED_CHARGE_UNITS_PATCH, FixedChargeUnits, billUnitsChanges, finishUnitsChanges } from './fixed-charge-units';
import {
  SEARCH_ATTRIBUTE_KEYS,
  billingRulesChangedSignal,
  fixedChargeUnitsChangedSignal,
  invoiceWorkflowId,
  retryPeriodCloseSignal,
  stateQuery,
  terminateUpdate,
  usageSignal,
  type BillingFailureState,
  type BillingPeriodState,
  type LiveMetricUsage,
  type SubscriptionLiveState,
  type SubscriptionSearchStatus,
  type SubscriptionWorkflowState,
  type TerminateRequest,
  type TerminateResult,
  type UsageSignalPayload,
} from './messages';
import type { InvoiceWorkflowInput } from '../contracts/workflows';

const activities = proxyActivities<SubscriptionActivities>(ACTIVITY_OPTIONS);

const HOUR_MS = 3_600_000;
const CLOSE_RETRY_FIRST_MS = HOUR_MS;
const CLOSE_RETRY_MAX_MS = 24 * HOUR_MS;
/** A terminatedAt may be this far ahead of the workflow clock (the API's clock is not the server's). */
const TERMINATION_CLOCK_SKEW_MS = 5 * 60_000;

/** Patch id of the usage thresholds / alerts commands (loadBillingRules, evaluateUsageThresholds, their timers). */
export const USAGE_THRESHOLDS_PATCH = 'usage-thresholds-v1';
/** While usage keeps arriving, usage is confirmed from Postgres at least this often (lost signals). */
export const USAGE_CHECK_INTERVAL_MS = 5 * 60_000;
/** Two checks are never closer than this (an estimate that keeps over-shooting cannot loop). */
export const MIN_CHECK_SPACING_MS = 10_000;

const NO_RULES: BillingRules = { active: false, amountLadders: [], unitLadders: {}, periodicOnly: false, plan: null, countMetricCodes: [] };

/** What the entity is doing; decides which commands are accepted. */
type Phase =
  | 'open' // waiting for the period end
  | 'closing' // invoicing the ended period / continuing as new: terminate is rejected (retry after)
  | 'close_failed' // a business failure blocks the close: waiting to retry
  | 'terminating'
  | 'terminated';

type TerminationOutcome = { ok: true; result: TerminateResult } | { ok: false; failure: ApplicationFailure };

/** Converts a pure-engine error into a workflow failure with its stable code (never a plain Error here). */
function asWorkflowFailure(err: unknown): unknown {
  if (err instanceof BillingError) return ApplicationFailure.nonRetryable(err.message, err.code);
  return err;
}

function toIsoInstant(value: string, field: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw ApplicationFailure.nonRetryable(`${field} is not an ISO datetime: ${String(value)}`, 'invalid_datetime');
  return new Date(ms).toISOString();
}

export class SubscriptionEntity {
  readonly input: SubscriptionWorkflowState;
  current: BillingPeriodState;
  phase: Phase = 'open';
  private readonly liveUsage = new Map<string, LiveMetricUsage>();
  usageSignalsReceived: number;
  billingFailure: BillingFailureState | null = null;
  retryRequested = false;
  terminationRequest: { terminatedAt: string; resumePhase: Phase } | null = null;
  terminationOutcome: TerminationOutcome | null = null;
  /** Set by the workflow function: records a termination request's options (see subscriptionWorkflow). */
  noteTerminationOptions: (req: TerminateRequest | undefined) => void = () => undefined;

  // Usage thresholds and alerts (see the header). `rules` is null until loaded in this run.
  rules: BillingRules | null = null;
  rulesReloadRequested = false;
  /** The estimate crossed a level above the last confirmed value: check now (after MIN_CHECK_SPACING_MS). */
  checkRequested = false;
  /** Usage arrived since the last check: check within USAGE_CHECK_INTERVAL_MS. */
  usageSinceCheck = false;
  /** Set by a signal that changed when the next check is due (wakes the waiting loop). */
  wake = false;
  lastCheckAtMs: number | null = null;
  checks = 0;
  /** Confirmed values of the last check: the floor above which a crossing counts. */
  confirmedAmountCents = 0;
  confirmedUnits: Record<string, string> = {};
  progressiveInvoiceIds: string[];

  constructor(input: SubscriptionWorkflowState) {
    if (input.version !== 1) {
      throw ApplicationFailure.nonRetryable(`Unsupported subscription state version ${String(input.version)}`, 'unsupported_state_version');
    }
    this.input = input;
    try {
      this.current = input.current ?? periodContaining(input.schedule, input.schedule.subscriptionAt);
    } catch (err) {
      throw asWorkflowFailure(err);
    }
    for (const [code, usage] of Object.entries(input.liveUsage ?? {})) this.liveUsage.set(code, { ...usage });
    this.usageSignalsReceived = input.usageSignalsReceived;
    this.progressiveInvoiceIds = [...(input.progressiveInvoiceIds ?? [])];
  }

  get period() {
    return this.current.period;
  }

  /** Adds the deltas that fall in the open period; malformed deltas are logged and skipped, never fatal. */
  recordUsage(payload: UsageSignalPayload): void {
    this.usageSignalsReceived += 1;
    if (this.phase === 'terminated') return;
    let counted = false;
    const start = Date.parse(this.period.start);
    const end = Date.parse(this.period.end);
    for (const delta of payload?.deltas ?? []) {
      const bucket = typeof delta?.bucketStart === 'string' ? Date.parse(delta.bucketStart) : Number.NaN;
      if (
        typeof delta?.metricCode !== 'string' ||
        Number.isNaN(bucket) ||
        !Number.isSafeInteger(delta.eventsCount) ||
        delta.eventsCount < 0 ||
        !isDecimalString(delta.units)
      ) {
        log.warn('Ignoring a malformed usage delta', { delta });
        continue;
      }
      // The workflow counts only its open period; late or early buckets are billed from Postgres anyway.
      if (bucket < start || bucket >= end) continue;
      const prev = this.liveUsage.get(delta.metricCode) ?? { eventsCount: 0, units: '0' };
      this.liveUsage.set(delta.metricCode, {
        eventsCount: prev.eventsCount + delta.eventsCount,
        units: addDecimalStrings(prev.units, delta.units),
      });
      counted = true;
    }
    if (counted && this.rules?.active && this.phase === 'open') {
      if (!this.usageSinceCheck) {
        this.usageSinceCheck = true;
        this.wake = true;
      }
      if (!this.checkRequested && this.estimateCrosses()) {
        this.checkRequested = true;
        this.wake = true;
      }
    }
  }

  /** A metric's units as alerts count them: events for count metrics (their signal units are "0"), else Σ values. */
  private liveUnits(code: string): string {
    const u = this.liveUsage.get(code);
    if (!u) return '0';
    return this.rules?.countMetricCodes.includes(code) ? String(u.eventsCount) : u.units;
  }

  /**
   * The period's usage amount (minor units) priced by billing/ on the live totals, one bucket per charge; null
   * when it cannot be priced (e.g. a charge model that needs per-event values). An estimate only.
   */
  estimateAmountCents(): number | null {
    const plan = this.rules?.plan;
    if (!plan) return null;
    try {
      const usage = plan.charges
        .filter((c) => this.liveUsage.has(c.billableMetric.code))
        .map((c) => {
          const live = this.liveUsage.get(c.billableMetric.code)!;
          const units = c.billableMetric.aggregationType === 'count_agg' ? String(live.eventsCount) : live.units;
          return { chargeId: c.id, buckets: [{ filterIndex: null, groupedBy: {}, units, eventsCount: live.eventsCount }] };
        });
      return ratePeriod({
        plan,
        kind: 'preview',
        payInAdvanceCharges: 'on_period_total',
        timezone: this.input.schedule.timezone,
        period: this.current.period,
        fullPeriod: this.current.fullPeriod,
        chargeSubscriptionFee: false,
        usage,
      }).usageAmountCents;
    } catch {
      return null;
    }
  }

  /** True when the live estimate crossed a level above the last confirmed value. */
  estimateCrosses(): boolean {
    const rules = this.rules;
    if (!rules?.active) return false;
    for (const [code, ladders] of Object.entries(rules.unitLadders)) {
      const from = this.confirmedUnits[code] ?? '0';
      const to = this.liveUnits(code);
      if (ladders.some((l) => crossesLevel(l, from, to))) return true;
    }
    if (rules.amountLadders.length > 0) {
      const estimate = this.estimateAmountCents();
      if (estimate !== null && rules.amountLadders.some((l) => crossesLevel(l, String(this.confirmedAmountCents), String(estimate)))) return true;
    }
    return false;
  }

  applyRules(rules: BillingRules, reloaded: boolean): void {
    this.rules = rules;
    if (!rules.active) return;
    if (this.liveUsage.size > 0) this.usageSinceCheck = true;
    // A reload (new alert) may already be crossed: check at once.
    if (reloaded || this.estimateCrosses()) this.checkRequested = true;
  }

  /** Milliseconds until the next check is due (0: now), or null when none is armed. */
  checkDueInMs(nowMs: number): number | null {
    if (!this.rules?.active) return null;
    const since = this.lastCheckAtMs === null ? Number.POSITIVE_INFINITY : nowMs - this.lastCheckAtMs;
    if (this.checkRequested) return Math.max(0, MIN_CHECK_SPACING_MS - since);
    if (this.usageSinceCheck) return Math.max(0, USAGE_CHECK_INTERVAL_MS - since);
    return null;
  }

  startCheck(): void {
    this.checkRequested = false;
    this.usageSinceCheck = false;
    this.lastCheckAtMs = Date.now();
    this.checks += 1;
  }

  /** The confirmed totals replace the live ones (a lost or repeated signal heals here). */
  applyCheck(result: EvaluateThresholdsResult): void {
    this.rules = result.rules;
    this.confirmedAmountCents = result.amountCents;
    for (const [code, m] of Object.entries(result.metrics)) {
      const count = result.rules.countMetricCodes.includes(code);
      this.liveUsage.set(code, { eventsCount: m.eventsCount, units: count ? '0' : m.units });
      this.confirmedUnits[code] = count ? String(m.eventsCount) : m.units;
    }
  }

  liveState(): SubscriptionLiveState {
    return {
      status: this.phase === 'terminated' ? 'terminated' : 'active',
      planCode: this.input.planCode,
      currentPeriod: this.phase === 'terminated' ? null : this.current,
      liveUsage: Object.fromEntries(this.liveUsage),
      closedPeriods: this.input.closedPeriods,
      usageSignalsReceived: this.usageSignalsReceived,
      billingFailure: this.billingFailure,
      usageChecks:
        this.rules === null
          ? null
          : {
              rulesActive: this.rules.active,
              checks: this.checks,
              lastCheckAt: this.lastCheckAtMs === null ? null : new Date(this.lastCheckAtMs).toISOString(),
              confirmedAmountCents: this.confirmedAmountCents,
              progressiveInvoiceIds: [...this.progressiveInvoiceIds],
            },
    };
  }

  searchStatus(): SubscriptionSearchStatus {
    if (this.phase === 'terminated') return 'terminated';
    return this.billingFailure ? 'billing_failed' : 'active';
  }

  /** The termination instant a request asks for: its own, or the workflow's current time. */
  static requestedTerminatedAt(req: TerminateRequest | undefined): string {
    return req?.terminatedAt === undefined ? new Date(Date.now()).toISOString() : toIsoInstant(req.terminatedAt, 'terminatedAt');
  }

  /** Update validator: throws (rejecting the update, nothing written to history) when it cannot be accepted. */
  validateTermination(req: TerminateRequest | undefined): void {
    if (this.phase === 'terminated') throw ApplicationFailure.nonRetryable('The subscription is already terminated', 'already_terminated');
    if (this.phase === 'terminating') throw ApplicationFailure.nonRetryable('A termination is already in progress', 'termination_in_progress');
    if (this.phase === 'closing') {
      throw ApplicationFailure.retryable(`The period ending ${this.period.end} is being closed; retry the termination`, 'period_closing');
    }
    const at = Date.parse(SubscriptionEntity.requestedTerminatedAt(req));
    if (at <= Date.parse(this.period.start)) {
      throw ApplicationFailure.nonRetryable(
        `terminatedAt must be after the open period's start ${this.period.start}`,
        'invalid_terminated_at',
      );
    }
    if (at > Date.now() + TERMINATION_CLOCK_SKEW_MS) {
      throw ApplicationFailure.nonRetryable('terminatedAt is in the future: scheduled terminations are not supported', 'invalid_terminated_at');
    }
    if (at > Date.parse(this.period.end)) {
      // The period has ended but is not closed yet (closing now, or blocked by a billing failure).
      throw ApplicationFailure.retryable(
        `The period ending ${this.period.end} is not closed yet; retry the termination once it is`,
        'period_closing',
      );
    }
  }

  requestTermination(terminatedAt: string): void {
    this.terminationRequest = { terminatedAt, resumePhase: this.phase };
    this.terminationOutcome = null;
    this.phase = 'terminating';
  }

  recordCloseFailure(failure: ApplicationFailure): BillingFailureState {
    const attempts = (this.billingFailure?.attempts ?? 0) + 1;
    const delayMs = Math.min(CLOSE_RETRY_FIRST_MS * 2 ** (attempts - 1), CLOSE_RETRY_MAX_MS);
    this.billingFailure = {
      type: failure.type ?? 'unknown',
      message: failure.message,
      attempts,
      nextRetryAt: new Date(Date.now() + delayMs).toISOString(),
    };
    this.phase = 'close_failed';
    this.retryRequested = false;
    return this.billingFailure;
  }

  /** The explicit, JSON-only state of the next run (the next period, live usage reset). */
  nextRunState(next: PeriodPair): SubscriptionWorkflowState {
    const { progressiveInvoiceIds: _previousPeriod, ...input } = this.input;
    return {
      ...input,
      current: next,
      liveUsage: {},
      closedPeriods: this.input.closedPeriods + 1,
      usageSignalsReceived: this.usageSignalsReceived,
    };
  }

  /** The same period in a fresh run (history too long): everything carried as it is. */
  sameRunState(): SubscriptionWorkflowState {
    return {
      ...this.input,
      current: this.current,
      liveUsage: Object.fromEntries(this.liveUsage),
      usageSignalsReceived: this.usageSignalsReceived,
      ...(this.progressiveInvoiceIds.length > 0 ? { progressiveInvoiceIds: [...this.progressiveInvoiceIds] } : {}),
    };
  }
}

function upsertSubscriptionSearchAttributes(sub: SubscriptionEntity): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.CustomerId, value: sub.input.externalCustomerId },
    { key: SEARCH_ATTRIBUTE_KEYS.SubscriptionId, value: sub.input.externalSubscriptionId },
    { key: SEARCH_ATTRIBUTE_KEYS.PlanCode, value: sub.input.planCode },
    { key: SEARCH_ATTRIBUTE_KEYS.SubscriptionStatus, value: sub.searchStatus() },
    { key: SEARCH_ATTRIBUTE_KEYS.CurrentPeriodEnd, value: new Date(sub.period.end) },
  ]);
}

function upsertStatus(sub: SubscriptionEntity): void {
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.SubscriptionStatus, value: sub.searchStatus() }]);
}

/** Starts the invoice's own workflow; an invoice workflow that already exists counts as started. */
async function startInvoiceWorkflow(
  organizationId: string,
  invoice: PeriodInvoiceResult,
  clock: ReturnType<typeof invoiceClockFields> = {},
  extra: Pick<InvoiceWorkflowInput, 'finalizedAtClose'> = {},
): Promise<void> {
  try {
    await startChild<typeof invoiceWorkflow>('invoiceWorkflow', {
      workflowId: invoiceWorkflowId(invoice.invoiceId),
      args: [{ version: 1, organizationId, invoiceId: invoice.invoiceId, gracePeriodDays: invoice.gracePeriodDays, ...clock, ...extra }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A completed invoice workflow is never run twice; a failed one may be restarted by a later close.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log.info('Invoice workflow already started', { invoiceId: invoice.invoiceId });
  }
}

/** Invoices the ended period and starts its invoice workflow. False when a business failure blocked it. */
async function closePeriod(sub: SubscriptionEntity): Promise<boolean> {
  const req = { ...idsOf(sub), kind: 'subscription' as const, period: sub.current.period, current: sub.current };
  const clockFields = invoiceClockFields(sub.input, sub.period.end);
  // Issue 14 (workflows/period-close.ts): one local activity closes and, without a grace period, finalizes.
  const outcome = Object.keys(clockFields).length === 0 && patched(CLOSE_FOLD_PATCH)
    ? await closeAndFinalizePeriod(req, (org, invoice) => startInvoiceWorkflow(org, invoice, {}, invoice.status === 'finalized' ? { finalizedAtClose: true } : {}))
    : await invoicePeriod(req, (org, invoice) => startInvoiceWorkflow(org, invoice, clockFields));
  if (!outcome.ok) {
    const state = sub.recordCloseFailure(outcome.failure);
    log.error('Closing the period failed with a business failure; retrying later', { ...state, period: sub.period });
    upsertStatus(sub);
    return false;
  }
  if (sub.billingFailure) {
    sub.billingFailure = null;
    upsertStatus(sub);
  }
  return true;
}

function idsOf(sub: SubscriptionEntity): { organizationId: string; subscriptionId: string } {
  return { organizationId: sub.input.organizationId, subscriptionId: sub.input.subscriptionId };
}

/** Bills [period start, terminatedAt), starts the invoice workflow, marks the subscription terminated. */
async function terminate(sub: SubscriptionEntity, terminatedAt: string, adv: AdvanceBilling, creditNote: OnTerminationCreditNote = 'credit'): Promise<TerminationOutcome> {
  // Pay in advance (patched, workflows/advance-billing.ts): events billed per event first; `skip` issues no invoice.
  await finishAdvancePeriod(adv, sub.input, sub.current, startInvoiceWorkflow);
  // regroup_paid_fees for [period start, terminatedAt) (patched 'regroup-paid-fees-v1', workflows/regroup-paid-fees.ts).
  await regroupPaidFeesAtClose(idsOf(sub), { start: sub.period.start, end: terminatedAt }, sub.current);
  // The unused advance fee's credit note (patched 'unused-fee-credit-v1', workflows/unused-fee-credit.ts).
  const creditUnused = () => creditUnusedAdvanceFee({ ...idsOf(sub), at: terminatedAt, reason: 'termination' }, creditNote);
  if (adv.skipsTerminationInvoice()) {
    await creditUnused();
    await activities.markSubscriptionTerminated({ organizationId: sub.input.organizationId, subscriptionId: sub.input.subscriptionId, terminatedAt });
    return { ok: true, result: { invoiceId: null, totalAmountCents: 0, terminatedAt } };
  }
  const outcome = await invoicePeriod(
    { ...idsOf(sub), kind: 'termination', period: { start: sub.period.start, end: terminatedAt }, current: sub.current },
    async (org, inv) => {
      await creditUnused();
      await startInvoiceWorkflow(org, inv, invoiceClockFields(sub.input, terminatedAt));
    },
  );
  if (!outcome.ok) {
    const { failure } = outcome;
    log.error('Invoicing the termination failed with a business failure', { type: failure.type, message: failure.message });
    return { ok: false, failure: ApplicationFailure.nonRetryable(failure.message, failure.type ?? 'termination_failed') };
  }
  // From here the termination is committed: the invoice exists, the rest only records it.
  const { invoice } = outcome;
  await activities.markSubscriptionTerminated({
    organizationId: sub.input.organizationId,
    subscriptionId: sub.input.subscriptionId,
    terminatedAt,
  });
  return { ok: true, result: { invoiceId: invoice.invoiceId, totalAmountCents: invoice.totalAmountCents, terminatedAt } };
}

/** Loads (or reloads) the period's billing rules; a business failure leaves nothing to watch (logged). */
async function loadRules(sub: SubscriptionEntity): Promise<void> {
  const reloaded = sub.rules !== null;
  sub.rulesReloadRequested = false;
  let rules: BillingRules;
  try {
    rules = await activities.loadBillingRules({
      organizationId: sub.input.organizationId,
      subscriptionId: sub.input.subscriptionId,
      period: sub.period,
    });
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    log.error('Loading the usage thresholds failed with a business failure; not watching usage', { type: failure.type, message: failure.message });
    rules = NO_RULES;
  }
  sub.applyRules(rules, reloaded);
}

/** Confirms usage from Postgres (one activity) and starts the invoice workflow of each new progressive invoice. */
async function checkUsage(sub: SubscriptionEntity): Promise<void> {
  sub.startCheck();
  let result: EvaluateThresholdsResult;
  try {
    result = await activities.evaluateUsageThresholds({
      organizationId: sub.input.organizationId,
      subscriptionId: sub.input.subscriptionId,
      period: sub.current.period,
      fullPeriod: sub.current.fullPeriod,
    });
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    // Money is never lost here: the period's invoice is recomputed from Postgres. The next check retries.
    log.error('Checking usage thresholds failed with a business failure', { type: failure.type, message: failure.message });
    return;
  }
  sub.applyCheck(result);
  for (const invoice of result.progressiveInvoices) {
    if (sub.progressiveInvoiceIds.includes(invoice.invoiceId)) continue;
    await startInvoiceWorkflow(sub.input.organizationId, invoice);
    sub.progressiveInvoiceIds.push(invoice.invoiceId);
  }
}

/**
 * The open phase with usage thresholds: waits for the period end while running the checks that come due.
 * Returns true when the loop should come back here (a check ran, or a signal changed the schedule), false when
 * the period ended or a termination / continue-as-new is pending.
 */
async function watchUsage(sub: SubscriptionEntity, terminationPending: () => boolean): Promise<boolean> {
  const stop = () => terminationPending() || workflowInfo().continueAsNewSuggested;
  if (sub.rules === null || sub.rulesReloadRequested) await loadRules(sub);
  if (stop()) return false;
  const untilEndMs = Date.parse(sub.period.end) - Date.now();
  if (untilEndMs <= 0) return false;
  const dueInMs = sub.checkDueInMs(Date.now());
  if (dueInMs === 0) {
    await checkUsage(sub);
    return true;
  }
  sub.wake = false;
  await condition(() => stop() || sub.rulesReloadRequested || sub.wake, dueInMs === null ? untilEndMs : Math.min(untilEndMs, dueInMs));
  if (stop()) return false;
  return Date.now() < Date.parse(sub.period.end);
}

export async function subscriptionWorkflow(state: SubscriptionWorkflowState): Promise<TerminateResult> {
  const sub = new SubscriptionEntity(state);
  const adv = new AdvanceBilling(patched(ADVANCE_BILLING_PATCH));
  // Units of advance fixed charges raised mid-period (units11, workflows/fixed-charge-units.ts, patched).
  const units = new FixedChargeUnits(patched(FIXED_CHARGE_UNITS_PATCH));
  const work = () => adv.hasWork() || units.hasWork();
  // Plan changes, ending_at, scheduled start (workflows/plan-changes.ts, patch plan-changes-v1).
  const planChanges = new PlanChanges(state, startInvoiceWorkflow);
  let creditNoteOption: OnTerminationCreditNote = 'credit'; // Lago's on_termination_credit_note (unused-fee-credit-v1)
  // The termination's options, from this handler or the test clock's (workflows/test-clock.ts).
  let requestedOptions: TerminateRequest | undefined; // the request's, merged with the stored ones (termination-options-v1)
  sub.noteTerminationOptions = (req) => {
    requestedOptions = req;
    adv.onTerminationRequest(req);
    creditNoteOption = req?.onTerminationCreditNote === 'skip' || req?.onTerminationCreditNote === 'refund' ? req.onTerminationCreditNote : 'credit';
  };
  planChanges.register(sub);
  // Dunning consequence suspend_subscription (workflows/suspension.ts, patch dunning-suspend-v1): holds period closes.
  const suspension = patched(DUNNING_SUSPEND_PATCH) ? new SubscriptionSuspension(state, () => sub.searchStatus()) : null;
  suspension?.register();

  setHandler(usageSignal, (payload) => {
    sub.recordUsage(payload);
    adv.onUsage(payload);
  });
  setHandler(stateQuery, () => (suspension ? suspension.decorate(sub.liveState()) : sub.liveState()));
  setHandler(retryPeriodCloseSignal, () => {
    sub.retryRequested = true;
  });
  setHandler(billingRulesChangedSignal, () => {
    sub.rulesReloadRequested = true;
  });
  setHandler(fixedChargeUnitsChangedSignal, () => units.onChanged());
  setHandler(
    terminateUpdate,
    async (req) => {
      // The validator is not re-run on replay: the handler relies only on state, not on its checks.
      sub.requestTermination(SubscriptionEntity.requestedTerminatedAt(req));
      sub.noteTerminationOptions(req);
      await condition(() => sub.terminationOutcome !== null);
      const outcome = sub.terminationOutcome!;
      if (!outcome.ok) throw outcome.failure;
      return outcome.result;
    },
    { validator: (req) => sub.validateTermination(req) },
  );

  upsertSubscriptionSearchAttributes(sub);
  // Test clocks (workflows/test-clock.ts, patched 'test-clocks-v1'): the period ends when the clock says so.
  // Thresholds and ending_at on the clock too (workflows/clock-coverage.ts, patched 'test-clock-coverage-v1').
  const coverage = new ClockCoverage(state, planChanges);
  // Plan changes, pending start and a blocked close's backoff on the clock too (patched 'test-clock-plan-changes-v1').
  const clock = await subscriptionTestClock(state, sub, (c) => {
    coverage.bind(c, sub);
    planChanges.followClock(c, sub);
  });
  const closeRetry = new ClockCloseRetry();
  const moved = await planChanges.awaitStart(sub);
  if (moved) {
    // A pending subscription's start moved (patched 'pending-start-move-v1'): the next run waits for the new start.
    await condition(allHandlersFinished);
    return continueAsNew<typeof subscriptionWorkflow>(carrySuspension(suspension, moved));
  }

  for (;;) {
    const terminationPending = () => (sub.terminationRequest !== null && sub.terminationOutcome === null) || planChanges.due(sub) || coverage.endingDue(sub);

    if (sub.phase === 'open') {
      // Pay in advance (patched): the run's start (start invoice) and events billed per event, before waiting.
      if (adv.hasWork() && !terminationPending()) {
        if (!adv.started) await startAdvanceRun(adv, sub.input, sub.current, startInvoiceWorkflow);
        else await billPendingInAdvance(adv, sub.input, sub.current, startInvoiceWorkflow);
        continue;
      }
      // After the run's start (the period's advance fees billed): the units raised since, billed (patched).
      if (units.hasWork() && !terminationPending()) {
        await billUnitsChanges(units, sub.input, sub.current, startInvoiceWorkflow);
        continue;
      }
      const interrupted = () => terminationPending() || work();
      if (clock && coverage.active) {
        // Test clock with thresholds (patched 'test-clock-coverage-v1'): checks run when the clock moves.
        if (await coverage.watchUsage(sub, interrupted, loadRules, startInvoiceWorkflow)) continue;
        if (work() && !terminationPending() && !workflowInfo().continueAsNewSuggested) continue;
      } else if (clock) {
        // Test clock (patched 'test-clocks-v1'): the period ends when the clock says so.
        await clock.waitUntil(sub.period.end, () => interrupted() || workflowInfo().continueAsNewSuggested);
        if (work() && !terminationPending() && !workflowInfo().continueAsNewSuggested) continue;
      } else {
        const untilEndMs = Date.parse(sub.period.end) - Date.now();
        if (untilEndMs > 0) {
          if (patched(USAGE_THRESHOLDS_PATCH)) {
            if (await watchUsage(sub, interrupted)) continue;
          } else {
            await condition(() => interrupted() || workflowInfo().continueAsNewSuggested, untilEndMs);
          }
          if (work() && !terminationPending() && !workflowInfo().continueAsNewSuggested) continue;
        }
      }
    } else if (sub.phase === 'close_failed') {
      const untilRetryMs = Date.parse(sub.billingFailure!.nextRetryAt) - Date.now();
      if (planChanges.clock) {
        // On the test clock (patched 'test-clock-plan-changes-v1'): the backoff counts on the clock.
        await closeRetry.wait(sub, planChanges.clock, () => terminationPending() || sub.retryRequested || workflowInfo().continueAsNewSuggested);
      } else if (untilRetryMs > 0) {
        await condition(() => terminationPending() || sub.retryRequested || workflowInfo().continueAsNewSuggested, untilRetryMs);
      }
      if (!terminationPending() && !workflowInfo().continueAsNewSuggested) {
        sub.retryRequested = false;
        sub.phase = 'open';
      }
    }

    coverage.fireEnding(sub); // ending_at reached on the test clock (patched 'test-clock-coverage-v1')
    if (planChanges.due(sub)) {
      const changed = await planChanges.run(sub);
      if (changed) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof subscriptionWorkflow>(carrySuspension(suspension, changed));
      }
      if (sub.terminationRequest === null) continue;
    }

    if (terminationPending()) {
      const request = sub.terminationRequest!;
      // Options stored on the subscription (patched 'termination-options-v1', workflows/termination-options.ts).
      sub.noteTerminationOptions(await terminationOptions(idsOf(sub), requestedOptions));
      await finishUnitsChanges(units, adv.advanceFixedCharges, sub.input, sub.current, startInvoiceWorkflow); // units11 (patched)
      const outcome = await terminate(sub, request.terminatedAt, adv, creditNoteOption);
      sub.terminationOutcome = outcome;
      if (!outcome.ok) {
        sub.terminationRequest = null;
        sub.phase = request.resumePhase;
        continue;
      }
      sub.phase = 'terminated';
      upsertStatus(sub);
      await condition(allHandlersFinished);
      return outcome.result;
    }

    if (workflowInfo().continueAsNewSuggested) {
      // The history is getting long (usage signals): a fresh run with the same period. A close blocked by a
      // billing failure is retried at once by the new run.
      sub.phase = 'closing';
      await condition(allHandlersFinished);
      return continueAsNew<typeof subscriptionWorkflow>(carrySuspension(suspension, planChanges.carry(sub.sameRunState())));
    }

    if (sub.phase !== 'open') continue;
    // Suspended by dunning (patched): the close waits until the suspending invoices are paid.
    if (suspension && (await suspension.holdClose(sub.period.end, terminationPending))) continue;

    // The period has ended: close it.
    sub.phase = 'closing';
    await finishAdvancePeriod(adv, sub.input, sub.current, startInvoiceWorkflow); // pay in advance (patched)
    await finishUnitsChanges(units, adv.advanceFixedCharges, sub.input, sub.current, startInvoiceWorkflow); // units11 (patched)
    if (!(await closePeriod(sub))) continue;
    await regroupPaidFeesAtClose(idsOf(sub), sub.period, sub.current); // regroup_paid_fees (patched 'regroup-paid-fees-v1')
    let next: PeriodPair;
    try {
      next = nextPeriod(sub.input.schedule, sub.period);
    } catch (err) {
      throw asWorkflowFailure(err);
    }
    const nextState = await planChanges.nextRunState(sub, next);
    await condition(allHandlersFinished);
    return continueAsNew<typeof subscriptionWorkflow>(carrySuspension(suspension, nextState));
  }
}
