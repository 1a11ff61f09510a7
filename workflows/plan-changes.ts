// Plan changes, scheduled ends and scheduled starts of the subscription workflow (issue 11b), behind
// `patched('plan-changes-v1')`. workflows/subscription.ts calls this module from a few hooks; the rules are here.
//
// - Upgrade (planChangeUpdate kind 'upgrade', Lago: effective at once). The main loop closes the open period at
//   the change instant with the OLD plan (an invoice for [period start, change); its fee stops at the change day:
//   billing/plan-change.ts), applies the change (applyPlanChange: the subscription row's plan), and continues as
//   new — the same workflow — into the new plan's first period [change, boundary of the new schedule), prorated
//   over the new schedule's full period. An interval change (monthly → yearly) is the new schedule's interval.
//   The update answers once the period is invoiced and the plan applied (or with the business failure that
//   blocked the close: nothing applied).
// - Downgrade (kind 'downgrade', Lago: at the end of the period). Accepted at once and kept in the state
//   (`pendingPlanChange`, carried through continue-as-new); at the period end the period is closed with the old
//   plan as usual, then the change applied and the next run starts on the new plan. 'cancel_downgrade' drops it.
// - ending_at (subscriptionTermsUpdate): a timer at ending_at; when it fires inside the open period the loop turns
//   it into the usual termination (the period billed up to ending_at, the workflow completes).
// - Scheduled start: a subscription whose start is in the future waits for it, then activateSubscription marks it
//   active (pending → active). Usage before the start is refused by the API (subscription_not_started).
import {
  ApplicationFailure,
  condition,
  defineUpdate,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { PlanChangeActivities } from '../activities/plan-change-types';
import type { PeriodInvoiceResult, SubscriptionActivities } from '../activities/types';
import { BillingError } from '../billing/errors';
import { periodAfterChange } from '../billing/plan-change';
import type { PeriodPair } from '../billing/period';
import type { Period } from '../billing/types';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';
import { invoicePeriod } from './period-invoice';
import { creditUnusedAdvanceFee } from './unused-fee-credit';
import { PendingStart } from './pending-start';
import type { WorkflowTestClock } from './test-clock';
import type { BillingPeriodState, PendingPlanChangeState, SubscriptionWorkflowState } from '../contracts/workflows';

export const PLAN_CHANGES_PATCH = 'plan-changes-v1';
/**
 * Test clocks on the plan-change paths (issue 11, adv11b): a run on a clock judges upgrades and the start-move
 * against the clock, waits for a pending start on the clock, and retries a blocked close on the clock's backoff
 * (workflows/clock-plan-changes.ts). Taken only by runs on a clock (followClock), never by real-time runs.
 */
export const CLOCK_PLAN_CHANGES_PATCH = 'test-clock-plan-changes-v1';
/** A change instant may be this far ahead of the workflow clock (the API's clock is not the server's). */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface PlanChangeRequest {
  /** subscription_plan_changes.id recorded by the API. */
  changeId: string;
  kind: 'upgrade' | 'downgrade' | 'cancel_downgrade';
  /** The new plan's code (unused for cancel_downgrade). */
  planCode: string;
  /** Upgrade only: the change instant (ISO UTC); the workflow's time when absent. */
  effectiveAt?: string;
}

export interface PlanChangeResult {
  changeId: string;
  kind: PlanChangeRequest['kind'];
  /** When it takes (or took) effect: the upgrade instant, or the end of the current period for a downgrade. */
  effectiveAt: string;
  /** Upgrade: the invoice of the old plan's partial period. */
  invoiceId: string | null;
}

export interface SubscriptionTermsRequest {
  /** When the workflow terminates the subscription (ISO UTC), or null: no scheduled end. */
  endingAt: string | null;
}

export const planChangeUpdate = defineUpdate<PlanChangeResult, [PlanChangeRequest]>('planChangeUpdate');
export const subscriptionTermsUpdate = defineUpdate<SubscriptionTermsRequest, [SubscriptionTermsRequest]>('subscriptionTermsUpdate');

/** What this module needs of workflows/subscription.ts's SubscriptionEntity (structural: no import cycle). */
export interface SubscriptionView {
  readonly input: SubscriptionWorkflowState;
  current: BillingPeriodState;
  phase: string;
  readonly period: Period;
  requestTermination(terminatedAt: string): void;
  nextRunState(next: PeriodPair): SubscriptionWorkflowState;
}

type StartInvoiceWorkflow = (organizationId: string, invoice: PeriodInvoiceResult) => Promise<void>;

type UpgradeOutcome = { ok: true; result: PlanChangeResult } | { ok: false; failure: ApplicationFailure };

const activities = proxyActivities<SubscriptionActivities & PlanChangeActivities>(ACTIVITY_OPTIONS);

function isoOf(value: unknown, field: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw ApplicationFailure.nonRetryable(`${field} is not an ISO datetime: ${String(value)}`, 'invalid_datetime');
  return new Date(ms).toISOString();
}

export class PlanChanges {
  endingAt: string | null;
  endingAttempted = false;
  pending: PendingPlanChangeState | null;
  upgrade: { request: PlanChangeRequest; effectiveAt: string } | null = null;
  upgradeOutcome: UpgradeOutcome | null = null;
  readonly pendingStart = new PendingStart();
  /** The subscription's test clock, once a clock run took CLOCK_PLAN_CHANGES_PATCH (null: the workflow's real time). */
  clock: WorkflowTestClock | null = null;

  constructor(
    state: SubscriptionWorkflowState,
    private readonly startInvoiceWorkflow: StartInvoiceWorkflow,
  ) {
    this.endingAt = state.endingAt ?? null;
    this.pending = state.pendingPlanChange ? { ...state.pendingPlanChange } : null;
  }

  /** Registers the update handlers (at the top of the workflow, with the others). */
  register(sub: SubscriptionView): void {
    setHandler(
      planChangeUpdate,
      async (req) => {
        if (req.kind === 'downgrade') {
          this.pending = { changeId: req.changeId, planCode: req.planCode, effectiveAt: sub.period.end };
          return { changeId: req.changeId, kind: req.kind, effectiveAt: sub.period.end, invoiceId: null };
        }
        if (req.kind === 'cancel_downgrade') {
          const effectiveAt = this.pending?.effectiveAt ?? sub.period.end;
          this.pending = null;
          return { changeId: req.changeId, kind: req.kind, effectiveAt, invoiceId: null };
        }
        patched(PLAN_CHANGES_PATCH);
        this.upgrade = { request: req, effectiveAt: req.effectiveAt === undefined ? new Date(this.nowMs()).toISOString() : isoOf(req.effectiveAt, 'effectiveAt') };
        this.upgradeOutcome = null;
        await condition(() => this.upgradeOutcome !== null);
        const outcome = this.upgradeOutcome!;
        if (!outcome.ok) throw outcome.failure;
        return outcome.result;
      },
      { validator: (req) => this.validatePlanChange(sub, req) },
    );
    setHandler(
      subscriptionTermsUpdate,
      (req) => {
        this.endingAt = req.endingAt === null ? null : isoOf(req.endingAt, 'endingAt');
        this.endingAttempted = false;
        this.armEndingTimer(sub);
        return { endingAt: this.endingAt };
      },
      { validator: (req) => this.validateTerms(sub, req) },
    );
    if (this.endingAt !== null) this.armEndingTimer(sub);
    this.pendingStart.register(sub);
  }

  /** "Now" of the subscription: its test clock's time once followed (followClock), else the workflow's time. */
  nowMs(): number {
    return this.clock ? this.clock.now() : Date.now();
  }

  /**
   * Called once per run on a test clock (workflows/test-clock.ts's onClock hook), before the clock is read: the
   * plan-change paths follow the clock from here (patched CLOCK_PLAN_CHANGES_PATCH; a run recorded before it keeps
   * the real-time paths).
   */
  followClock(clock: WorkflowTestClock, sub: SubscriptionView): void {
    if (!patched(CLOCK_PLAN_CHANGES_PATCH)) return;
    this.clock = clock;
    this.pendingStart.followClock(clock, sub);
  }

  validatePlanChange(sub: SubscriptionView, req: PlanChangeRequest): void {
    if (sub.phase === 'terminated' || sub.phase === 'terminating') throw ApplicationFailure.nonRetryable('The subscription is terminated', 'already_terminated');
    if (typeof req?.changeId !== 'string' || req.changeId.length === 0) throw ApplicationFailure.nonRetryable('changeId is required', 'invalid_plan_change');
    if (!['upgrade', 'downgrade', 'cancel_downgrade'].includes(req.kind)) throw ApplicationFailure.nonRetryable(`Unknown plan change kind ${String(req.kind)}`, 'invalid_plan_change');
    if (this.nowMs() < Date.parse(sub.period.start)) throw ApplicationFailure.nonRetryable('The subscription has not started yet', 'subscription_pending');
    if (req.kind !== 'upgrade') return;
    if (this.upgrade !== null) throw ApplicationFailure.retryable('A plan change is already in progress', 'plan_change_in_progress');
    if (sub.phase !== 'open') throw ApplicationFailure.retryable(`The period ending ${sub.period.end} is being closed; retry the plan change`, 'period_closing');
    const at = req.effectiveAt === undefined ? this.nowMs() : Date.parse(isoOf(req.effectiveAt, 'effectiveAt'));
    if (at <= Date.parse(sub.period.start)) throw ApplicationFailure.nonRetryable(`The change must be after the open period's start ${sub.period.start}`, 'invalid_plan_change');
    // On a test clock the API sends the clock's time: no skew, never after the clock.
    if (at > this.nowMs() + (this.clock ? 0 : CLOCK_SKEW_MS)) throw ApplicationFailure.nonRetryable('The change instant is in the future', 'invalid_plan_change');
    if (at >= Date.parse(sub.period.end)) throw ApplicationFailure.retryable(`The period ending ${sub.period.end} is not closed yet; retry the plan change`, 'period_closing');
  }

  validateTerms(sub: SubscriptionView, req: SubscriptionTermsRequest): void {
    if (sub.phase === 'terminated' || sub.phase === 'terminating') throw ApplicationFailure.nonRetryable('The subscription is terminated', 'already_terminated');
    if (req?.endingAt === null) return;
    const at = Date.parse(isoOf(req?.endingAt, 'endingAt'));
    if (at <= Date.now() - CLOCK_SKEW_MS || at <= Date.parse(sub.period.start)) {
      throw ApplicationFailure.nonRetryable('ending_at must be in the future', 'invalid_ending_at');
    }
  }

  /** A timer at ending_at when it falls in the open period (later ends are re-armed by the run that reaches them). */
  private armEndingTimer(sub: SubscriptionView): void {
    if (this.endingAt === null || Date.parse(this.endingAt) > Date.parse(sub.period.end)) return;
    const ms = Date.parse(this.endingAt) - Date.now();
    if (ms <= 0 || !patched(PLAN_CHANGES_PATCH)) return;
    // Only wakes the main loop (its predicates read endingDue()); nothing waits on the promise itself.
    void sleep(ms);
  }

  private endingDue(sub: SubscriptionView): boolean {
    if (this.endingAt === null || this.endingAttempted) return false;
    if (sub.phase !== 'open' && sub.phase !== 'close_failed') return false;
    const at = Date.parse(this.endingAt);
    return Date.now() >= at && at > Date.parse(sub.period.start) && at <= Date.parse(sub.period.end);
  }

  /** True when the main loop must act now (an upgrade requested, or ending_at reached): wakes its waits. */
  due(sub: SubscriptionView): boolean {
    return (this.upgrade !== null && this.upgradeOutcome === null) || this.endingDue(sub);
  }

  /**
   * Acts on what is due. ending_at: requests the termination (the loop then terminates as for a DELETE) and returns
   * null. Upgrade: closes the period with the old plan, applies the change, returns the next run's state (or null
   * when a business failure blocked the close; the update is rejected with it and the subscription is unchanged).
   */
  async run(sub: SubscriptionView): Promise<SubscriptionWorkflowState | null> {
    if (this.upgrade === null || this.upgradeOutcome !== null) {
      if (this.endingDue(sub)) {
        this.endingAttempted = true;
        log.info('ending_at reached: terminating the subscription', { endingAt: this.endingAt });
        sub.requestTermination(this.endingAt!);
      }
      return null;
    }
    const { request, effectiveAt } = this.upgrade;
    const resume = sub.phase;
    sub.phase = 'closing';
    const closed = await invoicePeriod(
      { organizationId: sub.input.organizationId, subscriptionId: sub.input.subscriptionId, kind: 'subscription', period: { start: sub.period.start, end: effectiveAt }, current: sub.current },
      async (org, inv) => {
        // The old plan's unused advance fee is credited (patched 'unused-fee-credit-v1', workflows/unused-fee-credit.ts).
        await creditUnusedAdvanceFee({ organizationId: sub.input.organizationId, subscriptionId: sub.input.subscriptionId, at: effectiveAt, reason: 'upgrade' });
        await this.startInvoiceWorkflow(org, inv);
      },
    );
    if (!closed.ok) {
      const { failure } = closed;
      log.error('Invoicing the period before an upgrade failed with a business failure', { type: failure.type, message: failure.message });
      this.upgradeOutcome = { ok: false, failure: ApplicationFailure.nonRetryable(failure.message, failure.type ?? 'plan_change_failed') };
      this.upgrade = null;
      sub.phase = resume;
      return null;
    }
    const { invoice } = closed;
    let applied: { planCode: string; interval: SubscriptionWorkflowState['schedule']['interval'] };
    try {
      applied = await activities.applyPlanChange({
        organizationId: sub.input.organizationId,
        subscriptionId: sub.input.subscriptionId,
        changeId: request.changeId,
      });
    } catch (err) {
      const failure = businessFailureOf(err);
      if (!failure) throw err;
      // Canceled meanwhile (never by the API while the update runs): the period is split, the plan stays.
      log.warn('The upgrade was not applied; the subscription keeps its plan', { type: failure.type, changeId: request.changeId });
      applied = { planCode: sub.input.planCode, interval: sub.input.schedule.interval };
    }
    const schedule = { ...sub.input.schedule, interval: applied.interval };
    let next: PeriodPair;
    try {
      next = periodAfterChange(schedule, effectiveAt);
    } catch (err) {
      if (err instanceof BillingError) throw ApplicationFailure.nonRetryable(err.message, err.code);
      throw err;
    }
    this.upgradeOutcome = { ok: true, result: { changeId: request.changeId, kind: 'upgrade', effectiveAt, invoiceId: invoice.invoiceId } };
    // An upgrade replaces a pending downgrade (Lago keeps one next plan).
    this.pending = null;
    return this.carry({ ...sub.nextRunState(next), planCode: applied.planCode, schedule });
  }

  /**
   * A pending subscription waits for its start, then becomes active. No command for a subscription that has
   * started (every run but a pending subscription's first).
   */
  async awaitStart(sub: SubscriptionView): Promise<SubscriptionWorkflowState | null> {
    // On a test clock (patched CLOCK_PLAN_CHANGES_PATCH): the start comes when the clock reaches it.
    if (this.clock) return this.awaitStartOnClock(sub, this.clock);
    const untilStartMs = Date.parse(sub.period.start) - Date.now();
    if (sub.input.closedPeriods > 0 || untilStartMs <= 0 || !patched(PLAN_CHANGES_PATCH)) return null;
    // The start may move while pending (workflows/pending-start.ts, patch pending-start-move-v1): the next run waits.
    if (!(await this.pendingStart.waitForStart(untilStartMs, sleep))) return this.carry(this.pendingStart.movedState(sub.input));
    await activities.activateSubscription({ organizationId: sub.input.organizationId, subscriptionId: sub.input.subscriptionId });
    return null;
  }

  private async awaitStartOnClock(sub: SubscriptionView, clock: WorkflowTestClock): Promise<SubscriptionWorkflowState | null> {
    if (sub.input.closedPeriods > 0) return null;
    // A start already reached (an advance that raced the workflow's start) still activates: a no-op when active.
    if (!clock.reached(sub.period.start) && !(await clock.waitUntil(sub.period.start, () => this.pendingStart.movedTo !== null))) return this.carry(this.pendingStart.movedState(sub.input));
    await activities.activateSubscription({ organizationId: sub.input.organizationId, subscriptionId: sub.input.subscriptionId });
    return null;
  }

  /**
   * The next run's state after the period closed: with a pending downgrade due at this boundary, the change is
   * applied and the next run starts on the new plan (and its interval); otherwise the entity's own next state.
   */
  async nextRunState(sub: SubscriptionView, next: PeriodPair): Promise<SubscriptionWorkflowState> {
    const pending = this.pending;
    if (pending === null || Date.parse(pending.effectiveAt) > Date.parse(sub.period.end) || !patched(PLAN_CHANGES_PATCH)) {
      return this.carry(sub.nextRunState(next));
    }
    this.pending = null;
    try {
      const applied = await activities.applyPlanChange({
        organizationId: sub.input.organizationId,
        subscriptionId: sub.input.subscriptionId,
        changeId: pending.changeId,
      });
      const schedule = { ...sub.input.schedule, interval: applied.interval };
      return this.carry({ ...sub.nextRunState(periodAfterChange(schedule, sub.period.end)), planCode: applied.planCode, schedule });
    } catch (err) {
      const failure = businessFailureOf(err);
      if (!failure) throw err;
      // e.g. plan_change_canceled: the API replaced or canceled it meanwhile; the subscription keeps its plan.
      log.warn('The pending downgrade was not applied', { type: failure.type, changeId: pending.changeId });
      return this.carry(sub.nextRunState(next));
    }
  }

  /** The state with this module's fields as they are now (absent when unset, so older states stay identical). */
  carry(state: SubscriptionWorkflowState): SubscriptionWorkflowState {
    const { endingAt: _e, pendingPlanChange: _p, ...rest } = state;
    return {
      ...rest,
      ...(this.endingAt !== null ? { endingAt: this.endingAt } : {}),
      ...(this.pending !== null ? { pendingPlanChange: { ...this.pending } } : {}),
    };
  }
}
