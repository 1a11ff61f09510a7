// Moving a pending subscription's start (PUT /subscriptions/:id with subscription_at while it is pending: Lago
// allows it until the subscription starts), behind `patched('pending-start-move-v1')`.
//
// The pending run waits for its start on a timer (workflows/plan-changes.ts awaitStart). `subscriptionStartUpdate`
// (validated: only before the start, never after activation, a new start not in the past) wakes that wait; the run
// then continues as new with the moved start (the schedule's subscriptionAt, so its first period, proration and
// anniversary follow it), and the new run waits for the new start. Runs that waited before the patch keep their
// plain timer (the same command: a timer for the time left).
import { ApplicationFailure, condition, defineUpdate, patched, setHandler } from '@temporalio/workflow';
import type { SubscriptionWorkflowState } from '../contracts/workflows';
import type { SubscriptionView } from './plan-changes';

export const PENDING_START_PATCH = 'pending-start-move-v1';
/** A new start may be this far behind the workflow clock (the API's clock is not the server's). */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface SubscriptionStartRequest {
  /** The new start instant (ISO UTC). */
  subscriptionAt: string;
}

export const subscriptionStartUpdate = defineUpdate<SubscriptionStartRequest, [SubscriptionStartRequest]>('subscriptionStartUpdate');

function isoOf(value: unknown): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw ApplicationFailure.nonRetryable(`subscriptionAt is not an ISO datetime: ${String(value)}`, 'invalid_datetime');
  return new Date(ms).toISOString();
}

export class PendingStart {
  movedTo: string | null = null;
  /** The subscription's test clock once followed (patch test-clock-plan-changes-v1, workflows/plan-changes.ts). */
  private clock: { now(): number } | null = null;

  followClock(clock: { now(): number }, _sub: SubscriptionView): void {
    this.clock = clock;
  }

  private nowMs(): number {
    return this.clock ? this.clock.now() : Date.now();
  }

  /** True while the run is a pending subscription's first run waiting for its start. */
  static isPending(sub: SubscriptionView): boolean {
    return sub.input.closedPeriods === 0 && Date.now() < Date.parse(sub.period.start);
  }

  register(sub: SubscriptionView): void {
    setHandler(
      subscriptionStartUpdate,
      (req) => {
        this.movedTo = isoOf(req.subscriptionAt);
        return { subscriptionAt: this.movedTo };
      },
      {
        validator: (req) => {
          const pending = this.clock ? sub.input.closedPeriods === 0 && this.nowMs() < Date.parse(sub.period.start) : PendingStart.isPending(sub);
          if (!pending || this.movedTo !== null) {
            throw ApplicationFailure.nonRetryable('The subscription is not pending: its start can no longer move', 'subscription_not_pending');
          }
          if (Date.parse(isoOf(req?.subscriptionAt)) <= this.nowMs() - (this.clock ? 0 : CLOCK_SKEW_MS)) {
            throw ApplicationFailure.nonRetryable('subscription_at must be in the future', 'invalid_subscription_at');
          }
        },
      },
    );
  }

  /**
   * Waits `untilStartMs` for the start; true when it came, false when the start was moved meanwhile (the caller
   * continues as new with `movedState`). Before the patch: the plain timer, never moved.
   */
  async waitForStart(untilStartMs: number, sleepFor: (ms: number) => Promise<void>): Promise<boolean> {
    if (!patched(PENDING_START_PATCH)) {
      await sleepFor(untilStartMs);
      return true;
    }
    const moved = await condition(() => this.movedTo !== null, untilStartMs);
    return !moved;
  }

  /** The next run's state: the same subscription with its start moved (its first period recomputed from it). */
  movedState(state: SubscriptionWorkflowState): SubscriptionWorkflowState {
    const { current: _first, ...rest } = state;
    return { ...rest, schedule: { ...state.schedule, subscriptionAt: this.movedTo! } };
  }
}
