// Test clocks, the rest of the subscription's time (issue 11, behind patched('test-clock-coverage-v1'), taken only
// by runs on a test clock: no real-time history ever sees a new command).
//
// workflows/test-clock.ts makes the period loop wait on the clock. This module makes the two other time-driven
// parts of the subscription workflow follow it too:
//
// - Usage thresholds and alerts (progressive billing, usage alerts). A real-time run checks usage a few seconds
//   after a signal says a level may be crossed (workflows/subscription.ts watchUsage). On a clock nothing moves
//   until an operator advances it, and an event takes the clock's time as its timestamp, so a check at that same
//   frozen instant would invoice [period start, T) without the events at T. Rule: a check is due when usage
//   arrived (or the alerts changed) since the last check AND the clock has moved since that check; it runs as of
//   the clock's time — or, when the advance passes the period end, as of the period's last millisecond, before the
//   period closes, so a crossing inside the period still gets its progressive invoice exactly as in real time. The
//   activity (activities/thresholds.ts) is the same: its idempotency keys (subscription, period, level) do not
//   depend on the instant, so a repeated check never issues a second invoice or alert. One check per advance:
//   several crossings between two advances give one invoice for the highest level (as several levels crossed at
//   once do in real time).
// - ending_at. workflows/plan-changes.ts compares ending_at with the workflow's real time; on a clock this module
//   takes it over (its `endingAttempted` is held true so it never fires on real time) and fires when the clock
//   reaches ending_at: the loop terminates the subscription at ending_at, as a DELETE at that instant would. The
//   terms update is validated against the clock ("ending_at must be after the clock's time").
import { ApplicationFailure, condition, log, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BillingRules, EvaluateThresholdsResult, PeriodInvoiceResult, SubscriptionActivities } from '../activities/types';
import type { BillingPeriodState, InvoiceWorkflowInput, SubscriptionWorkflowState } from '../contracts/workflows';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';
import { subscriptionTermsUpdate, type SubscriptionTermsRequest } from './plan-changes';
import type { WorkflowTestClock } from './test-clock';
import { invoiceClockFields } from './test-clock';

export const CLOCK_COVERAGE_PATCH = 'test-clock-coverage-v1';

const activities = proxyActivities<Pick<SubscriptionActivities, 'evaluateUsageThresholds'>>(ACTIVITY_OPTIONS);

/** What this module needs of workflows/plan-changes.ts's PlanChanges (its public fields; no behaviour changed there). */
export interface EndingHolder {
  endingAt: string | null;
  endingAttempted: boolean;
}

/** What this module needs of workflows/subscription.ts's SubscriptionEntity (structural: no import cycle). */
export interface ClockWatchedSubscription {
  readonly input: SubscriptionWorkflowState;
  current: BillingPeriodState;
  phase: string;
  readonly period: { start: string; end: string };
  rules: BillingRules | null;
  rulesReloadRequested: boolean;
  checkRequested: boolean;
  usageSinceCheck: boolean;
  wake: boolean;
  lastCheckAtMs: number | null;
  progressiveInvoiceIds: string[];
  requestTermination(terminatedAt: string): void;
  startCheck(): void;
  applyCheck(result: EvaluateThresholdsResult): void;
}

type StartInvoiceWorkflow = (organizationId: string, invoice: PeriodInvoiceResult, clock?: Pick<InvoiceWorkflowInput, 'testClockId' | 'testClockNow'>) => Promise<void>;

function isoOf(value: unknown, field: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw ApplicationFailure.nonRetryable(`${field} is not an ISO datetime: ${String(value)}`, 'invalid_datetime');
  return new Date(ms).toISOString();
}

/** Inert until bound to a clock by a run that takes the patch (every method is then a no-op / false). */
export class ClockCoverage {
  private clock: WorkflowTestClock | null = null;
  private endingFired = false;
  /** The clock's time at the last usage check (null until the first watch of the run). */
  private lastCheckClockMs: number | null = null;

  constructor(
    private readonly state: SubscriptionWorkflowState,
    private readonly ending: EndingHolder,
  ) {}

  get active(): boolean {
    return this.clock !== null;
  }

  /** Called by workflows/test-clock.ts once the clock exists (before it reads the clock's time). */
  bind(clock: WorkflowTestClock, sub: Pick<ClockWatchedSubscription, 'phase' | 'period'>): void {
    if (!patched(CLOCK_COVERAGE_PATCH)) return;
    this.clock = clock;
    // plan-changes.ts never fires ending_at on real time for this run: the clock does (endingDue below).
    this.ending.endingAttempted = true;
    setHandler(
      subscriptionTermsUpdate,
      (req) => {
        this.ending.endingAt = req.endingAt === null ? null : isoOf(req.endingAt, 'endingAt');
        this.ending.endingAttempted = true;
        this.endingFired = false;
        return { endingAt: this.ending.endingAt };
      },
      { validator: (req) => this.validateTerms(sub, req) },
    );
  }

  private validateTerms(sub: Pick<ClockWatchedSubscription, 'phase' | 'period'>, req: SubscriptionTermsRequest): void {
    if (sub.phase === 'terminated' || sub.phase === 'terminating') throw ApplicationFailure.nonRetryable('The subscription is terminated', 'already_terminated');
    if (req?.endingAt === null) return;
    const at = Date.parse(isoOf(req?.endingAt, 'endingAt'));
    if (at <= this.clock!.now() || at <= Date.parse(sub.period.start)) {
      throw ApplicationFailure.nonRetryable("ending_at must be after the test clock's time", 'invalid_ending_at');
    }
  }

  /** ending_at reached on the clock, inside the open period (a later one waits for the run that reaches it). */
  endingDue(sub: Pick<ClockWatchedSubscription, 'phase' | 'period'>): boolean {
    const endingAt = this.ending.endingAt;
    if (this.clock === null || endingAt === null || this.endingFired) return false;
    if (sub.phase !== 'open' && sub.phase !== 'close_failed') return false;
    const at = Date.parse(endingAt);
    return this.clock.now() >= at && at > Date.parse(sub.period.start) && at <= Date.parse(sub.period.end);
  }

  /** Turns a due ending_at into the usual termination at ending_at (the loop then terminates). */
  fireEnding(sub: ClockWatchedSubscription): void {
    if (!this.endingDue(sub)) return;
    this.endingFired = true;
    log.info('ending_at reached on the test clock: terminating the subscription', { endingAt: this.ending.endingAt });
    sub.requestTermination(this.ending.endingAt!);
  }

  /**
   * The open phase on a clock with usage thresholds (see the header). Returns true when the loop should come back
   * here (a check ran, the rules changed, or the clock moved inside the period), false when the period ended on the
   * clock (no check pending) or a termination / continue-as-new is pending.
   */
  async watchUsage<S extends ClockWatchedSubscription>(
    sub: S,
    interrupted: () => boolean,
    loadRules: (sub: S) => Promise<void>,
    startInvoiceWorkflow: StartInvoiceWorkflow,
  ): Promise<boolean> {
    const clock = this.clock!;
    const stop = () => interrupted() || workflowInfo().continueAsNewSuggested;
    if (sub.rules === null || sub.rulesReloadRequested) await loadRules(sub);
    if (stop()) return false;
    this.lastCheckClockMs ??= clock.now();
    const pending = sub.rules?.active === true && (sub.checkRequested || sub.usageSinceCheck);
    if (pending && clock.now() > this.lastCheckClockMs) {
      await this.checkUsage(sub, startInvoiceWorkflow);
      return true;
    }
    if (clock.reached(sub.period.end)) return false;
    const seenMs = clock.now();
    sub.wake = false;
    await condition(() => stop() || sub.rulesReloadRequested || sub.wake || clock.now() > seenMs);
    return !stop();
  }

  /** One check as of the clock's time (at most the period's last millisecond); new progressive invoices start. */
  private async checkUsage(sub: ClockWatchedSubscription, startInvoiceWorkflow: StartInvoiceWorkflow): Promise<void> {
    const clock = this.clock!;
    const asOfMs = Math.min(clock.now(), Date.parse(sub.period.end) - 1);
    const asOf = new Date(asOfMs).toISOString();
    sub.startCheck();
    sub.lastCheckAtMs = asOfMs;
    this.lastCheckClockMs = clock.now();
    let result: EvaluateThresholdsResult;
    try {
      result = await activities.evaluateUsageThresholds({
        organizationId: sub.input.organizationId,
        subscriptionId: sub.input.subscriptionId,
        period: sub.current.period,
        fullPeriod: sub.current.fullPeriod,
        asOf,
      });
    } catch (err) {
      const failure = businessFailureOf(err);
      if (!failure) throw err;
      log.error('Checking usage thresholds on the test clock failed with a business failure', { type: failure.type, message: failure.message });
      return;
    }
    sub.applyCheck(result);
    for (const invoice of result.progressiveInvoices) {
      if (sub.progressiveInvoiceIds.includes(invoice.invoiceId)) continue;
      // Its invoice workflow lives on the clock too, from the check's instant.
      await startInvoiceWorkflow(sub.input.organizationId, invoice, invoiceClockFields(this.state, asOf));
      sub.progressiveInvoiceIds.push(invoice.invoiceId);
    }
  }
}
