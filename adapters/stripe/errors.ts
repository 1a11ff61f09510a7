// Stripe errors classified at the source (model: activities/invoices.ts classifyError).
//
// - StripeCardError (402, a decline)                 → non-retryable `payment_declined`, decline code kept
// - StripeInvalidRequestError (400/404)              → non-retryable `payment_invalid_request`
// - StripeAuthenticationError / PermissionError      → non-retryable `payment_provider_authentication_failed`
// - StripeIdempotencyError (key reused, other body)  → non-retryable `payment_idempotency_conflict`
// - StripeRateLimitError (429), StripeAPIError (5xx), StripeConnectionError, timeouts → rethrown (transient)
// A card error with code `authentication_required` is NOT a decline: the caller turns it into requires_action.
import { ApplicationFailure } from '@temporalio/common';
import Stripe from 'stripe';
import { PAYMENT_FAILURE_TYPES, type PaymentFailureDetails, type PaymentFailureType } from '../../activities/payment-provider';

type StripeError = InstanceType<typeof Stripe.errors.StripeError>;

function detailsOf(err: StripeError): PaymentFailureDetails {
  const raw = err.raw as { payment_intent?: { id?: string } } | undefined;
  return {
    code: err.code ?? null,
    declineCode: err.decline_code ?? null,
    providerPaymentId: raw?.payment_intent?.id ?? null,
    requestId: err.requestId ?? null,
  };
}

function permanent(err: StripeError, type: PaymentFailureType): ApplicationFailure {
  return ApplicationFailure.create({ message: err.message, type, nonRetryable: true, cause: err, details: [detailsOf(err)] });
}

/** True for a card error asking for customer authentication (3-D Secure) on an off-session payment. */
export function isAuthenticationRequired(err: unknown): err is StripeError {
  return err instanceof Stripe.errors.StripeCardError && (err.code === 'authentication_required' || err.decline_code === 'authentication_required');
}

export function classifyStripeError(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof Stripe.errors.StripeCardError) return permanent(err, PAYMENT_FAILURE_TYPES.declined);
  if (err instanceof Stripe.errors.StripeIdempotencyError) return permanent(err, PAYMENT_FAILURE_TYPES.idempotencyConflict);
  if (err instanceof Stripe.errors.StripeInvalidRequestError) return permanent(err, PAYMENT_FAILURE_TYPES.invalidRequest);
  if (err instanceof Stripe.errors.StripeAuthenticationError || err instanceof Stripe.errors.StripePermissionError) {
    return permanent(err, PAYMENT_FAILURE_TYPES.providerAuthentication);
  }
  // StripeRateLimitError, StripeAPIError (5xx), StripeConnectionError, anything else: transient.
  return err;
}

export async function classifiedStripe<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyStripeError(err);
  }
}
