// What both workflows (subscription.ts, invoice.ts) share about calling activities: the activity options and
// the business-failure test. Its own module so neither workflow imports the other (no import cycle).
import { ActivityFailure, ApplicationFailure, type ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_CODES } from '../billing/error-codes';

/**
 * Error types an activity may throw that are business failures, never retried by the activity retry policy:
 * every non-transient code of billing/error-codes.ts (activities classify a BillingError as its code), plus the class names
 * of a billing/ error that escaped an activity unclassified (deterministic: retrying cannot help).
 */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = ['BillingError', 'PlanValidationError', ...NON_RETRYABLE_ERROR_CODES];

export const ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  // Every activity heartbeats every 2 s (activities/heartbeat.ts): a crashed worker is detected within 10 s and
  // the activity retried elsewhere, instead of after the 1-minute startToCloseTimeout. Activity options are not
  // part of the replay determinism check (test/workflows/replay.test.ts still replays every recorded history).
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    // maximumAttempts unset: transient faults (DB down, deadlock, timeout) retry until they pass.
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
};

/** The business failure behind an activity failure, or null for anything else (which is rethrown). */
export function businessFailureOf(err: unknown): ApplicationFailure | null {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause;
  return null;
}
