// A period close blocked by a business failure, on a test clock (issue 11, adv11b; patch test-clock-plan-changes-v1,
// taken only by runs on a clock: workflows/plan-changes.ts followClock).
//
// In real time the close is retried on a backoff timer (1 h, doubling, workflows/subscription.ts recordCloseFailure)
// or at once on retryPeriodCloseSignal. On a clock nothing should happen on the server's time: the same backoff is
// counted on the clock from the clock's time at the failure (the failure's nextRetryAt is moved onto the clock, so the
// state query shows it), and the retry comes when an advance reaches it — or at once on the signal, as in real time.
import type { BillingFailureState } from '../contracts/workflows';
import type { WorkflowTestClock } from './test-clock';

export class ClockCloseRetry {
  /** The failure attempt whose retry instant was moved onto the clock (each attempt once). */
  private rebasedAttempt = 0;

  /** Waits until the clock reaches the failure's retry instant or `stop()` (a retry signal, a termination). */
  async wait(sub: { billingFailure: BillingFailureState | null }, clock: WorkflowTestClock, stop: () => boolean): Promise<void> {
    const failure = sub.billingFailure;
    if (failure === null) return;
    if (this.rebasedAttempt !== failure.attempts) {
      // Recorded in this same workflow task, so the backoff is exactly nextRetryAt − the workflow's time.
      const backoffMs = Math.max(0, Date.parse(failure.nextRetryAt) - Date.now());
      failure.nextRetryAt = new Date(clock.now() + backoffMs).toISOString();
      this.rebasedAttempt = failure.attempts;
    }
    await clock.waitUntil(failure.nextRetryAt, stop);
  }
}
