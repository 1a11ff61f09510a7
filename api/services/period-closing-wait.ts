// A termination or a plan change that reaches a subscription while its workflow is closing an ended period is refused
// by the update's validator with the retryable `period_closing` (workflows/subscription.ts, plan-changes.ts,
// test-clock.ts): nothing is written. Lago has no such state and Lago's clients do not retry a 422, so the API waits
// for the close (seconds) and sends the same update again (same update id: a rejected update is not in the history),
// for at most `maxWaitMs`; a close that stays blocked (e.g. a missing FX rate) still answers the 422 after that.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';

export const PERIOD_CLOSING_MAX_WAIT_MS = 20_000;

function isPeriodClosing(err: unknown): boolean {
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'period_closing';
}

/** `send` again while the workflow answers `period_closing`, with backoff 100 ms → 2 s, for at most `maxWaitMs`. */
export async function sendWhilePeriodCloses<T>(send: () => Promise<T>, maxWaitMs: number = PERIOD_CLOSING_MAX_WAIT_MS): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  let delay = 100;
  for (;;) {
    try {
      return await send();
    } catch (err) {
      if (!isPeriodClosing(err) || Date.now() + delay > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}
